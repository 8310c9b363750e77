import type { EventFilter } from '@tlog/events';
import { toBase64 } from '@tlog/merkle';
import { LRUCache } from 'lru-cache';
import type { EventLog } from '../events/event-log.js';
import type { Log } from '../log.js';
import type { Published } from '../publisher.js';
import type { FeedEvent } from './feed-event.js';
import { eventLines } from './formats.js';
import { RecentEvents } from './recent-events.js';

const UTF8 = new TextEncoder();

/** The feed was closed (the server is stopping): a reader stops and tells its consumer where to resume. */
export class FeedClosedError extends Error {
  override readonly name: string = 'FeedClosedError';
}

/** What one read gave: matching events, oldest first, and how far it looked. */
export interface FeedRead {
  readonly events: readonly FeedEvent[];
  /** Every matching event with an index in (after, through] is in `events` (or was erased); through >= after. */
  readonly through: number;
}

/** How much one read may hold. */
export interface ReadLimits {
  /** Most events (default 1000). */
  readonly events?: number;
  /** About the most record bytes (default 1 MiB; one larger record is always allowed). */
  readonly bytes?: number;
}

/** How an {@link EventFeed} keeps the log's newest events. */
export interface EventFeedOptions {
  /** Most recent events kept in memory for readers at the live edge (default 8192). */
  readonly recentEvents?: number;
  /** Most record bytes kept so (default 16 MiB). */
  readonly recentBytes?: number;
}

const DEFAULT_READ_EVENTS = 1000;
const DEFAULT_READ_BYTES = 1024 * 1024;

/**
 * The events of one log as feeds read them (exports, live streams, sinks): matching events in
 * log order from any position, and a wait for the next published checkpoint. Readers at the
 * live edge share one read of each new commit's events (kept in {@link RecentEvents}), so a
 * hundred subscribers cost about one; readers behind it read the store, each at its own pace:
 * nothing is queued for a reader, so a slow one holds no memory and never slows commits.
 */
export class EventFeed {
  private readonly stopping = new AbortController();
  private readonly recent: RecentEvents;
  /** Inclusion-proof frame tails by index and tree size (promises: concurrent streams share one proof). */
  private readonly proofs = new LRUCache<string, Promise<Uint8Array>>({ max: 20_000 });
  private readonly consistencies = new LRUCache<string, string[]>({ max: 1000 });
  /** Frame heads of events, while the events are held (by the recent events, or a reader). */
  private readonly heads = new WeakMap<FeedEvent, Uint8Array>();

  /**
   * @param log the log whose published checkpoints bound every read
   * @param events its events
   */
  constructor(
    private readonly log: Log,
    private readonly events: EventLog,
    opts: EventFeedOptions = {},
  ) {
    this.recent = new RecentEvents(log.published.size, {
      events: opts.recentEvents ?? 8192,
      bytes: opts.recentBytes ?? 16 * 1024 * 1024,
    });
    events.onErased((index) => this.recent.forget(index));
  }

  /** The log's published checkpoint now. */
  get published(): Published {
    return this.log.published;
  }

  /** The log's origin. */
  get origin(): string {
    return this.log.origin;
  }

  /** Whether the feed was closed. */
  get closed(): boolean {
    return this.stopping.signal.aborted;
  }

  /**
   * Matching events with `after < index < upTo` (upTo at most the published size), oldest first,
   * within `limits`; a read may stop early (`through < upTo - 1`): read again from `through`.
   */
  async read(filter: EventFilter, after: number, upTo: number, limits: ReadLimits = {}): Promise<FeedRead> {
    if (this.closed) throw new FeedClosedError('the feed is closed: the server is stopping');
    const maxEvents = limits.events ?? DEFAULT_READ_EVENTS;
    const maxBytes = limits.bytes ?? DEFAULT_READ_BYTES;
    if (upTo - 1 <= after) return { events: [], through: after };
    const cached = await this.recent.read(filter, after, upTo, { events: maxEvents, bytes: maxBytes }, (from, to) =>
      this.events.scan({ filter: {}, after: from, upTo: to, maxEvents: 4096, maxBytes: 4 * 1024 * 1024 }),
    );
    if (cached !== undefined) return cached;
    return this.events.scan({ filter, after, upTo, maxEvents, maxBytes });
  }

  /**
   * Resolves with the published checkpoint once its size is beyond `size`. Rejects with
   * FeedClosedError when the feed closes, and with the signal's reason when `signal` aborts.
   */
  async waitBeyond(size: number, signal?: AbortSignal): Promise<Published> {
    const stop = signal === undefined ? this.stopping.signal : AbortSignal.any([signal, this.stopping.signal]);
    try {
      return await this.log.waitBeyond(size, stop);
    } catch (err) {
      if (this.closed) throw new FeedClosedError('the feed is closed: the server is stopping');
      throw err;
    }
  }

  /**
   * The start of an event's SSE frame, `event: event`, its `id` and `data:` with the event line
   * but for its closing brace: made once per event for every stream (the frames of the newest
   * events are shared by all the streams at the live edge).
   */
  frameHead(e: FeedEvent): Uint8Array {
    let head = this.heads.get(e);
    if (head === undefined) {
      const line = eventLines([e], (x) => `event: event\nid: ${x.index}\ndata: `, '');
      head = line.subarray(0, line.length - 1);
      this.heads.set(e, head);
    }
    return head;
  }

  /**
   * The end of an event's SSE frame with its inclusion proof in the published tree of `size`:
   * `,"inclusion":[...]}` and the blank line. Made once per event and tree for every stream.
   */
  inclusionTail(index: number, size: number): Promise<Uint8Array> {
    const key = `i${index}/${size}`;
    let tail = this.proofs.get(key);
    if (tail === undefined) {
      tail = this.log.inclusionProof(index, size).then((p) => UTF8.encode(`,"inclusion":${JSON.stringify(p.map(toBase64))}}\n\n`));
      // A failed proof is not kept: the next reader asks again.
      tail.catch(() => this.proofs.delete(key));
      this.proofs.set(key, tail);
    }
    return tail;
  }

  /** The consistency proof (standard base64) between published trees of sizes from <= to. */
  async consistency(from: number, to: number): Promise<string[]> {
    const key = `c${from}/${to}`;
    let proof = this.consistencies.get(key);
    if (proof === undefined) {
      proof = (await this.log.consistencyProof(from, to)).map(toBase64);
      this.consistencies.set(key, proof);
    }
    return proof;
  }

  /** Stops every wait: readers get FeedClosedError. */
  close(): void {
    this.stopping.abort(new FeedClosedError('the feed is closed: the server is stopping'));
  }
}
