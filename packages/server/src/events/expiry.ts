import type { ExtensionCursor } from '../storage/store.js';
import type { Tombstone } from './erasure.js';
import { indexOfKey, receivedKey, receivedRange, timeOfKey } from './event-keys.js';
import type { EventLog } from './event-log.js';
import { DAY_MS, type Governance, type RetentionRule } from './governance.js';

/** Received keys read (and events decrypted) at once; the job yields to the event loop between such batches. */
const SCAN_BATCH = 128;

/** An event the expiry job erased. */
export interface ExpiredEvent {
  readonly index: number;
  readonly leafHash: string;
  readonly tombstone: Tombstone;
  readonly rule: RetentionRule;
}

/** What one round of the job did. */
export interface ExpiryRound {
  /** Events erased. */
  readonly erased: number;
  /** Events read and decided. */
  readonly examined: number;
  /** Whether the round ended early (stopped, or rules or holds changed under it). */
  readonly interrupted: boolean;
}

/** What an ExpiryJob works with. */
export interface ExpiryOptions {
  readonly governance: Governance;
  readonly events: EventLog;
  /** Time between the end of a round and the start of the next, in ms. */
  readonly intervalMs: number;
  /** Most erasures per second. */
  readonly rate: number;
  /**
   * Called once an erasure is decided, just before its write (awaited): when it throws, nothing is
   * erased and the round ends with the error (onError), to be tried again next round.
   */
  readonly beforeErase?: (index: number, tombstone: Tombstone, rule: RetentionRule) => Promise<void>;
  /** Called after each erasure (awaited; what it throws goes to onError and the job goes on). */
  readonly onErased?: (e: ExpiredEvent) => void | Promise<void>;
  /** Called with what a round throws (storage trouble); the next round tries again. */
  readonly onError?: (err: unknown) => void;
  /** Received keys read at once, between which the cursors are stored and the job yields [128]. */
  readonly scanBatch?: number;
  /** Waits `ms` (injectable for tests); default a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const timerSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Erases the events whose retention has passed, in the background.
 *
 * Each rule has its own cursor over the events in received order (the 'r' keys): a rule walks
 * the events received before now minus its days (and the minimum retention), erasing those it
 * gives their retention (it is the longest matching rule) that no hold covers, and passing over
 * the rest: those belong to a longer rule, to no rule (kept forever), or to a hold. So every
 * event is decided once per rule, and a long rule never holds a short one back. The cursors are
 * stored (governance 'g' 'x') after each batch: a crash loses at most one batch's progress, and
 * that batch is walked again, where the events already erased are gone from the 'r' keys (each
 * erasure is one atomic write), so nothing is erased twice. A rule change or a lifted hold
 * resets the cursors (the events passed over may be erasable now).
 *
 * Erasures are paced to `rate` per second and the job yields to the event loop between
 * batches, so it never starves ingestion. The deleted records are compacted out of the store's
 * files once per round. The clock is the Governance's.
 */
export class ExpiryJob {
  private readonly opts: ExpiryOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** Set by stop(): a round in progress ends at its next batch. */
  private halting = false;

  constructor(opts: ExpiryOptions) {
    if (!(opts.rate > 0)) throw new RangeError(`the expiry rate is > 0 erasures per second, got ${opts.rate}`);
    if (!Number.isSafeInteger(opts.intervalMs) || opts.intervalMs < 0)
      throw new RangeError(`the expiry interval is an integer >= 0 ms, got ${opts.intervalMs}`);
    this.opts = opts;
    this.sleep = opts.sleep ?? timerSleep;
  }

  /** Runs a round every intervalMs (the first one interval after the call) until {@link ExpiryJob.stop}. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.halting = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.runOnce()
        .catch((err: unknown) => this.opts.onError?.(err))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress to end (it ends at its next batch). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halting = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * One round: every rule's walk from its cursor up to its cutoff. Resolves with what it did;
   * rejects on storage trouble (the cursors stored so far stand).
   */
  async runOnce(): Promise<ExpiryRound> {
    const { governance, events } = this.opts;
    const generation = governance.generation;
    const rules = governance.rules();
    const cursors: Record<string, readonly [number, number]> = { ...(await governance.readCursors()) };
    const pace = { windowStart: governance.now(), count: 0 };
    let erased = 0;
    let examined = 0;
    let interrupted = false;
    try {
      for (const rule of rules) {
        // An event is expired under `rule` when received_at + days <= now: received <= cutoff.
        const cutoff = governance.now() - Math.max(rule.days, governance.minRetentionDays) * DAY_MS;
        if (cutoff < 0) continue;
        const end = receivedRange(0, cutoff + 1).lt;
        for (;;) {
          if (this.interruptedBy(generation)) {
            interrupted = true;
            return { erased, examined, interrupted };
          }
          const at = cursors[rule.id];
          const from = at === undefined ? receivedRange(0, 0).gte : receivedKey(at[0], at[1] + 1);
          const keys = await readKeys(events.currentStore.extensionCursor({ gte: from, lt: end }), this.opts.scanBatch ?? SCAN_BATCH);
          if (keys.length === 0) break;
          const indexes = keys.map(indexOfKey);
          const stored = await events.readEvents(indexes);
          for (const ev of stored) {
            if (ev === undefined || governance.retentionOf(ev.record)?.id !== rule.id || governance.holdOn(ev.record) !== undefined)
              continue;
            const done = await governance.expire(
              ev.index,
              rule,
              this.opts.beforeErase === undefined ? undefined : (i, t) => this.opts.beforeErase!(i, t, rule),
            );
            if (done === undefined) continue;
            erased++;
            await this.report({ ...done, rule });
            await this.pace(pace);
          }
          examined += keys.length;
          const last = keys[keys.length - 1]!;
          cursors[rule.id] = [timeOfKey(last), indexOfKey(last)];
          if (!(await governance.saveCursors(cursors, generation))) {
            interrupted = true;
            return { erased, examined, interrupted };
          }
          await yieldToLoop();
        }
      }
      return { erased, examined, interrupted };
    } finally {
      if (erased > 0) await events.compactErased();
    }
  }

  /** Whether the round must end: the job was stopped, or rules or holds changed. */
  private interruptedBy(generation: number): boolean {
    return this.halting || generation !== this.opts.governance.generation;
  }

  private async report(e: ExpiredEvent): Promise<void> {
    try {
      await this.opts.onErased?.(e);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  /** Waits as long as keeps the erasures of this round at or under `rate` per second. */
  private async pace(p: { windowStart: number; count: number }): Promise<void> {
    p.count++;
    const due = p.windowStart + (p.count * 1000) / this.opts.rate;
    const now = this.opts.governance.now();
    if (due > now) await this.sleep(due - now);
    else if (now - due > 1000) {
      // Erasures ran slower than the rate for a while: start a new window rather than burst to catch up.
      p.windowStart = now;
      p.count = 0;
    }
  }
}

/** Up to `n` keys from a cursor, which is then closed. */
async function readKeys(c: ExtensionCursor, n: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  try {
    while (out.length < n) {
      const r = await c.next();
      if (r === undefined) break;
      out.push(r.key);
    }
  } finally {
    await c.close();
  }
  return out;
}
