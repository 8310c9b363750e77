/**
 * The lines of an event export (GET /v1/events/export): cutting a body into lines as it arrives,
 * and reading the event line (index, leaf hash, record, salt) out of a line of each format.
 */
import { z } from 'zod';
import { eventLine, parseAnswer } from './api-answers.js';
import { errorMessage } from './checks.js';
import { ArgumentError, ProtocolError } from './errors.js';
import type { ServedEventLine } from './served-events.js';
import { parseServedEvent } from './served-events.js';

/**
 * The line formats of an export: `ndjson` is the event line itself; `cloudevents` a CloudEvents
 * 1.0 structured event whose `data` is the record (with extensions `tlogindex`, `tlogleafhash`,
 * `tlogsalt`); `ocsf` an OCSF API Activity whose `unmapped.tlog` holds the event line. Each keeps
 * the record exactly as logged, so each line can be verified.
 */
export type FeedFormat = 'ndjson' | 'cloudevents' | 'ocsf';

/** Every {@link FeedFormat}, for argument parsers. */
export const FEED_FORMATS: readonly FeedFormat[] = ['ndjson', 'cloudevents', 'ocsf'];

/**
 * Longest line the client takes: an event's canonical form is at most 64 KiB, and a format's
 * wrapping repeats some of it; a longer line is a broken answer, not one to buffer.
 */
export const MAX_FEED_LINE_BYTES = 1 << 20;

/** The format, 'ndjson' if undefined; ArgumentError if it is not one of {@link FEED_FORMATS}. */
export function checkFeedFormat(format: FeedFormat | undefined): FeedFormat {
  const f = format ?? 'ndjson';
  if (!FEED_FORMATS.includes(f)) throw new ArgumentError(`the format is one of ${FEED_FORMATS.join(', ')}, got ${JSON.stringify(f)}`);
  return f;
}

/**
 * Cuts a byte stream into lines at each `\n`, holding back only the unterminated tail (so memory
 * is one line, whatever the body's length). A line longer than `maxLineBytes` is a ProtocolError.
 */
export class LineSplitter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(private readonly limits: { readonly url: string; readonly maxLineBytes: number }) {}

  /** Bytes of an unterminated line held back (0 when the stream so far ends with `\n`). */
  get partialBytes(): number {
    return this.pendingBytes;
  }

  /** The lines `chunk` completes, in order, without their `\n`. */
  push(chunk: Uint8Array): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      this.hold(chunk.subarray(start, nl));
      lines.push(this.take());
      start = nl + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    return lines;
  }

  private hold(part: Uint8Array): void {
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.limits.maxLineBytes) {
      const { url, maxLineBytes } = this.limits;
      throw new ProtocolError(`${url} answered a line longer than ${maxLineBytes} bytes, longer than any event's; refusing it`, { url });
    }
    if (part.length > 0) this.pending.push(part);
  }

  private take(): Uint8Array {
    const parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** The fields of a CloudEvent line that carry the event line. */
const cloudEventLine = z.object({
  specversion: z.literal('1.0'),
  id: z.string(),
  data: z.unknown(),
  tlogindex: z.number(),
  tlogleafhash: z.string(),
  tlogsalt: z.string(),
});

/** The part of an OCSF line that carries the event line. */
const ocsfLine = z.object({ unmapped: z.object({ tlog: z.unknown() }) });

/**
 * The event line carried by one line of `format` (its text, without the `\n`), validated and
 * decoded (see parseServedEvent); nothing is verified yet. A ProtocolError naming `where` (e.g.
 * "line 12") when the line is not JSON or not of the format's shape.
 */
export function parseFeedLine(format: FeedFormat, text: string, from: { readonly url: string; readonly where: string }): ServedEventLine {
  const { url, where } = from;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ProtocolError(`${url} answered ${where} that is not JSON: ${errorMessage(e)}`, { url });
  }
  const at = `${url} (${where})`;
  let line: unknown = value;
  if (format === 'cloudevents') {
    const ce = parseAnswer(cloudEventLine, value, at);
    line = { index: ce.tlogindex, leafHash: ce.tlogleafhash, salt: ce.tlogsalt, record: ce.data };
    const id = typeof ce.data === 'object' && ce.data !== null && 'id' in ce.data ? ce.data.id : undefined;
    if (id !== ce.id) {
      throw new ProtocolError(`${url} answered ${where}, a CloudEvent whose id ${JSON.stringify(ce.id)} is not its record's`, { url });
    }
  } else if (format === 'ocsf') line = parseAnswer(ocsfLine, value, at).unmapped.tlog;
  return parseServedEvent(parseAnswer(eventLine, line, at), where, url);
}
