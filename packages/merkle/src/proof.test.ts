import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  describeVectors,
  type TransparencyDevProbe,
  tlogReference,
  transparencyDevFiles,
  transparencyDevProbe,
  vectorFiles,
} from '../../../test/support/vectors.js';
import { fromBase64, fromHex, toHex } from './encoding.js';
import { MerkleError, ProofError, RootMismatchError } from './errors.js';
import { defaultHasher, type Hash, rootFromLeafHashes } from './hash.js';
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
import {
  rootFromInclusionProof,
  verifyConsistencies,
  verifyConsistency,
  verifyInclusion,
  verifyInclusions,
  verifySubtreeConsistency,
  verifySubtreeInclusion,
} from './verify.js';

/** Every complete node of a tree over the given leaf hashes, level by level. */
class MemoryTree implements SyncNodeReader {
  readonly levels: Hash[][] = [];
  reads = 0;
  constructor(leafHashes: readonly Hash[]) {
    let row = leafHashes.slice();
    while (row.length > 0) {
      this.levels.push(row);
      const next: Hash[] = [];
      for (let i = 0; i + 1 < row.length; i += 2) next.push(defaultHasher.hashChildren(row[i]!, row[i + 1]!));
      row = next;
    }
  }
  readNodes(ids: readonly NodeId[]): Hash[] {
    this.reads++;
    return ids.map(({ level, index }) => {
      const h = this.levels[level]?.[index];
      if (!h) throw new Error(`test reader: no node (${level}, ${index})`);
      return h;
    });
  }
}

function leafHashesFor(n: number): Hash[] {
  const out: Hash[] = [];
  for (let i = 0; i < n; i++) out.push(defaultHasher.hashLeaf(new TextEncoder().encode(`leaf ${i}`)));
  return out;
}

/** Naive RFC 6962 PATH and SUBPROOF, straight from the RFC's recursion (test oracle). */
function naivePath(m: number, d: readonly Hash[]): Hash[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  if (m < k) return [...naivePath(m, d.slice(0, k)), rootFromLeafHashes(d.slice(k))];
  return [...naivePath(m - k, d.slice(k)), rootFromLeafHashes(d.slice(0, k))];
}
function naiveSubproof(m: number, d: readonly Hash[], b: boolean): Hash[] {
  if (m === d.length) return b ? [] : [rootFromLeafHashes(d)];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  if (m <= k) return [...naiveSubproof(m, d.slice(0, k), b), rootFromLeafHashes(d.slice(k))];
  return [...naiveSubproof(m - k, d.slice(k), false), rootFromLeafHashes(d.slice(0, k))];
}

/**
 * Subtree consistency proof of the subtree [start, end) in D (the MTC draft's SUBTREE_PROOF, as
 * transparency-dev/merkle makes it), straight from the recursion: a test oracle. With start = 0
 * it is RFC 6962's SUBPROOF. Requires a valid subtree: start a multiple of bitCeil(end - start).
 */
function naiveSubtreeProof(start: number, end: number, d: readonly Hash[], known = true): Hash[] {
  if (start === 0 && end === d.length) return known ? [] : [rootFromLeafHashes(d)];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  if (end <= k) return [...naiveSubtreeProof(start, end, d.slice(0, k), known), rootFromLeafHashes(d.slice(k))];
  if (start >= k) return [...naiveSubtreeProof(start - k, end - k, d.slice(k), known), rootFromLeafHashes(d.slice(0, k))];
  // start = 0 < k < end: the subtree's right part is a prefix of the right half.
  return [...naiveSubtreeProof(0, end - k, d.slice(k), false), rootFromLeafHashes(d.slice(0, k))];
}

/**
 * The hashing steps RFC 9162's verifier performs for an inclusion proof: "L" (proof hash on
 * the left) or "R" per element. Two (index, size) pairs with the same shape accept the same
 * proofs, so a wrong index or size can only be caught when the shape differs.
 */
function inclusionShape(index: number, size: number): string {
  if (index >= size) return 'invalid';
  let fn = index;
  let sn = size - 1;
  let out = '';
  while (sn > 0) {
    if (fn % 2 === 1 || fn === sn) {
      out += 'L';
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else out += 'R';
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return out;
}

/** Likewise for a consistency proof: "B" (both roots), "S" (second only); "P" if seeded by root1. */
function consistencyShape(size1: number, size2: number): string {
  if (size1 < 1 || size1 > size2) return 'invalid';
  if (size1 === size2) return '';
  let out = (size1 & (size1 - 1)) === 0 ? 'P' : 'x';
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  while (sn > 0) {
    if (fn % 2 === 1 || fn === sn) {
      out += 'B';
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else out += 'S';
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return out;
}

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const c = h.slice();
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

describeVectors('tlog-reference.json proofs', () => {
  const ref = tlogReference();
  const leaves = ref.leafHashes.map(fromHex);
  const tree = new MemoryTree(leaves);

  test('treeRoot of every size 0..1100 equals the reference root', async () => {
    for (let n = 0; n <= 1100; n++) {
      expect(toHex(treeRootSync(tree, n)), `size ${n}`).toBe(ref.roots[String(n)]);
    }
    expect(toHex(await treeRoot(tree, 1100))).toBe(ref.roots['1100']);
  });

  test('every reference inclusion proof is reproduced byte for byte and verifies', async () => {
    expect(ref.inclusion.length).toBeGreaterThan(50);
    for (const v of ref.inclusion) {
      const proof = proveInclusionSync(tree, v.index, v.treeSize);
      expect(proof.map(toHex), `index ${v.index} size ${v.treeSize}`).toEqual(v.proof);
      expect((await proveInclusion(tree, v.index, v.treeSize)).map(toHex)).toEqual(v.proof);
      verifyInclusion(v.index, v.treeSize, fromHex(v.leafHash), v.proof.map(fromHex), fromHex(v.root));
      expect(toHex(rootFromInclusionProof(v.index, v.treeSize, fromHex(v.leafHash), v.proof.map(fromHex)))).toBe(v.root);
    }
  });

  test('every reference consistency proof is reproduced byte for byte and verifies', async () => {
    expect(ref.consistency.length).toBeGreaterThan(50);
    for (const v of ref.consistency) {
      const proof = proveConsistencySync(tree, v.from, v.to);
      expect(proof.map(toHex), `${v.from} -> ${v.to}`).toEqual(v.proof);
      expect((await proveConsistency(tree, v.from, v.to)).map(toHex)).toEqual(v.proof);
      verifyConsistency(v.from, v.to, v.proof.map(fromHex), fromHex(v.fromRoot), fromHex(v.toRoot));
      // The same proof as a subtree consistency proof of [0, from).
      verifySubtreeConsistency(0, v.from, v.to, v.proof.map(fromHex), fromHex(v.fromRoot), fromHex(v.toRoot));
    }
  });

  test('a proof is made with exactly one readNodes call', () => {
    const before = tree.reads;
    proveInclusionSync(tree, 1000, 1100);
    proveConsistencySync(tree, 999, 1100);
    treeRootSync(tree, 1099);
    expect(tree.reads - before).toBe(3);
  });
  test('the reference proofs verify all at once in verifyInclusions / verifyConsistencies, and one bad claim among them is caught', () => {
    const inclusions = ref.inclusion.map((v) => ({
      index: v.index,
      size: v.treeSize,
      leafHash: fromHex(v.leafHash),
      proof: v.proof.map(fromHex),
      root: fromHex(v.root),
    }));
    verifyInclusions(inclusions);
    const consistencies = ref.consistency.map((v) => ({
      size1: v.from,
      size2: v.to,
      proof: v.proof.map(fromHex),
      root1: fromHex(v.fromRoot),
      root2: fromHex(v.toRoot),
    }));
    verifyConsistencies(consistencies);
    // A claim whose proof is one step longer than the others' still finishes.
    for (const at of [0, Math.floor(inclusions.length / 2), inclusions.length - 1]) {
      const bad = inclusions.slice();
      const c = bad[at]!;
      const proof = c.proof.slice();
      if (proof.length === 0) continue;
      const flipped = proof[proof.length - 1]!.slice();
      flipped[7]! ^= 0x10;
      proof[proof.length - 1] = flipped;
      bad[at] = { ...c, proof };
      expect(() => verifyInclusions(bad)).toThrow(RootMismatchError);
      expect(() => verifyInclusions(bad)).toThrow(`inclusion proof for index ${c.index} in tree size ${c.size}`);
    }
    for (const at of [0, consistencies.length - 1]) {
      const bad = consistencies.slice();
      const c = bad[at]!;
      bad[at] = { ...c, root2: c.root1 };
      if (toHex(c.root1) === toHex(c.root2)) continue;
      expect(() => verifyConsistencies(bad)).toThrow(RootMismatchError);
    }
    // Malformed claims get verifyInclusion's errors.
    expect(() => verifyInclusions([inclusions[0]!, { ...inclusions[1]!, leafHash: new Uint8Array(31) }])).toThrow(ProofError);
    expect(() => verifyConsistencies([{ ...consistencies[0]!, size1: 0 }])).toThrow(/empty tree/);
    verifyInclusions([]);
    verifyConsistencies([]);
  });
});

// ---------------------------------------------------------------------------------------------
// transparency-dev/merkle probes

const b64 = (s: unknown): Uint8Array => fromBase64(s as string);
const probeRunners: Record<string, (p: TransparencyDevProbe, proof: Uint8Array[]) => void> = {
  inclusion: (p, proof) => verifyInclusion(p.leafIdx as number, p.treeSize as number, b64(p.leafHash), proof, b64(p.root)),
  consistency: (p, proof) => verifyConsistency(p.size1 as number, p.size2 as number, proof, b64(p.root1), b64(p.root2)),
  subtreeinclusion: (p, proof) =>
    verifySubtreeInclusion(p.leafIdx as number, p.start as number, p.end as number, b64(p.leafHash), proof, b64(p.root)),
  subtreeconsistency: (p, proof) =>
    verifySubtreeConsistency(p.start as number, p.end as number, p.size as number, proof, b64(p.root1), b64(p.root2)),
};

// How many probe files each kind holds (transparency-dev/merkle testdata as copied into
// ../shared/vectors), so that a folder silently not read fails the suite.
const probeCounts: Record<string, number> = { inclusion: 98, consistency: 98, subtreeinclusion: 204, subtreeconsistency: 118 };

describeVectors('transparency-dev/merkle probes', () => {
  test('every probe folder is one of the four kinds run below', () => {
    expect(vectorFiles('transparency-dev-merkle/testdata')).toEqual(Object.keys(probeRunners).sort());
    expect(transparencyDevFiles().length).toBe(Object.values(probeCounts).reduce((a, b) => a + b, 0));
    // The negative folders are read too, not only the numbered ones.
    for (const [kind, sub] of [
      ['inclusion', 'additional'],
      ['inclusion', 'single-entry'],
      ['consistency', 'additional'],
      ['subtreeinclusion', 'additional'],
      ['subtreeinclusion', 'errors'],
      ['subtreeinclusion', 'single-entry'],
      ['subtreeconsistency', 'additional'],
    ] as const) {
      expect(transparencyDevFiles(`${kind}/${sub}`).length, `${kind}/${sub}`).toBeGreaterThan(0);
    }
  });

  for (const kind of Object.keys(probeRunners)) {
    const files = transparencyDevFiles(kind);
    test(`${kind}: ${files.length} probes`, () => {
      expect(files.length).toBe(probeCounts[kind]);
      const failures: string[] = [];
      let accepted = 0;
      for (const f of files) {
        const p = transparencyDevProbe(f);
        const proof = (p.proof ?? []).map((h) => fromBase64(h));
        let err: unknown;
        try {
          probeRunners[kind]!(p, proof);
        } catch (e) {
          err = e;
        }
        // A verifier's caller branches on ProofError: every rejection, whatever the reason, is one.
        if (err !== undefined && !(err instanceof ProofError)) failures.push(`${f}: threw ${String(err)}, not a ProofError`);
        else if (p.wantErr && err === undefined) failures.push(`${f}: accepted but wantErr`);
        else if (!p.wantErr && err !== undefined) failures.push(`${f}: rejected: ${(err as Error).message}`);
        if (!p.wantErr) accepted++;
      }
      expect(failures).toEqual([]);
      expect(accepted).toBeGreaterThan(0);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Properties

describe('batch verification', () => {
  test('more proofs than one run hashes together (4,096 paths): all verify, and a bad one far in is caught', () => {
    const leaves = Array.from({ length: 3000 }, (_, i) => defaultHasher.hashLeaf(Uint8Array.of(i & 0xff, i >> 8)));
    const tree = new MemoryTree(leaves);
    const size = leaves.length;
    const root = treeRootSync(tree, size);
    const inclusions = Array.from({ length: 5000 }, (_, i) => {
      const index = (i * 7919) % size;
      return { index, size, leafHash: leaves[index]!, proof: proveInclusionSync(tree, index, size), root };
    });
    verifyInclusions(inclusions);
    const consistencies = Array.from({ length: 2500 }, (_, i) => {
      const size1 = ((i * 7919) % (size - 1)) + 1;
      return { size1, size2: size, proof: proveConsistencySync(tree, size1, size), root1: treeRootSync(tree, size1), root2: root };
    });
    verifyConsistencies(consistencies); // two paths for most: more than 4,096
    const badInclusions = inclusions.slice();
    badInclusions[4500] = { ...inclusions[4500]!, leafHash: leaves[(inclusions[4500]!.index + 1) % size]! };
    expect(() => verifyInclusions(badInclusions)).toThrow(`inclusion proof for index ${inclusions[4500]!.index} in tree size ${size}`);
    const badConsistencies = consistencies.slice();
    const c = consistencies[2400]!;
    badConsistencies[2400] = { ...c, root1: root };
    expect(() => verifyConsistencies(badConsistencies)).toThrow(`consistency proof from size ${c.size1} to ${size}`);
  });
});

describe('proof properties (fast-check)', () => {
  // One tree of 5000 leaves serves every size <= 5000 (a prefix of a tree is a tree).
  const leaves = leafHashesFor(5000);
  const tree = new MemoryTree(leaves);
  const rootOf = (n: number): Hash => treeRootSync(tree, n);

  test('treeRootSync equals the naive MTH', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), (n) => {
        expect(toHex(treeRootSync(tree, n))).toBe(toHex(rootFromLeafHashes(leaves.slice(0, n))));
      }),
      { numRuns: 60 },
    );
  });

  test('inclusion proofs equal RFC 6962 PATH, verify, and fail under any single bit flip or wrong index/size', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5000 })
          .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }), fc.nat(), fc.nat(255))),
        ([size, index, pick, bit]) => {
          const proof = proveInclusionSync(tree, index, size);
          const root = rootOf(size);
          const leaf = leaves[index]!;
          if (size <= 600) expect(proof.map(toHex)).toEqual(naivePath(index, leaves.slice(0, size)).map(toHex));
          verifyInclusion(index, size, leaf, proof, root);
          if (proof.length > 0) {
            const j = pick % proof.length;
            const bad = proof.slice();
            bad[j] = flipBit(proof[j]!, bit);
            expect(() => verifyInclusion(index, size, leaf, bad, root)).toThrow(RootMismatchError);
          }
          expect(() => verifyInclusion(index, size, flipBit(leaf, bit), proof, root)).toThrow(RootMismatchError);
          expect(() => verifyInclusion(index, size, leaf, proof, flipBit(root, bit))).toThrow(RootMismatchError);
          // A wrong index or size is refused unless the verifier would do exactly the same steps.
          const otherIndex = (index + 1 + (pick % size)) % size;
          const otherSize = size + 1 + (pick % 100);
          for (const [i, s] of [
            [otherIndex, size],
            [index, otherSize],
            [index, size * 2],
            [index, Math.max(index + 1, size - 1 - (pick % 50))],
          ] as const) {
            if (i === index && s === size) continue;
            if (inclusionShape(i, s) === inclusionShape(index, size)) verifyInclusion(i, s, leaf, proof, root);
            else expect(() => verifyInclusion(i, s, leaf, proof, root), `index ${i} size ${s}`).toThrow(ProofError);
          }
          expect(() => verifyInclusion(index, size * 2, leaf, proof, root)).toThrow(ProofError);
          expect(() => verifyInclusion(index, size, leaf, [...proof, root], root)).toThrow(ProofError);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('every bit of every hash in one proof matters', () => {
    const size = 4321;
    const index = 1234;
    const proof = proveInclusionSync(tree, index, size);
    const root = rootOf(size);
    for (let j = 0; j < proof.length; j++) {
      for (let bit = 0; bit < 256; bit++) {
        const bad = proof.slice();
        bad[j] = flipBit(proof[j]!, bit);
        expect(() => verifyInclusion(index, size, leaves[index]!, bad, root)).toThrow(RootMismatchError);
      }
    }
  });

  test('consistency proofs equal RFC 6962 SUBPROOF, verify, and fail under any single bit flip or wrong size', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5000 })
          .chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 }), fc.constant(size2), fc.nat(), fc.nat(255))),
        ([size1, size2, pick, bit]) => {
          const proof = proveConsistencySync(tree, size1, size2);
          const root1 = rootOf(size1);
          const root2 = rootOf(size2);
          if (size2 <= 600) expect(proof.map(toHex)).toEqual(naiveSubproof(size1, leaves.slice(0, size2), true).map(toHex));
          verifyConsistency(size1, size2, proof, root1, root2);
          expect(() => verifyConsistency(size1, size2, proof, flipBit(root1, bit), root2)).toThrow(ProofError);
          expect(() => verifyConsistency(size1, size2, proof, root1, flipBit(root2, bit))).toThrow(ProofError);
          if (proof.length > 0) {
            const j = pick % proof.length;
            const bad = proof.slice();
            bad[j] = flipBit(proof[j]!, bit);
            expect(() => verifyConsistency(size1, size2, bad, root1, root2)).toThrow(RootMismatchError);
            // A wrong size is refused unless the verifier would do exactly the same steps.
            for (const [a, b] of [
              [size1, size2 + 1 + (pick % 50)],
              [size1 - 1, size2],
              [size1 + 1, size2],
              [size1, size2 * 2],
              [size1 ^ 2, size2],
            ] as const) {
              if (consistencyShape(a, b) === consistencyShape(size1, size2) && consistencyShape(a, b) !== 'invalid')
                verifyConsistency(a, b, proof, root1, root2);
              else expect(() => verifyConsistency(a, b, proof, root1, root2), `${a} -> ${b}`).toThrow(ProofError);
            }
            expect(() => verifyConsistency(size1, size2, proof.slice(1), root1, root2)).toThrow(ProofError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('one verifier: whole-tree and subtree-from-0 verification accept and refuse the same proofs', () => {
    const accepts = (f: () => void): boolean => {
      try {
        f();
        return true;
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        return false;
      }
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }).chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 }), fc.constant(size2))),
        fc.nat(),
        fc.nat(255),
        fc.integer({ min: 0, max: 4 }),
        ([size1, size2], pick, bit, how) => {
          const root1 = rootOf(size1);
          const root2 = rootOf(size2);
          let proof = proveConsistencySync(tree, size1, size2);
          let [a, b] = [size1, size2];
          if (how === 1 && proof.length > 0) proof = proof.map((h, j) => (j === pick % proof.length ? flipBit(h, bit) : h));
          if (how === 2) proof = proof.slice(1);
          if (how === 3) a = 1 + (pick % size2);
          if (how === 4) b = size2 + 1 + (pick % 7);
          const whole = accepts(() => verifyConsistency(a, b, proof, root1, root2));
          const sub = accepts(() => verifySubtreeConsistency(0, a, b, proof, root1, root2));
          expect(sub, `${a} -> ${b} (${how})`).toBe(whole);
          if (how === 0) expect(whole).toBe(true);
          const index = pick % size2;
          const incl = proveInclusionSync(tree, index, size2);
          const bad = incl.length > 0 && how === 1 ? incl.map((h, j) => (j === 0 ? flipBit(h, bit) : h)) : incl;
          expect(accepts(() => verifySubtreeInclusion(index, 0, size2, leaves[index]!, bad, root2))).toBe(
            accepts(() => verifyInclusion(index, size2, leaves[index]!, bad, root2)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('async provers give the same proofs through an async reader', async () => {
    const asyncReader = { readNodes: async (ids: readonly NodeId[]) => tree.readNodes(ids) };
    for (const [i, s] of [
      [0, 1],
      [17, 4999],
      [4095, 4096],
      [2500, 2501],
    ] as const) {
      expect((await proveInclusion(asyncReader, i, s)).map(toHex)).toEqual(proveInclusionSync(tree, i, s).map(toHex));
    }
    for (const [a, b] of [
      [1, 2],
      [7, 4999],
      [4096, 5000],
      [3, 3],
    ] as const) {
      expect((await proveConsistency(asyncReader, a, b)).map(toHex)).toEqual(proveConsistencySync(tree, a, b).map(toHex));
    }
  });

  test('subtree inclusion: proofs of a valid subtree verify against its hash', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.nat(), fc.nat(), fc.nat(), (lg, a, b, c) => {
        const width = 2 ** lg;
        const len = 1 + (a % width); // 1..width leaves, start aligned to bitCeil(len) <= width
        const start = (b % Math.floor(4000 / width)) * width;
        const end = start + len;
        const index = start + (c % len);
        const sub = leaves.slice(start, end);
        const subTree = new MemoryTree(sub);
        const proof = proveInclusionSync(subTree, index - start, len);
        const root = rootFromLeafHashes(sub);
        verifySubtreeInclusion(index, start, end, leaves[index]!, proof, root);
        expect(() => verifySubtreeInclusion(index, start, end, leaves[index]!, proof, flipBit(root, c % 256))).toThrow(RootMismatchError);
      }),
      { numRuns: 100 },
    );
  });
});

describe('subtree consistency against the SUBTREE_PROOF oracle (fast-check)', () => {
  const leaves = leafHashesFor(2000);
  const tree = new MemoryTree(leaves);

  test('every small valid subtree of every small tree: the oracle proof verifies, a flipped bit fails', () => {
    // Exhaustive for sizes 1..20: full and partial subtrees, on and off the right edge.
    let checked = 0;
    for (let size = 1; size <= 20; size++) {
      const d = leaves.slice(0, size);
      const root = rootFromLeafHashes(d);
      for (let start = 0; start < size; start++) {
        for (let end = start + 1; end <= size; end++) {
          let c = 1;
          while (c < end - start) c *= 2;
          if (start % c !== 0) {
            expect(
              () => verifySubtreeConsistency(start, end, size, [], rootFromLeafHashes(d.slice(start, end)), root),
              `[${start}, ${end}) of ${size}`,
            ).toThrow(ProofError);
            continue;
          }
          const sub = rootFromLeafHashes(d.slice(start, end));
          const proof = naiveSubtreeProof(start, end, d);
          verifySubtreeConsistency(start, end, size, proof, sub, root);
          for (let j = 0; j < proof.length; j++) {
            const bad = proof.slice();
            bad[j] = flipBit(proof[j]!, (j * 37 + start) % 256);
            expect(() => verifySubtreeConsistency(start, end, size, bad, sub, root), `[${start}, ${end}) of ${size}, proof[${j}]`).toThrow(
              ProofError,
            );
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  test('random valid subtrees of trees up to 2000 leaves (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.nat(11), fc.nat(), fc.nat(), fc.nat(255), (size, lg, a, b, bit) => {
        const width = 2 ** Math.min(lg, Math.floor(Math.log2(size)));
        const start = (a % Math.ceil(size / width)) * width; // a multiple of width, below size
        const len = 1 + (b % Math.min(width, size - start)); // bitCeil(len) <= width divides start
        const end = start + len;
        const d = leaves.slice(0, size);
        const root = treeRootSync(tree, size);
        const sub = rootFromLeafHashes(d.slice(start, end));
        const proof = naiveSubtreeProof(start, end, d);
        verifySubtreeConsistency(start, end, size, proof, sub, root);
        if (start === 0 && end < size) expect(proof.map(toHex)).toEqual(proveConsistencySync(tree, end, size).map(toHex));
        expect(() => verifySubtreeConsistency(start, end, size, proof, flipBit(sub, bit), root)).toThrow(ProofError);
        expect(() => verifySubtreeConsistency(start, end, size, proof, sub, flipBit(root, bit))).toThrow(ProofError);
        if (proof.length > 0) {
          const j = (a + b) % proof.length;
          const bad = proof.slice();
          bad[j] = flipBit(proof[j]!, bit);
          expect(() => verifySubtreeConsistency(start, end, size, bad, sub, root)).toThrow(ProofError);
          expect(() => verifySubtreeConsistency(start, end, size, proof.slice(1), sub, root)).toThrow(ProofError);
          expect(() => verifySubtreeConsistency(start, end, size, [...proof, root], sub, root)).toThrow(ProofError);
        }
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed input

describe('malformed input is refused with MerkleError, never a crash', () => {
  const leaves = leafHashesFor(20);
  const tree = new MemoryTree(leaves);
  const root = treeRootSync(tree, 20);
  const proof = proveInclusionSync(tree, 3, 20);
  const bad = [-1, 2 ** 53, Number.NaN, 1.5, Infinity, -0.5];

  test.each(bad)('size or index %s', (n) => {
    expect(() => proveInclusionSync(tree, n, 20)).toThrow(MerkleError);
    expect(() => proveInclusionSync(tree, 3, n)).toThrow(MerkleError);
    expect(() => proveConsistencySync(tree, n, 20)).toThrow(MerkleError);
    expect(() => proveConsistencySync(tree, 3, n)).toThrow(MerkleError);
    expect(() => treeRootSync(tree, n)).toThrow(MerkleError);
    expect(() => verifyInclusion(n, 20, leaves[3]!, proof, root)).toThrow(ProofError);
    expect(() => verifyInclusion(3, n, leaves[3]!, proof, root)).toThrow(ProofError);
    expect(() => verifyConsistency(n, 20, [], root, root)).toThrow(ProofError);
    expect(() => verifyConsistency(3, n, [], root, root)).toThrow(ProofError);
    expect(() => verifySubtreeInclusion(n, 0, 4, leaves[0]!, [], root)).toThrow(ProofError);
    expect(() => verifySubtreeConsistency(0, n, 20, [], root, root)).toThrow(ProofError);
  });

  test('out-of-range arguments', () => {
    expect(() => proveInclusionSync(tree, 20, 20)).toThrow(/index 20 is not in a tree of size 20/);
    expect(() => proveInclusionSync(tree, 0, 0)).toThrow(MerkleError);
    expect(() => proveConsistencySync(tree, 5, 4)).toThrow(/larger than size2/);
    expect(() => proveConsistencySync(tree, 0, 4)).toThrow(/empty tree/);
    expect(() => verifyInclusion(20, 20, leaves[3]!, proof, root)).toThrow(ProofError);
    expect(() => verifyConsistency(5, 4, [], root, root)).toThrow(ProofError);
    expect(() => verifyConsistency(0, 4, [], root, root)).toThrow(ProofError);
    expect(proveConsistencySync(tree, 7, 7)).toEqual([]);
  });

  test('wrong hash lengths', () => {
    const short = new Uint8Array(31);
    const long = new Uint8Array(33);
    for (const h of [short, long, new Uint8Array(0)]) {
      expect(() => verifyInclusion(3, 20, h, proof, root)).toThrow(ProofError);
      expect(() => verifyInclusion(3, 20, leaves[3]!, proof, h)).toThrow(ProofError);
      expect(() => verifyInclusion(3, 20, leaves[3]!, [h, ...proof.slice(1)], root)).toThrow(ProofError);
      const cproof = proveConsistencySync(tree, 5, 20);
      expect(() => verifyConsistency(5, 20, cproof, h, root)).toThrow(ProofError);
      expect(() => verifyConsistency(5, 20, cproof, treeRootSync(tree, 5), h)).toThrow(ProofError);
      expect(() => verifyConsistency(5, 20, [h, ...cproof.slice(1)], treeRootSync(tree, 5), root)).toThrow(ProofError);
    }
    expect(() => proveInclusionSync({ readNodes: (ids) => ids.map(() => short) }, 3, 20)).toThrow(/NodeReader returned a 31-byte/);
    expect(() => proveInclusionSync({ readNodes: () => [] }, 3, 20)).toThrow(/NodeReader returned 0 hashes/);
  });

  test('error messages name the values and RootMismatchError carries both roots', () => {
    const other = treeRootSync(tree, 19);
    try {
      verifyInclusion(3, 20, leaves[3]!, proof, other);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RootMismatchError);
      expect(toHex((e as RootMismatchError).expected)).toBe(toHex(other));
      expect(toHex((e as RootMismatchError).computed)).toBe(toHex(root));
      expect((e as Error).message).toMatch(/index 3 in tree size 20/);
    }
    expect(() => verifyInclusion(3, 20, leaves[3]!, proof.slice(1), root)).toThrow(/has 5 hashes, got 4/);
  });

  test('works for sizes beyond 2^32 (no 32-bit truncation)', () => {
    // A consistent huge tree: every leaf is the same except a few marked ones, so a node's
    // hash is a per-level constant unless its range holds a marked leaf (then recurse).
    const marked = new Set([0, 2 ** 33 + 7, 2 ** 35 + 2, 2 ** 40, 2 ** 40 + 12344, Number.MAX_SAFE_INTEGER - 1]);
    const plain: Hash[] = [defaultHasher.hashLeaf(new Uint8Array(0))];
    for (let l = 1; l <= 53; l++) plain.push(defaultHasher.hashChildren(plain[l - 1]!, plain[l - 1]!));
    const node = (level: number, index: number): Hash => {
      const lo = index * 2 ** level;
      const hi = lo + 2 ** level;
      if (![...marked].some((m) => m >= lo && m < hi)) return plain[level]!;
      if (level === 0) return defaultHasher.hashLeaf(new TextEncoder().encode(`marked ${index}`));
      return defaultHasher.hashChildren(node(level - 1, 2 * index), node(level - 1, 2 * index + 1));
    };
    const fake: SyncNodeReader = { readNodes: (ids) => ids.map(({ level, index }) => node(level, index)) };
    const size = 2 ** 40 + 12345;
    for (const index of [0, 2 ** 33 + 7, size - 1, 2 ** 40]) {
      const p = proveInclusionSync(fake, index, size);
      const leaf = fake.readNodes([{ level: 0, index }])[0]!;
      verifyInclusion(index, size, leaf, p, treeRootSync(fake, size));
    }
    const c = proveConsistencySync(fake, 2 ** 35 + 3, size);
    verifyConsistency(2 ** 35 + 3, size, c, treeRootSync(fake, 2 ** 35 + 3), treeRootSync(fake, size));
    const big = Number.MAX_SAFE_INTEGER;
    const pb = proveInclusionSync(fake, big - 1, big);
    verifyInclusion(big - 1, big, fake.readNodes([{ level: 0, index: big - 1 }])[0]!, pb, treeRootSync(fake, big));
  });
});

describe('NodeReader.rangeHash (a reader that keeps incomplete right-edge subtrees)', () => {
  /** MemoryTree plus every incomplete range hash, counting what it is asked. */
  class RangeTree extends MemoryTree {
    asked: [number, number][] = [];
    ids = 0;
    constructor(
      private readonly leaves: readonly Hash[],
      private readonly answer: 'right' | 'none' | 'short',
    ) {
      super(leaves);
    }
    override readNodes(ids: readonly NodeId[]): Hash[] {
      this.ids += ids.length;
      return super.readNodes(ids);
    }
    rangeHash(start: number, end: number): Hash | undefined {
      this.asked.push([start, end]);
      if (this.answer === 'none') return undefined;
      if (this.answer === 'short') return new Uint8Array(31);
      return rootFromLeafHashes(this.leaves.slice(start, end));
    }
  }

  test('gives the same proofs with fewer nodes read, and is only asked for incomplete subtrees', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 600 }), fc.nat(), fc.nat(), (size, a, b) => {
        const leaves = leafHashesFor(size);
        const plain = new RangeTree(leaves, 'none');
        const cached = new RangeTree(leaves, 'right');
        const index = a % size;
        const size1 = (b % size) + 1;
        expect(proveInclusionSync(cached, index, size).map(toHex)).toEqual(proveInclusionSync(plain, index, size).map(toHex));
        expect(proveConsistencySync(cached, size1, size).map(toHex)).toEqual(proveConsistencySync(plain, size1, size).map(toHex));
        expect(cached.ids).toBeLessThanOrEqual(plain.ids);
        for (const [start, end] of [...plain.asked, ...cached.asked]) {
          expect(end).toBe(size);
          expect(Number.isInteger(Math.log2(end - start))).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a rangeHash that itself makes proofs (re-enters) gets correct proofs, and so does its caller', () => {
    // The reader answers each range by making and verifying an inclusion proof in another tree,
    // then computing the range from the leaves: the outer proof must be unaffected.
    const leaves = leafHashesFor(300);
    const other = new MemoryTree(leafHashesFor(777));
    const otherRoot = treeRootSync(other, 777);
    let inner = 0;
    const reader: SyncNodeReader = {
      readNodes: (ids) => new MemoryTree(leaves).readNodes(ids),
      rangeHash: (start, end) => {
        const index = (start * 31 + end) % 777;
        const p = proveInclusionSync(other, index, 777);
        verifyInclusion(index, 777, other.levels[0]![index]!, p, otherRoot);
        const c = proveConsistencySync(other, (index % 776) + 1, 777);
        verifyConsistency((index % 776) + 1, 777, c, treeRootSync(other, (index % 776) + 1), otherRoot);
        inner++;
        return rootFromLeafHashes(leaves.slice(start, end));
      },
    };
    const plain = new MemoryTree(leaves);
    for (let size = 2; size <= 300; size += 7) {
      const root = treeRootSync(plain, size);
      // Leaves in the right part of the tree too, so the re-entered range is not the last one read.
      const k = 2 ** Math.floor(Math.log2(size - 1));
      const spots = [0, size >> 1, k, k + ((size - k) >> 1), k + ((size - k) >> 2), size - 2, size - 1].filter((i) => i > 0 && i < size);
      for (const index of [0, ...spots]) {
        const p = proveInclusionSync(reader, index, size);
        expect(p.map(toHex), `inclusion ${index} in ${size}`).toEqual(proveInclusionSync(plain, index, size).map(toHex));
        verifyInclusion(index, size, leaves[index]!, p, root);
      }
      for (const size1 of [1, ...spots]) {
        const c = proveConsistencySync(reader, size1, size);
        expect(c.map(toHex), `consistency ${size1} -> ${size}`).toEqual(proveConsistencySync(plain, size1, size).map(toHex));
        verifyConsistency(size1, size, c, treeRootSync(plain, size1), root);
      }
    }
    expect(inner).toBeGreaterThan(100);
  });

  test('a malformed range hash is refused', () => {
    const reader = new RangeTree(leafHashesFor(7), 'short');
    expect(() => proveInclusionSync(reader, 0, 7)).toThrow(/rangeHash\(4, 7\) returned a 31-byte value/);
  });
});
