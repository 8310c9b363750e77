import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { MerkleArgumentError } from './errors.js';
import type { Sha256 } from './hash.js';

/** Size in bytes of a SHA-256 digest (hash.ts's HASH_SIZE is this; defined here so that hash.ts can import this module without a cycle). */
export const SHA256_SIZE = 32;

/**
 * Hashes many messages per call: the RFC 6962 leaf and node hashes of a whole batch, and single
 * SHA-256 digests. Every method is exact SHA-256. None keeps its inputs (or views of them) after
 * it returns, nor changes them; outputs are written only where stated.
 */
export interface Sha256Kernel {
  /** What computes the hashes: 'wasm-simd', '@noble/hashes', 'node:crypto', ... */
  readonly name: string;
  /** SHA-256 of one message, as a fresh 32-byte array. */
  sha256(data: Uint8Array): Uint8Array;
  /**
   * Leaf hashes SHA-256(0x00 || entries[i]), written to out[outOffset + 32i, outOffset + 32i + 32).
   * Requires outOffset + 32 * entries.length <= out.length (MerkleArgumentError otherwise).
   */
  leafHashes(entries: readonly Uint8Array[], out: Uint8Array, outOffset?: number): void;
  /**
   * Node hashes of one tree level: for n = pairs.length / 64, SHA-256(0x01 || pairs[64i, 64i + 64))
   * written to out[outOffset + 32i, outOffset + 32i + 32). Requires pairs.length to be a multiple
   * of 64 and outOffset + 32n <= out.length (MerkleArgumentError otherwise). `out` may not overlap `pairs`.
   */
  nodeHashes(pairs: Uint8Array, out: Uint8Array, outOffset?: number): void;
}

/**
 * Checks a batch call's output room: outOffset a non-negative integer and count 32-byte hashes
 * fitting in out from there. MerkleArgumentError naming the sizes otherwise.
 */
export function checkHashOutput(out: Uint8Array, outOffset: number, count: number): void {
  if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset + count * SHA256_SIZE > out.length) {
    throw new MerkleArgumentError(
      `output too small: ${count} hashes of ${SHA256_SIZE} bytes from offset ${outOffset} need ${outOffset + count * SHA256_SIZE} bytes, got ${out.length}`,
    );
  }
}

/** Checks that pairs holds whole 64-byte (left || right) pairs; returns their number. MerkleArgumentError otherwise. */
export function pairCount(pairs: Uint8Array): number {
  if (pairs.length % (2 * SHA256_SIZE) !== 0) {
    throw new MerkleArgumentError(`node pairs must be a multiple of ${2 * SHA256_SIZE} bytes, got ${pairs.length}`);
  }
  return pairs.length / (2 * SHA256_SIZE);
}

/**
 * A Sha256Kernel that loops over a single-message SHA-256 (node:crypto's `crypto.hash`,
 * @noble/hashes' `sha256`, ...). The SHA-256 must return a fresh 32-byte digest; it gets buffers
 * of this call's own and may re-enter.
 * @param sha256 the SHA-256 to loop over; defaults to @noble/hashes.
 * @param name what to call it (the `name` of the kernel); '@noble/hashes' for the default, else 'sha256'.
 */
export function fallbackSha256Kernel(
  sha256: Sha256 = nobleSha256,
  name = sha256 === nobleSha256 ? '@noble/hashes' : 'sha256',
): Sha256Kernel {
  return Object.freeze({
    name,
    sha256: (data: Uint8Array): Uint8Array => sha256(data),
    leafHashes(entries: readonly Uint8Array[], out: Uint8Array, outOffset = 0): void {
      checkHashOutput(out, outOffset, entries.length);
      let buf = new Uint8Array(1);
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        // Byte 0 stays 0x00: only bytes 1.. are written.
        if (buf.length !== 1 + entry.length) buf = new Uint8Array(1 + entry.length);
        buf.set(entry, 1);
        out.set(sha256(buf), outOffset + i * SHA256_SIZE);
      }
    },
    nodeHashes(pairs: Uint8Array, out: Uint8Array, outOffset = 0): void {
      const n = pairCount(pairs);
      checkHashOutput(out, outOffset, n);
      const buf = new Uint8Array(1 + 2 * SHA256_SIZE);
      buf[0] = 1;
      for (let i = 0; i < n; i++) {
        buf.set(pairs.subarray(i * 2 * SHA256_SIZE, (i + 1) * 2 * SHA256_SIZE), 1);
        out.set(sha256(buf), outOffset + i * SHA256_SIZE);
      }
    },
  });
}
