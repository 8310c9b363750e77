import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { describeVectors, tlogReference } from '../../../test/support/vectors.js';
import { CompactTree, type CompletedNode } from './compact.js';
import { fromHex, toBase64, toHex } from './encoding.js';
import { MerkleError } from './errors.js';
import { defaultHasher, type Hash, Hasher, rootFromLeafHashes } from './hash.js';
import type { NodeId } from './prove.js';

function leafHashesFor(n: number): Hash[] {
  const out: Hash[] = [];
  for (let i = 0; i < n; i++) out.push(defaultHasher.hashLeaf(new TextEncoder().encode(`leaf ${i}`)));
  return out;
}

describeVectors('CompactTree against tlog-reference.json', () => {
  const ref = tlogReference();

  test('leaf hashes, and the root of every size 0..1100 by CompactTree and rootFromLeafHashes', () => {
    const leafHashes = ref.leaves.map((l) => defaultHasher.hashLeaf(fromHex(l)));
    expect(leafHashes.map(toHex)).toEqual(ref.leafHashes);
    const tree = new CompactTree();
    expect(toHex(tree.root())).toBe(ref.roots['0']);
    for (let n = 1; n <= 1100; n++) {
      tree.append(leafHashes[n - 1]!);
      expect(toHex(tree.root()), `size ${n}`).toBe(ref.roots[String(n)]);
    }
    for (const n of [0, 1, 2, 3, 255, 256, 257, 1023, 1024, 1025, 1099, 1100]) {
      expect(toHex(rootFromLeafHashes(leafHashes.slice(0, n))), `size ${n}`).toBe(ref.roots[String(n)]);
    }
  });

  test('RFC 6962 example tree roots by size', () => {
    const leaves = ref.rfc6962Example.leaves.map((l) => defaultHasher.hashLeaf(fromHex(l)));
    const tree = new CompactTree();
    ref.rfc6962Example.rootsBySize.forEach((want, n) => {
      expect(toHex(rootFromLeafHashes(leaves.slice(0, n)))).toBe(want);
      if (n > 0) tree.append(leaves[n - 1]!);
      expect(toHex(tree.root())).toBe(want);
    });
  });
});

describe('CompactTree', () => {
  const leaves = leafHashesFor(3000);

  test('roots equal the naive recursive MTH for random sizes; edge has one hash per set bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), (n) => {
        const t = new CompactTree();
        t.appendMany(leaves.slice(0, n));
        expect(t.size).toBe(n);
        expect(t.edge.length).toBe(n.toString(2).replaceAll('0', '').length);
        expect(toHex(t.root())).toBe(toHex(rootFromLeafHashes(leaves.slice(0, n))));
      }),
      { numRuns: 40 },
    );
  });

  test('append reports the leaf first, then every newly completed parent with its true hash', () => {
    const t = new CompactTree();
    const seen = new Map<string, Hash>();
    for (let i = 0; i < 600; i++) {
      const done = t.append(leaves[i]!);
      expect(done[0]).toEqual({ level: 0, index: i, hash: leaves[i] });
      // i + 1 ends in k zero bits => exactly k parents complete.
      let k = 0;
      while (((i + 1) >> k) % 2 === 0) k++;
      expect(done.length).toBe(k + 1);
      done.forEach((node: CompletedNode, j) => {
        expect(node.level).toBe(j);
        expect(node.index).toBe(Math.floor(i / 2 ** j));
        const range = leaves.slice(node.index * 2 ** node.level, (node.index + 1) * 2 ** node.level);
        expect(toHex(node.hash)).toBe(toHex(rootFromLeafHashes(range)));
        seen.set(`${node.level}/${node.index}`, node.hash);
      });
    }
    // Every complete node of the 600-leaf tree was reported exactly once.
    let complete = 0;
    for (let l = 0; 2 ** l <= 600; l++) complete += Math.floor(600 / 2 ** l);
    expect(seen.size).toBe(complete);
  });

  test('fromReader, the constructor and clone continue where the tree left off', async () => {
    const full = new CompactTree();
    const nodes = new Map<string, Hash>();
    for (const n of full.appendMany(leaves.slice(0, 777))) nodes.set(`${n.level}/${n.index}`, n.hash);
    const reader = { readNodes: async (ids: readonly NodeId[]) => ids.map(({ level, index }) => nodes.get(`${level}/${index}`)!) };
    const loaded = await CompactTree.fromReader(reader, 777);
    expect(loaded.size).toBe(777);
    expect(toHex(loaded.root())).toBe(toHex(full.root()));
    const copy = new CompactTree(full.size, full.edge);
    const clone = full.clone();
    full.append(leaves[777]!);
    expect(clone.size).toBe(777);
    expect(toHex(clone.root())).toBe(toHex(loaded.root()));
    for (const t of [loaded, copy, clone]) {
      t.append(leaves[777]!);
      expect(toHex(t.root())).toBe(toHex(full.root()));
    }
    expect((await CompactTree.fromReader(reader, 0)).size).toBe(0);
  });

  test('a custom hasher is used', () => {
    let calls = 0;
    const counting = new Hasher((d) => {
      calls++;
      return defaultHasher.sha256(d);
    });
    const t = new CompactTree(0, [], counting);
    t.appendMany(leaves.slice(0, 8));
    expect(calls).toBeGreaterThanOrEqual(7);
    expect(toHex(t.root())).toBe(toHex(rootFromLeafHashes(leaves.slice(0, 8))));
  });

  test('each append costs O(log n) node hashes: one per trailing 1 bit of the size, n - 1 in all', () => {
    let calls = 0;
    const counting = new Hasher((d) => {
      calls++;
      return defaultHasher.sha256(d);
    });
    const t = new CompactTree(0, [], counting);
    calls = 0; // the constructor hashed the empty string
    let total = 0;
    for (let i = 0; i < 2048; i++) {
      const before = calls;
      const done = t.append(leaves[i]!);
      const cost = calls - before;
      let ones = 0;
      while ((i >> ones) & 1) ones++;
      expect(cost, `append at size ${i}`).toBe(ones);
      expect(cost).toBeLessThanOrEqual(Math.log2(i + 1) + 1e-9);
      expect(done.length).toBe(cost + 1);
      total += cost;
    }
    expect(total).toBe(2047);
    // The root costs one hash per set bit of the size, less one.
    t.append(leaves[2048]!);
    t.append(leaves[2049]!);
    calls = 0;
    t.root();
    expect(calls).toBe(1); // 2050 = 2048 + 2: two edge hashes
  });

  test('near 2^53 the edge still merges correctly (no 32-bit truncation)', () => {
    // A tree of size 2^53 - 2 whose edge hashes are distinct: appending the last possible leaf
    // must merge exactly with the level-1 edge hash (size ends in binary ...10).
    const size = Number.MAX_SAFE_INTEGER - 1;
    const edge = leaves.slice(0, 52);
    const t = new CompactTree(size, edge);
    const done = t.append(leaves[100]!);
    expect(done.map((n) => [n.level, n.index])).toEqual([[0, size]]);
    expect(t.size).toBe(Number.MAX_SAFE_INTEGER);
    expect(t.edge).toHaveLength(53);
    const u = new CompactTree(2 ** 40 + 2 ** 33 - 1, leaves.slice(0, 34));
    const merged = u.append(leaves[200]!);
    expect(merged.map((n) => [n.level, n.index])).toEqual([
      [0, 2 ** 40 + 2 ** 33 - 1],
      ...Array.from({ length: 33 }, (_, l) => [l + 1, Math.floor((2 ** 40 + 2 ** 33 - 1) / 2 ** (l + 1))]),
    ]);
    expect(u.edge).toHaveLength(2);
    expect(u.size).toBe(2 ** 40 + 2 ** 33);
  });

  test('malformed input is refused with MerkleError', () => {
    for (const n of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => new CompactTree(n, [])).toThrow(MerkleError);
    expect(() => new CompactTree(3, [leaves[0]!])).toThrow(/has 2 edge hashes/);
    expect(() => new CompactTree(1, [new Uint8Array(31)])).toThrow(MerkleError);
    expect(() => new CompactTree().append(new Uint8Array(33))).toThrow(MerkleError);
    const big = new CompactTree(
      Number.MAX_SAFE_INTEGER,
      Array.from({ length: 53 }, () => leaves[0]!),
    );
    expect(() => big.append(leaves[0]!)).toThrow(/cannot grow/);
  });
});

describe('CompactTree.rightEdgeRanges', () => {
  test('gives [start, size) for each start on the right edge, one per set bit but the lowest', () => {
    const leaves = Array.from({ length: 300 }, (_, i) => defaultHasher.hashLeaf(Uint8Array.of(i & 255, i >> 8)));
    const tree = new CompactTree();
    for (let size = 1; size <= leaves.length; size++) {
      tree.append(leaves[size - 1]!);
      const ranges = tree.rightEdgeRanges();
      expect(ranges.size).toBe(Math.max(0, size.toString(2).split('1').length - 2));
      for (const [start, hash] of ranges) {
        expect(start).toBeLessThan(size);
        expect(toHex(hash)).toBe(toHex(rootFromLeafHashes(leaves.slice(start, size))));
      }
    }
  });
});

describe('CompactTree.pushMany', () => {
  const leaf = (i: number) => defaultHasher.hashLeaf(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, i >> 16));

  it('completes the same nodes, in the same order, with the same edge, as one push per leaf', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 4 }), (first, batches) => {
        const one = new CompactTree();
        const many = new CompactTree();
        let next = 0;
        const grow = (n: number) => Array.from({ length: n }, () => leaf(next++));
        const start = grow(first);
        for (const h of start) one.push(h);
        many.pushMany(start);
        for (const n of batches) {
          const hashes = grow(n);
          const a: string[] = [];
          const b: string[] = [];
          for (const h of hashes) one.push(h, (l, i, x) => a.push(`${l}/${i}/${toBase64(x)}`));
          many.pushMany(hashes, (l, i, x) => b.push(`${l}/${i}/${toBase64(x)}`));
          expect(b).toEqual(a);
          expect(many.size).toBe(one.size);
          expect(many.edge.map(toBase64)).toEqual(one.edge.map(toBase64));
          expect(toBase64(many.root())).toBe(toBase64(one.root()));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a bad leaf hash without changing the tree, and growth past 2^53 - 1', () => {
    const t = new CompactTree();
    t.pushMany([leaf(0), leaf(1)]);
    const bad = [leaf(2), leaf(3), leaf(4), new Uint8Array(31), leaf(5)];
    expect(() => t.pushMany(bad)).toThrow(/leaf hash 3 must be 32 bytes, got 31/);
    expect(t.size).toBe(2);
    expect(toBase64(t.root())).toBe(toBase64(rootFromLeafHashes([leaf(0), leaf(1)])));
    const big = new CompactTree(
      Number.MAX_SAFE_INTEGER - 1,
      Array.from({ length: 52 }, () => leaf(0)),
    );
    expect(() => big.pushMany([leaf(1), leaf(2)])).toThrow(/cannot grow by 2/);
  });
});
