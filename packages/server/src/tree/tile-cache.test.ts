import crypto from 'node:crypto';
import { CompactTree, Hasher, rootFromLeafHashes } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import type { LogStore } from '../storage/store.js';
import { TileCache } from './tile-cache.js';

const hasher = new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
const hex = (h: Uint8Array | undefined) => (h === undefined ? undefined : Buffer.from(h).toString('hex'));

describe('TileCache.rangeHash', () => {
  it('answers the incomplete right-edge subtrees of the last four remembered sizes, exactly', () => {
    const leaves = Array.from({ length: 700 }, (_, i) => hasher.hashLeaf(Uint8Array.of(i & 255, i >> 8)));
    const tiles = new TileCache({} as LogStore, hasher, 16);
    const tree = new CompactTree(0, [], hasher);
    for (let size = 1; size <= 700; size++) {
      tree.append(leaves[size - 1]!);
      tiles.rememberRightEdge(size, tree.rightEdgeRanges());
      let answered = 0;
      for (let start = 0; start < size; start++) {
        const h = tiles.rangeHash(start, size);
        if (h === undefined) continue;
        answered++;
        expect(hex(h)).toBe(hex(rootFromLeafHashes(leaves.slice(start, size), hasher)));
      }
      // One per set bit of the size but the last (that one is a complete subtree).
      expect(answered).toBe(size.toString(2).split('1').length - 2);
    }
    expect(tiles.rangeHash(0, 697)).toBeDefined();
    expect(tiles.rangeHash(0, 696)).toBeUndefined(); // forgotten: only the last four sizes are kept
  });
});
