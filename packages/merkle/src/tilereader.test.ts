import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { toHex } from './encoding.js';
import { MerkleError, ProofError, RootMismatchError } from './errors.js';
import { defaultHasher, type Hash } from './hash.js';
import {
  type NodeId,
  proveConsistency,
  proveConsistencySync,
  proveInclusion,
  proveInclusionSync,
  type SyncNodeReader,
  treeRoot,
  treeRootSync,
} from './prove.js';
import { formatTilePath, TILE_WIDTH, type TileId } from './tile.js';
import { TileHashReader } from './tilereader.js';

/** Every complete node of a tree, per level, as flat byte arrays. */
class FlatTree implements SyncNodeReader {
  readonly levels: Uint8Array[] = [];
  constructor(n: number) {
    let row = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) row.set(defaultHasher.hashLeaf(new TextEncoder().encode(`entry ${i}`)), i * 32);
    while (row.length > 0) {
      this.levels.push(row);
      const count = Math.floor(row.length / 64);
      const next = new Uint8Array(count * 32);
      for (let i = 0; i < count; i++) {
        next.set(defaultHasher.hashChildren(row.subarray(64 * i, 64 * i + 32), row.subarray(64 * i + 32, 64 * i + 64)), 32 * i);
      }
      row = next;
    }
  }
  node(level: number, index: number): Hash {
    return this.levels[level]!.subarray(index * 32, index * 32 + 32);
  }
  readNodes(ids: readonly NodeId[]): Hash[] {
    return ids.map(({ level, index }) => this.node(level, index));
  }
  /** What a log serves for that tile (of the tree at any size >= the tile's end). */
  tile(t: TileId): Uint8Array {
    const start = t.index * TILE_WIDTH * 32;
    return this.levels[t.level * 8]!.slice(start, start + t.width * 32);
  }
}

// 70,000 leaves: level-0, level-1 and level-2 tiles, full and partial.
const tree = new FlatTree(70000);

/** A tile server over a prefix of `tree` that records what was fetched and can tamper. */
function server(size: number, tamper?: (path: string, data: Uint8Array) => Uint8Array) {
  const fetched: string[] = [];
  const fetchTile = async (t: TileId): Promise<Uint8Array> => {
    const path = formatTilePath(t);
    // Serve only tiles that exist for this tree size (as a real log would).
    const levelCount = Math.floor(size / 2 ** (8 * t.level));
    if ((t.index + 1) * TILE_WIDTH > levelCount && t.width !== levelCount - t.index * TILE_WIDTH) throw new Error(`404 ${path}`);
    fetched.push(path);
    const data = tree.tile(t);
    return tamper ? tamper(path, data) : data;
  };
  return { fetched, fetchTile };
}

describe('TileHashReader', () => {
  test('proofs through verified tiles equal proofs from the direct reader (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 70000 })
          .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 1, max: size }))),
        async ([size, index, size1]) => {
          const root = treeRootSync(tree, size);
          const reader = new TileHashReader(size, root, server(size).fetchTile);
          expect((await proveInclusion(reader, index, size)).map(toHex)).toEqual(proveInclusionSync(tree, index, size).map(toHex));
          expect((await proveConsistency(reader, size1, size)).map(toHex)).toEqual(proveConsistencySync(tree, size1, size).map(toHex));
          expect(toHex(await treeRoot(reader, size))).toBe(toHex(root));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('verified tiles are cached: asking again fetches nothing', async () => {
    const size = 65536 + 300;
    const s = server(size);
    const reader = new TileHashReader(size, treeRootSync(tree, size), s.fetchTile);
    await proveInclusion(reader, 12345, size);
    const first = s.fetched.length;
    expect(first).toBeGreaterThan(2);
    expect(new Set(s.fetched).size).toBe(first);
    await proveInclusion(reader, 12346, size);
    expect(s.fetched.length).toBe(first);
  });

  test('a tile with any one byte changed is rejected with an error naming it', async () => {
    const size = 65536 + 70000 - 65536 - 1; // 69999: partial tiles on every level
    const root = treeRootSync(tree, size);
    const honest = server(size);
    await proveInclusion(new TileHashReader(size, root, honest.fetchTile), 1000, size);
    await proveConsistency(new TileHashReader(size, root, honest.fetchTile), 777, size);
    const paths = [...new Set(honest.fetched)];
    expect(paths.length).toBeGreaterThan(3);
    let byte = 0;
    for (const target of paths) {
      byte = (byte * 31 + 7) % 8192;
      const bad = server(size, (p, d) => {
        if (p !== target) return d;
        const c = d.slice();
        c[byte % c.length]! ^= 0x20;
        return c;
      });
      const reader = new TileHashReader(size, root, bad.fetchTile);
      const attempt = async (): Promise<void> => {
        await proveInclusion(reader, 1000, size);
        await proveConsistency(reader, 777, size);
      };
      await expect(attempt(), target).rejects.toThrow(ProofError);
      await expect(attempt(), target).rejects.toThrow(target);
    }
  });

  test('a wrong root, a short tile or a bad id is refused', async () => {
    const size = 1100;
    const root = treeRootSync(tree, size);
    const wrongRoot = new TileHashReader(size, treeRootSync(tree, 1099), server(size).fetchTile);
    await expect(proveInclusion(wrongRoot, 5, size)).rejects.toThrow(RootMismatchError);
    const short = new TileHashReader(size, root, server(size, (_p, d) => d.subarray(32)).fetchTile);
    await expect(proveInclusion(short, 5, size)).rejects.toThrow(/must be \d+ bytes, got/);
    const ok = new TileHashReader(size, root, server(size).fetchTile);
    await expect(ok.readNodes([{ level: 0, index: 1100 }])).rejects.toThrow(MerkleError);
    await expect(ok.readNodes([{ level: 11, index: 0 }])).rejects.toThrow(MerkleError);
    expect(() => new TileHashReader(-1, root, server(size).fetchTile)).toThrow(MerkleError);
    expect(() => new TileHashReader(size, root.subarray(1), server(size).fetchTile)).toThrow(MerkleError);
  });

  test('a failed fetch propagates and a later call can retry', async () => {
    const size = 600;
    let fail = true;
    const s = server(size);
    const reader = new TileHashReader(size, treeRootSync(tree, size), async (t) => {
      if (fail) throw new Error('network down');
      return s.fetchTile(t);
    });
    await expect(proveInclusion(reader, 3, size)).rejects.toThrow('network down');
    fail = false;
    expect((await proveInclusion(reader, 3, size)).map(toHex)).toEqual(proveInclusionSync(tree, 3, size).map(toHex));
  });
});
