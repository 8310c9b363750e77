import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { MerkleArgumentError } from './errors.js';
import { fallbackSha256Kernel, SHA256_SIZE, type Sha256Kernel } from './sha256kernel.js';
import { wasmSha256Kernel } from './sha256wasm.js';

/** Size in bytes of every hash in the tree. */
export const HASH_SIZE = SHA256_SIZE;

/** A SHA-256 digest: 32 bytes. */
export type Hash = Uint8Array;

/**
 * A SHA-256 implementation: returns the 32-byte digest of data. It must not keep `data` (or a
 * view of it) after it returns, nor change it: a Hasher reuses its input buffer for the next hash.
 * node:crypto's `crypto.hash` and @noble/hashes' `sha256` qualify. It may re-enter the Hasher.
 */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/**
 * RFC 6962 / RFC 9162 hashing with a pluggable SHA-256 for single hashes and a pluggable
 * {@link Sha256Kernel} for batches (hashLeaves, hashNodes, hashChildrenMany).
 * The SHA-256 defaults to pure `@noble/hashes`; {@link fastHasher} gives the fastest available
 * (the WebAssembly SIMD kernel for both where it runs). On Node, node:crypto's is another choice:
 * `new Hasher((d) => crypto.hash('sha256', d, 'buffer'))`.
 * Safe to share and to re-enter: a hash started while another is in progress on the same
 * Hasher (a SHA-256 or a callback that hashes again) gets its own input buffer.
 */
export class Hasher {
  /** The SHA-256 function in use for single hashes (hashLeaf, hashChildren, emptyRoot). */
  readonly sha256: Sha256;
  /** The kernel in use for batches. */
  readonly kernel: Sha256Kernel;
  readonly #empty: Hash;
  // The input buffers, reused while no hash is in progress on this Hasher. A fresh buffer costs
  // about a third of a node:crypto node hash (V8 puts typed arrays over 64 bytes off-heap, and
  // 0x01 || left || right is 65), so they are kept; #busy hands a re-entrant call a fresh one
  // instead. Private fields stay writable when the instance is frozen, as defaultHasher is.
  readonly #node = new Uint8Array(1 + 2 * HASH_SIZE);
  #leaf = new Uint8Array(1);
  #busy = false;

  /**
   * @param sha256 the SHA-256 to use for single hashes; defaults to @noble/hashes.
   * @param kernel the kernel to use for batches; defaults to one looping over `sha256`.
   */
  constructor(sha256: Sha256 = nobleSha256, kernel: Sha256Kernel = fallbackSha256Kernel(sha256)) {
    this.sha256 = sha256;
    this.kernel = kernel;
    this.#node[0] = 1;
    this.#empty = Uint8Array.from(sha256(new Uint8Array(0)));
  }

  /** Leaf hash: SHA-256(0x00 || entry). */
  hashLeaf(entry: Uint8Array): Hash {
    if (this.#busy) {
      const fresh = new Uint8Array(1 + entry.length);
      fresh.set(entry, 1);
      return this.sha256(fresh);
    }
    // Byte 0 stays 0x00: only bytes 1.. are ever written.
    let buf = this.#leaf;
    if (buf.length !== 1 + entry.length) buf = this.#leaf = new Uint8Array(1 + entry.length);
    buf.set(entry, 1);
    return this.#hashIn(buf);
  }

  /** Interior node hash: SHA-256(0x01 || left || right). Requires two 32-byte hashes (MerkleArgumentError otherwise). */
  hashChildren(left: Hash, right: Hash): Hash {
    if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
      throw new MerkleArgumentError(`node children must be ${HASH_SIZE}-byte hashes, got ${left.length} and ${right.length} bytes`);
    }
    const buf = this.#busy ? new Uint8Array(1 + 2 * HASH_SIZE) : this.#node;
    buf[0] = 1;
    buf.set(left, 1);
    buf.set(right, 1 + HASH_SIZE);
    return buf === this.#node ? this.#hashIn(buf) : this.sha256(buf);
  }

  /**
   * Leaf hashes of many entries: SHA-256(0x00 || entry) for each, in order. The hashes are
   * 32-byte views into one fresh buffer (entries.length * 32 bytes), not separate arrays.
   */
  hashLeaves(entries: readonly Uint8Array[]): Hash[] {
    const out = new Uint8Array(entries.length * HASH_SIZE);
    this.kernel.leafHashes(entries, out);
    return views(out, entries.length);
  }

  /**
   * Node hashes of one tree level: pairs holds n (left || right) pairs of 32-byte hashes, 64n
   * bytes; returns the n parents SHA-256(0x01 || left || right), 32n bytes in a fresh buffer.
   * Requires pairs.length to be a multiple of 64 (MerkleArgumentError otherwise).
   */
  hashNodes(pairs: Uint8Array): Uint8Array {
    const out = new Uint8Array(pairs.length / 2);
    this.kernel.nodeHashes(pairs, out);
    return out;
  }

  /**
   * Interior node hashes of many pairs: hashChildren(lefts[i], rights[i]) for each i. Requires as
   * many lefts as rights, all 32-byte hashes (MerkleArgumentError otherwise). The hashes are
   * 32-byte views into one fresh buffer, not separate arrays.
   */
  hashChildrenMany(lefts: readonly Hash[], rights: readonly Hash[]): Hash[] {
    if (lefts.length !== rights.length) {
      throw new MerkleArgumentError(`as many left as right children are needed, got ${lefts.length} and ${rights.length}`);
    }
    const pairs = new Uint8Array(lefts.length * 2 * HASH_SIZE);
    for (let i = 0; i < lefts.length; i++) {
      const left = lefts[i]!;
      const right = rights[i]!;
      if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
        throw new MerkleArgumentError(`node children ${i} must be ${HASH_SIZE}-byte hashes, got ${left.length} and ${right.length} bytes`);
      }
      pairs.set(left, i * 2 * HASH_SIZE);
      pairs.set(right, (i * 2 + 1) * HASH_SIZE);
    }
    return views(this.hashNodes(pairs), lefts.length);
  }

  /** Root of the empty tree: SHA-256 of the empty string. Returns a fresh copy. */
  emptyRoot(): Hash {
    return this.#empty.slice();
  }

  /** Hashes one of this Hasher's own buffers, marking it in use until the SHA-256 returns. */
  #hashIn(buf: Uint8Array): Hash {
    this.#busy = true;
    try {
      return this.sha256(buf);
    } finally {
      this.#busy = false;
    }
  }
}

/** The n consecutive 32-byte hashes in buf, as views. */
function views(buf: Uint8Array, n: number): Hash[] {
  const out = new Array<Hash>(n);
  for (let i = 0; i < n; i++) out[i] = buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  return out;
}

/**
 * A new Hasher on the fastest SHA-256 available here, for single hashes and batches: the
 * WebAssembly SIMD kernel ({@link wasmSha256Kernel}) where WebAssembly with SIMD runs, else
 * `fallback` (default: pure-JavaScript `@noble/hashes`; on Node, node:crypto's is faster). Each
 * call makes a new kernel instance (with its own memory): keep the Hasher.
 */
export function fastHasher(fallback: Sha256 = nobleSha256): Hasher {
  const kernel = wasmSha256Kernel();
  return kernel === undefined ? new Hasher(fallback) : new Hasher((data) => kernel.sha256(data), kernel);
}

/**
 * The default hasher: {@link fastHasher}'s, so the WebAssembly SIMD kernel where it runs, else
 * pure-JavaScript `@noble/hashes`. Shared by every caller, so it is frozen (nothing can swap its
 * SHA-256 for everyone else) and, like every Hasher, re-entrant (its kernel never calls back).
 */
// (Readonly<Hasher> drops the private fields from the type, not from the object: the cast is exact.)
export const defaultHasher: Hasher = Object.freeze(fastHasher()) as Hasher;

/**
 * The Merkle Tree Hash of a list of leaf hashes, by the naive recursion of RFC 6962 §2.1:
 * MTH({}) = SHA-256(""), MTH({d0}) = d0 (already a leaf hash), and otherwise
 * MTH(D[0:k]) and MTH(D[k:n]) joined with k the largest power of two below n.
 * Every element must be a 32-byte hash (MerkleArgumentError otherwise). O(n) hashes; meant for small trees and as a test oracle.
 */
export function rootFromLeafHashes(leafHashes: readonly Hash[], hasher: Hasher = defaultHasher): Hash {
  if (leafHashes.length === 0) return hasher.emptyRoot();
  const mth = (lo: number, hi: number): Hash => {
    if (hi - lo === 1) {
      const h = leafHashes[lo]!;
      if (h.length !== HASH_SIZE) throw new MerkleArgumentError(`leaf hash ${lo} must be ${HASH_SIZE} bytes, got ${h.length}`);
      return h;
    }
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return hasher.hashChildren(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leafHashes.length);
}
