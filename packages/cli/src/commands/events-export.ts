import type { FeedFormat, VerifiedCheckpoint } from '@tlog/client';
import { ExportInterruptedError, FEED_FORMATS, LogMisbehaviourError } from '@tlog/client';
import { TrustedStateStore } from '@tlog/client/node';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { openLineSink, resumeExportFile } from '../export-file.js';
import type { FilterOptions } from '../filter-options.js';
import { filterOf, withFilterOptions } from '../filter-options.js';
import type { LogOptions } from '../options.js';
import { clientFor, withLogOptions } from '../options.js';

interface ExportOptions extends LogOptions, FilterOptions {
  after?: number;
  format: FeedFormat;
  limit?: number;
  out: string;
  verify?: boolean;
  state?: string;
}

/** Parses --format. */
function formatOption(value: string): FeedFormat {
  const f = FEED_FORMATS.find((x) => x === value);
  if (f === undefined) throw new InvalidArgumentError(`--format must be one of ${FEED_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  return f;
}

/** Parses --after: an index, or -1 for "from the first event". */
export function afterOption(value: string): number {
  const n = Number(value);
  if (!/^(-1|[0-9]+)$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`--after must be an event index or -1, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Parses --limit (1 or more). */
function limitOption(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`--limit must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Registers `events export`: the matching events, oldest first, as lines of a format written to
 * a file (resumed from its last complete line when it exists) or to standard output.
 */
export function registerExportCommand(events: Command): void {
  withFilterOptions(
    withLogOptions(
      events
        .command('export')
        .description(
          'write the matching events, oldest first, one line each, to --out; an existing file is continued after its last complete line',
        ),
    ),
  )
    .requiredOption('--out <file>', 'the file to write (appended to, resuming after its last line), or - for standard output')
    .option('--after <index>', 'only events with a higher index (-1: from the first; default)', afterOption)
    .option('--format <format>', `the line format: ${FEED_FORMATS.join(', ')}`, formatOption, 'ndjson')
    .option('--limit <n>', 'at most this many events', limitOption)
    .option(
      '--verify',
      "verify every line: the export's checkpoint (pinned key, consistent with --state's), each line's leaf in the authenticated tiles, its commitment and the filter",
    )
    .option('--state <dir>', 'with --verify: a state directory (see monitor) whose trusted checkpoint the export must be consistent with')
    .action(async (opts: ExportOptions) => {
      const client = clientFor(opts);
      const toFile = opts.out !== '-';
      const file = toFile ? await resumeExportFile(opts.out, opts.format) : { after: undefined, truncated: 0, size: 0 };
      if (file.truncated > 0) process.stderr.write(`tlog: cut off an unfinished last line of ${file.truncated} bytes in ${opts.out}\n`);
      // The file's last line wins over --after, unless --after is further on: nothing is written twice.
      const after = Math.max(file.after ?? -1, opts.after ?? -1);
      const store = opts.state === undefined ? undefined : new TrustedStateStore(opts.state);
      let trusted: VerifiedCheckpoint | undefined;
      if (opts.verify && store !== undefined) trusted = await store.load(client);
      const exp = client.exportEvents({
        filter: filterOf(opts),
        after,
        format: opts.format,
        ...(opts.limit === undefined ? {} : { limit: opts.limit }),
        verify: opts.verify === true,
        ...(trusted === undefined ? {} : { trusted }),
      });
      const sink = await openLineSink(opts.out);
      // The bar is for people watching a terminal; piped output stays clean.
      const bar =
        process.stderr.isTTY === true
          ? new SingleBar(
              { format: 'export [{bar}] {percentage}% | index {value}/{total} | {lines} events', stream: process.stderr },
              Presets.shades_classic,
            )
          : undefined;
      let barStarted = false;
      try {
        for await (const line of exp) {
          await sink.write(line.line);
          if (bar !== undefined) {
            if (!barStarted) bar.start(exp.treeSize ?? line.index + 1, after + 1, { lines: 0 });
            barStarted = true;
            bar.update(line.index + 1, { lines: exp.count });
          }
        }
        await sink.close();
        bar?.stop();
      } catch (e) {
        // Every line received before the failure is whole (and verified, if asked): keep them for the next run.
        await sink.close().catch(() => undefined);
        bar?.stop();
        if (e instanceof LogMisbehaviourError && store !== undefined) {
          await store.saveEvidence(e, { verifierKey: client.vkey, ...(trusted === undefined ? {} : { trusted: trusted.note }) });
        }
        if (e instanceof ExportInterruptedError) {
          const how = toFile ? 'run the same command again to resume' : `resume with --after ${e.after}`;
          throw new ExportInterruptedError(
            `${e.message.replace(/; resume it with after=-?[0-9]+$/, '')}; ${exp.count} events were written; ${how}`,
            {
              url: e.url,
              status: e.status,
              after: e.after,
              cause: e,
            },
          );
        }
        throw e;
      }
      const range = exp.count === 0 ? '' : ` (indexes ${after + 1}..${exp.last})`;
      const tree = exp.treeSize === undefined ? '' : ` of the tree of size ${exp.treeSize}`;
      process.stderr.write(
        `exported ${exp.count} event${exp.count === 1 ? '' : 's'}${range}${tree}${opts.verify ? ', each verified,' : ''} to ${toFile ? opts.out : 'standard output'}\n`,
      );
    });
}
