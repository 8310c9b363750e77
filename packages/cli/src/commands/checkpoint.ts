import { toBase64 } from '@tlog/merkle';
import type { Command } from 'commander';
import type { LogOptions } from '../options.js';
import { clientFor, withLogOptions } from '../options.js';

/** Registers `checkpoint`: fetch, verify and print the latest checkpoint. */
export function registerCheckpointCommand(program: Command): void {
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
}
