import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LeafFilter } from './leaf-filter.js';

const random = (n: number) => {
  const all = crypto.randomBytes(32 * n);
  return Array.from({ length: n }, (_, i) => new Uint8Array(all.buffer, all.byteOffset + 32 * i, 32));
};

describe('LeafFilter', () => {
  it('never forgets an added hash, across segment growth, and rarely claims an absent one', () => {
    const f = new LeafFilter(true);
    const added = random((1 << 20) + 50_000); // past the first segment's capacity
    for (const h of added) f.add(h);
    expect(f.count).toBe(added.length);
    expect(added.every((h) => f.mightContain(h))).toBe(true);
    const absent = random(100_000);
    const falsePositives = absent.filter((h) => f.mightContain(h)).length;
    expect(falsePositives).toBeLessThan(2_000); // designed for about 1%
  });

  it('answers "maybe" for everything until rebuilt, and a reset abandons a rebuild in flight', async () => {
    const hashes = random(1000);
    const f = new LeafFilter(false);
    expect(f.mightContain(random(1)[0]!)).toBe(true);
    await f.rebuild({ scanLeafHashes: async (onBatch) => onBatch(hashes) });
    expect(f.ready).toBe(true);
    expect(hashes.every((h) => f.mightContain(h))).toBe(true);
    expect(random(50).filter((h) => f.mightContain(h)).length).toBeLessThan(5);

    f.reset();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rebuilding = f.rebuild({
      scanLeafHashes: async (onBatch) => {
        await gate;
        onBatch(hashes);
      },
    });
    f.reset(); // e.g. another failed commit: this scan's results no longer count
    release();
    await rebuilding;
    expect(f.ready).toBe(false);
  });

  it('round-trips through bytes only for the tree size it was saved with', () => {
    const f = new LeafFilter(true);
    const hashes = random(5000);
    for (const h of hashes) f.add(h);
    const bytes = f.serialize(5000);
    const back = LeafFilter.deserialize(bytes, 5000)!;
    expect(back.ready).toBe(true);
    expect(back.count).toBe(5000);
    expect(hashes.every((h) => back.mightContain(h))).toBe(true);
    expect(LeafFilter.deserialize(bytes, 5001)).toBeUndefined();
    expect(LeafFilter.deserialize(bytes.subarray(0, bytes.length - 1), 5000)).toBeUndefined();
    expect(LeafFilter.deserialize(new TextEncoder().encode('not a filter at all'), 5000)).toBeUndefined();
  });
});
