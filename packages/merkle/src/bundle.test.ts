import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MAX_ENTRY_SIZE, decodeEntryBundle, encodeEntryBundle } from './bundle.js';
import { fromHex, toHex } from './encoding.js';
import { MerkleError } from './errors.js';
import { parseTilePath } from './tile.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const vectorsDir = path.resolve(repoRoot, '../shared/vectors');
const haveVectors = existsSync(path.join(vectorsDir, 'tlog-reference.json'));

describe.skipIf(!haveVectors)(haveVectors ? 'entry bundles of tlog-reference.json' : 'entry bundles of tlog-reference.json (skipped: ../shared/vectors not found)', () => {
  const ref = haveVectors
    ? (JSON.parse(readFileSync(path.join(vectorsDir, 'tlog-reference.json'), 'utf8')) as { leaves: string[]; entryBundles: { path: string; hex: string }[] })
    : undefined;

  test('each bundle decodes to its leaves and re-encodes byte for byte', () => {
    for (const b of ref!.entryBundles) {
      const p = parseTilePath(b.path);
      if (p.kind !== 'entries') throw new Error(`${b.path} is not an entry bundle`);
      const entries = decodeEntryBundle(fromHex(b.hex), p.tile.width);
      const want = ref!.leaves.slice(p.tile.index * 256, p.tile.index * 256 + p.tile.width);
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
