/**
 * Following the log's events live (GET /v1/events/stream, Server-Sent Events): every checkpoint
 * frame verified (signature, consistency with the one before and with the trusted one), every
 * event frame verified (commitment, inclusion in the last announced checkpoint) before it is
 * yielded; reconnection with backoff, resuming at the last frame id received (Last-Event-ID).
 */
import type { EventFilter } from '@tlog/events';
import { eventMatches, filterParams } from '@tlog/events';
import type { EventSourceMessage, ParseError } from 'eventsource-parser';
import { createParser } from 'eventsource-parser';
import { checkpointFrame, decodeHash, eventLine, parseAnswer, resumeFrame } from './api-answers.js';
import type { BackoffOptions } from './backoff.js';
import { backoffDelay, DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS, sleep } from './backoff.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { verifyCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import { AccessDeniedError, LogFetchError, ProtocolError } from './errors.js';
import { refusedQuery } from './event-export.js';
import type { EventContext, EventReadOptions, VerifiedEvent } from './events.js';
import { MAX_FEED_LINE_BYTES } from './feed-lines.js';
import type { StreamedAnswer } from './http.js';
import { fetchStream, joinUrl } from './http.js';
import { misbehaviour } from './misbehaviour.js';
import { ConsistentCheckpoints, parseServedEvent, verifyServedEvent } from './served-events.js';

/** Options of {@link LogClient.tailEvents}. */
export interface EventTailOptions extends EventReadOptions {
  /**
   * Start after this index: -1 from the first event, the index of the last event (or a
   * checkpoint's {@link TailItem} `position`) a previous tail delivered to go on from there.
   * Default: live only, from the log's current published tree on.
   */
  readonly after?: number;
  /** Also yield each verified checkpoint, as a {@link TailItem} (default false: events only). */
  readonly checkpoints?: boolean;
  /** Stops the tail: the iteration ends without an error. */
  readonly signal?: AbortSignal;
  /** How to wait between reconnections (exponential backoff with full jitter). */
  readonly reconnect?: BackoffOptions;
  /** Called before each reconnection wait, e.g. to say so on a terminal. */
  readonly onReconnect?: (r: TailReconnect) => void;
}

/** What {@link EventTailOptions.onReconnect} is told. */
export interface TailReconnect {
  /** Connection attempts in a row that delivered nothing before this wait (0 after one that did). */
  readonly attempt: number;
  /** How long the tail waits before connecting again, in milliseconds. */
  readonly delayMs: number;
  /** The position it resumes from (the Last-Event-ID it sends), if any. */
  readonly after: number | undefined;
  /** Why the connection ended, in words. */
  readonly reason: string;
}

/** What a tail with `checkpoints: true` yields. */
export type TailItem =
  | { readonly type: 'event'; readonly event: VerifiedEvent }
  | {
      readonly type: 'checkpoint';
      readonly checkpoint: VerifiedCheckpoint;
      /** Every matching event with an index up to this one was yielded before (or came before the start): a tail may resume after it. */
      readonly position: number;
    };

/** A tail's query, validated (see event-arguments.ts). */
export interface TailQuery {
  readonly filter: EventFilter;
  readonly after: number | undefined;
}

/** Statuses that retrying will not change: the request itself is refused, or the log has no stream. */
const FINAL_STATUSES: readonly number[] = [400, 404, 405, 410, 501];

/** Whether a failed connection may succeed later (no answer, an error status other than a refusal, a body cut off). */
function retryable(e: unknown): e is LogFetchError {
  return e instanceof LogFetchError && !(e instanceof AccessDeniedError) && !FINAL_STATUSES.includes(e.status);
}

/** A frame's `id:` as a position (an integer >= -1); a ProtocolError when absent or malformed. */
function frameId(frame: EventSourceMessage, url: string): number {
  const id = frame.id;
  const n = Number(id);
  if (id === undefined || !/^-?[0-9]+$/.test(id) || !Number.isSafeInteger(n) || n < -1) {
    throw new ProtocolError(`${url} sent a ${frame.event ?? 'message'} frame whose id ${JSON.stringify(id)} is not a position`, { url });
  }
  return n;
}

/** A frame's data as JSON; a ProtocolError when it is not. */
function frameData(frame: EventSourceMessage, url: string): unknown {
  try {
    return JSON.parse(frame.data);
  } catch (e) {
    throw new ProtocolError(`${url} sent a ${frame.event ?? 'message'} frame whose data is not JSON: ${errorMessage(e)}`, { url });
  }
}

/** What one frame gave: something to yield, the end of the connection (lagged, closing), or nothing. */
type FrameOutcome = { readonly item: TailItem } | { readonly end: string } | undefined;

/**
 * One tail: the state that spans its connections (the position reached, the checkpoints seen)
 * and what one connection adds (its last announced checkpoint).
 */
class Tail {
  /** The last frame id received: every matching event up to it was delivered. */
  private position: number | undefined;
  private readonly chain: ConsistentCheckpoints;
  /** The `retry:` the server sent, the default first backoff. */
  private serverRetryMs: number | undefined;

  constructor(
    private readonly ctx: EventContext,
    private readonly query: TailQuery,
    private readonly options: EventTailOptions,
  ) {
    this.position = query.after;
    this.chain = new ConsistentCheckpoints(ctx, options);
  }

  async *run(): AsyncGenerator<TailItem> {
    const { signal, reconnect } = this.options;
    // A function, not a narrowed property: the signal may abort while this generator waits.
    const stopped = () => signal?.aborted === true;
    const maxMs = reconnect?.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
    // Connections in a row that delivered nothing verified.
    let failures = 0;
    for (;;) {
      if (stopped()) return;
      let reason = 'the server ended the stream';
      let failure: LogFetchError | undefined;
      let delivered = false;
      try {
        for await (const out of this.connection()) {
          if ('end' in out) {
            reason = out.end;
            break;
          }
          delivered = true;
          yield out.item;
        }
      } catch (e) {
        if (stopped()) return;
        if (!retryable(e)) throw e;
        failure = e;
        reason = errorMessage(e);
      }
      if (stopped()) return;
      failures = delivered ? 0 : failures + 1;
      if (reconnect?.maxAttempts !== undefined && failures >= reconnect.maxAttempts) {
        const url = joinUrl(this.ctx.log.url, 'v1/events/stream');
        throw (
          failure ??
          new LogFetchError(`${url} ended the stream ${failures} times in a row before any verified frame (${reason})`, {
            url,
            status: 200,
          })
        );
      }
      const initialMs = Math.min(reconnect?.initialMs ?? this.serverRetryMs ?? DEFAULT_BACKOFF_INITIAL_MS, maxMs);
      const retryAfterMs = failure?.retryAfter === undefined ? 0 : Math.min(failure.retryAfter, 3600) * 1000;
      const delayMs = Math.max(retryAfterMs, backoffDelay(Math.max(0, failures - 1), { initialMs, maxMs }));
      this.options.onReconnect?.({ attempt: failures, delayMs, after: this.position, reason });
      await sleep(delayMs, signal);
    }
  }

  /**
   * One connection: yields what its frames give, verified, and its end (`{end}`) when the server
   * says it drops the reader; returns when the body ends; throws what fails.
   */
  private async *connection(): AsyncGenerator<{ readonly item: TailItem } | { readonly end: string }> {
    const { log } = this.ctx;
    const { signal } = this.options;
    const params = new URLSearchParams(filterParams(this.query.filter));
    const resume = this.position;
    if (resume !== undefined) params.set('after', String(resume));
    params.set('proofs', '1');
    const url = joinUrl(log.url, `v1/events/stream?${params.toString()}`);
    let answer: StreamedAnswer;
    try {
      answer = await fetchStream(log.http, url, {
        headers: { accept: 'text/event-stream', ...(resume === undefined ? {} : { 'last-event-id': String(resume) }) },
        idleMs: log.http.timeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (e) {
      throw refusedQuery(e);
    }
    try {
      const type = answer.response.headers.get('content-type') ?? '';
      if (!/^text\/event-stream\s*(;|$)/i.test(type)) {
        throw new ProtocolError(`${url} answered ${JSON.stringify(type)}, not text/event-stream`, { url });
      }
      const frames: EventSourceMessage[] = [];
      let parseError: ParseError | undefined;
      const parser = createParser({
        onEvent: (m) => frames.push(m),
        onRetry: (ms) => {
          this.serverRetryMs = ms;
        },
        // Unknown fields and a malformed retry are ignored, as the SSE spec says; only a frame too large fails.
        onError: (e) => {
          if (e.type === 'max-buffer-size-exceeded') parseError = e;
        },
        maxBufferSize: MAX_FEED_LINE_BYTES,
      });
      const text = new TextDecoder();
      const conn: Connection = { url, at: undefined };
      for (;;) {
        const chunk = await answer.read();
        if (chunk === undefined) return;
        parser.feed(text.decode(chunk, { stream: true }));
        if (parseError !== undefined) {
          throw new ProtocolError(`${url} sent a frame larger than ${MAX_FEED_LINE_BYTES} characters; refusing it`, { url });
        }
        while (frames.length > 0) {
          const out = await this.frame(conn, frames.shift()!);
          if (out !== undefined) yield out;
          if (out !== undefined && 'end' in out) return;
        }
      }
    } finally {
      await answer.close();
    }
  }

  /** Verifies one frame and moves the position past it. */
  private async frame(conn: Connection, frame: EventSourceMessage): Promise<FrameOutcome> {
    switch (frame.event) {
      case 'checkpoint':
        return this.checkpointFrame(conn, frame);
      case 'event':
        return this.eventFrame(conn, frame);
      case 'lagged':
      case 'closing': {
        // The position to resume from is the last id received, which the client knows itself.
        parseAnswer(resumeFrame, frameData(frame, conn.url), conn.url);
        return {
          end: frame.event === 'lagged' ? 'the server dropped this reader for reading too slowly (lagged)' : 'the server is shutting down',
        };
      }
      default:
        // Other frame types may come with later versions: not ours to read.
        return undefined;
    }
  }

  private async checkpointFrame(conn: Connection, frame: EventSourceMessage): Promise<FrameOutcome> {
    const { log } = this.ctx;
    const { url } = conn;
    const id = frameId(frame, url);
    const data = parseAnswer(checkpointFrame, frameData(frame, url), url);
    const position = this.position;
    if (conn.at === undefined) {
      const expected = position ?? data.size - 1;
      if (id !== expected) {
        throw new ProtocolError(`${url} started the stream at position ${id}, not at the one asked (${expected})`, { url });
      }
    } else if (position !== undefined && id < position) {
      throw new ProtocolError(`${url} sent a checkpoint frame with id ${id}, behind the position ${position} already reached`, { url });
    }
    const cp = verifyCheckpoint(log, data.checkpoint);
    if (cp.checkpoint.size !== data.size) {
      throw new ProtocolError(`${url} announced a checkpoint of size ${data.size} whose note says ${cp.checkpoint.size}`, { url });
    }
    const prev = conn.at;
    if (prev === undefined) await this.chain.add(cp);
    else {
      const m = prev.checkpoint.size;
      if (data.size < m) {
        throw misbehaviour(log, {
          kind: 'rollback',
          message: `the stream announced a checkpoint of size ${data.size} after one of size ${m}`,
          evidence: { trusted: prev.note, candidate: cp.note, details: { url } },
        });
      }
      if (data.size > m && (data.from !== m || data.consistency === undefined)) {
        throw new ProtocolError(
          `${url} announced a checkpoint of size ${data.size} without the consistency proof from the previous one (size ${m})`,
          { url },
        );
      }
      await this.chain.addWithProof(
        cp,
        prev,
        (data.consistency ?? []).map((h) => decodeHash(h, url)),
      );
    }
    conn.at = cp;
    this.position = id;
    return { item: { type: 'checkpoint', checkpoint: cp, position: id } };
  }

  private async eventFrame(conn: Connection, frame: EventSourceMessage): Promise<FrameOutcome> {
    const { log } = this.ctx;
    const { url, at } = conn;
    if (at === undefined) throw new ProtocolError(`${url} sent an event frame before any checkpoint frame`, { url });
    const id = frameId(frame, url);
    const value = parseAnswer(eventLine, frameData(frame, url), url);
    const what = `the stream's event frame ${id}`;
    if (value.index !== id) throw new ProtocolError(`${url} sent ${what} holding the event at index ${value.index}`, { url });
    const served = parseServedEvent(value, `event ${id}`, url);
    const position = this.position;
    if (position !== undefined && served.index <= position) {
      throw misbehaviour(log, {
        kind: 'bad-events',
        message: `the stream sent the event at index ${served.index} after position ${position}: out of order or repeated`,
        evidence: { candidate: at.note, details: { url, index: served.index, previousIndex: position } },
      });
    }
    if (served.inclusion === undefined) throw new ProtocolError(`${url} sent ${what} without its inclusion proof`, { url });
    const proof = served.inclusion.map((h) => decodeHash(h, url));
    const ev = verifyServedEvent(log, at, { ...served, proof }, { url, what });
    if (!eventMatches(ev.record, this.query.filter)) {
      throw misbehaviour(log, {
        kind: 'bad-events',
        message: `the stream sent the event at index ${ev.index}, which does not match the filter ${JSON.stringify(this.query.filter)}`,
        evidence: {
          candidate: at.note,
          details: { url, index: ev.index, record: JSON.stringify(ev.record), filter: JSON.stringify(this.query.filter) },
        },
      });
    }
    this.position = ev.index;
    return { item: { type: 'event', event: ev } };
  }
}

/** One connection's state: its URL and the last checkpoint it announced. */
interface Connection {
  readonly url: string;
  at: VerifiedCheckpoint | undefined;
}

/** GET /v1/events/stream, followed and verified (see {@link LogClient.tailEvents}). */
export function tailEvents(ctx: EventContext, query: TailQuery, options: EventTailOptions): AsyncGenerator<TailItem> {
  return new Tail(ctx, query, options).run();
}
