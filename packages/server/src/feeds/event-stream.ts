import type { EventFilter } from '@tlog/events';
import type { Published } from '../publisher.js';
import { type EventFeed, FeedClosedError } from './event-feed.js';

/** How streams pace themselves. */
export interface StreamOptions {
  /** A comment is sent after this long without frames (default 15 s), so proxies keep the connection. */
  readonly heartbeatMs: number;
  /** A client that reads nothing for this long while frames wait is disconnected (default 60 s). */
  readonly stallMs: number;
  /**
   * At the live edge, how long a stream lets new commits gather before it sends them (default
   * 25 ms): one write per stream for many commits under load, at the price of that much latency.
   */
  readonly gatherMs: number;
}

/** One subscriber's stream. */
export interface StreamSpec {
  readonly filter: EventFilter;
  /** Where it starts: every matching event above this index is sent. */
  readonly after: number;
  /** Add inclusion proofs to events and consistency proofs to checkpoints. */
  readonly proofs: boolean;
  /** Called once when the stream ends, however it ends. */
  readonly release: () => void;
  /** Told of a failure that cut the stream (not of its client going away). */
  readonly onError: (err: unknown) => void;
}

/** Events one chunk holds at most, and about the most record bytes. */
const CHUNK_EVENTS = 256;
const CHUNK_BYTES = 256 * 1024;
const UTF8 = new TextEncoder();
const HEARTBEAT = UTF8.encode(': heartbeat\n\n');
/** The end of an event frame without a proof. */
const CLOSE_FRAME = UTF8.encode('}\n\n');

/**
 * A live stream of a log's events as Server-Sent Events (see docs/feeds.md): a `checkpoint`
 * frame announces a signed tree, then the matching events in it beyond what was sent, oldest
 * first, each with its index as `id`; then the next checkpoint, and so on. A checkpoint's `id` is
 * the position already delivered before it, so Last-Event-ID resumes without gap or duplicate
 * whichever frame came last.
 *
 * It is a pull stream: frames are made when the client reads, from the store or from the feed's
 * shared recent events, so a slow client holds one chunk and never slows the log; one that
 * stops reading for `stallMs` is disconnected (it resumes from its Last-Event-ID).
 */
export class EventStream {
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;
  /** Every matching event with an index up to here was sent (or was before the start). */
  private position: number;
  /** The last checkpoint announced. */
  private announced: Published | undefined;
  private readonly stop = new AbortController();
  private stallTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly feed: EventFeed,
    private readonly spec: StreamSpec,
    private readonly opts: Partial<StreamOptions> = {},
  ) {
    this.position = spec.after;
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          controller.enqueue(UTF8.encode('retry: 2000\n\n'));
        },
        pull: async (controller) => {
          this.clearStall();
          try {
            const chunk = await this.next();
            if (chunk === undefined) return;
            controller.enqueue(chunk);
            this.armStall(controller);
          } catch (err) {
            if (err instanceof FeedClosedError) {
              controller.enqueue(UTF8.encode(`event: closing\ndata: {"after":${this.position}}\n\n`));
              controller.close();
            } else if (this.stop.signal.aborted) {
              return;
            } else {
              this.spec.onError(err);
              controller.error(err);
            }
            this.end();
          }
        },
        cancel: () => this.end(),
      },
      { highWaterMark: 1 },
    );
  }

  /**
   * The next frames to send: a checkpoint and the events after it, events, or a heartbeat;
   * undefined once the stream was stopped. One chunk, so one write to the socket.
   */
  private async next(): Promise<Uint8Array | undefined> {
    const parts: Uint8Array[] = [];
    for (;;) {
      if (this.stop.signal.aborted) return undefined;
      const current = this.announced;
      if (current === undefined || this.position >= current.size - 1) {
        if (parts.length > 0) return Buffer.concat(parts);
        // Everything announced was sent: announce a newer tree, or wait for one (or a heartbeat's time).
        let published = this.feed.published;
        if (current !== undefined && published.size <= current.size) {
          const waited = await this.waitOrBeat(current.size);
          if (waited === undefined) return HEARTBEAT;
          published = waited;
        }
        parts.push(await this.announce(published));
        continue;
      }
      const r = await this.feed.read(this.spec.filter, this.position, current.size, { events: CHUNK_EVENTS, bytes: CHUNK_BYTES });
      this.position = r.through;
      if (r.events.length === 0) continue;
      const tails = this.spec.proofs ? await Promise.all(r.events.map((e) => this.feed.inclusionTail(e.index, current.size))) : undefined;
      r.events.forEach((e, k) => {
        parts.push(this.feed.frameHead(e), tails?.[k] ?? CLOSE_FRAME);
      });
      return Buffer.concat(parts);
    }
  }

  /** The frame announcing `published` (with the consistency proof from the last one, when asked). */
  private async announce(published: Published): Promise<Uint8Array> {
    const previous = this.announced;
    const data: Record<string, unknown> = { size: published.size, checkpoint: published.checkpoint };
    if (this.spec.proofs && previous !== undefined && previous.size > 0 && previous.size < published.size) {
      data.from = previous.size;
      data.consistency = await this.feed.consistency(previous.size, published.size);
    }
    this.announced = published;
    return UTF8.encode(`event: checkpoint\nid: ${this.position}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** The published checkpoint once it is beyond `size`, or undefined after a heartbeat's time. */
  private async waitOrBeat(size: number): Promise<Published | undefined> {
    const beat = new AbortController();
    const timer = setTimeout(() => beat.abort(), this.opts.heartbeatMs ?? 15_000);
    try {
      await this.feed.waitBeyond(size, AbortSignal.any([beat.signal, this.stop.signal]));
      const gather = this.opts.gatherMs ?? 25;
      if (gather > 0) await new Promise((r) => setTimeout(r, gather));
      return this.feed.published;
    } catch (err) {
      if (err instanceof FeedClosedError) throw err;
      if (beat.signal.aborted) return undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Disconnects the client if it does not read the frames waiting within stallMs. */
  private armStall(controller: ReadableStreamDefaultController<Uint8Array>): void {
    if ((controller.desiredSize ?? 0) > 0) return;
    this.stallTimer = setTimeout(() => {
      controller.error(new Error('the client stopped reading the event stream'));
      this.end();
    }, this.opts.stallMs ?? 60_000);
    this.stallTimer.unref();
  }

  private clearStall(): void {
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearStall();
    this.stop.abort();
    this.spec.release();
  }
}
