import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { MerkleArgumentError } from './errors.js';

/** Size in bytes of every hash in the tree. */
export const HASH_SIZE = 32;

/** A SHA-256 digest: 32 bytes. */
export type Hash = Uint8Array;

/**
 * A SHA-256 implementation: returns the 32-byte digest of data. It must not keep `data` (or a
 * view of it) after it returns, nor change it: a Hasher reuses its input buffer for the next hash.
 * node:crypto's `crypto.hash` and @noble/hashes' `sha256` qualify. It may re-enter the Hasher.
 */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/**
 * RFC 6962 / RFC 9162 hashing with a pluggable SHA-256.
 * The default is pure `@noble/hashes`; on Node pass node:crypto's, e.g.
 * `new Hasher((d) => crypto.hash('sha256', d, 'buffer'))`, which is about 2.5x faster.
 * Safe to share and to re-enter: a hash started while another is in progress on the same
 * Hasher (a SHA-256 or a callback that hashes again) gets its own input buffer.
 */
export class Hasher {
  /** The SHA-256 function in use. */
  readonly sha256: Sha256;
  readonly #empty: Hash;
  // The input buffers, reused while no hash is in progress on this Hasher. A fresh buffer costs
  // about a third of a node:crypto node hash (V8 puts typed arrays over 64 bytes off-heap, and
  // 0x01 || left || right is 65), so they are kept; #busy hands a re-entrant call a fresh one
  // instead. Private fields stay writable when the instance is frozen, as defaultHasher is.
  readonly #node = new Uint8Array(1 + 2 * HASH_SIZE);
  #leaf = new Uint8Array(1);
  #busy = false;

  /** @param sha256 the SHA-256 to use; defaults to @noble/hashes. */
  constructor(sha256: Sha256 = nobleSha256) {
    this.sha256 = sha256;
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

  /** Node hashes of one tree level: SHA-256(0x01 || pairs[64i, 64i + 64)) for each i, 32 bytes each, in one fresh buffer. */
  hashNodes(pairs: Uint8Array): Uint8Array {
    const n = pairs.length / 64;
    const out = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++)
      out.set(this.hashChildren(pairs.subarray(64 * i, 64 * i + 32), pairs.subarray(64 * i + 32, 64 * i + 64)), 32 * i);
    return out;
  }

  /** Leaf hashes of many entries, in order. */
  hashLeaves(entries: readonly Uint8Array[]): Hash[] {
    return entries.map((e) => this.hashLeaf(e));
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

/**
 * The default hasher, on pure-JavaScript `@noble/hashes`. Shared by every caller, so it is
 * frozen (nothing can swap its SHA-256 for everyone else) and, like every Hasher, re-entrant.
 */
// (Readonly<Hasher> drops the private fields from the type, not from the object: the cast is exact.)
export const defaultHasher: Hasher = Object.freeze(new Hasher()) as Hasher;

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
