import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeVectors, signedNoteVectors } from '../../../test/support/vectors.js';
import { formatCheckpoint, openCheckpoint } from './checkpoint.js';
import { generateCosignatureKey, parseCosignerKey, verifyCosignature } from './cosignature.js';
import { fromBase64, toBase64 } from './encoding.js';
import { MerkleArgumentError, NoteError, SignatureError } from './errors.js';
import { cosignatureMessage, generateEd25519Key, parseSignerKey, parseVerifierKey } from './key.js';
import { formatNote, openNote, parseNote, signNote } from './note.js';

const load = signedNoteVectors;

const CHECKPOINT = formatCheckpoint({ origin: 'example.com/log', size: 42, root: new Uint8Array(32).fill(3), extensions: [] });
const witnessKeys = generateCosignatureKey('witness.example/w1', new Uint8Array(32).fill(5));
const cosigner = parseCosignerKey(witnessKeys.signerKey);
const witness = parseVerifierKey(witnessKeys.verifierKey);

describeVectors('cosignature/v1 vectors (Sunlight, litewitness)', () => {
  it('verifies both cosignatures and returns their timestamp', () => {
    for (const c of load().cosignatureV1) {
      const sig = parseNote(`${c.checkpointBody}\n${c.signatureLine}\n`).signatures[0]!;
      expect(verifyCosignature(c.checkpointBody, sig, c.verifierKey)).toEqual({ timestamp: 1767139200 });
      expect(c.timestamp).toBe(1767139200);
      // As a 0x04 NoteVerifier it also verifies through openNote.
      expect(openNote(`${c.checkpointBody}\n${c.signatureLine}\n`, [parseVerifierKey(c.verifierKey)]).verified).toHaveLength(1);
    }
  });

  it('rejects a modified body or timestamp', () => {
    for (const c of load().cosignatureV1) {
      const sig = parseNote(`${c.checkpointBody}\n${c.signatureLine}\n`).signatures[0]!;
      expect(() => verifyCosignature(c.checkpointBody.replace('\n300\n', '\n301\n'), sig, c.verifierKey)).toThrow(SignatureError);
      const later = Uint8Array.from(sig.signature);
      later[7]! += 1;
      expect(() => verifyCosignature(c.checkpointBody, { ...sig, signature: later }, c.verifierKey)).toThrow(SignatureError);
      const v = parseVerifierKey(c.verifierKey);
      const altered = formatNote({ text: c.checkpointBody, signatures: [{ ...sig, signature: later }] });
      expect(() => openNote(altered, [v])).toThrow(SignatureError);
    }
  });

  it('witnessAddCheckpoint: the sigsum log key parses and signs "origin\\nsize\\nroot\\n" checkpoints', () => {
    const w = load().witnessAddCheckpoint;
    const v = parseVerifierKey(w.verifierKey);
    expect(v.name).toBe(w.origin);
    // The key data is 0x01 || the log's raw Ed25519 public key.
    const keyData = fromBase64(w.verifierKey.split('+').slice(2).join('+'));
    expect(Buffer.from(keyData.subarray(1)).toString('hex')).toBe(w.logPublicKeyHex);
    expect(w.checkpoints).toHaveLength(2);
    for (const c of w.checkpoints) {
      const text = formatCheckpoint({ origin: w.origin, size: c.size, root: fromBase64(c.root), extensions: [] });
      expect(text).toBe(`${w.origin}\n${c.size}\n${c.root}\n`);
      const signed = `${text}\n\u2014 ${w.origin} ${c.signature}\n`;
      const { checkpoint } = openCheckpoint(signed, v);
      expect(checkpoint.size).toBe(c.size);
      expect(() => openCheckpoint(signed.replace(`\n${c.size}\n`, `\n${c.size + 1}\n`), v)).toThrow(SignatureError);
    }
  });
});

describe('cosignatureMessage', () => {
  it('is the header, the time line, then the checkpoint text', () => {
    expect(new TextDecoder().decode(cosignatureMessage(CHECKPOINT, 1679315147))).toBe(`cosignature/v1\ntime 1679315147\n${CHECKPOINT}`);
  });
  it('requires a safe non-negative timestamp and text ending in a newline', () => {
    expect(() => cosignatureMessage(CHECKPOINT, -1)).toThrow(MerkleArgumentError);
    expect(() => cosignatureMessage(CHECKPOINT, 2 ** 53)).toThrow(MerkleArgumentError);
    expect(() => cosignatureMessage('x', 1)).toThrow(MerkleArgumentError);
  });
});

describe('cosigner keys', () => {
  it('generates 0x04 keys whose key ID covers the 0x04 public key', () => {
    expect(witnessKeys.signerKey).toMatch(/^PRIVATE\+KEY\+witness\.example\/w1\+[0-9a-f]{8}\+B/);
    expect(witnessKeys.verifierKey).toMatch(/^witness\.example\/w1\+[0-9a-f]{8}\+B/);
    expect(cosigner.keyId).toBe(witness.keyId);
    // Same seed and name as an Ed25519 note key: same public key but a different key ID.
    const plain = generateEd25519Key('witness.example/w1', new Uint8Array(32).fill(5));
    expect(parseVerifierKey(plain.verifierKey).keyId).not.toBe(witness.keyId);
  });

  it('cosign then verify returns the timestamp; the note carries both signatures', () => {
    const log = parseSignerKey(generateEd25519Key('example.com/log', new Uint8Array(32).fill(1)).signerKey);
    const logSigned = parseNote(signNote(CHECKPOINT, [log]));
    const cosig = cosigner.cosign(CHECKPOINT, 1700000000);
    expect(cosig.signature).toHaveLength(72);
    expect(verifyCosignature(CHECKPOINT, cosig, witnessKeys.verifierKey)).toEqual({ timestamp: 1700000000 });
    expect(verifyCosignature(CHECKPOINT, cosig, witness)).toEqual({ timestamp: 1700000000 });
    const both = formatNote({ text: CHECKPOINT, signatures: [...logSigned.signatures, cosig] });
    expect(openNote(both, [witness]).verified).toEqual([cosig]);
  });

  it('as a NoteSigner, signNote produces a cosignature with the current time', () => {
    const before = Math.floor(Date.now() / 1000);
    const sig = parseNote(signNote(CHECKPOINT, [cosigner])).signatures[0]!;
    const { timestamp } = verifyCosignature(CHECKPOINT, sig, witness);
    expect(timestamp).toBeGreaterThanOrEqual(before);
  });

  it('rejects a cosignature by another key, a wrong key type, or a malformed blob', () => {
    const cosig = cosigner.cosign(CHECKPOINT, 1);
    const other = generateCosignatureKey('witness.example/w2', new Uint8Array(32).fill(6));
    expect(() => verifyCosignature(CHECKPOINT, cosig, other.verifierKey)).toThrow(/not by the expected cosigner/);
    const ed = generateEd25519Key('witness.example/w1', new Uint8Array(32).fill(5));
    expect(() => verifyCosignature(CHECKPOINT, cosig, ed.verifierKey)).toThrow(/0x04/);
    expect(() => verifyCosignature(CHECKPOINT, { ...cosig, signature: cosig.signature.subarray(0, 71) }, witness)).toThrow(SignatureError);
    // A timestamp beyond 2^53-1 is refused (tlog keeps numbers safe).
    const huge = Uint8Array.from(cosig.signature);
    huge[0] = 0x7f;
    expect(() => verifyCosignature(CHECKPOINT, { ...cosig, signature: huge }, witness)).toThrow(SignatureError);
  });

  it('parseCosignerKey refuses Ed25519 note keys and corrupt keys; parseSignerKey refuses cosigner keys', () => {
    const ed = generateEd25519Key('w', new Uint8Array(32).fill(5));
    expect(() => parseCosignerKey(ed.signerKey)).toThrow(/0x04/);
    expect(() => parseSignerKey(witnessKeys.signerKey)).toThrow(/parseCosignerKey/);
    const corrupt = witnessKeys.signerKey.replace(
      /\+([0-9a-f]{8})\+/,
      (_m, id: string) => `+${id === '00000000' ? '00000001' : '00000000'}+`,
    );
    expect(() => parseCosignerKey(corrupt)).toThrow(NoteError);
    expect(() => parseCosignerKey(witnessKeys.verifierKey)).toThrow(/PRIVATE\+KEY/);
  });

  it('any single flipped bit in a cosignature is rejected', () => {
    const cosig = cosigner.cosign(CHECKPOINT, 1767139200);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: cosig.signature.length * 8 - 1 }), (bit) => {
        const s = Uint8Array.from(cosig.signature);
        s[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => verifyCosignature(CHECKPOINT, { ...cosig, signature: s }, witness)).toThrow(SignatureError);
      }),
      { numRuns: 80 },
    );
    expect(toBase64(cosig.signature)).toBe(toBase64(cosigner.cosign(CHECKPOINT, 1767139200).signature));
  });
});

describe('cosignature timestamps beyond 2^53-1', () => {
  it('still verify inside a note (no false forgery); verifyCosignature names the limit', async () => {
    const ed = await import('@noble/ed25519');
    const { signerKey, verifierKey } = generateCosignatureKey('far-future.example/witness');
    const seed = fromBase64(signerKey.split('+').slice(4).join('+')).subarray(1);
    const log = generateEd25519Key('example.com/log');
    const text = formatCheckpoint({ origin: 'example.com/log', size: 3, root: new Uint8Array(32).fill(7), extensions: [] });
    const t = 2n ** 53n + 5n;
    const message = new TextEncoder().encode(`cosignature/v1\ntime ${t}\n${text}`);
    const blob = new Uint8Array(72);
    new DataView(blob.buffer).setBigUint64(0, t);
    blob.set(await ed.signAsync(message, seed), 8);
    const witness = parseVerifierKey(verifierKey);
    const sig = { name: witness.name, keyId: witness.keyId, signature: blob };
    expect(witness.verify(new TextEncoder().encode(text), blob)).toBe(true);
    const note = formatNote({ text, signatures: [...parseNote(signNote(text, [parseSignerKey(log.signerKey)])).signatures, sig] });
    expect(openNote(note, [parseVerifierKey(log.verifierKey), witness]).verified).toHaveLength(2);
    expect(() => verifyCosignature(text, sig, verifierKey)).toThrow(/2\^53-1/);
    const altered = blob.slice();
    altered[7]! ^= 1; // another timestamp: the signature no longer matches
    expect(() => verifyCosignature(text, { ...sig, signature: altered }, verifierKey)).toThrow(SignatureError);
  });
});
