import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { toBase64 } from '@tlog/merkle';
import { TrustedStateStore } from '../trusted-state.js';
import { LogMisbehaviourError } from '../errors.js';
import { errorMessage } from '../checks.js';
import { auditLog } from '../audit.js';
import type { ProofSource } from '../log-client.js';
import { EXIT_MISBEHAVIOUR, clientFor, describeFailure, intOption, withLogOptions } from './common.js';
import type { LogOptions } from './common.js';

interface MonitorOptions extends LogOptions {
  state: string;
  once?: boolean;
  interval: number;
  json?: boolean;
  entries?: boolean;
  proofs: ProofSource;
}

function proofSource(value: string): ProofSource {
  if (value !== 'api' && value !== 'tiles') throw new Error(`--proofs must be "api" or "tiles", got ${JSON.stringify(value)}`);
  return value;
}

function emit(json: boolean | undefined, obj: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : text + '\n');
}

/** Registers `monitor` and `audit`. */
export function registerMonitorCommands(program: Command): void {
  withLogOptions(program.command('monitor').description('follow the log: verify each new checkpoint and its consistency with the trusted one kept in --state'))
    .requiredOption('--state <dir>', 'directory holding the trusted checkpoint and evidence')
    .option('--once', 'do one round and exit')
    .option('--interval <seconds>', 'seconds between rounds', intOption('--interval'), 60)
    .option('--json', 'print NDJSON events')
    .option('--entries', 'stream the new entries of each round (verified against the tree)')
    .option('--proofs <source>', 'consistency proofs from the JSON "api" or computed from "tiles"', proofSource, 'api')
    .action(async (opts: MonitorOptions) => {
      const client = clientFor(opts);
      const store = new TrustedStateStore(opts.state);
      const round = async (): Promise<void> => {
        const r = await store.advance(client, { source: opts.proofs });
        const cp = r.current.checkpoint;
        const previousSize = r.previous?.checkpoint.size ?? null;
        const what = r.previous === undefined ? 'first seen, now trusted' : r.changed ? `grew from ${previousSize}, consistent` : 'unchanged';
        emit(opts.json, { type: 'checkpoint', origin: cp.origin, size: cp.size, root: toBase64(cp.root), previousSize, changed: r.changed }, `checkpoint ${cp.origin} size ${cp.size} root ${toBase64(cp.root)} (${what})`);
        if (opts.entries && r.changed) {
          for await (const e of client.entries(previousSize ?? 0, cp.size, r.current)) {
            emit(opts.json, { type: 'entry', index: e.index, leafHash: toBase64(e.leafHash), entry: toBase64(e.entry) }, `entry ${e.index} ${toBase64(e.leafHash)} ${e.entry.length} bytes`);
          }
        }
      };
      for (;;) {
        try {
          await round();
        } catch (e) {
          const f = describeFailure(e);
          if (opts.json) {
            const ev = e instanceof LogMisbehaviourError ? { type: 'misbehaviour', kind: e.kind, evidence: e.evidencePath ?? null } : { type: 'error' };
            process.stdout.write(JSON.stringify({ ...ev, message: errorMessage(e) }) + '\n');
          }
          // Misbehaviour ends monitoring; a network error ends only a single round.
          if (f.status === EXIT_MISBEHAVIOUR || opts.once) throw e;
          process.stderr.write(`tlog: ${f.line} (retrying in ${opts.interval}s)\n`);
        }
        if (opts.once) return;
        await new Promise((resolve) => setTimeout(resolve, opts.interval * 1000));
      }
    });

  withLogOptions(program.command('audit').description('fetch every entry and tile, recompute the tree and check it against the trusted checkpoint'))
    .requiredOption('--state <dir>', 'directory holding the trusted checkpoint and evidence')
    .option('--json', 'print the result as JSON')
    .action(async (opts: LogOptions & { state: string; json?: boolean }) => {
      const client = clientFor(opts);
      const store = new TrustedStateStore(opts.state);
      const { current } = await store.advance(client);
      const tty = process.stderr.isTTY === true;
      const bar = tty ? new SingleBar({ format: 'audit [{bar}] {percentage}% {value}/{total} entries', stream: process.stderr }, Presets.shades_classic) : undefined;
      bar?.start(current.checkpoint.size, 0);
      try {
        const r = await auditLog(client, current, { onProgress: (p) => bar?.update(p.entries) });
        bar?.stop();
        emit(opts.json, { type: 'audit', ok: true, origin: client.origin, size: r.size, root: toBase64(r.root), bundles: r.bundles, tiles: r.tiles }, `audit OK: ${r.size} entries of ${client.origin} hash to root ${toBase64(r.root)} (${r.bundles} entry bundles, ${r.tiles} tiles checked)`);
      } catch (e) {
        bar?.stop();
        if (e instanceof LogMisbehaviourError) await store.saveEvidence(e, client.vkey);
        throw e;
      }
    });
}

