/**
 * Fakes for the sinks' unit tests: an in-memory feed (the part of EventFeed a sink reads), a
 * transport whose answers a test scripts.
 */
import { type EventFilter, type EventOutcome, type EventRecord, eventMatches } from '@tlog/events';
import { FeedClosedError, type FeedRead } from '../../packages/server/src/feeds/event-feed.js';
import type { FeedEvent } from '../../packages/server/src/feeds/feed-event.js';
import type { SinkSource } from '../../packages/server/src/feeds/sinks/sink-worker.js';
import type { SinkTarget, SinkTransport } from '../../packages/server/src/feeds/sinks/transport.js';

const UTF8 = new TextEncoder();

/** An event record for tests: `e<index>`, the action and outcome given. */
export function testRecord(
  index: number,
  fields: { action?: string; outcome?: EventOutcome; tenant?: string; occurredAt?: string } = {},
): EventRecord {
  return {
    id: `e${index}`,
    action: fields.action ?? 'user.login',
    actor: { type: 'user', id: `user:${index % 3}` },
    targets: [],
    outcome: fields.outcome ?? 'success',
    occurred_at: fields.occurredAt ?? new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
    ...(fields.tenant === undefined ? {} : { tenant: fields.tenant }),
    context: {},
    metadata: { n: index },
    received_at: new Date(Date.UTC(2026, 0, 1, 0, 1, index)).toISOString(),
  };
}

/** A feed event around a record (leafHash and salt are made up, distinct per index). */
export function testEvent(index: number, record: EventRecord = testRecord(index)): FeedEvent {
  const hash = Buffer.alloc(32, index % 256);
  hash.writeUInt32BE(index, 0);
  return {
    index,
    leafHash: hash.toString('base64'),
    record,
    canonical: UTF8.encode(JSON.stringify(record)),
    salt: Buffer.alloc(16, 7).toString('base64'),
  };
}

/** An in-memory log's feed: `publish` adds events and wakes the waits. */
export class FakeFeed implements SinkSource {
  readonly events: FeedEvent[] = [];
  /** Calls of read, for tests that check what was asked. */
  readonly reads: { after: number; upTo: number; max: number | undefined }[] = [];
  private waiters: { size: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private closed = false;

  /** Closes the feed as the server does when stopping: waits and reads reject with FeedClosedError. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new FeedClosedError('the feed is closed'));
  }

  get published(): { readonly size: number } {
    return { size: this.events.length };
  }

  /** Appends events with these records (or default ones) and publishes them. */
  publish(records: readonly (EventRecord | undefined)[]): void {
    for (const r of records) {
      const index = this.events.length;
      this.events.push(testEvent(index, r ?? testRecord(index)));
    }
    const ready = this.waiters.filter((w) => this.events.length > w.size);
    this.waiters = this.waiters.filter((w) => this.events.length <= w.size);
    for (const w of ready) w.resolve();
  }

  async read(filter: EventFilter, after: number, upTo: number, max?: { readonly events?: number }): Promise<FeedRead> {
    if (this.closed) throw new FeedClosedError('the feed is closed');
    this.reads.push({ after, upTo, max: max?.events });
    const limit = max?.events ?? 1000;
    const out: FeedEvent[] = [];
    for (let i = after + 1; i < upTo; i++) {
      const e = this.events[i]!;
      if (!eventMatches(e.record, filter)) continue;
      out.push(e);
      if (out.length === limit) return { events: out, through: i };
    }
    return { events: out, through: Math.max(after, upTo - 1) };
  }

  waitBeyond(size: number, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) return Promise.reject(new FeedClosedError('the feed is closed'));
    if (this.events.length > size) return Promise.resolve(this.published);
    return new Promise<unknown>((resolve, reject) => {
      const w = { size, resolve: () => resolve(this.published), reject };
      this.waiters.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}

/** What a scripted transport does with one send: deliver, fail with this error, or hang until aborted. */
export type Answer = 'ok' | 'hang' | Error;

/** A transport that records every batch and answers as scripted (then 'ok' once the script is used up, or `otherwise`). */
export class FakeTransport implements SinkTransport {
  readonly target: SinkTarget = { url: 'http://receiver.test/hook' };
  /** Every send, as the indexes of its events, in order. */
  readonly sends: number[][] = [];
  /** The indexes of the acknowledged sends. */
  readonly delivered: number[][] = [];
  /** Aborted sends. */
  aborted = 0;
  closed = false;
  /** Called on every send before it answers (e.g. to move a fake clock). */
  onSend: (() => void) | undefined;

  constructor(
    readonly script: Answer[] = [],
    public otherwise: Answer = 'ok',
  ) {}

  async send(events: readonly { readonly index: number }[], signal: AbortSignal): Promise<void> {
    const indexes = events.map((e) => e.index);
    this.sends.push(indexes);
    this.onSend?.();
    const answer = this.script.shift() ?? this.otherwise;
    if (answer === 'hang') {
      await new Promise<void>((_, reject) => {
        const onAbort = () => {
          this.aborted++;
          reject(signal.reason);
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    if (answer instanceof Error) throw answer;
    this.delivered.push(indexes);
  }

  close(): void {
    this.closed = true;
  }

  /** Every delivered index, in order. */
  deliveredIndexes(): number[] {
    return this.delivered.flat();
  }
}
