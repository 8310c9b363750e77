/**
 * Exporting events (GET /v1/events/export): the body streamed line by line, never held whole,
 * each line verified against the checkpoint the export covers, through the authenticated hash
 * tiles (one level-0 tile per 256 leaves, no request per event).
 */
import type { EventFilter, EventRecord } from '@tlog/events';
import { eventMatches, filterParams } from '@tlog/events';
import type { Hash, TileHashReader } from '@tlog/merkle';
import { bytesEqual, fromBase64, HASH_SIZE, TILE_WIDTH, toBase64 } from '@tlog/merkle';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { verifyCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ArgumentError, ExportInterruptedError, LogFetchError, ProtocolError } from './errors.js';
import type { EventContext, EventReadOptions } from './events.js';
import type { FeedFormat } from './feed-lines.js';
import { LineSplitter, MAX_FEED_LINE_BYTES, parseFeedLine } from './feed-lines.js';
import type { StreamedAnswer } from './http.js';
import { fetchStream, joinUrl } from './http.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';
import type { ServedEventLine, ServedFrom } from './served-events.js';
import { ConsistentCheckpoints, checkCommitment } from './served-events.js';
import { authenticatedHashTile, tileReader } from './tiles.js';

/** Options of {@link LogClient.exportEvents}. */
export interface EventExportOptions extends EventReadOptions {
  /** Only the events matching every field given (as in {@link LogClient.searchEvents}). */
  readonly filter?: EventFilter;
  /**
   * Only the events with an index above this: -1 (the default) from the first. To resume an
   * export, the index of the last line received ({@link EventExport.resumeAfter}).
   */
  readonly after?: number;
  /** The lines' format (default 'ndjson'). */
  readonly format?: FeedFormat;
  /** At most this many lines (1 or more); default all. */
  readonly limit?: number;
  /**
   * Verify every line (default true): the export's checkpoint (its `Tlog-Checkpoint` header)
   * against the pinned key and consistent with `trusted`; each line's leaf hash equal to the one
   * the checkpoint's tree has at its index (read from hash tiles authenticated against it); its
   * record and salt committing to that leaf; the filter matching; indexes increasing. With
   * false, lines are only parsed (their shape, the record's schema) and kept in order.
   */
  readonly verify?: boolean;
  /** Stops the export: the iteration ends without an error, {@link EventExport.complete} false. */
  readonly signal?: AbortSignal;
}

/** One line of an export. */
export interface ExportedEvent {
  /** The event's index in the log. */
  readonly index: number;
  /** The RFC 6962 leaf hash of the event's entry. */
  readonly leafHash: Hash;
  /** The logged record. */
  readonly record: EventRecord;
  /** The salt, base64 of 32 bytes. */
  readonly salt: string;
  /** The line as the log sent it, in the export's format, without its `\n`: what to write out. */
  readonly line: string;
}

/**
 * An export being read: iterate it once (for await) to get its lines in index order. Its fields
 * say how far it got, for progress and for resuming.
 */
export interface EventExport extends AsyncIterable<ExportedEvent> {
  /** The size of the tree the export covers (every line's index is below it), once the log answered. */
  readonly treeSize: number | undefined;
  /** The checkpoint of that tree, verified, once the log answered (only when verifying). */
  readonly checkpoint: VerifiedCheckpoint | undefined;
  /** Lines yielded so far. */
  readonly count: number;
  /** The index of the last line yielded, or the export's `after` (-1 from the start) before any. */
  readonly last: number;
  /** Whether the body ended cleanly after its last line. */
  readonly complete: boolean;
  /**
   * The `after` of the export that continues this one: once complete (and not cut by `limit`),
   * treeSize - 1, since no matching event below it was left out; otherwise {@link last}.
   */
  readonly resumeAfter: number;
}

/** An export's query, validated (see event-arguments.ts). */
export interface ExportQuery {
  readonly filter: EventFilter;
  readonly after: number;
  readonly format: FeedFormat;
  readonly limit: number | undefined;
  readonly verify: boolean;
}

/** Response headers of an export. */
const TREE_SIZE_HEADER = 'tlog-tree-size';
const CHECKPOINT_HEADER = 'tlog-checkpoint';

/**
 * The leaf hashes of the tree of `at`, read a level-0 tile at a time from tiles authenticated
 * against it. A new tile reader every 256 tiles (65536 leaves) keeps the cached tiles bounded
 * (about 2 MiB) however long the export; the reader's upper tiles are fetched again then.
 */
class AuthenticatedLeaves {
  private reader: TileHashReader | undefined;
  private group = -1;
  private tileIndex = -1;
  private tile: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly log: LogContext,
    private readonly at: VerifiedCheckpoint,
  ) {}

  /** The leaf hash at `index` (requires index < at's size). */
  async leaf(index: number): Promise<Hash> {
    const k = Math.floor(index / TILE_WIDTH);
    if (k !== this.tileIndex) {
      const group = Math.floor(k / TILE_WIDTH);
      if (group !== this.group || this.reader === undefined) {
        this.reader = tileReader(this.log, this.at);
        this.group = group;
      }
      const width = Math.min(TILE_WIDTH, this.at.checkpoint.size - k * TILE_WIDTH);
      this.tile = await authenticatedHashTile(this.log, { level: 0, index: k, width }, { at: this.at, reader: this.reader });
      this.tileIndex = k;
    }
    const i = index - k * TILE_WIDTH;
    return this.tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/** The tree size an export answered, from its header (undefined when absent); a ProtocolError when malformed. */
function treeSizeOf(res: Response, url: string): number | undefined {
  const v = res.headers.get(TREE_SIZE_HEADER);
  if (v === null) return undefined;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
    throw new ProtocolError(`${url} answered a ${TREE_SIZE_HEADER} header that is not a tree size: ${JSON.stringify(v.slice(0, 40))}`, {
      url,
    });
  }
  return n;
}

/** The signed checkpoint note of an export's header (std base64 of its text); a ProtocolError when absent or not base64 UTF-8. */
function checkpointNoteOf(res: Response, url: string): string {
  const v = res.headers.get(CHECKPOINT_HEADER);
  if (v === null)
    throw new ProtocolError(`${url} answered without its ${CHECKPOINT_HEADER} header: the export cannot be verified`, { url });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(fromBase64(v.trim()));
  } catch (e) {
    if (isDataError(e) || e instanceof TypeError) {
      throw new ProtocolError(`${url} answered a ${CHECKPOINT_HEADER} header that is not base64 of a note: ${errorMessage(e)}`, { url });
    }
    throw notDataError(e);
  }
}

/** A 400 (the log refused the query) as the caller's ArgumentError; anything else unchanged. */
export function refusedQuery(e: unknown): unknown {
  if (e instanceof LogFetchError && e.status === 400)
    return new ArgumentError(`the log refused the request: ${errorMessage(e)}`, { cause: e });
  return e;
}

/** The export of {@link LogClient.exportEvents} (see {@link EventExport}). */
export class EventExportReader implements EventExport {
  private size: number | undefined;
  private at: VerifiedCheckpoint | undefined;
  private lines = 0;
  private lastIndex: number;
  private ended = false;
  private started = false;

  /** `ready` runs before the request (the client's one-time key check). */
  constructor(
    private readonly ctx: EventContext,
    private readonly query: ExportQuery,
    private readonly options: EventExportOptions,
    private readonly ready: () => Promise<void>,
  ) {
    this.lastIndex = query.after;
  }

  get treeSize(): number | undefined {
    return this.size;
  }
  get checkpoint(): VerifiedCheckpoint | undefined {
    return this.at;
  }
  get count(): number {
    return this.lines;
  }
  get last(): number {
    return this.lastIndex;
  }
  get complete(): boolean {
    return this.ended;
  }
  get resumeAfter(): number {
    const cut = this.query.limit !== undefined && this.lines >= this.query.limit;
    return this.ended && !cut && this.size !== undefined ? Math.max(this.lastIndex, this.size - 1) : this.lastIndex;
  }

  [Symbol.asyncIterator](): AsyncIterator<ExportedEvent> {
    if (this.started) throw new ArgumentError('an export is read once: call exportEvents again (with after = resumeAfter) for more');
    this.started = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<ExportedEvent> {
    const { log } = this.ctx;
    const { filter, after, format, limit, verify } = this.query;
    const signal = this.options.signal;
    await this.ready();
    const params = new URLSearchParams(filterParams(filter));
    if (after >= 0) params.set('after', String(after));
    params.set('format', format);
    if (limit !== undefined) params.set('limit', String(limit));
    const url = joinUrl(log.url, `v1/events/export?${params.toString()}`);
    let answer: StreamedAnswer;
    try {
      answer = await fetchStream(log.http, url, {
        headers: { accept: 'application/x-ndjson' },
        idleMs: log.http.timeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (e) {
      if (signal?.aborted === true) return;
      throw refusedQuery(e);
    }
    try {
      this.size = treeSizeOf(answer.response, url);
      let leaves: AuthenticatedLeaves | undefined;
      let at: VerifiedCheckpoint | undefined;
      if (verify) {
        at = verifyCheckpoint(log, checkpointNoteOf(answer.response, url));
        if (this.size !== undefined && this.size !== at.checkpoint.size) {
          throw new ProtocolError(`${url} answered a ${TREE_SIZE_HEADER} of ${this.size} with a checkpoint of size ${at.checkpoint.size}`, {
            url,
          });
        }
        this.size = at.checkpoint.size;
        await new ConsistentCheckpoints(this.ctx, this.options).add(at);
        this.at = at;
        leaves = new AuthenticatedLeaves(log, at);
      }
      const splitter = new LineSplitter({ url, maxLineBytes: MAX_FEED_LINE_BYTES });
      const utf8 = new TextDecoder('utf-8', { fatal: true });
      for (;;) {
        let chunk: Uint8Array | undefined;
        try {
          chunk = await answer.read();
        } catch (e) {
          if (signal?.aborted === true) return;
          throw this.interrupted(answer.response.status, url, errorMessage(e), e);
        }
        if (chunk === undefined) break;
        for (const bytes of splitter.push(chunk)) {
          const where = `line ${this.lines + 1}`;
          let line: string;
          try {
            line = utf8.decode(bytes);
          } catch (e) {
            throw new ProtocolError(`${url} answered ${where}, which is not UTF-8`, { url, cause: e });
          }
          const served = parseFeedLine(format, line, { url, where });
          if (limit !== undefined && this.lines >= limit) {
            throw new ProtocolError(`${url} answered more than the ${limit} lines asked`, { url });
          }
          this.checkPlace(served, at, { url, what: where });
          if (at !== undefined && leaves !== undefined) await this.verifyLine(served, { at, leaves }, { url, what: where });
          this.lines++;
          this.lastIndex = served.index;
          yield { index: served.index, leafHash: served.leafHash, record: served.record, salt: served.salt, line };
          if (signal?.aborted === true) return;
        }
      }
      if (splitter.partialBytes > 0) {
        throw this.interrupted(
          answer.response.status,
          url,
          `the body ended inside a line (${splitter.partialBytes} bytes without their newline)`,
        );
      }
      this.ended = true;
    } finally {
      await answer.close();
    }
  }

  /** The line's index comes after the previous one's (and `after`) and is in the exported tree. */
  private checkPlace(served: ServedEventLine, at: VerifiedCheckpoint | undefined, from: ServedFrom): void {
    const { index } = served;
    const problem =
      index <= this.lastIndex
        ? `${from.what} has index ${index}, not above ${this.lines === 0 ? `the export's after (${this.lastIndex})` : `the line before's (${this.lastIndex})`}: out of order or repeated`
        : this.size !== undefined && index >= this.size
          ? `${from.what} has index ${index}, outside the exported tree of size ${this.size}`
          : undefined;
    if (problem === undefined) return;
    if (at === undefined) throw new ProtocolError(`${from.url} answered ${problem}`, { url: from.url });
    throw misbehaviour(this.ctx.log, {
      kind: 'bad-events',
      message: `the export's ${problem}`,
      evidence: { candidate: at.note, details: { url: from.url, index, previousIndex: this.lastIndex, treeSize: at.checkpoint.size } },
    });
  }

  /** The line's leaf hash is the tree's at its index, its record and salt commit to it, and it matches the filter. */
  private async verifyLine(
    served: ServedEventLine,
    tree: { readonly at: VerifiedCheckpoint; readonly leaves: AuthenticatedLeaves },
    from: ServedFrom,
  ): Promise<void> {
    const { log } = this.ctx;
    const { at } = tree;
    const { index, leafHash } = served;
    const inTree = await tree.leaves.leaf(index);
    if (!bytesEqual(inTree, leafHash)) {
      throw misbehaviour(log, {
        kind: 'bad-events',
        message: `the export's ${from.what} puts leaf hash ${toBase64(leafHash)} at index ${index}, but the signed tree has ${toBase64(inTree)} there`,
        evidence: {
          candidate: at.note,
          details: { url: from.url, index, leafHash: toBase64(leafHash), treeLeafHash: toBase64(inTree) },
        },
      });
    }
    checkCommitment(log, at, served, from);
    if (!eventMatches(served.record, this.query.filter)) {
      throw misbehaviour(log, {
        kind: 'bad-events',
        message: `the export's ${from.what} is the event at index ${index}, which does not match the filter ${JSON.stringify(this.query.filter)}`,
        evidence: {
          candidate: at.note,
          details: { url: from.url, index, record: JSON.stringify(served.record), filter: JSON.stringify(this.query.filter) },
        },
      });
    }
  }

  private interrupted(status: number, url: string, why: string, cause?: unknown): ExportInterruptedError {
    const after = this.lastIndex;
    return new ExportInterruptedError(
      `the export ${url} broke off after ${this.lines} complete lines: ${why}; resume it with after=${after}`,
      {
        url,
        status,
        after,
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }
}
