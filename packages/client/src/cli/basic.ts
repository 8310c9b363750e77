import { readFile } from 'node:fs/promises';
import { PUBLIC_FILE_MODE, writeFileAtomic } from '@tlog/files';
import { toBase64 } from '@tlog/merkle';
import type { Command } from 'commander';
import { errorMessage } from '../checks.js';
import { createNodeHasher } from '../node.js';
import { verifyReceipt } from '../receipt.js';
import type { LogOptions } from './common.js';
import { clientFor, collect, intOption, readVerifierKeyArgument, withLogOptions } from './common.js';

/** Registers `checkpoint`, `submit` and `verify`. */
export function registerBasicCommands(program: Command): void {
  withLogOptions(program.command('checkpoint').description('fetch, verify and print the latest checkpoint'))
    .option('--json', 'print {origin, size, root} as JSON instead of the signed note')
    .action(async (opts: LogOptions & { json?: boolean }) => {
      const { checkpoint, note } = await clientFor(opts).latestCheckpoint();
      if (opts.json)
        process.stdout.write(
          JSON.stringify({ origin: checkpoint.origin, size: checkpoint.size, root: toBase64(checkpoint.root), note }) + '\n',
        );
      else process.stdout.write(note.endsWith('\n') ? note : note + '\n');
    });

  withLogOptions(
    program.command('submit <file>').description('submit a file as one entry, verify the receipt and write it to <file>.tlog-proof'),
  )
    .option('--out <path>', 'where to write the receipt (default: <file>.tlog-proof)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: LogOptions & { out?: string; json?: boolean }) => {
      const entry = new Uint8Array(await readFile(file));
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

  program
    .command('verify <file>')
    .description('offline: check a receipt (signatures and inclusion proof) for a file; no network')
    .option('--receipt <path>', 'the receipt (default: <file>.tlog-proof)')
    .requiredOption('--vkey <key>', 'a trusted log verifier key or a file holding it (repeatable)', collect, [])
    .option('--url <url>', 'ignored: verify never uses the network')
    .option('--origin <origin>', 'expected checkpoint origin (default: the key name)')
    .option('--witness <key>', 'a witness verifier key or file (repeatable)', collect, [])
    .option('--quorum <n>', 'how many of the witnesses must have cosigned (default: all given)', intOption('--quorum'))
    .option('--json', 'print the result as JSON')
    .action(
      async (
        file: string,
        opts: { receipt?: string; vkey: string[]; origin?: string; witness: string[]; quorum?: number; json?: boolean },
      ) => {
        const receiptPath = opts.receipt ?? `${file}.tlog-proof`;
        const read = async (path: string, what: string) => {
          try {
            return new Uint8Array(await readFile(path));
          } catch (e) {
            throw new Error(`cannot read the ${what} ${path}: ${errorMessage(e)}`);
          }
        };
        const entry = await read(file, 'file');
        const receipt = await read(receiptPath, 'receipt');
        const r = verifyReceipt(
          receipt,
          entry,
          opts.vkey.map((k) => readVerifierKeyArgument(k, '--vkey')),
          {
            witnesses: opts.witness.map((k) => readVerifierKeyArgument(k, '--witness')),
            ...(opts.quorum === undefined ? {} : { quorum: opts.quorum }),
            ...(opts.origin === undefined ? {} : { origin: opts.origin }),
            hasher: createNodeHasher(),
          },
        );
        if (opts.json) {
          process.stdout.write(
            JSON.stringify({
              ok: true,
              index: r.index,
              leafHash: toBase64(r.leafHash),
              origin: r.checkpoint.origin,
              treeSize: r.checkpoint.size,
              root: toBase64(r.checkpoint.root),
            }) + '\n',
          );
        } else {
          process.stdout.write(
            `OK: ${file} is entry ${r.index} of ${r.checkpoint.origin} at size ${r.checkpoint.size} (root ${toBase64(r.checkpoint.root)})\n`,
          );
        }
      },
    );
}
