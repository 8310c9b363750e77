import type { EventFilter, EventOrder, VerifiedEvent } from '@tlog/client';
import { MAX_EVENT_PAGE_SIZE } from '@tlog/client';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { LogOptions } from '../options.js';
import { clientFor, intOption, withLogOptions } from '../options.js';

interface SearchOptions extends LogOptions {
  actor?: string;
  action?: string;
  target?: string;
  tenant?: string;
  outcome?: string;
  since?: string;
  until?: string;
  occurredSince?: string;
  occurredUntil?: string;
  order: EventOrder;
  limit?: number;
  json?: boolean;
}

/** Parses --order. */
function orderOption(value: string): EventOrder {
  if (value !== 'asc' && value !== 'desc') throw new InvalidArgumentError(`--order must be asc or desc, got ${JSON.stringify(value)}`);
  return value;
}

/** The table's columns: header, minimum width, and the cell of an event. */
const COLUMNS: readonly { readonly header: string; readonly width: number; readonly cell: (e: VerifiedEvent) => string }[] = [
  { header: 'INDEX', width: 8, cell: (e) => String(e.index) },
  { header: 'RECEIVED_AT', width: 24, cell: (e) => e.record.received_at },
  { header: 'ACTION', width: 20, cell: (e) => e.record.action },
  { header: 'ACTOR', width: 24, cell: (e) => `${e.record.actor.type}:${e.record.actor.id}` },
  { header: 'TARGETS', width: 24, cell: (e) => e.record.targets.map((t) => `${t.type}:${t.id}`).join(',') || '-' },
  { header: 'OUTCOME', width: 0, cell: (e) => e.record.outcome },
];

/** One table row (streamed, so columns have fixed minimum widths; a longer cell pushes the rest right). */
function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(COLUMNS[i]!.width)))
    .join(' ')
    .trimEnd();
}

/** Registers `events search`: every matching event, each verified. */
export function registerEventsCommand(program: Command): void {
  const events = program.command('events').description('search audit events');
  withLogOptions(
    events
      .command('search')
      .description('list the events matching every filter given, each verified (inclusion, commitment, filter, order)'),
  )
    .option('--actor <id>', "the actor's id")
    .option('--action <action>', 'an action, or a prefix ending in * (user.*)')
    .option('--target <id>', 'the id of any of the targets')
    .option('--tenant <tenant>', 'the tenant')
    .option('--outcome <outcome>', 'success, failure or unknown')
    .option('--since <time>', 'received at or after (RFC 3339)')
    .option('--until <time>', 'received before (RFC 3339)')
    .option('--occurred-since <time>', 'occurred at or after (RFC 3339)')
    .option('--occurred-until <time>', 'occurred before (RFC 3339)')
    .option('--order <order>', 'asc (oldest first) or desc', orderOption, 'asc')
    .option('--limit <n>', 'stop after this many events (default: all)', intOption('--limit'))
    .option('--json', 'print NDJSON, one {index, leafHash, record, salt} per event')
    .action(async (opts: SearchOptions) => {
      const filter: Record<string, string | undefined> = {
        actor: opts.actor,
        action: opts.action,
        target: opts.target,
        tenant: opts.tenant,
        outcome: opts.outcome,
        since: opts.since,
        until: opts.until,
        occurred_since: opts.occurredSince,
        occurred_until: opts.occurredUntil,
      };
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
      // Checked field by field by the SDK (an unknown outcome or a bad time is named there).
      for await (const ev of clientFor(opts).searchEvents(filter as EventFilter, { order: opts.order, pageSize })) {
        if (opts.json) {
          const { index, receipt } = ev;
          process.stdout.write(JSON.stringify({ index, leafHash: receipt.leafHash, record: ev.record, salt: receipt.salt }) + '\n');
        } else {
          writeHeader();
          process.stdout.write(row(COLUMNS.map((c) => c.cell(ev))) + '\n');
        }
        if (++count === limit) break;
      }
      writeHeader();
    });
}
