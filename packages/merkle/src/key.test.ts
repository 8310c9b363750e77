import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, toHex } from './encoding.js';
import { MerkleArgumentError, NoteError } from './errors.js';
import { generateEd25519Key, isValidKeyName, keyId, parseSignerKey, parseVerifierKey } from './key.js';

// From golang.org/x/mod sumdb/note (also in ../shared/vectors/signed-note.json): small enough to inline
// for the key-format unit tests; the note tests check the same keys against the vector file.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';

/** Replaces the base64 key data of a key string and recomputes nothing (so IDs may no longer match). */
function withKeyData(key: string, data: Uint8Array): string {
  // The key data is after the 2nd '+' (4th for PRIVATE+KEY+...); base64 itself may contain '+'.
  const fields = key.startsWith('PRIVATE+KEY+') ? 4 : 2;
  return key.split('+').slice(0, fields).join('+') + '+' + toBase64(data);
}

/** Builds a verifier key string with a correct key ID for arbitrary key bytes. */
function vkeyFor(name: string, keyBytes: Uint8Array): string {
  return `${name}+${keyId(name, keyBytes).toString(16).padStart(8, '0')}+${toBase64(keyBytes)}`;
}

describe('keyId', () => {
  it('is the first 4 bytes of SHA-256(name || "\\n" || key) as an unsigned big-endian integer', () => {
    const key = fromBase64('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
    expect(keyId('PeterNeumann', key)).toBe(0xc74f20a3);
    const h = sha256(new Uint8Array([...new TextEncoder().encode('x'), 0x0a, 1, 2, 3]));
    expect(
      keyId('x', new Uint8Array([1, 2, 3]))
        .toString(16)
        .padStart(8, '0'),
    ).toBe(toHex(h.subarray(0, 4)));
  });
});

describe('isValidKeyName', () => {
  it.each([['example.com/log'], ['PeterNeumann'], ['ünïcödé/ok']])('accepts %s', (n) => {
    expect(isValidKeyName(n)).toBe(true);
  });
  it.each([[''], ['a+b'], ['a b'], ['a\tb'], ['a\u00a0b'], ['a\u2003b'], ['a\u3000b'], ['a\u0085b'], ['lone\ud800']])('rejects %j', (n) => {
    expect(isValidKeyName(n)).toBe(false);
  });
});

describe('Go-format keys', () => {
  it('parses the Go signer and verifier keys; the signature verifies', () => {
    const s = parseSignerKey(GO_SKEY);
    const v = parseVerifierKey(GO_VKEY);
    expect([s.name, s.keyId]).toEqual(['PeterNeumann', 0xc74f20a3]);
    expect([v.name, v.keyId]).toEqual(['PeterNeumann', 0xc74f20a3]);
    const msg = new TextEncoder().encode('hi\n');
    const sig = s.sign(msg);
    expect(sig).toHaveLength(64);
    expect(v.verify(msg, sig)).toBe(true);
    expect(v.verify(new TextEncoder().encode('ho\n'), sig)).toBe(false);
    expect(v.verify(msg, sig.subarray(0, 63))).toBe(false);
  });

  it('generateEd25519Key with the Go seed reproduces the Go key strings', () => {
    const seed = fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz').subarray(1);
    expect(generateEd25519Key('PeterNeumann', seed)).toEqual({ signerKey: GO_SKEY, verifierKey: GO_VKEY });
  });

  it('generates random keys that work together', () => {
    const a = generateEd25519Key('example.com/a');
    const b = generateEd25519Key('example.com/a');
    expect(a.signerKey).not.toBe(b.signerKey);
    expect(a.signerKey).toMatch(/^PRIVATE\+KEY\+example\.com\/a\+[0-9a-f]{8}\+A/);
    const msg = new Uint8Array([1, 2, 3]);
    expect(parseVerifierKey(a.verifierKey).verify(msg, parseSignerKey(a.signerKey).sign(msg))).toBe(true);
    expect(parseVerifierKey(b.verifierKey).verify(msg, parseSignerKey(a.signerKey).sign(msg))).toBe(false);
  });

  it('refuses bad names and seeds when generating', () => {
    // Generation takes the name and seed as arguments; parsing a key string examines data.
    expect(() => generateEd25519Key('bad name')).toThrow(MerkleArgumentError);
    expect(() => generateEd25519Key('a+b')).toThrow(MerkleArgumentError);
    expect(() => generateEd25519Key('ok', new Uint8Array(31))).toThrow(MerkleArgumentError);
    expect(() => parseVerifierKey('bad name+01234567+AQ==')).toThrow(NoteError);
  });
});

describe('parseVerifierKey rejects malformed keys', () => {
  const pub = fromBase64('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
  it.each([
    ['no plus', 'PeterNeumann'],
    ['no key data separator', 'PeterNeumann+c74f20a3'],
    ['empty name', '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['short key ID', 'PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['non-hex key ID', 'PeterNeumann+c74f20ag+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['wrong key ID', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['other name', 'PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['bad base64', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!'],
    ['unpadded base64', withKeyData(GO_VKEY, pub).replace(/=+$/, '') + 'A'],
    ['empty key data', 'PeterNeumann+c74f20a3+'],
    ['signer key', GO_SKEY],
  ])('%s', (_d, key) => {
    expect(() => parseVerifierKey(key)).toThrow(NoteError);
  });

  it('rejects a wrong key length even with a matching key ID', () => {
    expect(() => parseVerifierKey(vkeyFor('n', pub.subarray(0, 32)))).toThrow(/32 bytes, got 31/);
    expect(() => parseVerifierKey(vkeyFor('n', new Uint8Array([1, ...pub.subarray(1), 0])))).toThrow(/got 33/);
  });

  it('rejects unknown signature types even with a matching key ID', () => {
    for (const alg of [0x00, 0x02, 0x03, 0x05, 0xff]) {
      expect(() => parseVerifierKey(vkeyFor('n', new Uint8Array([alg, ...pub.subarray(1)])))).toThrow(/signature type/);
    }
  });

  it('accepts upper-case hex key IDs like Go', () => {
    expect(parseVerifierKey(GO_VKEY.replace('c74f20a3', 'C74F20A3')).keyId).toBe(0xc74f20a3);
  });
});

describe('parseSignerKey rejects malformed keys', () => {
  it.each([
    ['verifier key', GO_VKEY],
    ['lower-case prefix', GO_SKEY.replace('PRIVATE+KEY', 'private+key')],
    ['wrong key ID', GO_SKEY.replace('c74f20a3', 'c74f20a4')],
    ['other name', GO_SKEY.replace('PeterNeumann', 'Peter')],
    ['bad base64', GO_SKEY.slice(0, -1) + '*'],
    ['short seed', withKeyData(GO_SKEY, fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz').subarray(0, 32))],
    [
      'wrong type byte',
      withKeyData(GO_SKEY, new Uint8Array([2, ...fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz').subarray(1)])),
    ],
  ])('%s', (_d, key) => {
    expect(() => parseSignerKey(key)).toThrow(NoteError);
  });

  it('says why a decodable key is refused', () => {
    const data = fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz');
    expect(() => parseSignerKey(withKeyData(GO_SKEY, data.subarray(0, 32)))).toThrow(/32 bytes, got 31/);
    expect(() => parseSignerKey(withKeyData(GO_SKEY, new Uint8Array([2, ...data.subarray(1)])))).toThrow(/type 0x02/);
    expect(() => parseSignerKey(withKeyData(GO_SKEY, data))).not.toThrow();
  });

  it('never echoes private key material in errors', () => {
    const bad = GO_SKEY.replace('c74f20a3', 'c74f20a4');
    expect(() => parseSignerKey(bad)).toThrow(NoteError);
    try {
      parseSignerKey(bad);
    } catch (e) {
      expect((e as Error).message).not.toContain('AYEKFALV');
    }
  });
});

describe('Ed25519 without global configuration', () => {
  it('importing this package configures nothing in @noble/ed25519 (no import-time side effect)', async () => {
    const ed = await import('@noble/ed25519');
    // key.js is imported above; it used to set this slot for everyone.
    expect(ed.hashes.sha512).toBeUndefined();
    expect(() => ed.sign(new Uint8Array(1), new Uint8Array(32))).toThrow(/sha512 not set/);
  });

  it('signatures and verdicts agree with @noble/ed25519 (RFC 8032, strict), an independent implementation', async () => {
    const ed = await import('@noble/ed25519');
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    for (let i = 0; i < 8; i++) {
      const seed = sha256(Uint8Array.of(i));
      const { signerKey, verifierKey } = generateEd25519Key(`example.com/k${i}`, seed);
      const signer = parseSignerKey(signerKey);
      const verifier = parseVerifierKey(verifierKey);
      const pub = fromBase64(verifierKey.split('+').slice(2).join('+')).subarray(1);
      expect(toHex(pub)).toBe(toHex(await ed.getPublicKeyAsync(seed)));
      const msg = new TextEncoder().encode(`message ${i}\n`.repeat(i + 1));
      const sig = signer.sign(msg);
      expect(toHex(sig)).toBe(toHex(await ed.signAsync(msg, seed)));
      expect(verifier.verify(msg, sig)).toBe(true);
      // S + L is the same scalar but a non-canonical encoding: strict verifiers refuse it.
      let s = 0n;
      for (let b = 63; b >= 32; b--) s = (s << 8n) | BigInt(sig[b]!);
      const malleable = sig.slice();
      let t = s + L;
      for (let b = 32; b < 64; b++, t >>= 8n) malleable[b] = Number(t & 0xffn);
      expect(verifier.verify(msg, malleable)).toBe(false);
      expect(await ed.verifyAsync(malleable, msg, pub, { zip215: false })).toBe(false);
      const flipped = sig.slice();
      flipped[i]! ^= 1;
      expect(verifier.verify(msg, flipped)).toBe(false);
      expect(await ed.verifyAsync(flipped, msg, pub, { zip215: false })).toBe(false);
    }
  });
});
