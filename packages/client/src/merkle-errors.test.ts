import {
  decodeEntryBundle,
  EncodingError,
  MerkleArgumentError,
  MerkleError,
  NoteError,
  ProofError,
  proveInclusionSync,
  RootMismatchError,
  SignatureError,
} from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { InternalError, LogClientError, LogFetchError } from './errors.js';
import { isDataError, notDataError } from './merkle-errors.js';

describe('isDataError and notDataError', () => {
  it('count merkle data errors (proofs, notes, encodings) as data, argument errors not', () => {
    for (const e of [
      new ProofError('p'),
      new RootMismatchError(new Uint8Array(32), new Uint8Array(32)),
      new NoteError('n'),
      new SignatureError('s'),
      new EncodingError('e'),
    ]) {
      expect(isDataError(e), e.name).toBe(true);
    }
    expect(isDataError(new MerkleArgumentError('size must be an integer'))).toBe(false);
    expect(isDataError(new MerkleError('plain'))).toBe(false);
    expect(isDataError(new Error('x'))).toBe(false);
    // As merkle really throws them: a truncated bundle is data, a bad index an argument.
    const truncated = (() => {
      try {
        decodeEntryBundle(Uint8Array.of(0, 5, 1));
      } catch (e) {
        return e;
      }
    })();
    expect(isDataError(truncated)).toBe(true);
    const misuse = (() => {
      try {
        proveInclusionSync({ readNodes: () => [] }, 5, 3);
      } catch (e) {
        return e;
      }
    })();
    expect(isDataError(misuse)).toBe(false);
    expect(notDataError(misuse)).toBeInstanceOf(InternalError);
  });

  it('turn a merkle argument error into an InternalError (our bug), and leave other errors alone', () => {
    const bug = notDataError(new MerkleArgumentError('tree size must be an integer'));
    expect(bug).toBeInstanceOf(InternalError);
    expect(bug).toBeInstanceOf(LogClientError);
    expect((bug as Error).message).toMatch(/tree size must be an integer.*bug in tlog/);
    const fetchError = new LogFetchError('down', { url: 'http://x/', status: 503 });
    expect(notDataError(fetchError)).toBe(fetchError);
  });
});
