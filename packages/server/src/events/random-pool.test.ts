import { describe, expect, it } from 'vitest';
import { RandomPool } from './random-pool.js';

describe('RandomPool', () => {
  it('never hands out the same bytes twice, across refills and for requests larger than a draw', () => {
    const pool = new RandomPool(100);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = i % 7 === 0 ? 150 : 32;
      const b = pool.take(n);
      expect(b.length).toBe(n);
      const hex = Buffer.from(b).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
  });
  it('gives views that do not change when more is taken', () => {
    const pool = new RandomPool(64);
    const a = pool.take(32);
    const copy = a.slice();
    pool.take(32);
    pool.take(32); // a refill: the old pool is left as it was
    expect(a).toEqual(copy);
  });
});
