import { TILE_WIDTH } from '@tlog/merkle';
import { type LogStore, StorageError } from '../storage/store.js';

/**
 * Reads entry bundles from the store, keeping recently read full bundles (immutable) in a
 * byte-bounded LRU. Partial bundles are read from the store every time: they still grow.
 */
export class EntryReader {
  private readonly lru = new Map<number, Uint8Array>();
  private bytes = 0;

  /** @param maxBytes budget of the full-bundle cache */
  constructor(
    private readonly store: LogStore,
    private readonly maxBytes: number,
  ) {}

  /**
   * Entry bundle `bundle` cut to its first `width` entries (1..256), or undefined when the store
   * holds fewer. Callers check the bundle against the published tree size first.
   */
  async bundle(bundle: number, width: number): Promise<Uint8Array | undefined> {
    let data = this.lru.get(bundle);
    if (data !== undefined) {
      this.lru.delete(bundle);
      this.lru.set(bundle, data);
    } else {
      data = await this.store.readBundle(bundle);
      if (countEntries(data, TILE_WIDTH) === TILE_WIDTH) this.remember(bundle, data);
    }
    const end = prefixLength(data, width);
    return end === undefined ? undefined : data.subarray(0, end);
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

  private remember(bundle: number, data: Uint8Array): void {
    this.lru.set(bundle, data);
    this.bytes += data.length;
    while (this.bytes > this.maxBytes && this.lru.size > 0) {
      const [k, v] = this.lru.entries().next().value as [number, Uint8Array];
      this.lru.delete(k);
      this.bytes -= v.length;
    }
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

/** How many entries (up to max) an encoded bundle holds. */
function countEntries(data: Uint8Array, max: number): number {
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
