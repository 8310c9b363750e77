import { toBase64 } from './encoding.js';
import type { Hash } from './hash.js';

/**
 * Base class of every error this package throws. Catch a subclass to learn who is at fault:
 * {@link MerkleArgumentError} (the caller broke a documented precondition: a bug in the calling
 * code) or {@link MerkleDataError} (the data being examined is malformed or does not verify:
 * blame whoever supplied it, e.g. a log). A bare MerkleError, of neither subclass, means an
 * internal invariant of this package broke: a bug here.
 */
export class MerkleError extends Error {
  override readonly name: string = 'MerkleError';
}

/**
 * The caller broke a documented precondition: a bad index or size, size1 > size2 when making a
 * proof, a NodeReader that returned the wrong number or length of hashes, a seed of the wrong
 * length, an invalid value to format. A bug in the calling code, never a sign that a log
 * misbehaved. Proof-making functions, formatters and constructors throw it for their inputs.
 */
export class MerkleArgumentError extends MerkleError {
  override readonly name: string = 'MerkleArgumentError';
}

/**
 * The data being examined is malformed or does not verify: a proof, signed note, checkpoint,
 * receipt, key string, tile path, entry bundle or encoding. Parsers and verifiers throw it (as
 * one of its subclasses) for every input, whatever the reason, since their caller branches on
 * "the data is bad" however it is bad.
 */
export class MerkleDataError extends MerkleError {
  override readonly name: string = 'MerkleDataError';
}

/** A proof is malformed (wrong length, bad sizes) or does not verify. */
export class ProofError extends MerkleDataError {
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

/** A signed note, key, checkpoint or receipt is malformed, or is not the one expected. */
export class NoteError extends MerkleDataError {
  override readonly name: string = 'NoteError';
}

/** No trusted key signed a note, or a trusted key's signature on it is invalid. */
export class SignatureError extends NoteError {
  override readonly name: string = 'SignatureError';
}

/**
 * Bytes or text in one of the low-level encodings are malformed: base64, hex, an entry bundle,
 * a tile path, tile data of the wrong length, a tlog-witness request or response body.
 */
export class EncodingError extends MerkleDataError {
  override readonly name: string = 'EncodingError';
}

/** A constructor of one of the errors above, for helpers that serve both sides. @internal */
export type MerkleErrorClass = new (message: string) => MerkleError;

/**
 * Checks that n is a safe non-negative integer and returns it; MerkleArgumentError otherwise.
 * Sizes and indexes are `number`s everywhere in tlog; beyond 2^53-1 they are refused.
 */
export function checkIndex(n: number, what: string): number {
  return checkInteger(n, what, MerkleArgumentError);
}

/**
 * As {@link checkIndex}, throwing `errorClass` instead: verifiers and parsers pass a
 * MerkleDataError subclass, since for them a bad number is bad data.
 * @internal not exported from index.ts.
 */
export function checkInteger(n: number, what: string, errorClass: MerkleErrorClass): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new errorClass(`${what} must be an integer in [0, 2^53-1], got ${String(n)}`);
  }
  return n;
}
