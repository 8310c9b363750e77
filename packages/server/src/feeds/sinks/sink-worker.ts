import type { EventFilter } from '@tlog/events';
import type { Logger } from 'pino';
import type { AccessEntry } from '../../auth/principal.js';
import { FeedClosedError, type FeedRead, type ReadLimits } from '../event-feed.js';
import type { FeedEvent } from '../feed-event.js';
import { backoffDelay } from './backoff.js';
import type { SinkConfig, SinkType } from './sink-config.js';
import { DeliveryError, type SinkTransport } from './transport.js';

/** Most record bytes a batch holds (about: the event that crosses it is kept), whatever maxEvents says. */
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Most targets of a delivery's access event: the first indexes of the batch. */
export const MAX_ANNOUNCED_TARGETS = 32;

/**
 * The part of the EventFeed a sink uses (the feed fits it; tests use a fake): the published
 * size, ordered reads of matching events, and a wait for the next publication.
 */
export interface SinkSource {
  readonly published: { readonly size: number };
  /** Matching events with after < index < upTo, ascending, within the limits (see EventFeed.read). */
  read(filter: EventFilter, after: number, upTo: number, limits?: ReadLimits): Promise<FeedRead>;
  /** Resolves once the published size is > size; rejects when `signal` aborts, with FeedClosedError when the feed closes. */
  waitBeyond(size: number, signal?: AbortSignal): Promise<unknown>;
}

/**
 * What a sink is doing: `active` (delivering, or waiting for events), `retrying` (the last
 * attempt failed; it waits and tries again), `dead` (stopped at its cursor until resumed),
 * `stopped` (the server is closing).
 */
export type SinkState = 'active' | 'retrying' | 'dead' | 'stopped';

/** A sink as GET /v1/sinks shows it (see feeds-api: the plan's sink object). */
export interface SinkStatus {
  readonly name: string;
  readonly type: SinkType;
  readonly url?: string;
  readonly address?: string;
  readonly format: string;
  readonly state: SinkState;
  /** Every matching event with index <= cursor was delivered (-1: none yet). */
  readonly cursor: number;
  /** The published tree size now. */
  readonly treeSize: number;
  /** treeSize - 1 - cursor: how many indexes it has yet to look at. */
  readonly lag: number;
  /** Events delivered since the server started. */
  readonly delivered: number;
  readonly lastError?: string;
  readonly lastErrorAt?: string;
  readonly lastDeliveryAt?: string;
  readonly failingSince?: string;
  readonly deadSince?: string;
}

/** What a worker needs. */
export interface SinkWorkerOptions {
  readonly config: SinkConfig;
  readonly source: SinkSource;
  readonly transport: SinkTransport;
  /** Where the cursor is stored once a batch is acknowledged. */
  readonly cursors: { write(name: string, cursor: number): Promise<void> };
  /** The stored cursor, or where a new sink starts. */
  readonly cursor: number;
  /** Appends the access event of a batch (AccessTrail.appendSystem), durably, before it is first sent. */
  readonly announce: (entry: AccessEntry, actor: string) => Promise<void>;
  readonly logger: Logger;
  /** Told of each acknowledged batch (metrics). */
  readonly onDelivered?: (events: number) => void;
  readonly now?: () => number;
  /** In [0, 1): the jitter of the backoff. */
  readonly random?: () => number;
}

interface Batch {
  readonly events: readonly FeedEvent[];
  /** The cursor once the batch is acknowledged. */
  readonly through: number;
}

/** Thrown out of a wait when the worker is closing. */
class Closing extends Error {}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * Delivers one sink: reads the matching events after its cursor from the feed, in order, in
 * batches of up to maxEvents gathered for up to maxMs, and hands each to its transport. At
 * least once: the cursor moves (durably) only after the receiver acknowledged the batch, so a
 * crash before that sends the batch again. Before a batch is first sent, its access event is
 * appended (a failure there sends nothing and is retried). A receiver's failure is retried with
 * exponential backoff and full jitter; after retry.deadAfterMs of failing, or at once when the
 * receiver refuses the batch (a 4xx other than 408/429), the sink is dead: it stays at its
 * cursor, skipping nothing, until {@link SinkWorker.resume}. Failures of the server's own
 * (reading the log, writing the access log) are retried the same way but never make it dead.
 *
 * It only reads the feed, so it never holds up ingestion, and it holds one batch in memory.
 */
export class SinkWorker {
  private readonly config: SinkConfig;
  private readonly opts: SinkWorkerOptions;
  private readonly now: () => number;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  /** Wakes a pause (a backoff wait, or dead): set while one is running. */
  private wake: (() => void) | undefined;
  private state: SinkState = 'active';
  private cursor: number;
  private delivered = 0;
  /** Retries since the last success: the backoff's exponent. */
  private attempt = 0;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private lastDeliveryAt: number | undefined;
  private failingSince: number | undefined;
  private deadSince: number | undefined;
  /** The cursor write in flight (settled when none), and whether one is running. */
  private stored: Promise<void> = Promise.resolve();
  private storing = false;

  /** @param opts the sink, its feed, transport and cursor store */
  constructor(opts: SinkWorkerOptions) {
    if (!Number.isSafeInteger(opts.cursor) || opts.cursor < -1)
      throw new RangeError(`a sink cursor is an integer >= -1, got ${opts.cursor}`);
    this.opts = opts;
    this.config = opts.config;
    this.cursor = opts.cursor;
    this.now = opts.now ?? Date.now;
  }

  /** The sink's name. */
  get name(): string {
    return this.config.name;
  }

  /** Starts delivering (once). */
  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      this.state = 'stopped';
      this.opts.logger.error(
        { err, sink: this.name },
        `sink ${this.name} stopped on an unexpected error; restart the server to start it again`,
      );
    });
  }

  /** What it is doing now. */
  status(): SinkStatus {
    const treeSize = this.opts.source.published.size;
    const optional = {
      lastError: this.lastError,
      lastErrorAt: iso(this.lastErrorAt),
      lastDeliveryAt: iso(this.lastDeliveryAt),
      failingSince: iso(this.failingSince),
      deadSince: iso(this.deadSince),
    };
    return {
      name: this.name,
      type: this.config.type,
      ...this.opts.transport.target,
      format: this.config.format,
      state: this.state,
      cursor: this.cursor,
      treeSize,
      lag: Math.max(0, treeSize - 1 - this.cursor),
      delivered: this.delivered,
      ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    };
  }

  /**
   * A dead sink goes active again from its cursor; a retrying one retries at once (its backoff
   * starts over). Does nothing to an active or stopped one. Returns the status after.
   */
  resume(): SinkStatus {
    if (this.state === 'dead') {
      this.state = 'active';
      this.deadSince = undefined;
      this.failingSince = undefined;
      this.attempt = 0;
      this.opts.logger.info({ sink: this.name, cursor: this.cursor }, `sink ${this.name} resumed from its cursor`);
      this.wake?.();
    } else if (this.state === 'retrying') {
      this.attempt = 0;
      this.wake?.();
    }
    return this.status();
  }

  /**
   * Stops: aborts the request in flight, ends the waits, lets a cursor write in progress finish,
   * and closes the transport. The stored cursor is then the last acknowledged batch's (or older).
   */
  async close(): Promise<void> {
    this.stop.abort(new Closing('the sink is closing'));
    this.wake?.();
    await this.loop;
    await this.stored;
    this.state = 'stopped';
    this.opts.transport.close();
  }

  private get closing(): boolean {
    return this.stop.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.closing) {
      if (this.state === 'dead') {
        await this.pause(undefined);
        continue;
      }
      let batch: Batch;
      try {
        batch = await this.collect();
      } catch (err) {
        if (this.closing) break;
        if (err instanceof FeedClosedError) break;
        this.serverFailed(`reading the log failed (${(err as Error).message})`, err);
        await this.pause(this.nextDelay());
        continue;
      }
      if (batch.events.length === 0) this.advance(batch.through);
      else await this.deliver(batch);
    }
    this.state = 'stopped';
  }

  /**
   * The next batch: matching events after the cursor, until maxEvents (or MAX_BATCH_BYTES) are
   * gathered, or maxMs after the first read that found anything new (a batch of no events then
   * only moves the cursor past events the filter skipped). Waits for publications meanwhile.
   */
  private async collect(): Promise<Batch> {
    const { maxEvents, maxMs } = this.config.batch;
    const events: FeedEvent[] = [];
    let bytes = 0;
    let through = this.cursor;
    let deadline: number | undefined;
    for (;;) {
      const size = this.opts.source.published.size;
      const full = events.length >= maxEvents || bytes >= MAX_BATCH_BYTES;
      if (!full && through < size - 1) {
        const r = await this.opts.source.read(this.config.filter, through, size, {
          events: maxEvents - events.length,
          bytes: MAX_BATCH_BYTES - bytes,
        });
        if (r.through <= through) throw new Error(`the feed's read after ${through} made no progress`);
        for (const e of r.events) {
          events.push(e);
          bytes += e.canonical.length;
        }
        through = r.through;
        deadline ??= this.now() + maxMs;
        continue;
      }
      if (full) return { events, through };
      const left = deadline === undefined ? undefined : deadline - this.now();
      if (left !== undefined && left <= 0) return { events, through };
      await this.waitBeyond(size, left);
    }
  }

  /** Waits until the published size exceeds `size`, or `ms` passed; throws Closing when closing. */
  private async waitBeyond(size: number, ms: number | undefined): Promise<void> {
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    const timer = ms === undefined ? undefined : setTimeout(() => ac.abort(), ms);
    try {
      if (this.closing) throw new Closing('the sink is closing');
      await this.opts.source.waitBeyond(size, ac.signal);
    } catch (err) {
      if (this.closing) throw new Closing('the sink is closing');
      if (!ac.signal.aborted) throw err;
    } finally {
      clearTimeout(timer);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** Announces, sends and retries one batch until it is acknowledged, the sink is dead, or it closes. */
  private async deliver(batch: Batch): Promise<void> {
    let announced = false;
    while (!this.closing) {
      if (!announced) {
        try {
          await this.opts.announce(this.accessEntry(batch), `sink:${this.name}`);
          announced = true;
        } catch (err) {
          if (this.closing) return;
          this.serverFailed(`the access log could not record the delivery (${(err as Error).message}); nothing was sent`, err);
          await this.pause(this.nextDelay());
          continue;
        }
      }
      try {
        await this.opts.transport.send(batch.events, this.stop.signal);
      } catch (err) {
        if (this.closing) return;
        const failure =
          err instanceof DeliveryError
            ? err
            : new DeliveryError(`the delivery failed (${(err as Error).message})`, { retryable: true, cause: err });
        if (this.receiverFailed(failure)) return;
        await this.pause(this.nextDelay(failure.retryAfterMs));
        continue;
      }
      this.acknowledged(batch.events.length);
      this.advance(batch.through);
      return;
    }
  }

  /** The access event of a delivery. */
  private accessEntry(batch: Batch): AccessEntry {
    const first = batch.events[0]!.index;
    const last = batch.events[batch.events.length - 1]!.index;
    return {
      action: 'sinks.deliver',
      outcome: 'success',
      targets: batch.events.slice(0, MAX_ANNOUNCED_TARGETS).map((e) => ({ type: 'event', id: String(e.index) })),
      details: { sink: this.name, first, last, count: batch.events.length },
    };
  }

  /**
   * Moves the cursor and stores it, durably when the store lets it (else the batch is delivered
   * again after a restart: still at least once). The write goes on while the next batch is
   * gathered and sent; one write at a time, of the newest cursor (so the stored cursor only
   * moves forward, and writes never pile up); close() waits for it.
   */
  private advance(through: number): void {
    this.cursor = through;
    if (this.storing) return;
    this.storing = true;
    this.stored = (async () => {
      let written: number | undefined;
      while (written !== this.cursor) {
        const target = this.cursor;
        try {
          await this.opts.cursors.write(this.name, target);
        } catch (err) {
          this.opts.logger.warn(
            { err, sink: this.name, cursor: target },
            `sink ${this.name}: storing its cursor failed; after a restart it delivers again from its last stored cursor`,
          );
        }
        written = target;
      }
      this.storing = false;
    })();
  }

  private acknowledged(events: number): void {
    if (this.state === 'retrying') this.opts.logger.info({ sink: this.name }, `sink ${this.name} delivers again`);
    this.state = 'active';
    this.attempt = 0;
    this.failingSince = undefined;
    this.delivered += events;
    this.lastDeliveryAt = this.now();
    this.opts.onDelivered?.(events);
  }

  /** Notes a receiver's failure; true when the sink is now dead. */
  private receiverFailed(err: DeliveryError): boolean {
    const now = this.now();
    this.failingSince ??= now;
    this.lastError = err.message;
    this.lastErrorAt = now;
    const failedFor = now - this.failingSince;
    if (!err.retryable || failedFor >= this.config.retry.deadAfterMs) {
      this.state = 'dead';
      this.deadSince = now;
      const why = err.retryable
        ? `it failed for ${failedFor} ms (retry.deadAfterMs ${this.config.retry.deadAfterMs})`
        : 'the receiver refused the batch';
      this.opts.logger.error(
        { sink: this.name, cursor: this.cursor, reason: err.message },
        `sink ${this.name} is dead: ${why}: ${err.message}; it stays at cursor ${this.cursor} until POST /v1/sinks/${this.name}/resume or a restart`,
      );
      return true;
    }
    if (this.state !== 'retrying')
      this.opts.logger.warn({ sink: this.name, reason: err.message }, `sink ${this.name}: delivery failed (${err.message}); retrying`);
    this.state = 'retrying';
    return false;
  }

  /** Notes a failure of the server's own (reading the log, the access log). */
  private serverFailed(message: string, err: unknown): void {
    this.lastError = message;
    this.lastErrorAt = this.now();
    if (this.state !== 'retrying') this.opts.logger.warn({ err, sink: this.name }, `sink ${this.name}: ${message}; retrying`);
    this.state = 'retrying';
  }

  private nextDelay(retryAfterMs?: number): number {
    return backoffDelay(this.attempt++, this.config.retry, retryAfterMs, this.opts.random);
  }

  /** Waits `ms` (forever when undefined) or until woken (resume, close). */
  private pause(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.wake = done;
      if (this.closing) done();
      else this.stop.signal.addEventListener('abort', done, { once: true });
    });
  }
}
