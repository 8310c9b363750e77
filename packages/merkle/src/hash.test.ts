import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, test } from 'vitest';
import { toHex } from './encoding.js';
import { MerkleArgumentError } from './errors.js';
import { defaultHasher, type Hash, Hasher, rootFromLeafHashes } from './hash.js';

const enc = new TextEncoder();

describe('Hasher', () => {
  test('RFC 6962 domain separation, byte for byte', () => {
    const a = defaultHasher.hashLeaf(enc.encode('a'));
    const b = defaultHasher.hashLeaf(enc.encode('b'));
    expect(toHex(a)).toBe(toHex(sha256(Uint8Array.of(0, ...enc.encode('a')))));
    expect(toHex(defaultHasher.hashChildren(a, b))).toBe(toHex(sha256(Uint8Array.of(1, ...a, ...b))));
    expect(toHex(defaultHasher.emptyRoot())).toBe(toHex(sha256(new Uint8Array(0))));
    expect(() => defaultHasher.hashChildren(a, b.subarray(1))).toThrow(MerkleArgumentError);
  });

  test('a SHA-256 that re-enters the same Hasher does not clobber the hash in progress', () => {
    // The SHA-256 hashes something else with the same Hasher before it reads its own input, as
    // a logging or caching wrapper might. Each hash must still be of its own input.
    let depth = 1; // not while the constructor hashes the empty string
    // Frozen, as the shared defaultHasher is: its in-progress state must still work.
    const reentrant: Hasher = Object.freeze(
      new Hasher((data) => {
        if (depth === 0) {
          depth++;
          try {
            reentrant.hashChildren(new Uint8Array(32).fill(9), new Uint8Array(32).fill(8));
            reentrant.hashLeaf(enc.encode('something else, of another length'));
          } finally {
            depth--;
          }
        }
        return sha256(data);
      }),
    ) as Hasher;
    depth = 0;
    const leaves: Hash[] = [];
    for (let i = 0; i < 9; i++) {
      const entry = enc.encode(`entry ${i}`);
      const h = reentrant.hashLeaf(entry);
      expect(toHex(h)).toBe(toHex(defaultHasher.hashLeaf(entry)));
      leaves.push(h);
    }
    expect(toHex(rootFromLeafHashes(leaves, reentrant))).toBe(toHex(rootFromLeafHashes(leaves)));
  });

  test('the SHA-256 is given exactly 0x00 || entry and 0x01 || left || right', () => {
    const seen: Uint8Array[] = [];
    const recording = new Hasher((data) => {
      seen.push(data.slice()); // a Sha256 must not keep data itself: the Hasher reuses it
      return sha256(data);
    });
    const a = recording.hashLeaf(enc.encode('one'));
    const b = recording.hashLeaf(enc.encode('two'));
    recording.hashChildren(a, b);
    recording.hashChildren(b, a);
    recording.hashLeaf(new Uint8Array(0));
    expect(seen.slice(1).map(toHex)).toEqual([
      toHex(Uint8Array.of(0, ...enc.encode('one'))),
      toHex(Uint8Array.of(0, ...enc.encode('two'))),
      toHex(Uint8Array.of(1, ...a, ...b)),
      toHex(Uint8Array.of(1, ...b, ...a)),
      '00',
    ]);
  });

  test('the shared defaultHasher can be used from inside another Hasher’s SHA-256', () => {
    const inner = new Hasher((data) => {
      defaultHasher.hashChildren(defaultHasher.hashLeaf(data), defaultHasher.emptyRoot());
      return sha256(data);
    });
    const x = inner.hashLeaf(enc.encode('x'));
    expect(toHex(x)).toBe(toHex(defaultHasher.hashLeaf(enc.encode('x'))));
    expect(toHex(inner.hashChildren(x, x))).toBe(toHex(defaultHasher.hashChildren(x, x)));
  });

  test('the shared defaultHasher is frozen: nobody can swap its SHA-256 for everyone', () => {
    expect(Object.isFrozen(defaultHasher)).toBe(true);
    expect(() => {
      (defaultHasher as { sha256: unknown }).sha256 = () => new Uint8Array(32);
    }).toThrow(TypeError);
    // emptyRoot hands out copies, so a caller mutating one cannot change the next.
    const e = defaultHasher.emptyRoot();
    e.fill(0);
    expect(toHex(defaultHasher.emptyRoot())).toBe(toHex(sha256(new Uint8Array(0))));
  });
});
