import type { EventFilter } from '@tlog/events';
import type { EventFeed, FeedRead } from './event-feed.js';
import { eventLines, type FeedFormat, formatLine } from './formats.js';

/** What one export sends. */
export interface ExportSpec {
  readonly filter: EventFilter;
  /** Lines with an index above this one... */
  readonly after: number;
  /** ...and below this one: the published size when the export started. */
  readonly upTo: number;
  readonly format: FeedFormat;
  /** Most lines (Infinity for all). */
  readonly limit: number;
  /** Called once when the body ends, however it ends (done, failed, or the client went away). */
  readonly release: () => void;
  /** Told of a failure that cut the body (the client sees a cut transfer; the operator should see why). */
  readonly onError: (err: unknown) => void;
}

/** Events one chunk of an export holds at most (about 1 MiB of records at most, too). */
const CHUNK_EVENTS = 1000;
const NEWLINE = Uint8Array.of(0x0a);
const noPrefix = () => '';

/**
 * The body of an export: one line per matching event, oldest first, read from the store one
 * chunk at a time as the client takes them (a pull stream: a slow client holds one chunk and the
 * next one read ahead, never the export). A storage failure mid-way ends the body with an error,
 * so the client sees a cut transfer, not a complete export, and resumes from the last line it got.
 */
export function exportBody(feed: EventFeed, spec: ExportSpec): ReadableStream<Uint8Array> {
  let at = spec.after;
  let sent = 0;
  /** The next chunk's read, started while the previous chunk is sent. */
  let ahead: Promise<FeedRead> | undefined;
  const ctx = { origin: feed.origin };
  const read = (): Promise<FeedRead> | undefined => {
    if (at >= spec.upTo - 1 || sent >= spec.limit) return undefined;
    const r = feed.read(spec.filter, at, spec.upTo, { events: Math.min(CHUNK_EVENTS, spec.limit - sent) });
    r.catch(() => {}); // awaited by the next pull; a cancelled export never awaits it
    return r;
  };
  const encode = (r: FeedRead): Uint8Array => {
    if (spec.format === 'ndjson') return eventLines(r.events, noPrefix, '\n');
    return Buffer.concat(r.events.flatMap((e) => [formatLine(spec.format, e, ctx), NEWLINE]));
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const pending = ahead ?? read();
            ahead = undefined;
            if (pending === undefined) {
              controller.close();
              spec.release();
              return;
            }
            const r = await pending;
            at = r.through;
            const n = Math.min(r.events.length, spec.limit - sent);
            sent += n;
            ahead = read();
            if (n === 0) continue;
            controller.enqueue(encode(n === r.events.length ? r : { events: r.events.slice(0, n), through: r.through }));
            return;
          }
        } catch (err) {
          spec.release();
          spec.onError(err);
          controller.error(err);
        }
      },
      cancel() {
        spec.release();
      },
    },
    { highWaterMark: 0 },
  );
}
