import type { SinkStatus } from '@tlog/client';
import type { Command } from 'commander';
import type { AdminOptions } from '../options.js';
import { adminFor, withAdminOptions } from '../options.js';

/** The table of `sinks list`: header, minimum width, cell. */
const COLUMNS: readonly { readonly header: string; readonly width: number; readonly cell: (s: SinkStatus) => string }[] = [
  { header: 'NAME', width: 16, cell: (s) => s.name },
  { header: 'TYPE', width: 10, cell: (s) => s.type },
  { header: 'STATE', width: 8, cell: (s) => s.state },
  { header: 'CURSOR', width: 8, cell: (s) => String(s.cursor) },
  { header: 'LAG', width: 6, cell: (s) => String(s.lag) },
  { header: 'LAST_ERROR', width: 0, cell: (s) => (s.lastError === undefined ? '-' : `${s.lastErrorAt ?? ''} ${s.lastError}`.trim()) },
];

function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(COLUMNS[i]!.width)))
    .join(' ')
    .trimEnd();
}

/** Registers `sinks [list]` and `sinks resume NAME` (the API key used needs sinks:admin). */
export function registerSinksCommands(program: Command): void {
  const sinks = program
    .command('sinks')
    .description("show the log's sinks and resume a dead one (needs an API key with the sinks:admin scope)");

  withAdminOptions(sinks.command('list', { isDefault: true }).description('list the sinks: type, state, cursor, lag and last error'))
    .option('--json', 'print NDJSON, one sink per line, as the log reports it')
    .action(async (opts: AdminOptions & { json?: boolean }) => {
      const list = await adminFor(opts).sinks();
      if (opts.json) {
        for (const s of list) process.stdout.write(JSON.stringify(s) + '\n');
        return;
      }
      process.stdout.write(row(COLUMNS.map((c) => c.header)) + '\n');
      for (const s of list) process.stdout.write(row(COLUMNS.map((c) => c.cell(s))) + '\n');
    });

  withAdminOptions(sinks.command('resume <name>').description('make a dead sink deliver again from its cursor (nothing is skipped)'))
    .option('--json', 'print the sink after, as the log reports it')
    .action(async (name: string, opts: AdminOptions & { json?: boolean }) => {
      const s = await adminFor(opts).resumeSink(name);
      if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
      else process.stdout.write(`resumed sink ${s.name}: ${s.state} at cursor ${s.cursor} (lag ${s.lag})\n`);
    });
}
