import { encodeEntryBundle } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import type { LogStore } from '../storage/store.js';
import { countEntries, EntryReader } from './entry-reader.js';

/** A store holding bundles of `sizes[b]` one-byte entries, counting its bundle reads. */
function fakeStore(sizes: number[]): { store: LogStore; reads: number[]; grow(bundle: number, size: number): void } {
  const reads: number[] = [];
  const bundle = (b: number) => encodeEntryBundle(Array.from({ length: sizes[b] ?? 0 }, (_, i) => Uint8Array.of(i & 255)));
  const store = {
    readBundle: async (b: number) => {
      reads.push(b);
      await new Promise((r) => setTimeout(r, 1));
      return bundle(b);
    },
  } as unknown as LogStore;
  return { store, reads, grow: (b, size) => (sizes[b] = size) };
}

describe('EntryReader', () => {
  it('caches full bundles, keeps the edge for the widths it holds, and shares concurrent reads', async () => {
    const { store, reads, grow } = fakeStore([256, 10]);
    const reader = new EntryReader(store, 1 << 20);
    expect((await reader.bundle(0, 256))!.length).toBe(768);
    expect((await reader.bundle(0, 3))!.length).toBe(9);
    expect(reads).toEqual([0]); // full: cached
    const same = await Promise.all(Array.from({ length: 10 }, (_, i) => reader.bundle(1, i + 1)));
    expect(same.map((d) => d!.length)).toEqual(Array.from({ length: 10 }, (_, i) => 3 * (i + 1)));
    expect(reads).toEqual([0, 1]); // ten readers of the edge, one read
    expect(await reader.bundle(1, 11)).toBeUndefined(); // the store has only 10: read again, still 10
    expect(reads).toEqual([0, 1, 1, 1]);
    grow(1, 20);
    expect((await reader.bundle(1, 20))!.length).toBe(60); // wider than the kept edge: read again
    expect((await reader.bundle(1, 5))!.length).toBe(15);
    expect(reads).toEqual([0, 1, 1, 1, 1]);
    expect(await reader.entries(254, 258)).toEqual([Uint8Array.of(254), Uint8Array.of(255), Uint8Array.of(0), Uint8Array.of(1)]);
  });

  it('counts at most `max` entries without decoding them', () => {
    expect(countEntries(encodeEntryBundle([Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)]), 10)).toBe(3);
    expect(countEntries(new Uint8Array(1 << 20), 1000)).toBe(1000);
  });
});
