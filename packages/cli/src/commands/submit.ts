import { readFile } from 'node:fs/promises';
import { PUBLIC_FILE_MODE, writeFileAtomic } from '@tlog/files';
import { toBase64 } from '@tlog/merkle';
import type { Command } from 'commander';
import { errorMessage, UsageError } from '../failure.js';
import type { LogOptions } from '../options.js';
import { clientFor, withLogOptions } from '../options.js';

/** Registers `submit <file>`: submit a file as one entry and keep its verified receipt. */
export function registerSubmitCommand(program: Command): void {
  withLogOptions(
    program.command('submit <file>').description('submit a file as one entry, verify the receipt and write it to <file>.tlog-proof'),
  )
    .option('--out <path>', 'where to write the receipt (default: <file>.tlog-proof)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: LogOptions & { out?: string; json?: boolean }) => {
      let entry: Uint8Array;
      try {
        entry = new Uint8Array(await readFile(file));
      } catch (e) {
        throw new UsageError(`cannot read the file ${file}: ${errorMessage(e)}`);
      }
      const r = await clientFor(opts).submit(entry);
      const out = opts.out ?? `${file}.tlog-proof`;
      await writeFileAtomic(out, r.receipt, { mode: PUBLIC_FILE_MODE });
      if (opts.json) {
        process.stdout.write(
          JSON.stringify({ index: r.index, leafHash: toBase64(r.leafHash), treeSize: r.checkpoint.checkpoint.size, receipt: out }) + '\n',
        );
      } else {
        process.stdout.write(
          `entry ${r.index} (leaf hash ${toBase64(r.leafHash)}) is in ${r.checkpoint.checkpoint.origin} at size ${r.checkpoint.checkpoint.size}; receipt written to ${out}\n`,
        );
      }
    });
}
