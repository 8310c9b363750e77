/**
 * The SHA-256 kernels are exact: every one (WebAssembly SIMD, @noble/hashes, node:crypto) against
 * node:crypto, for single messages of every length across the block boundaries, random lengths
 * and contents, batches of mixed lengths of every tail size and across the wasm kernel's
 * per-call chunk limits, and the Hasher batch methods against hashLeaf/hashChildren. The wasm
 * kernel hashes single messages and a batch's last lone message (sizes 1, 5, 9, ... here) by its
 * scalar path, and the rest four at a time by SIMD: both are covered. The reference vectors run
 * through the batch methods here; the other suites run with defaultHasher, which is the wasm one.
 */
import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { describeVectors, tlogReference } from '../../../test/support/vectors.js';
import { fromBase64, fromHex, toHex } from './encoding.js';
import { MerkleArgumentError } from './errors.js';
import { SHA256_WASM_BASE64 } from './generated/sha256-wasm.js';
import { defaultHasher, fastHasher, type Hash, Hasher } from './hash.js';
import { fallbackSha256Kernel, type Sha256Kernel } from './sha256kernel.js';
import { wasmSha256Kernel } from './sha256wasm.js';

const nodeSha256 = (d: Uint8Array): Uint8Array => crypto.hash('sha256', d, 'buffer');
const hex = (d: Uint8Array): string => crypto.hash('sha256', d);
const leafHex = (e: Uint8Array): string => crypto.createHash('sha256').update(Uint8Array.of(0)).update(e).digest('hex');
const nodeHex = (pair: Uint8Array): string => crypto.createHash('sha256').update(Uint8Array.of(1)).update(pair).digest('hex');

/** Deterministic pseudo-random bytes (fast-check drives the property tests; these are for the large fixed cases). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function digests(out: Uint8Array, n: number, offset = 0): string[] {
  return Array.from({ length: n }, (_, i) => toHex(out.subarray(offset + 32 * i, offset + 32 * i + 32)));
}

const wasm = wasmSha256Kernel();
const kernels: Sha256Kernel[] = [wasm!, fallbackSha256Kernel(), fallbackSha256Kernel(nodeSha256, 'node:crypto')];

test('the wasm module stays within 4 KiB, which older Chrome compiles synchronously on the main thread', () => {
  expect(fromBase64(SHA256_WASM_BASE64).length).toBeLessThanOrEqual(4096);
});

test('the WebAssembly SIMD kernel runs here (Node 20 has WebAssembly SIMD)', () => {
  expect(wasm?.name).toBe('wasm-simd');
  expect(fastHasher().kernel.name).toBe('wasm-simd');
  expect(defaultHasher.kernel.name).toBe('wasm-simd');
});

describe.each(kernels.map((k) => [k.name, k] as const))('%s kernel', (_name, kernel) => {
  test('sha256 of every length 0..300 (all the padding cases: 55, 56, 63, 64, 119, 120, 128)', () => {
    for (let n = 0; n <= 300; n++) {
      const data = bytes(n, n);
      expect(toHex(kernel.sha256(data)), `length ${n}`).toBe(hex(data));
    }
  });

  test('sha256 at the block boundaries of long messages (whole blocks in place, then the padded tail), up to 70,000 bytes', () => {
    for (const blocks of [2, 3, 16, 17, 1023, 1024, 1093]) {
      for (const delta of [-65, -64, -57, -56, -55, -9, -8, -1, 0, 1]) {
        const data = bytes(64 * blocks + delta, blocks + delta);
        expect(toHex(kernel.sha256(data)), `length ${data.length}`).toBe(hex(data));
      }
    }
  });

  test('sha256 property: any bytes, from any view into a larger buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(70), fc.nat(70), (data, before, after) => {
        const buffer = new Uint8Array(before + data.length + after).fill(0xa5);
        buffer.set(data, before);
        const view = buffer.subarray(before, before + data.length);
        expect(toHex(kernel.sha256(view))).toBe(hex(data));
        expect(toHex(kernel.sha256(data))).toBe(hex(data));
      }),
      { numRuns: 300 },
    );
  });

  test('sha256 of random lengths up to 70,000, and a fresh result each time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), fc.integer(), (n, seed) => {
        const data = bytes(n, seed);
        const a = kernel.sha256(data);
        expect(toHex(a)).toBe(hex(data));
        const b = kernel.sha256(data);
        expect(a).not.toBe(b);
        expect(a.length).toBe(32);
      }),
      { numRuns: 40 },
    );
  });

  test('leafHashes of mixed lengths, every batch size 1..9 and tail, at an offset', () => {
    for (let n = 1; n <= 9; n++) {
      const entries = Array.from({ length: n }, (_, i) => bytes((i * 37 + n * 11) % 200, i + 100 * n));
      const out = new Uint8Array(32 * n + 40).fill(0xee);
      kernel.leafHashes(entries, out, 7);
      expect(digests(out, n, 7)).toEqual(entries.map(leafHex));
      expect(
        [...out.subarray(0, 7), ...out.subarray(7 + 32 * n)].every((b) => b === 0xee),
        'only the stated range is written',
      ).toBe(true);
    }
  });

  test('leafHashes property: any entries', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (entries) => {
        const out = new Uint8Array(32 * entries.length);
        kernel.leafHashes(entries, out);
        expect(digests(out, entries.length)).toEqual(entries.map(leafHex));
      }),
      { numRuns: 100 },
    );
  });

  test('nodeHashes of every batch size 1..9, at an offset', () => {
    for (let n = 0; n <= 9; n++) {
      const pairs = bytes(64 * n, n);
      const out = new Uint8Array(32 * n + 3);
      kernel.nodeHashes(pairs, out, 3);
      expect(digests(out, n, 3)).toEqual(Array.from({ length: n }, (_, i) => nodeHex(pairs.subarray(64 * i, 64 * i + 64))));
    }
  });

  test('nodeHashes property: any pairs, from any view into a larger buffer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 70 }), fc.integer(), (n, skip, seed) => {
        const pairs = bytes(skip + 64 * n + 5, seed).subarray(skip, skip + 64 * n);
        const out = new Uint8Array(32 * n);
        kernel.nodeHashes(pairs, out);
        expect(digests(out, n)).toEqual(Array.from({ length: n }, (_, i) => nodeHex(pairs.subarray(64 * i, 64 * i + 64))));
      }),
      { numRuns: 60 },
    );
  });

  test('argument checks: whole pairs only, and room for the output', () => {
    expect(() => kernel.nodeHashes(new Uint8Array(63), new Uint8Array(32))).toThrow(MerkleArgumentError);
    expect(() => kernel.nodeHashes(new Uint8Array(128), new Uint8Array(63))).toThrow(MerkleArgumentError);
    expect(() => kernel.nodeHashes(new Uint8Array(64), new Uint8Array(32), 1)).toThrow(MerkleArgumentError);
    expect(() => kernel.leafHashes([new Uint8Array(1)], new Uint8Array(32), -1)).toThrow(MerkleArgumentError);
    expect(() => kernel.leafHashes([new Uint8Array(1), new Uint8Array(1)], new Uint8Array(63))).toThrow(MerkleArgumentError);
  });
});

describe('wasm kernel chunking', () => {
  const kernel = wasm!;

  test('leafHashes across the 4096-message chunk limit', () => {
    const n = 3 * 4096 + 5;
    const entries = Array.from({ length: n }, (_, i) => bytes(i % 131, i));
    const out = new Uint8Array(32 * n);
    kernel.leafHashes(entries, out);
    expect(digests(out, n)).toEqual(entries.map(leafHex));
  });

  test('leafHashes across the 1 MiB chunk limit, with entries larger than it hashed alone', () => {
    const sizes = [70_000, 1 << 20, (1 << 20) - 1, 5, (1 << 20) + 3, 300_000, 300_000, 300_000, 300_000, 0, 64];
    const entries = sizes.map((s, i) => bytes(s, i));
    const out = new Uint8Array(32 * entries.length);
    kernel.leafHashes(entries, out);
    expect(digests(out, entries.length)).toEqual(entries.map(leafHex));
    // Single messages after the memory grew, and small ones again.
    expect(toHex(kernel.sha256(entries[4]!))).toBe(hex(entries[4]!));
    expect(toHex(kernel.sha256(new Uint8Array(0)))).toBe(hex(new Uint8Array(0)));
  });

  test('nodeHashes across the 4096-pair chunk limit', () => {
    const n = 2 * 4096 + 3;
    const pairs = bytes(64 * n, 9);
    const out = new Uint8Array(32 * n);
    kernel.nodeHashes(pairs, out);
    expect(digests(out, n)).toEqual(Array.from({ length: n }, (_, i) => nodeHex(pairs.subarray(64 * i, 64 * i + 64))));
  });

  test('each call makes an instance of its own', () => {
    const other = wasmSha256Kernel()!;
    expect(other).not.toBe(kernel);
    const big = bytes(200_000, 1);
    expect(toHex(other.sha256(big))).toBe(hex(big));
    expect(toHex(kernel.sha256(Uint8Array.of(1)))).toBe(hex(Uint8Array.of(1)));
  });
});

describe('Hasher batch methods', () => {
  const hashers: [string, Hasher][] = [
    ['fastHasher', fastHasher()],
    ['defaultHasher', defaultHasher],
    ['noble', new Hasher()],
    ['node:crypto', new Hasher(nodeSha256)],
    ['node:crypto single, wasm batches', new Hasher(nodeSha256, wasm)],
  ];
  const reference = new Hasher(nodeSha256);

  test.each(hashers)('%s: hashLeaves, hashNodes and hashChildrenMany match hashLeaf and hashChildren', (_name, hasher) => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }), (entries) => {
        const leaves = hasher.hashLeaves(entries);
        expect(leaves.map(toHex)).toEqual(entries.map((e) => toHex(reference.hashLeaf(e))));
        expect(leaves.map(toHex)).toEqual(entries.map((e) => toHex(hasher.hashLeaf(e))));
        const lefts = leaves.slice(0, leaves.length >> 1);
        const rights = leaves.slice(leaves.length >> 1, 2 * (leaves.length >> 1));
        const parents = hasher.hashChildrenMany(lefts, rights);
        expect(parents.map(toHex)).toEqual(lefts.map((l, i) => toHex(reference.hashChildren(l, rights[i]!))));
        const pairs = new Uint8Array(64 * lefts.length);
        lefts.forEach((l, i) => {
          pairs.set(l, 64 * i);
          pairs.set(rights[i]!, 64 * i + 32);
        });
        expect(toHex(hasher.hashNodes(pairs))).toBe(parents.map(toHex).join(''));
      }),
      { numRuns: 50 },
    );
  });

  test('argument checks', () => {
    const h = fastHasher();
    const a = h.hashLeaf(Uint8Array.of(1));
    expect(() => h.hashChildrenMany([a], [])).toThrow(MerkleArgumentError);
    expect(() => h.hashChildrenMany([a], [a.subarray(1)])).toThrow(MerkleArgumentError);
    expect(() => h.hashNodes(new Uint8Array(65))).toThrow(MerkleArgumentError);
    expect(h.hashLeaves([])).toEqual([]);
    expect(h.hashNodes(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  test('a frozen Hasher with the wasm kernel still works (its kernel keeps its own state)', () => {
    const frozen = Object.freeze(fastHasher()) as Hasher;
    const entries = Array.from({ length: 100 }, (_, i) => bytes(i * 5, i));
    expect(frozen.hashLeaves(entries).map(toHex)).toEqual(entries.map(leafHex));
    expect(toHex(frozen.hashLeaf(entries[7]!))).toBe(leafHex(entries[7]!));
  });
});

describeVectors('batch hashing against tlog-reference.json', () => {
  const ref = tlogReference();

  /** The RFC 6962 root by levels of hashNodes: a level's odd last node moves up a level unchanged. */
  function rootByLevels(hasher: Hasher, leaves: readonly Hash[]): string {
    let level = new Uint8Array(32 * leaves.length);
    for (let i = 0; i < leaves.length; i++) level.set(leaves[i]!, 32 * i);
    for (let n = leaves.length; n > 1; n = (n + 1) >> 1) {
      const next = new Uint8Array(32 * ((n + 1) >> 1));
      next.set(hasher.hashNodes(level.subarray(0, 64 * (n >> 1))));
      if (n % 2 === 1) next.set(level.subarray(32 * (n - 1), 32 * n), 32 * (n >> 1));
      level = next;
    }
    return toHex(level.subarray(0, 32));
  }

  test.each([
    ['wasm', fastHasher()],
    ['noble', new Hasher()],
  ] as const)('%s: leaf hashes and roots of sizes 1..1100 by hashLeaves and hashNodes', (_name, hasher) => {
    const leaves = hasher.hashLeaves(ref.leaves.map(fromHex));
    expect(leaves.map(toHex)).toEqual(ref.leafHashes);
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 1023, 1024, 1025, 1099, 1100]) {
      expect(rootByLevels(hasher, leaves.slice(0, n)), `size ${n}`).toBe(ref.roots[String(n)]);
    }
  });
});
