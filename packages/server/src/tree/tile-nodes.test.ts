import crypto from 'node:crypto';
import { Hasher, rootFromLeafHashes } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { TILE_NODES, TileNodes } from './tile-nodes.js';

const hasher = new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
const leaves = (n: number) => Array.from({ length: n }, (_, i) => hasher.hashLeaf(Uint8Array.of(i & 255, i >> 8)));
const concat = (hs: Uint8Array[]) => new Uint8Array(Buffer.concat(hs));
const u8 = (x: Uint8Array | undefined) => (x === undefined ? x : new Uint8Array(x));

describe('TileNodes', () => {
  it('computes every inner node of a full tile (node k,pos = root of its 2^k leaves)', () => {
    const ls = leaves(256);
    const t = TileNodes.fromData(0, 0, concat(ls), hasher);
    expect(t.full).toBe(true);
    for (const k of [0, 1, 3, 7]) {
      const pos = (256 >> k) - 1;
      expect(u8(t.node(k, pos))).toEqual(u8(rootFromLeafHashes(ls.slice(pos << k, (pos + 1) << k), hasher)));
    }
    expect(t.node(7, 2)).toBeUndefined();
  });

  it('keeps only complete nodes of a partial tile and serves prefixes', () => {
    const ls = leaves(5);
    const t = TileNodes.fromData(2, 9, concat(ls), hasher);
    expect(t.width).toBe(5);
    expect(u8(t.node(1, 1))).toEqual(u8(hasher.hashChildren(ls[2]!, ls[3]!)));
    expect(t.node(1, 2)).toBeUndefined();
    expect(u8(t.node(2, 0))).toEqual(u8(rootFromLeafHashes(ls.slice(0, 4), hasher)));
    expect(u8(t.data(3))).toEqual(concat(ls.slice(0, 3)));
    expect(() => t.data(6)).toThrow(RangeError);
  });

  it('refuses nodes out of order and bad tile lengths', () => {
    const t = TileNodes.empty(0, 0);
    expect(() => t.set(0, 1, new Uint8Array(32))).toThrow(/out of order/);
    expect(() => TileNodes.fromData(0, 0, new Uint8Array(33), hasher)).toThrow(RangeError);
    expect(() => TileNodes.fromData(0, 0, new Uint8Array(0), hasher)).toThrow(RangeError);
  });

  it('clones deeply', () => {
    const a = TileNodes.empty(0, 0);
    const b = a.clone();
    b.set(0, 0, new Uint8Array(32).fill(1));
    expect(a.width).toBe(0);
    expect(b.width).toBe(1);
  });

  it('stores a full tile with its inner levels and loads it back without hashing; a partial one as its C2SP bytes', () => {
    const ls = leaves(256);
    const t = TileNodes.fromData(0, 3, concat(ls), hasher);
    const stored = t.stored();
    expect(stored.length).toBe(TILE_NODES * 32);
    expect(u8(stored.subarray(0, 256 * 32))).toEqual(concat(ls));
    let hashes = 0;
    const counting = new Hasher((d) => {
      hashes++;
      return crypto.hash('sha256', d, 'buffer');
    });
    hashes = 0; // the constructor hashed the empty string
    const back = TileNodes.fromData(0, 3, stored, counting);
    expect(hashes).toBe(0);
    expect(back.full).toBe(true);
    for (let k = 0; k < 8; k++) {
      for (const pos of [0, (256 >> k) - 1]) expect(u8(back.node(k, pos))).toEqual(u8(t.node(k, pos)));
    }
    const partial = TileNodes.fromData(0, 4, concat(ls.slice(0, 9)), hasher);
    expect(u8(partial.stored())).toEqual(concat(ls.slice(0, 9)));
  });
});
