import type { ProofSource } from '@tlog/client';
import { auditLog, LogMisbehaviourError } from '@tlog/client';
import { TrustedStateStore } from '@tlog/client/node';
import { toBase64 } from '@tlog/merkle';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { LogOptions } from '../options.js';
import { clientFor, emit, proofSourceOption, withLogOptions } from '../options.js';

/** Registers `audit`: recompute the whole tree from the entries and check it against the trusted checkpoint. */
export function registerAuditCommand(program: Command): void {
  withLogOptions(
    program.command('audit').description('fetch every entry and tile, recompute the tree and check it against the trusted checkpoint'),
  )
    .requiredOption('--state <dir>', 'directory holding the trusted checkpoint and evidence')
    .option('--json', 'print the result as JSON')
    .option('--proofs <source>', 'consistency proofs from the JSON "api", computed from "tiles", or "auto"', proofSourceOption, 'auto')
    .action(async (opts: LogOptions & { state: string; json?: boolean; proofs: ProofSource }) => {
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
        const r = await auditLog(client, current, { onProgress: (p) => bar?.update(p.entries) });
        bar?.stop();
        emit(
          opts.json,
          { type: 'audit', ok: true, origin: client.origin, size: r.size, root: toBase64(r.root), bundles: r.bundles, tiles: r.tiles },
          `audit OK: ${r.size} entries of ${client.origin} hash to root ${toBase64(r.root)} (${r.bundles} entry bundles, ${r.tiles} tiles checked)`,
        );
      } catch (e) {
        bar?.stop();
        if (e instanceof LogMisbehaviourError) await store.saveEvidence(e, { verifierKey: client.vkey, trusted: current.note });
        throw e;
      }
    });
}
