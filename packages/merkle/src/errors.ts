import { toBase64 } from './encoding.js';
import type { Hash } from './hash.js';

/** Base class of every error this package throws: a bad argument or malformed data. */
export class MerkleError extends Error {
  override readonly name: string = 'MerkleError';
}

/** A proof is malformed (wrong length, bad sizes) or does not verify. */
export class ProofError extends MerkleError {
  override readonly name: string = 'ProofError';
}

/** A proof was well formed but led to a root other than the expected one. Carries both roots. */
export class RootMismatchError extends ProofError {
  override readonly name: string = 'RootMismatchError';
  /** The root the caller trusted. */
  readonly expected: Hash;
  /** The root the proof led to. */
  readonly computed: Hash;
  constructor(expected: Hash, computed: Hash, what = 'proof') {
    super(`${what} does not verify: it leads to root ${toBase64(computed)}, expected ${toBase64(expected)}`);
    this.expected = expected;
    this.computed = computed;
  }
}

/** A signed note, key, checkpoint or receipt is malformed. */
export class NoteError extends MerkleError {
  override readonly name: string = 'NoteError';
}

/** No trusted key signed a note, or a trusted key's signature on it is invalid. */
export class SignatureError extends NoteError {
  override readonly name: string = 'SignatureError';
}

/**
 * Checks that n is a safe non-negative integer and returns it.
 * Sizes and indexes are `number`s everywhere in tlog; beyond 2^53-1 they are refused.
 */
export function checkIndex(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new MerkleError(`${what} must be an integer in [0, 2^53-1], got ${String(n)}`);
  }
  return n;
}
