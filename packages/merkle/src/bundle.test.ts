import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { describeVectors, tlogReference } from '../../../test/support/vectors.js';
import { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_SIZE } from './bundle.js';
import { fromHex, toHex } from './encoding.js';
import { MerkleError } from './errors.js';
import { parseTilePath } from './tile.js';

describeVectors('entry bundles of tlog-reference.json', () => {
  const ref = tlogReference();

  test('each bundle decodes to its leaves and re-encodes byte for byte', () => {
    for (const b of ref.entryBundles) {
      const p = parseTilePath(b.path);
      if (p.kind !== 'entries') throw new Error(`${b.path} is not an entry bundle`);
      const entries = decodeEntryBundle(fromHex(b.hex), p.tile.width);
      const want = ref.leaves.slice(p.tile.index * 256, p.tile.index * 256 + p.tile.width);
      expect(entries.map(toHex)).toEqual(want);
      expect(toHex(encodeEntryBundle(entries))).toBe(b.hex);
    }
  });
});

describe('entry bundles', () => {
  test('round-trip (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }), (entries) => {
        const data = encodeEntryBundle(entries);
        expect(decodeEntryBundle(data).map(toHex)).toEqual(entries.map(toHex));
        expect(decodeEntryBundle(data, entries.length).length).toBe(entries.length);
      }),
    );
  });

  test('the maximum entry size is accepted, one more byte refused', () => {
    const max = new Uint8Array(MAX_ENTRY_SIZE).fill(7);
    const data = encodeEntryBundle([max, new Uint8Array(0)]);
    expect(data[0]).toBe(0xff);
    expect(data[1]).toBe(0xff);
    expect(decodeEntryBundle(data, 2)[0]!.length).toBe(MAX_ENTRY_SIZE);
    expect(() => encodeEntryBundle([new Uint8Array(1), new Uint8Array(MAX_ENTRY_SIZE + 1)])).toThrow(/entry 1 is 65536 bytes/);
  });

  test('with the expected count, every truncation and every trailing garbage is refused (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 5 }),
        (entries, pick, garbage) => {
          const data = encodeEntryBundle(entries);
          const cut = pick % data.length;
          expect(() => decodeEntryBundle(data.subarray(0, cut), entries.length)).toThrow(MerkleError);
          expect(() => decodeEntryBundle(Uint8Array.of(...data, ...garbage), entries.length)).toThrow(MerkleError);
          // Without a count, a cut that is not on an entry boundary is still refused.
          const boundaries = new Set<number>([0]);
          let o = 0;
          for (const e of entries) boundaries.add((o += 2 + e.length));
          if (!boundaries.has(cut)) expect(() => decodeEntryBundle(data.subarray(0, cut))).toThrow(/truncated/);
        },
      ),
    );
  });

  test('a full bundle of 256 maximum-size entries round-trips; oversized or non-byte entries are refused', () => {
    const max = new Uint8Array(MAX_ENTRY_SIZE);
    const entries = Array.from({ length: 256 }, (_, i) => (i % 2 === 0 ? max : Uint8Array.of(i)));
    const data = encodeEntryBundle(entries);
    expect(data.length).toBe(128 * (2 + MAX_ENTRY_SIZE) + 128 * 3);
    expect(decodeEntryBundle(data, 256).map((e) => e.length)).toEqual(entries.map((e) => e.length));
    for (const n of [MAX_ENTRY_SIZE + 1, 100000]) {
      expect(() => encodeEntryBundle([new Uint8Array(n)])).toThrow(`entry 0 is ${n} bytes; entries are limited to 65535 bytes`);
    }
    expect(() => encodeEntryBundle(['abc' as unknown as Uint8Array])).toThrow(/entry 0 must be a Uint8Array/);
    expect(() => decodeEntryBundle('abc' as unknown as Uint8Array)).toThrow(MerkleError);
    // A length prefix of 0xffff with too few bytes after it is a truncation, not a crash.
    expect(() => decodeEntryBundle(Uint8Array.of(0xff, 0xff, 1, 2, 3))).toThrow(/declares 65535 bytes but only 3 remain/);
  });

  test('truncation, trailing bytes and wrong counts are refused', () => {
    const data = encodeEntryBundle([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    expect(() => decodeEntryBundle(data.subarray(0, data.length - 1))).toThrow(/truncated/);
    expect(() => decodeEntryBundle(data.subarray(0, 1))).toThrow(/truncated/);
    expect(() => decodeEntryBundle(Uint8Array.of(...data, 0))).toThrow(/truncated/);
    expect(() => decodeEntryBundle(Uint8Array.of(...data, 0, 0), 2)).toThrow(/trailing/);
    expect(() => decodeEntryBundle(data, 3)).toThrow(/2 entries, expected 3/);
    expect(() => decodeEntryBundle(data, 1)).toThrow(/trailing/);
    expect(() => decodeEntryBundle(data, -1)).toThrow(MerkleError);
    expect(() => decodeEntryBundle(data, 1.5)).toThrow(MerkleError);
    expect(decodeEntryBundle(new Uint8Array(0), 0)).toEqual([]);
    expect(() => decodeEntryBundle(new Uint8Array(0), 1)).toThrow(MerkleError);
  });
});

test('decoded entries are views into the bundle, whatever its Uint8Array subclass', () => {
  const bundle = encodeEntryBundle([Uint8Array.of(1, 2), Uint8Array.of(3)]);
  for (const data of [bundle, Buffer.from(bundle)]) {
    const [a, b] = decodeEntryBundle(data);
    expect(a!.buffer).toBe(data.buffer);
    expect([...a!, ...b!]).toEqual([1, 2, 3]);
  }
});
