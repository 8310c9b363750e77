import type { VerifiedCheckpoint } from '@tlog/client';
import { LogMisbehaviourError } from '@tlog/client';
import { TrustedStateStore } from '@tlog/client/node';
import type { Command } from 'commander';
import { COLUMNS, eventLineOf, row } from '../event-table.js';
import type { FilterOptions } from '../filter-options.js';
import { filterOf, withFilterOptions } from '../filter-options.js';
import type { LogOptions } from '../options.js';
import { clientFor, withLogOptions } from '../options.js';
import { afterOption } from './events-export.js';

interface TailOptions extends LogOptions, FilterOptions {
  after?: number;
  json?: boolean;
  state?: string;
}

/**
 * Registers `events tail`: follow the matching events as the log appends them, each verified
 * before it is printed, reconnecting (and resuming) by itself, until interrupted.
 */
export function registerTailCommand(events: Command): void {
  withFilterOptions(
    withLogOptions(
      events
        .command('tail')
        .description(
          'print the matching events as the log appends them, each verified (checkpoints, consistency, inclusion, commitment), until interrupted',
        ),
    ),
  )
    .option('--after <index>', 'start after this index (-1: from the first event; default: only new events)', afterOption)
    .option('--json', 'print NDJSON, one {index, leafHash, record, salt} per event')
    .option(
      '--state <dir>',
      'a state directory (see monitor) whose trusted checkpoint every checkpoint of the stream must be consistent with',
    )
    .action(async (opts: TailOptions) => {
      const client = clientFor(opts);
      const store = opts.state === undefined ? undefined : new TrustedStateStore(opts.state);
      const trusted: VerifiedCheckpoint | undefined = store === undefined ? undefined : await store.load(client);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const tail = client.tailEvents(filterOf(opts), {
          ...(opts.after === undefined ? {} : { after: opts.after }),
          ...(trusted === undefined ? {} : { trusted }),
          signal: controller.signal,
          onReconnect: (r) =>
            process.stderr.write(
              `tlog: the event stream ended (${r.reason}); reconnecting in ${(r.delayMs / 1000).toFixed(1)} s${r.after === undefined ? '' : `, after index ${r.after}`}\n`,
            ),
        });
        for await (const ev of tail) {
          process.stdout.write((opts.json ? eventLineOf(ev) : row(COLUMNS.map((c) => c.cell(ev)))) + '\n');
        }
      } catch (e) {
        if (e instanceof LogMisbehaviourError && store !== undefined) {
          await store.saveEvidence(e, { verifierKey: client.vkey, ...(trusted === undefined ? {} : { trusted: trusted.note }) });
        }
        throw e;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
