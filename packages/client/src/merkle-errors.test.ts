import { MerkleError, NoteError, ProofError, RootMismatchError, SignatureError } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { InternalError, LogClientError, LogFetchError } from './errors.js';
import { isDataError, notDataError } from './merkle-errors.js';

describe('isDataError and notDataError', () => {
  it('count proof and note errors as data, a plain MerkleError only where bytes are decoded', () => {
    for (const e of [
      new ProofError('p'),
      new RootMismatchError(new Uint8Array(32), new Uint8Array(32)),
      new NoteError('n'),
      new SignatureError('s'),
    ]) {
      expect(isDataError(e), e.name).toBe(true);
    }
    expect(isDataError(new MerkleError('size must be an integer'))).toBe(false);
    expect(isDataError(new MerkleError('entry bundle is truncated'), { decoding: true })).toBe(true);
    expect(isDataError(new Error('x'), { decoding: true })).toBe(false);
  });

  it('turn a merkle argument error into an InternalError (our bug), and leave other errors alone', () => {
    const bug = notDataError(new MerkleError('tree size must be an integer'));
    expect(bug).toBeInstanceOf(InternalError);
    expect(bug).toBeInstanceOf(LogClientError);
    expect((bug as Error).message).toMatch(/bug in tlog.*tree size must be an integer|tree size must be an integer.*bug in tlog/);
    const fetchError = new LogFetchError('down', { url: 'http://x/', status: 503 });
    expect(notDataError(fetchError)).toBe(fetchError);
  });
});
