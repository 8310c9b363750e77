import { TILE_WIDTH } from '@tlog/merkle';
import { LRUCache } from 'lru-cache';
import { type LogStore, StorageError } from '../storage/store.js';

/**
 * Reads entry bundles from the store, keeping recently read full bundles (immutable) in a
 * byte-bounded LRU. Of the partial bundle (the tree's right edge: there is one) the last read is
 * kept too: its first entries never change, so it answers every width it holds, and a wider one
 * is read again. Concurrent reads of one bundle share one store read, so many readers of the
 * edge (up to 16 MiB when entries are large) cost one copy, not one each.
 */
export class EntryReader {
  /** Full bundles by bundle index, bounded by their bytes; none when the budget is 0. */
  private readonly lru: LRUCache<number, Uint8Array> | undefined;
  /** The last partial bundle read, with how many entries it holds. */
  private edge: { readonly bundle: number; readonly data: Uint8Array; readonly count: number } | undefined;
  /** Store reads in flight, by bundle index. */
  private readonly reading = new Map<number, Promise<Uint8Array>>();

  /** @param maxBytes budget of the full-bundle cache (0: no cache) */
  constructor(
    private readonly store: LogStore,
    maxBytes: number,
  ) {
    this.lru = maxBytes > 0 ? new LRUCache({ maxSize: maxBytes, sizeCalculation: (data) => data.length }) : undefined;
  }

  /**
   * Entry bundle `bundle` cut to its first `width` entries (1..256), or undefined when the store
   * holds fewer. Callers check the bundle against the published tree size first.
   */
  async bundle(bundle: number, width: number): Promise<Uint8Array | undefined> {
    let data = this.lru?.get(bundle) ?? (this.edge?.bundle === bundle && this.edge.count >= width ? this.edge.data : undefined);
    if (data === undefined) {
      data = await this.read(bundle);
      // A shared read that started before the entries asked for were committed: read again
      // (any read in flight now started after that one ended, so after the caller's check).
      if (prefixLength(data, width) === undefined) data = await this.read(bundle);
    }
    const end = prefixLength(data, width);
    return end === undefined ? undefined : data.subarray(0, end);
  }

  /** Reads a bundle from the store (sharing a read in flight) and remembers it. */
  private read(bundle: number): Promise<Uint8Array> {
    let p = this.reading.get(bundle);
    if (p === undefined) {
      p = this.store.readBundle(bundle).then((data) => {
        const count = countEntries(data, TILE_WIDTH);
        if (count === TILE_WIDTH) {
          this.lru?.set(bundle, data);
          if (this.edge?.bundle === bundle) this.edge = undefined;
        } else if (this.edge === undefined || this.edge.bundle < bundle || (this.edge.bundle === bundle && this.edge.count < count)) {
          this.edge = { bundle, data, count };
        }
        return data;
      });
      const forget = () => this.reading.delete(bundle);
      p.then(forget, forget);
      this.reading.set(bundle, p);
    }
    return p;
  }

  /** The entries [start, end) (same bundle or across bundles); undefined if the store lacks any. */
  async entries(start: number, end: number): Promise<Uint8Array[] | undefined> {
    const out: Uint8Array[] = [];
    for (let b = Math.floor(start / TILE_WIDTH); b * TILE_WIDTH < end; b++) {
      const from = Math.max(start, b * TILE_WIDTH) - b * TILE_WIDTH;
      const to = Math.min(end, (b + 1) * TILE_WIDTH) - b * TILE_WIDTH;
      const data = await this.bundle(b, to);
      if (data === undefined) return undefined;
      out.push(...splitBundle(data).slice(from, to));
    }
    return out;
  }
}

/** Byte length of the first `count` entries of an encoded bundle, undefined if it has fewer. */
export function prefixLength(data: Uint8Array, count: number): number | undefined {
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + 2 > data.length) return undefined;
    off += 2 + ((data[off]! << 8) | data[off + 1]!);
    if (off > data.length) throw new StorageError(`stored entry bundle is truncated inside entry ${i}`);
  }
  return off;
}

/**
 * How many entries (up to max) an encoded bundle holds, counting length prefixes only (a
 * truncated last entry counts): cheap enough to refuse an oversized request before decoding it.
 */
export function countEntries(data: Uint8Array, max: number): number {
  let off = 0;
  let n = 0;
  while (off + 2 <= data.length && n < max) {
    off += 2 + ((data[off]! << 8) | data[off + 1]!);
    n++;
  }
  return n;
}

/** Splits an encoded bundle into views of its entries. */
export function splitBundle(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < data.length) {
    if (off + 2 > data.length) throw new StorageError('stored entry bundle ends inside a length prefix');
    const len = (data[off]! << 8) | data[off + 1]!;
    if (off + 2 + len > data.length) throw new StorageError('stored entry bundle is truncated');
    out.push(data.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}
