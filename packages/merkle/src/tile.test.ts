import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { describeVectors, tlogReference } from '../../../test/support/vectors.js';
import { fromHex, toHex } from './encoding.js';
import { MerkleError } from './errors.js';
import { defaultHasher, type Hash, rootFromLeafHashes } from './hash.js';
import {
  changedTiles,
  entriesTilesForSize,
  formatEntriesPath,
  formatTileIndex,
  formatTilePath,
  hashTileRoot,
  nodeFromTile,
  type ParsedTilePath,
  parseTilePath,
  TILE_HEIGHT,
  TILE_WIDTH,
  type TileId,
  tileForNode,
  tilesForSize,
} from './tile.js';

/** Hash tile bytes computed directly from leaf hashes: the test's independent oracle. */
function computeTile(leafHashes: readonly Hash[], tile: TileId): Uint8Array {
  const out = new Uint8Array(tile.width * 32);
  const span = 2 ** (TILE_HEIGHT * tile.level);
  for (let i = 0; i < tile.width; i++) {
    const k = tile.index * TILE_WIDTH + i;
    out.set(rootFromLeafHashes(leafHashes.slice(k * span, (k + 1) * span)), i * 32);
  }
  return out;
}

describeVectors('tiles of tlog-reference.json', () => {
  const ref = tlogReference();
  const leaves = ref.leafHashes.map(fromHex);

  test('tilesForSize(1100) names exactly the reference tiles, and each tile equals the reference bytes', () => {
    const tiles = tilesForSize(1100);
    expect(tiles.map(formatTilePath)).toEqual(ref.tiles.map((t) => t.path));
    for (const t of ref.tiles) {
      const parsed = parseTilePath(t.path);
      expect(parsed.kind).toBe('hash');
      if (parsed.kind !== 'hash') continue;
      expect(formatTilePath(parsed.tile)).toBe(t.path);
      expect(toHex(computeTile(leaves, parsed.tile)), t.path).toBe(t.hex);
    }
  });

  test('level-1 hashes are the roots of the full level-0 tiles; nodeFromTile matches the MTH', () => {
    const byPath = new Map(ref.tiles.map((t) => [t.path, fromHex(t.hex)]));
    const l1 = byPath.get('tile/1/000.p/4')!;
    for (let i = 0; i < 4; i++) {
      const t0 = byPath.get(`tile/0/00${i}`)!;
      expect(toHex(hashTileRoot(t0))).toBe(toHex(l1.subarray(i * 32, (i + 1) * 32)));
      expect(toHex(nodeFromTile({ level: 0, index: i, width: 256 }, t0, 8, i))).toBe(toHex(hashTileRoot(t0)));
    }
    const partial = byPath.get('tile/0/004.p/76')!;
    const tile = { level: 0, index: 4, width: 76 };
    for (const [level, index] of [
      [0, 1024],
      [0, 1099],
      [2, 256],
      [3, 130],
      [6, 16],
    ] as const) {
      const want = rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
      expect(toHex(nodeFromTile(tile, partial, level, index))).toBe(toHex(want));
      expect(tileForNode(level, index, 1100)).toEqual(tile);
    }
    expect(() => nodeFromTile(tile, partial, 7, 8)).toThrow(/not inside tile/); // leaves 1024..1151 > 1100
    expect(toHex(hashTileRoot(partial))).toBe(toHex(rootFromLeafHashes(leaves.slice(1024, 1100))));
  });

  test('entry bundle paths parse and format', () => {
    expect(entriesTilesForSize(1100).map(formatEntriesPath)).toEqual(ref.entryBundles.map((b) => b.path));
    for (const b of ref.entryBundles) {
      const p = parseTilePath(b.path);
      expect(p.kind).toBe('entries');
      if (p.kind === 'entries') expect(formatEntriesPath(p.tile)).toBe(b.path);
    }
  });
});

describe('tile paths', () => {
  test('formatTileIndex groups digits in threes', () => {
    expect(formatTileIndex(0)).toBe('000');
    expect(formatTileIndex(67)).toBe('067');
    expect(formatTileIndex(999)).toBe('999');
    expect(formatTileIndex(1000)).toBe('x001/000');
    expect(formatTileIndex(1234067)).toBe('x001/x234/067');
    expect(formatTileIndex(Number.MAX_SAFE_INTEGER)).toBe('x009/x007/x199/x254/x740/991');
    expect(formatTilePath({ level: 0, index: 1234, width: 5 })).toBe('tile/0/x001/234.p/5');
    expect(formatTilePath({ level: 63, index: 0, width: 256 })).toBe('tile/63/000');
    expect(formatEntriesPath({ index: 1234, width: 256 })).toBe('tile/entries/x001/234');
  });

  test('parse and format round-trip (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.maxSafeNat(), fc.integer({ min: 1, max: 256 }), (level, index, width) => {
        const p = formatTilePath({ level, index, width });
        expect(parseTilePath(p)).toEqual({ kind: 'hash', tile: { level, index, width } });
        const e = formatEntriesPath({ index, width });
        expect(parseTilePath(e)).toEqual({ kind: 'entries', tile: { index, width } });
      }),
    );
  });

  const badPaths = [
    '',
    'tile',
    'tile/0',
    'tile/0/',
    '/tile/0/000',
    'tiles/0/000',
    'tile/00/000',
    'tile/01/000',
    'tile/64/000',
    'tile/-1/000',
    'tile/a/000',
    'tile/0/00',
    'tile/0/0000',
    'tile/0/1',
    'tile/0/x001',
    'tile/0/001/234',
    'tile/0/x001/x234',
    'tile/0/x000/001',
    'tile/0/x01/234',
    'tile/0/y001/234',
    'tile/0/X001/234',
    'tile/0/00a',
    'tile/0/+01',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/0/000.p/300',
    'tile/0/000.p/05',
    'tile/0/000.p/',
    'tile/0/000.p',
    'tile/0/000.p/5/',
    'tile/0/000/',
    'tile/0/000.q/5',
    'tile/0/000.p/1.5',
    'tile/entries',
    'tile/entries/',
    'tile/entries/12',
    'tile/entries/x000/012',
    'tile/entries/000.p/256',
    'tile/entries/000.p/0',
    'tile/0/x009/x007/x199/x254/x740/992', // 2^53
    'tile/0/x999/x999/x999/x999/x999/x999/999',
    'tile/0/ 000',
    'tile/0/000 ',
    'tile//000',
    'tile/0//000',
    // More of the C2SP rules: 3-digit groups, "x" on all but the last, no leading zeros.
    'tile/0/1000',
    'tile/0/x1000/000',
    'tile/0/x01/000',
    'tile/0/x001/2340',
    'tile/0/x001/x234/67',
    'tile/0/x001/234/',
    'tile/0/x001/234/067',
    'tile/0/x000/x001/234',
    'tile/0/xx01/234',
    'tile/0/x001.p/5/234',
    'tile/0/000.P/5',
    'tile/0/000.p/+5',
    'tile/0/000.p/-1',
    'tile/0/000.p/5.p/3',
    'tile/0/000.p/0x5',
    'tile/0/000.p/1000',
    'tile/0/\u0660\u0660\u0660', // Arabic-Indic digits are not ASCII digits
    'tile/0/000\n',
    'tile/0/000?x=1',
    'tile/0/000#',
    'tile/0/000.p/5?',
    'tile/+0/000',
    'tile/0x1/000',
    'tile/1e1/000',
    'tile/63.0/000',
    'tile/100/000',
    'tile/640/000',
    'tile/00000000000000000001/000',
    'tile/9007199254740993/000',
    'TILE/0/000',
    'tile/Entries/000',
    'tile/entries/0/000',
    'tile/entries/x001',
    'tile/entries/1000',
    'tile/entries/000.p/05',
    'tile/entries/000/',
    './tile/0/000',
    'tile/0/../0/000',
    'https://example.com/tile/0/000',
  ];
  test.each(badPaths)('rejects %j', (p) => {
    expect(() => parseTilePath(p)).toThrow(MerkleError);
    // The message names the path it refused.
    expect(() => parseTilePath(p)).toThrow(JSON.stringify(p));
  });

  test.each([
    ['tile/0/000', { kind: 'hash', tile: { level: 0, index: 0, width: 256 } }],
    ['tile/0/000.p/1', { kind: 'hash', tile: { level: 0, index: 0, width: 1 } }],
    ['tile/0/000.p/255', { kind: 'hash', tile: { level: 0, index: 0, width: 255 } }],
    ['tile/0/x001/234', { kind: 'hash', tile: { level: 0, index: 1234, width: 256 } }],
    ['tile/1/x001/x234/067', { kind: 'hash', tile: { level: 1, index: 1234067, width: 256 } }],
    ['tile/2/x001/x234/067.p/8', { kind: 'hash', tile: { level: 2, index: 1234067, width: 8 } }],
    ['tile/63/000', { kind: 'hash', tile: { level: 63, index: 0, width: 256 } }],
    ['tile/0/x001/x000/000', { kind: 'hash', tile: { level: 0, index: 1000000, width: 256 } }],
    ['tile/0/x009/x007/x199/x254/x740/991', { kind: 'hash', tile: { level: 0, index: Number.MAX_SAFE_INTEGER, width: 256 } }],
    ['tile/entries/000', { kind: 'entries', tile: { index: 0, width: 256 } }],
    ['tile/entries/x001/234.p/5', { kind: 'entries', tile: { index: 1234, width: 5 } }],
  ])('accepts %j', (p, want) => {
    expect(parseTilePath(p)).toEqual(want);
  });

  test('any string either fails with MerkleError or parses to a tile whose path is that string (property)', () => {
    // Strings over the path alphabet, so that near-misses of valid paths are common.
    const piece = fc.constantFrom(
      'tile',
      'entries',
      'x',
      '0',
      '1',
      '00',
      '000',
      '001',
      '255',
      '256',
      '63',
      '64',
      'x000',
      'x001',
      '.p',
      '/',
      '.',
      'p',
      ' ',
    );
    const pathLike = fc.oneof(
      fc.array(piece, { maxLength: 12 }).map((a) => a.join('')),
      fc.array(piece, { maxLength: 6 }).map((a) => `tile/${a.join('/')}`),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(pathLike, (p) => {
        let parsed: ParsedTilePath;
        try {
          parsed = parseTilePath(p);
        } catch (e) {
          expect(e).toBeInstanceOf(MerkleError);
          return;
        }
        expect(parsed.kind === 'hash' ? formatTilePath(parsed.tile) : formatEntriesPath(parsed.tile)).toBe(p);
      }),
      { numRuns: 2000 },
    );
  });

  test('a non-string is refused with MerkleError, not a TypeError', () => {
    for (const v of [undefined, null, 5, {}, ['tile', '0', '000']]) {
      expect(() => parseTilePath(v as unknown as string)).toThrow(MerkleError);
    }
  });

  test('format refuses invalid tile ids', () => {
    for (const t of [
      { level: -1, index: 0, width: 1 },
      { level: 64, index: 0, width: 1 },
      { level: 0, index: -1, width: 1 },
      { level: 0, index: 1.5, width: 1 },
      { level: 0, index: 2 ** 53, width: 1 },
      { level: 0, index: 0, width: 0 },
      { level: 0, index: 0, width: 257 },
      { level: 0, index: Number.NaN, width: 1 },
    ]) {
      expect(() => formatTilePath(t)).toThrow(MerkleError);
    }
    expect(() => formatTileIndex(-1)).toThrow(MerkleError);
  });
});

describe('tile sets', () => {
  test('tilesForSize follows the C2SP example of 70,000 leaves', () => {
    const tiles = tilesForSize(70000);
    const l0 = tiles.filter((t) => t.level === 0);
    expect(l0.length).toBe(274);
    expect(l0.filter((t) => t.width === 256).length).toBe(273);
    expect(l0[273]).toEqual({ level: 0, index: 273, width: 112 });
    expect(tiles.filter((t) => t.level === 1)).toEqual([
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(tiles.filter((t) => t.level === 2)).toEqual([{ level: 2, index: 0, width: 1 }]);
    expect(tilesForSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesForSize(0)).toEqual([]);
    expect(entriesTilesForSize(0)).toEqual([]);
    expect(entriesTilesForSize(513)).toEqual([
      { index: 0, width: 256 },
      { index: 1, width: 256 },
      { index: 2, width: 1 },
    ]);
  });

  test('changedTiles is exactly the tiles of newSize that are new or wider than in oldSize', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200000 }), fc.integer({ min: 0, max: 200000 }), (a, b) => {
        const [oldSize, newSize] = a <= b ? [a, b] : [b, a];
        const oldTiles = new Map(tilesForSize(oldSize).map((t) => [`${t.level}/${t.index}`, t.width]));
        const want = tilesForSize(newSize).filter((t) => (oldTiles.get(`${t.level}/${t.index}`) ?? 0) < t.width);
        expect(changedTiles(oldSize, newSize)).toEqual(want);
      }),
      { numRuns: 200 },
    );
    expect(() => changedTiles(5, 4)).toThrow(MerkleError);
  });

  test('tileForNode: the widest tile holding the node, or refusal if the node is not complete', () => {
    expect(tileForNode(0, 5, 1100)).toEqual({ level: 0, index: 0, width: 256 });
    expect(tileForNode(8, 3, 1100)).toEqual({ level: 1, index: 0, width: 4 });
    expect(tileForNode(9, 1, 1100)).toEqual({ level: 1, index: 0, width: 4 });
    expect(tileForNode(10, 0, 1100)).toEqual({ level: 1, index: 0, width: 4 });
    expect(tileForNode(16, 0, 65536)).toEqual({ level: 2, index: 0, width: 1 });
    expect(() => tileForNode(0, 1100, 1100)).toThrow(MerkleError);
    expect(() => tileForNode(11, 0, 1100)).toThrow(/not a complete subtree/);
    expect(() => tileForNode(64, 0, 1100)).toThrow(MerkleError);
    expect(() => tileForNode(0, -1, 1100)).toThrow(MerkleError);
  });

  test('nodeFromTile and hashTileRoot refuse malformed data', () => {
    const data = new Uint8Array(256 * 32);
    const tile = { level: 0, index: 0, width: 256 };
    expect(() => nodeFromTile(tile, data.subarray(1), 0, 0)).toThrow(/must be 8192 bytes/);
    expect(() => nodeFromTile(tile, data, 9, 0)).toThrow(MerkleError);
    expect(() => nodeFromTile({ level: 1, index: 0, width: 256 }, data, 7, 0)).toThrow(MerkleError);
    expect(() => nodeFromTile(tile, data, 0, 256)).toThrow(MerkleError);
    expect(() => hashTileRoot(new Uint8Array(0))).toThrow(MerkleError);
    expect(() => hashTileRoot(new Uint8Array(33))).toThrow(MerkleError);
    expect(() => hashTileRoot(new Uint8Array(257 * 32))).toThrow(MerkleError);
    expect(toHex(nodeFromTile(tile, data, 8, 0, defaultHasher))).toBe(toHex(hashTileRoot(data)));
  });
});
