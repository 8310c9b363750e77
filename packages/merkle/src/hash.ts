import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { MerkleArgumentError } from './errors.js';

/** Size in bytes of every hash in the tree. */
export const HASH_SIZE = 32;

/** A SHA-256 digest: 32 bytes. */
export type Hash = Uint8Array;

/** A SHA-256 implementation: returns the 32-byte digest of data. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/**
 * RFC 6962 / RFC 9162 hashing with a pluggable SHA-256.
 * The default is pure `@noble/hashes`; on Node pass node:crypto's, e.g.
 * `new Hasher((d) => crypto.hash('sha256', d, 'buffer'))`, which is about 2.5x faster.
 */
export class Hasher {
  /** The SHA-256 function in use. */
  readonly sha256: Sha256;
  // One scratch buffer for node hashes: avoids an allocation per hash on the hot path.
  private readonly nodeBuf = new Uint8Array(1 + 2 * HASH_SIZE);
  private leafBuf = new Uint8Array(1);
  private readonly empty: Hash;

  /** @param sha256 the SHA-256 to use; defaults to @noble/hashes. */
  constructor(sha256: Sha256 = nobleSha256) {
    this.sha256 = sha256;
    this.nodeBuf[0] = 1;
    this.empty = Uint8Array.from(sha256(new Uint8Array(0)));
  }

  /** Leaf hash: SHA-256(0x00 || entry). */
  hashLeaf(entry: Uint8Array): Hash {
    // Reuse the buffer while entries keep the same length (the common case in bulk appends);
    // byte 0 stays 0x00 because only bytes 1.. are ever written.
    let buf = this.leafBuf;
    if (buf.length !== 1 + entry.length) buf = this.leafBuf = new Uint8Array(1 + entry.length);
    buf.set(entry, 1);
    return this.sha256(buf);
  }

  /** Interior node hash: SHA-256(0x01 || left || right). Requires two 32-byte hashes (MerkleArgumentError otherwise). */
  hashChildren(left: Hash, right: Hash): Hash {
    if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
      throw new MerkleArgumentError(`node children must be ${HASH_SIZE}-byte hashes, got ${left.length} and ${right.length} bytes`);
    }
    const buf = this.nodeBuf;
    buf.set(left, 1);
    buf.set(right, 1 + HASH_SIZE);
    return this.sha256(buf);
  }

  /** Root of the empty tree: SHA-256 of the empty string. Returns a fresh copy. */
  emptyRoot(): Hash {
    return this.empty.slice();
  }
}

/** The default hasher, on pure-JavaScript `@noble/hashes`. */
export const defaultHasher: Hasher = new Hasher();

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
