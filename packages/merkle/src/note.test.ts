import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NoteError, SignatureError } from './errors.js';
import { fromBase64, toBase64 } from './encoding.js';
import { generateEd25519Key, parseSignerKey, parseVerifierKey } from './key.js';
import type { NoteSigner, NoteVerifier } from './key.js';
import { MAX_NOTE_SIGNATURES, formatNote, openNote, parseNote, signNote } from './note.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const vectorsDir = path.resolve(repoRoot, '../shared/vectors');
const haveVectors = existsSync(path.join(vectorsDir, 'signed-note.json'));

interface SignedNoteVectors {
  signedNote: [
    { verifierKeys: string[]; signerKey: string; text: string; signatureLines: string[] },
    { verifierKeys: string[]; note: string },
  ];
}
const load = (): SignedNoteVectors => JSON.parse(readFileSync(path.join(vectorsDir, 'signed-note.json'), 'utf8')) as SignedNoteVectors;

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const alice = generateEd25519Key('example.com/alice', seed(1));
const bob = generateEd25519Key('example.com/bob', seed(2));
const aliceS = parseSignerKey(alice.signerKey);
const aliceV = parseVerifierKey(alice.verifierKey);
const bobS = parseSignerKey(bob.signerKey);
const bobV = parseVerifierKey(bob.verifierKey);
const TEXT = 'hello\nworld\n';

describe.skipIf(!haveVectors)(
  haveVectors ? 'signed-note vectors (Go sumdb/note, C2SP)' : 'signed-note vectors (skipped: ../shared/vectors not found)',
  () => {
    it('reproduces the PeterNeumann signature line byte for byte from the Go signer key', () => {
      const g = load().signedNote[0];
      const signed = signNote(g.text, [parseSignerKey(g.signerKey)]);
      expect(signed).toBe(`${g.text}\n${g.signatureLines[0]}\n`);
    });

    it('verifies the two-signer note with each key and with both', () => {
      const g = load().signedNote[0];
      const msg = `${g.text}\n${g.signatureLines.join('\n')}\n`;
      const [peter, enoch] = g.verifierKeys.map(parseVerifierKey) as [NoteVerifier, NoteVerifier];
      const byPeter = openNote(msg, [peter]);
      expect(byPeter.note.text).toBe(g.text);
      expect(byPeter.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
      expect(byPeter.unverified.map((s) => s.name)).toEqual(['EnochRoot']);
      const byEnoch = openNote(msg, [enoch]);
      expect(byEnoch.verified.map((s) => s.name)).toEqual(['EnochRoot']);
      expect(byEnoch.unverified.map((s) => s.name)).toEqual(['PeterNeumann']);
      const both = openNote(new TextEncoder().encode(msg), [enoch, peter]);
      expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
      expect(both.unverified).toEqual([]);
      expect(both.verified[0]!.keyId).toBe(0xc74f20a3);
      expect(formatNote(both.note)).toBe(msg);
    });

    it('verifies the C2SP spec example', () => {
      const c = load().signedNote[1];
      const { note, verified } = openNote(c.note, c.verifierKeys.map(parseVerifierKey));
      expect(note.text).toBe('This is an example message.\n');
      expect(verified).toHaveLength(1);
      expect(verified[0]!.keyId).toBe(0x530d903a);
    });

    it('rejects the Go note when one known signature is altered', () => {
      const g = load().signedNote[0];
      const line = g.signatureLines[1]!;
      const b64 = line.slice(line.lastIndexOf(' ') + 1);
      const blob = fromBase64(b64);
      blob[10]! ^= 1;
      const msg = `${g.text}\n${g.signatureLines[0]}\n${line.replace(b64, toBase64(blob))}\n`;
      const verifiers = g.verifierKeys.map(parseVerifierKey);
      expect(() => openNote(msg, verifiers)).toThrow(SignatureError);
      // The altered signature is by EnochRoot: with only Peter's key the note still opens.
      expect(openNote(msg, [verifiers[0]!]).verified).toHaveLength(1);
    });
  },
);

describe('signNote / openNote', () => {
  it('signs with several signers in order and opens with any of them', () => {
    const msg = signNote(TEXT, [aliceS, bobS]);
    expect(msg.startsWith(`${TEXT}\n— example.com/alice `)).toBe(true);
    expect(openNote(msg, [bobV]).verified.map((s) => s.name)).toEqual(['example.com/bob']);
    expect(openNote(msg, [aliceV, bobV]).verified).toHaveLength(2);
  });

  it('formatNote(parseNote(m)) is m', () => {
    const msg = signNote(TEXT, [aliceS, bobS]);
    expect(formatNote(parseNote(msg))).toBe(msg);
  });

  it('throws SignatureError when only unknown keys signed', () => {
    const msg = signNote(TEXT, [bobS]);
    expect(() => openNote(msg, [aliceV])).toThrow(SignatureError);
    expect(() => openNote(msg, [])).toThrow(/not signed by any trusted key/);
  });

  it('throws SignatureError when a known key signed a different text', () => {
    const msg = signNote(TEXT, [aliceS]).replace('hello', 'hellO');
    expect(() => openNote(msg, [aliceV])).toThrow(SignatureError);
  });

  it('ignores a signature by an unknown key that shares the name (but not the key ID) of a known key', () => {
    const impostor = parseSignerKey(generateEd25519Key('example.com/alice', seed(9)).signerKey);
    expect(impostor.keyId).not.toBe(aliceS.keyId);
    const note = parseNote(signNote(TEXT, [aliceS, impostor]));
    const res = openNote(formatNote(note), [aliceV]);
    expect(res.verified).toHaveLength(1);
    expect(res.unverified).toHaveLength(1);
  });

  it('considers only the first signature per known key and drops repeated identical unknown lines (as Go)', () => {
    const good = parseNote(signNote(TEXT, [aliceS])).signatures[0]!;
    const bad = { ...good, signature: new Uint8Array(64) };
    const unknown = parseNote(signNote(TEXT, [bobS])).signatures[0]!;
    const msg = formatNote({ text: TEXT, signatures: [good, bad, unknown, unknown] });
    const res = openNote(msg, [aliceV]);
    expect(res.verified).toHaveLength(1);
    expect(res.unverified).toHaveLength(1);
    expect(res.note.signatures).toHaveLength(4);
    // The other way round the bad one is checked first and fails.
    expect(() => openNote(formatNote({ text: TEXT, signatures: [bad, good] }), [aliceV])).toThrow(SignatureError);
  });

  it('refuses two different verifiers with the same name and key ID', () => {
    const twin: NoteVerifier = { name: aliceV.name, keyId: aliceV.keyId, verify: () => true };
    expect(() => openNote(signNote(TEXT, [aliceS]), [aliceV, twin])).toThrow(/ambiguous/);
  });

  it('keeps empty lines inside the text: the last blank line separates', () => {
    const text = 'a\n\nb\n\n';
    const msg = signNote(text, [aliceS]);
    expect(openNote(msg, [aliceV]).note.text).toBe(text);
  });

  it('refuses texts that cannot make a valid note', () => {
    expect(() => signNote('no newline', [aliceS])).toThrow(NoteError);
    expect(() => signNote('tab\there\n', [aliceS])).toThrow(/control character/);
    expect(() => signNote('lone \ud800 surrogate\n', [aliceS])).toThrow(/UTF-8/);
    expect(() => signNote(TEXT, [])).toThrow(NoteError);
    const badName: NoteSigner = { name: 'has space', keyId: 1, sign: () => new Uint8Array(64) };
    expect(() => signNote(TEXT, [badName])).toThrow(/key name/);
  });
});

describe('parseNote rejects malformed notes', () => {
  const good = signNote(TEXT, [aliceS]);
  const sigLine = good.slice(TEXT.length + 1);
  const b64 = sigLine.slice(sigLine.lastIndexOf(' ') + 1, -1);

  it('accepts the well-formed note', () => {
    expect(parseNote(good).signatures).toHaveLength(1);
  });

  it.each([
    ['no blank line', `${TEXT}${sigLine}`],
    ['missing final newline', good.slice(0, -1)],
    ['truncated inside the signature', good.slice(0, good.length - 10)],
    ['truncated to the text', TEXT],
    ['nothing after the blank line', `${TEXT}\n`],
    ['hyphen instead of em dash', good.replace('\u2014', '-')],
    ['no space after the dash', good.replace('\u2014 ', '\u2014')],
    ['missing signature', `${TEXT}\n\u2014 example.com/alice\n`],
    ['empty base64', `${TEXT}\n\u2014 example.com/alice \n`],
    ['bad base64 character', good.replace(b64, b64.slice(0, -4) + '!!!=')],
    ['unpadded base64', good.replace(b64, b64.replace(/=+$/, ''))],
    ['base64 with a space', good.replace(b64, b64.slice(0, 8) + ' ' + b64.slice(8))],
    ['signature shorter than 5 bytes', `${TEXT}\n\u2014 example.com/alice AAAAAA==\n`],
    ['plus in the key name', good.replace('example.com/alice', 'example.com+alice')],
    ['signature line not starting with a dash', `${TEXT}\n${sigLine}x${sigLine}`],
    ['control character', good.replace('hello', 'hel\rlo')],
    ['NUL byte', good.replace('hello', 'hel\0lo')],
  ])('%s', (_desc, msg) => {
    expect(() => parseNote(msg)).toThrow(NoteError);
  });

  it('rejects bytes that are not UTF-8', () => {
    const bytes = new TextEncoder().encode(good);
    const bad = new Uint8Array(bytes.length + 1);
    bad.set(bytes.subarray(0, 3));
    bad[3] = 0xff;
    bad.set(bytes.subarray(3), 4);
    expect(() => parseNote(bad)).toThrow(/UTF-8/);
    // An overlong encoding of '/' and a UTF-16 surrogate encoded in UTF-8 are invalid too.
    for (const seq of [[0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const b = new Uint8Array([...new TextEncoder().encode('x'), ...seq, ...bytes.subarray(1)]);
      expect(() => parseNote(b)).toThrow(/UTF-8/);
    }
  });

  it('accepts exactly 100 signatures and rejects 101', () => {
    const line = sigLine;
    const hundred = TEXT + '\n' + line.repeat(MAX_NOTE_SIGNATURES);
    expect(parseNote(hundred).signatures).toHaveLength(100);
    expect(openNote(hundred, [aliceV]).verified).toHaveLength(1);
    expect(() => parseNote(hundred + line)).toThrow(/more than 100/);
  });

  it('rejects a note larger than the size limit', () => {
    const big = 'x'.repeat(1 << 20) + '\n';
    expect(() => parseNote(`${big}\n${sigLine}`)).toThrow(/bytes/);
  });
});

describe('properties', () => {
  // Printable text lines (any Unicode but controls), joined with newlines, ending in a newline.
  const line = fc
    .string({ unit: 'grapheme', maxLength: 40 })
    .map((s) => s.replace(/[\u0000-\u001f]/g, ''));
  const noteText = fc.array(line, { minLength: 1, maxLength: 6 }).map((ls) => ls.join('\n') + '\n');

  it('sign then open round-trips any text', () => {
    fc.assert(
      fc.property(noteText, fc.boolean(), (text, both) => {
        const signers = both ? [aliceS, bobS] : [bobS];
        const msg = signNote(text, signers);
        const res = openNote(msg, [aliceV, bobV]);
        expect(res.note.text).toBe(text);
        expect(res.verified).toHaveLength(signers.length);
        expect(formatNote(res.note)).toBe(msg);
      }),
      { numRuns: 60 },
    );
  });

  it('any single flipped bit in a signature is rejected', () => {
    const note = parseNote(signNote(TEXT, [aliceS]));
    const sig = note.signatures[0]!;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: sig.signature.length * 8 - 1 }), (bit) => {
        const flipped = Uint8Array.from(sig.signature);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const msg = formatNote({ text: TEXT, signatures: [{ ...sig, signature: flipped }] });
        expect(() => openNote(msg, [aliceV])).toThrow(SignatureError);
      }),
      { numRuns: 100 },
    );
  });

  it('any single flipped bit in the key ID makes the signature unknown', () => {
    const note = parseNote(signNote(TEXT, [aliceS]));
    const sig = note.signatures[0]!;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), (bit) => {
        const msg = formatNote({ text: TEXT, signatures: [{ ...sig, keyId: (sig.keyId ^ (1 << bit)) >>> 0 }] });
        expect(() => openNote(msg, [aliceV])).toThrow(/not signed by any trusted key/);
      }),
      { numRuns: 32 },
    );
  });
});
