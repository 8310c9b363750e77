import { type EventFilter, eventMatches } from '@tlog/events';
import type { FeedEvent } from './feed-event.js';

/** What one unfiltered read of the store gives (see EventLog.scan). */
interface Loaded {
  readonly events: readonly FeedEvent[];
  readonly through: number;
}

/** What the window may hold. */
interface Capacity {
  readonly events: number;
  readonly bytes: number;
}

/**
 * The newest events of a log, in memory: every event with an index in [from, to), oldest first.
 * Readers at the live edge read new commits through it, so each event is read and decrypted
 * once however many readers there are. The window only moves forward: it grows as readers ask
 * for newer events and drops its oldest ones beyond its capacity; a reader behind it is told
 * to read the store.
 */
export class RecentEvents {
  private from: number;
  private to: number;
  private list: FeedEvent[] = [];
  private bytes = 0;
  private filling: Promise<void> | undefined;

  /** @param start the first index the window holds (the published size when it is made) */
  constructor(
    start: number,
    private readonly capacity: Capacity,
  ) {
    this.from = start;
    this.to = start;
  }

  /**
   * Matching events with `after < index < upTo` within the limits, as {@link EventFeed.read}
   * answers, or undefined when the window cannot answer (the range starts before it, or is too
   * far beyond it). `load(after, upTo)` reads events of the store, unfiltered.
   */
  async read(
    filter: EventFilter,
    after: number,
    upTo: number,
    limits: Capacity,
    load: (after: number, upTo: number) => Promise<Loaded>,
  ): Promise<{ events: FeedEvent[]; through: number } | undefined> {
    if (after + 1 < this.from) return undefined;
    if (upTo > this.to) {
      if (upTo - this.to > this.capacity.events) {
        // A jump the window cannot hold: it starts again at the new edge, and this reader reads the store.
        if (this.filling === undefined) this.restart(upTo);
        return undefined;
      }
      await this.extend(upTo, load);
      if (after + 1 < this.from || upTo > this.to) return undefined;
    }
    const events: FeedEvent[] = [];
    let bytes = 0;
    for (let k = this.firstAfter(after); k < this.list.length; k++) {
      const e = this.list[k]!;
      if (e.index >= upTo) break;
      if (!eventMatches(e.record, filter)) continue;
      if (events.length > 0 && (events.length >= limits.events || bytes + e.canonical.length > limits.bytes)) {
        return { events, through: e.index - 1 };
      }
      bytes += e.canonical.length;
      events.push(e);
    }
    return { events, through: upTo - 1 };
  }

  /** Drops the event at `index` (it was erased). */
  forget(index: number): void {
    const k = this.firstAfter(index - 1);
    const e = this.list[k];
    if (e?.index !== index) return;
    this.list.splice(k, 1);
    this.bytes -= e.canonical.length;
  }

  /** The position in the list of the first event with an index above `after`. */
  private firstAfter(after: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid]!.index <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private restart(at: number): void {
    this.list = [];
    this.bytes = 0;
    this.from = at;
    this.to = at;
  }

  /** Reads the store up to `upTo` into the window (one fill at a time; concurrent readers share it). */
  private async extend(upTo: number, load: (after: number, upTo: number) => Promise<Loaded>): Promise<void> {
    while (this.to < upTo) {
      if (this.filling !== undefined) {
        await this.filling;
        continue;
      }
      this.filling = (async () => {
        while (this.to < upTo) {
          const r = await load(this.to - 1, upTo);
          for (const e of r.events) {
            this.list.push(e);
            this.bytes += e.canonical.length;
          }
          this.to = r.through + 1;
          this.evict();
        }
      })();
      try {
        await this.filling;
      } finally {
        this.filling = undefined;
      }
    }
  }

  /** Drops the oldest events beyond the capacity. */
  private evict(): void {
    let drop = 0;
    let bytes = this.bytes;
    while (drop < this.list.length && (this.list.length - drop > this.capacity.events || bytes > this.capacity.bytes)) {
      bytes -= this.list[drop]!.canonical.length;
      drop++;
    }
    if (drop === 0) return;
    this.from = this.list[drop - 1]!.index + 1;
    this.list.splice(0, drop);
    this.bytes = bytes;
  }
}
