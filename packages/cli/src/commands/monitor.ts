import type { LogClient, ProofSource } from '@tlog/client';
import { LogFetchError, LogMisbehaviourError } from '@tlog/client';
import type { AdvanceResult } from '@tlog/client/node';
import { StateError, TrustedStateStore } from '@tlog/client/node';
import { toBase64 } from '@tlog/merkle';
import type { Command } from 'commander';
import { describeFailure, errorMessage, isTransient } from '../failure.js';
import type { LogOptions } from '../options.js';
import { clientFor, emit, proofSourceOption, secondsOption, withLogOptions } from '../options.js';

interface MonitorOptions extends LogOptions {
  state: string;
  once?: boolean;
  interval: number;
  json?: boolean;
  entries?: boolean;
  proofs: ProofSource;
}

/**
 * Streams the entries of the trusted tree not yet delivered: from the saved cursor, else from
 * the size trusted before this round (0 the first time). The cursor is saved after the entries
 * printed, also when a round fails part way, so entries are delivered at least once and, unless
 * the process is killed, exactly once.
 */
async function streamEntries(client: LogClient, store: TrustedStateStore, r: AdvanceResult, json: boolean | undefined): Promise<void> {
  const size = r.current.checkpoint.size;
  const saved = await store.loadEntriesCursor(client);
  const from = saved ?? r.previous?.checkpoint.size ?? 0;
  if (from > size) {
    throw new StateError(
      `the entries cursor ${store.entriesCursorPath(client.origin)} is at ${from}, beyond the trusted size ${size}; the state directory was altered`,
    );
  }
  let next = from;
  try {
    for await (const e of client.entries(from, size, r.current)) {
      emit(
        json,
        { type: 'entry', index: e.index, leafHash: toBase64(e.leafHash), entry: toBase64(e.entry) },
        `entry ${e.index} ${toBase64(e.leafHash)} ${e.entry.length} bytes`,
      );
      next = e.index + 1;
    }
  } finally {
    if (next !== saved) await store.saveEntriesCursor(client, next);
  }
}

/** Registers `monitor`: follow the log, keeping the trusted checkpoint in --state. */
export function registerMonitorCommand(program: Command): void {
  withLogOptions(
    program
      .command('monitor')
      .description('follow the log: verify each new checkpoint and its consistency with the trusted one kept in --state'),
  )
    .requiredOption('--state <dir>', 'directory holding the trusted checkpoint and evidence')
    .option('--once', 'do one round and exit')
    .option('--interval <seconds>', 'seconds between rounds', secondsOption('--interval'), 60)
    .option('--json', 'print NDJSON events')
    .option('--entries', 'stream the new entries (each checked against the authenticated tree), resuming where the last run stopped')
    .option(
      '--proofs <source>',
      'consistency proofs from the JSON "api", computed from "tiles", or "auto" (the API if the log has it)',
      proofSourceOption,
      'auto',
    )
    .action(async (opts: MonitorOptions) => {
      const client = clientFor(opts);
      const store = new TrustedStateStore(opts.state);
      let first = true;
      const round = async (): Promise<void> => {
        const r = await store.advance(client, { source: opts.proofs });
        const cp = r.current.checkpoint;
        const previousSize = r.previous?.checkpoint.size ?? null;
        // One line per newly trusted checkpoint; a single round (and the first) always says where it stands.
        if (r.changed || first || opts.once) {
          const what =
            r.previous === undefined ? 'first seen, now trusted' : r.changed ? `grew from ${previousSize}, consistent` : 'unchanged';
          emit(
            opts.json,
            { type: 'checkpoint', origin: cp.origin, size: cp.size, root: toBase64(cp.root), previousSize, changed: r.changed },
            `checkpoint ${cp.origin} size ${cp.size} root ${toBase64(cp.root)} (${what})`,
          );
        }
        first = false;
        if (!opts.entries) return;
        try {
          await streamEntries(client, store, r, opts.json);
        } catch (e) {
          // Found after the checkpoint was trusted, so advance() did not save it.
          if (e instanceof LogMisbehaviourError) await store.saveEvidence(e, { verifierKey: client.vkey, trusted: r.current.note });
          throw e;
        }
      };
      for (;;) {
        // A rate-limited round waits as long as the log asked, if that is longer than the interval.
        let wait = opts.interval;
        try {
          await round();
        } catch (e) {
          if (opts.json) {
            const ev =
              e instanceof LogMisbehaviourError
                ? { type: 'misbehaviour', kind: e.kind, evidence: e.evidencePath ?? null }
                : { type: 'error' };
            process.stdout.write(JSON.stringify({ ...ev, message: errorMessage(e) }) + '\n');
          }
          // Misbehaviour, configuration and local problems end monitoring; a network error ends only this round.
          if (!isTransient(e) || opts.once) throw e;
          if (e instanceof LogFetchError && e.retryAfter !== undefined) wait = Math.max(wait, Math.min(e.retryAfter, 3600));
          process.stderr.write(`tlog: ${describeFailure(e).line} (retrying in ${wait}s)\n`);
        }
        if (opts.once) return;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
    });
}
