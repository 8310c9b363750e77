import { readFile } from 'node:fs/promises';
import { verifyReceipt } from '@tlog/client';
import { createNodeHasher } from '@tlog/client/node';
import { toBase64 } from '@tlog/merkle';
import type { Command } from 'commander';
import { errorMessage, UsageError } from '../failure.js';
import { type ReceiptCheckOptions, readVerifierKeyArgument, withReceiptCheckOptions } from '../options.js';

interface VerifyOptions extends ReceiptCheckOptions {
  receipt?: string;
}

/** Registers `verify <file>`: the offline receipt check. */
export function registerVerifyCommand(program: Command): void {
  withReceiptCheckOptions(
    program
      .command('verify <file>')
      .description('offline: check a receipt (signatures and inclusion proof) for a file; no network')
      .option('--receipt <path>', 'the receipt (default: <file>.tlog-proof)'),
  ).action(async (file: string, opts: VerifyOptions) => {
    const receiptPath = opts.receipt ?? `${file}.tlog-proof`;
    const read = async (path: string, what: string) => {
      try {
        return new Uint8Array(await readFile(path));
      } catch (e) {
        throw new UsageError(`cannot read the ${what} ${path}: ${errorMessage(e)}`);
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
  });
}
