import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeVectors, signedNoteVectors } from '../../../test/support/vectors.js';
import { fromBase64, toBase64 } from './encoding.js';
import { MerkleArgumentError, NoteError, SignatureError } from './errors.js';
import type { NoteSigner, NoteVerifier } from './key.js';
import { generateEd25519Key, parseSignerKey, parseVerifierKey } from './key.js';
import { checkNoteText, formatNote, MAX_NOTE_SIGNATURES, MAX_NOTE_SIZE, openNote, parseNote, signNote } from './note.js';

const load = signedNoteVectors;

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const alice = generateEd25519Key('example.com/alice', seed(1));
const bob = generateEd25519Key('example.com/bob', seed(2));
const aliceS = parseSignerKey(alice.signerKey);
const aliceV = parseVerifierKey(alice.verifierKey);
const bobS = parseSignerKey(bob.signerKey);
const bobV = parseVerifierKey(bob.verifierKey);
const TEXT = 'hello\nworld\n';

describeVectors('signed-note vectors (Go sumdb/note, C2SP)', () => {
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
});

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

  it('ignores a signature by an unknown key that shares the key ID (but not the name) of a known key', () => {
    const good = parseNote(signNote(TEXT, [aliceS])).signatures[0]!;
    const renamed = { ...good, name: 'example.com/mallory' };
    expect(() => openNote(formatNote({ text: TEXT, signatures: [renamed] }), [aliceV])).toThrow(/not signed by any trusted key/);
    // Beside the real signature it is listed as unverified, not checked (so it cannot fail the note).
    const badRenamed = { ...renamed, signature: new Uint8Array(64) };
    const res = openNote(formatNote({ text: TEXT, signatures: [badRenamed, good] }), [aliceV]);
    expect(res.verified).toEqual([good]);
    expect(res.unverified).toEqual([badRenamed]);
  });

  it('keeps a leading byte order mark as part of the signed text', () => {
    const text = '\ufeffhello\n';
    const msg = signNote(text, [aliceS]);
    const bytes = new TextEncoder().encode(msg);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(openNote(bytes, [aliceV]).note.text).toBe(text);
    expect(openNote(msg, [aliceV]).note.text).toBe(text);
    // Without the BOM the signature does not verify: it was over the BOM's bytes too.
    expect(() => openNote(bytes.subarray(3), [aliceV])).toThrow(SignatureError);
  });

  it('refuses only the ASCII control characters below U+0020 other than newline', () => {
    for (let c = 0; c < 0x20; c++) {
      if (c === 0x0a) continue;
      expect(() => signNote(`a${String.fromCharCode(c)}b\n`, [aliceS]), `0x${c.toString(16)}`).toThrow(MerkleArgumentError);
      expect(() => checkNoteText(`a${String.fromCharCode(c)}b\n`), `0x${c.toString(16)}`).toThrow(NoteError);
    }
    // DEL and the C1 controls are not ASCII control characters below U+0020: allowed, as in Go.
    for (const t of ['a\u007fb\n', 'a\u0085b\n', 'a\u009fb\n']) {
      expect(openNote(signNote(t, [aliceS]), [aliceV]).note.text).toBe(t);
    }
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
    // The text is signNote's argument: refusing it is a MerkleArgumentError, not bad data.
    expect(() => signNote('no newline', [aliceS])).toThrow(MerkleArgumentError);
    expect(() => signNote('no newline', [aliceS])).not.toThrow(NoteError);
    expect(() => signNote('tab\there\n', [aliceS])).toThrow(/control character/);
    expect(() => signNote('lone \ud800 surrogate\n', [aliceS])).toThrow(/UTF-8/);
    expect(() => signNote(TEXT, [])).toThrow(MerkleArgumentError);
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
    for (const seq of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]) {
      const b = new Uint8Array([...new TextEncoder().encode('x'), ...seq, ...bytes.subarray(1)]);
      expect(() => parseNote(b)).toThrow(/UTF-8/);
    }
  });

  it('rejects every truncation of a signed note, as text and as bytes', () => {
    const two = signNote(TEXT, [aliceS, bobS]);
    const cut = two.indexOf('\n\u2014', TEXT.length + 2) + 1; // just after the first signature line
    for (let i = 0; i < two.length; i++) {
      const prefix = two.slice(0, i);
      if (i === cut) {
        // Dropping whole signature lines leaves a valid note (with fewer signatures).
        expect(parseNote(prefix).signatures).toHaveLength(1);
        continue;
      }
      expect(() => parseNote(prefix), `prefix of ${i} characters`).toThrow(NoteError);
      expect(() => openNote(prefix, [aliceV, bobV]), `prefix of ${i} characters`).toThrow(NoteError);
    }
    // Byte prefixes also cut the em dash (3 bytes in UTF-8) in the middle.
    const bytes = new TextEncoder().encode(two);
    const byteCut = new TextEncoder().encode(two.slice(0, cut)).length;
    for (let i = 0; i < bytes.length; i++) {
      if (i === byteCut) continue;
      expect(() => parseNote(bytes.subarray(0, i)), `prefix of ${i} bytes`).toThrow(NoteError);
    }
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated 2-byte sequence', [0xc3]],
    ['a truncated 3-byte sequence', [0xe2, 0x80]],
    ['byte 0xf5', [0xf5, 0x80, 0x80, 0x80]],
    ['byte 0xfe', [0xfe]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['an overlong NUL', [0xc0, 0x80]],
  ])('rejects %s in the text, in a key name, or at the very end', (_d, seq) => {
    const good = new TextEncoder().encode(signNote(TEXT, [aliceS]));
    const inText = new Uint8Array([...good.subarray(0, 2), ...seq, ...good.subarray(2)]);
    expect(() => parseNote(inText)).toThrow(/not valid UTF-8/);
    const nameAt = good.indexOf(0x2f); // the '/' in "example.com/alice"
    const inName = new Uint8Array([...good.subarray(0, nameAt), ...seq, ...good.subarray(nameAt)]);
    expect(() => parseNote(inName)).toThrow(/not valid UTF-8/);
    expect(() => parseNote(new Uint8Array([...good, ...seq]))).toThrow(NoteError);
  });

  it('rejects a message string with a lone UTF-16 surrogate', () => {
    const good = signNote(TEXT, [aliceS]);
    expect(() => parseNote(good.replace('hello', 'hel\udc00lo'))).toThrow(/UTF-8/);
    expect(() => openNote(good.replace('example.com/alice', 'example.com/\ud800alice'), [aliceV])).toThrow(NoteError);
  });

  it.each([
    ['CRLF line endings', (g: string) => g.replace(/\n/g, '\r\n')],
    ['a space after the signature', (g: string) => g.replace(/\n$/, ' \n')],
    ['two spaces before the signature', (g: string) => g.replace(/(alice) /, '$1  ')],
    ['a tab instead of the space', (g: string) => g.replace(/(alice) /, '$1\t')],
    [
      'URL-safe base64',
      (g: string) => g.replace(/ ([^ ]+)\n$/, (_m, b: string) => ` ${b.replace(/\+/g, '-').replace(/\//g, '_').replace(/^./, '-')}\n`),
    ],
    ['a blank line after the signatures', (g: string) => `${g}\n`],
    ['an en dash', (g: string) => g.replace('\u2014', '\u2013')],
    ['two em dashes', (g: string) => g.replace('\u2014', '\u2014\u2014')],
  ])('rejects %s', (_d, mutate) => {
    const good = signNote(TEXT, [aliceS]);
    expect(mutate(good)).not.toBe(good);
    expect(() => parseNote(mutate(good))).toThrow(NoteError);
  });

  it('openNote rejects 101 signatures even when the first is valid', () => {
    const good = signNote(TEXT, [aliceS]);
    const line = good.slice(TEXT.length + 1);
    const others = Array.from({ length: 100 }, (_, i) =>
      formatNote({ text: TEXT, signatures: [{ name: `example.com/w${i}`, keyId: i, signature: new Uint8Array(64).fill(i) }] }).slice(
        TEXT.length + 1,
      ),
    );
    expect(() => openNote(`${TEXT}\n${line}${others.join('')}`, [aliceV])).toThrow(/more than 100 signature lines/);
    expect(openNote(`${TEXT}\n${line}${others.slice(1).join('')}`, [aliceV]).unverified).toHaveLength(99);
    expect(() =>
      formatNote({
        text: TEXT,
        signatures: parseNote(`${TEXT}\n${line}`).signatures.concat(Array(100).fill(parseNote(`${TEXT}\n${line}`).signatures[0])),
      }),
    ).toThrow(MerkleArgumentError);
  });

  it('accepts a note of exactly the size limit and rejects one byte more', () => {
    const sigPart = signNote(TEXT, [aliceS]).slice(TEXT.length); // "\n— ...\n", ASCII but the dash
    const sigBytes = new TextEncoder().encode(sigPart).length;
    const text = 'x'.repeat(MAX_NOTE_SIZE - sigBytes - 1) + '\n';
    const msg = `${text}${sigPart}`;
    expect(new TextEncoder().encode(msg).length).toBe(MAX_NOTE_SIZE);
    expect(parseNote(msg).text).toBe(text);
    expect(() => parseNote(`x${msg}`)).toThrow(/more than the 1048576 accepted/);
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
  const line = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\u0000-\u001f]/g, ''));
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
