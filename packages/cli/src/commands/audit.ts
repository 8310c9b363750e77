import type { ProofSource } from '@tlog/client';
import { auditEvents, auditLog, LogMisbehaviourError } from '@tlog/client';
import { TrustedStateStore } from '@tlog/client/node';
import { toBase64 } from '@tlog/merkle';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { LogOptions } from '../options.js';
import { clientFor, emit, proofSourceOption, withLogOptions } from '../options.js';

/**
 * Registers `audit`: recompute the whole tree from the entries and check it against the trusted
 * checkpoint; with --events, also the stored events and their search indexes.
 */
export function registerAuditCommand(program: Command): void {
  withLogOptions(
    program.command('audit').description('fetch every entry and tile, recompute the tree and check it against the trusted checkpoint'),
  )
    .requiredOption('--state <dir>', 'directory holding the trusted checkpoint and evidence')
    .option('--json', 'print the result as JSON')
    .option('--proofs <source>', 'consistency proofs from the JSON "api", computed from "tiles", or "auto"', proofSourceOption, 'auto')
    .option(
      '--events',
      'also audit the stored events: re-hash each against the entry at its index, and check every search index against the events',
    )
    .action(async (opts: LogOptions & { state: string; json?: boolean; proofs: ProofSource; events?: boolean }) => {
      const client = clientFor(opts);
      const store = new TrustedStateStore(opts.state);
      const { current } = await store.advance(client, { source: opts.proofs });
      // The bar is for people watching a terminal; piped output stays clean.
      const tty = process.stderr.isTTY === true;
      const bar = tty
        ? new SingleBar({ format: 'audit [{bar}] {percentage}% {value}/{total} entries', stream: process.stderr }, Presets.shades_classic)
        : undefined;
      bar?.start(current.checkpoint.size, 0);
      try {
        const onProgress = (p: { entries: number }) => bar?.update(p.entries);
        const ev = opts.events ? await auditEvents(client, current, { onProgress, source: opts.proofs }) : undefined;
        const r = ev?.log ?? (await auditLog(client, current, { onProgress }));
        bar?.stop();
        emit(
          opts.json,
          {
            type: 'audit',
            ok: true,
            origin: client.origin,
            size: r.size,
            root: toBase64(r.root),
            bundles: r.bundles,
            tiles: r.tiles,
            ...(ev === undefined
              ? {}
              : { events: ev.events, erasedEvents: ev.erased, unstoredEvents: ev.unstored, eventQueries: ev.queries }),
          },
          `audit OK: ${r.size} entries of ${client.origin} hash to root ${toBase64(r.root)} (${r.bundles} entry bundles, ${r.tiles} tiles checked)` +
            (ev === undefined
              ? ''
              : `; ${ev.events} stored events re-hash to their entries, ${ev.queries} index queries agree with them, ${ev.unstored} event-shaped entries have no stored event nor tombstone (raw entries), ${ev.erased} erased events have a tombstone and a proven leaf`),
        );
      } catch (e) {
        bar?.stop();
        if (e instanceof LogMisbehaviourError) await store.saveEvidence(e, { verifierKey: client.vkey, trusted: current.note });
        throw e;
      }
    });
}
