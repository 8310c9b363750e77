import type { EventOrder } from '@tlog/client';
import { MAX_EVENT_PAGE_SIZE } from '@tlog/client';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { COLUMNS, eventLineOf, row } from '../event-table.js';
import type { FilterOptions } from '../filter-options.js';
import { filterOf, withFilterOptions } from '../filter-options.js';
import type { LogOptions } from '../options.js';
import { clientFor, intOption, withLogOptions } from '../options.js';
import { registerExportCommand } from './events-export.js';
import { registerTailCommand } from './events-tail.js';

interface SearchOptions extends LogOptions, FilterOptions {
  order: EventOrder;
  limit?: number;
  json?: boolean;
}

/** Parses --order. */
function orderOption(value: string): EventOrder {
  if (value !== 'asc' && value !== 'desc') throw new InvalidArgumentError(`--order must be asc or desc, got ${JSON.stringify(value)}`);
  return value;
}

/** Registers `events search`, `events export` and `events tail`. */
export function registerEventsCommand(program: Command): void {
  const events = program.command('events').description('search, export and follow audit events');
  withFilterOptions(
    withLogOptions(
      events
        .command('search')
        .description('list the events matching every filter given, each verified (inclusion, commitment, filter, order)'),
    ),
  )
    .option('--order <order>', 'asc (oldest first) or desc', orderOption, 'asc')
    .option('--limit <n>', 'stop after this many events (default: all)', intOption('--limit'))
    .option('--json', 'print NDJSON, one {index, leafHash, record, salt} per event')
    .action(async (opts: SearchOptions) => {
      const filter = filterOf(opts);
      const limit = opts.limit;
      if (limit === 0) return;
      const pageSize = Math.min(limit ?? MAX_EVENT_PAGE_SIZE, MAX_EVENT_PAGE_SIZE);
      // The header goes out with the first row (or alone after an empty result), never before an error.
      let header = opts.json === true;
      const writeHeader = () => {
        if (!header) process.stdout.write(row(COLUMNS.map((c) => c.header)) + '\n');
        header = true;
      };
      let count = 0;
      for await (const ev of clientFor(opts).searchEvents(filter, { order: opts.order, pageSize })) {
        if (opts.json) process.stdout.write(eventLineOf(ev) + '\n');
        else {
          writeHeader();
          process.stdout.write(row(COLUMNS.map((c) => c.cell(ev))) + '\n');
        }
        if (++count === limit) break;
      }
      writeHeader();
    });
  registerExportCommand(events);
  registerTailCommand(events);
}
