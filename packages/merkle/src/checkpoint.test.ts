import { describe, expect, it } from 'vitest';
import { describeVectors, tlogReference } from '../../../test/support/vectors.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint } from './checkpoint.js';
import { fromHex, toBase64, toHex } from './encoding.js';
import { MerkleArgumentError, NoteError, SignatureError } from './errors.js';
import { generateEd25519Key, parseSignerKey, parseVerifierKey } from './key.js';
import { signNote } from './note.js';

const ROOT = new Uint8Array(32).map((_, i) => i);
const keys = generateEd25519Key('example.com/log', new Uint8Array(32).fill(7));
const signer = parseSignerKey(keys.signerKey);
const verifier = parseVerifierKey(keys.verifierKey);

describeVectors('tlog-reference signed checkpoints (Go sumdb/note)', () => {
  const section = () => tlogReference().signedNote;

  it('every checkpoint opens with the verifier key, and re-signing reproduces it byte for byte', () => {
    const s = section();
    expect(s.checkpoints.map((c) => c.treeSize)).toEqual([0, 1, 256, 1100]);
    const v = parseVerifierKey(s.verifierKey);
    const k = parseSignerKey(s.signerKey);
    for (const c of s.checkpoints) {
      const { checkpoint, note } = openCheckpoint(c.note, v);
      expect(checkpoint.origin).toBe(s.origin);
      expect(checkpoint.size).toBe(c.treeSize);
      expect(toHex(checkpoint.root)).toBe(c.root);
      expect(checkpoint.extensions).toEqual([]);
      const text = formatCheckpoint({ origin: s.origin, size: c.treeSize, root: fromHex(c.root), extensions: [] });
      expect(text).toBe(note.text);
      expect(signNote(text, [k])).toBe(c.note);
    }
  });

  it('a checkpoint with a changed size or root does not open', () => {
    const s = section();
    const v = parseVerifierKey(s.verifierKey);
    const c = s.checkpoints[3]!;
    expect(() => openCheckpoint(c.note.replace('\n1100\n', '\n1101\n'), v)).toThrow(SignatureError);
    expect(() => openCheckpoint(c.note.replace('nY/n0', 'nY/n1'), v)).toThrow(SignatureError);
  });
});

describe('formatCheckpoint / parseCheckpoint', () => {
  it('round-trips, with and without extension lines', () => {
    for (const extensions of [[], ['ext one', 'two']]) {
      const c = { origin: 'example.com/log', size: 20852163, root: ROOT, extensions };
      const text = formatCheckpoint(c);
      expect(text).toBe(['example.com/log', '20852163', toBase64(ROOT), ...extensions].join('\n') + '\n');
      expect(parseCheckpoint(text)).toEqual(c);
    }
  });

  it('parses the C2SP example checkpoint text', () => {
    const c = parseCheckpoint('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
    expect(c.origin).toBe('example.com/behind-the-sofa');
    expect(c.size).toBe(20852163);
  });

  const root = toBase64(ROOT);
  it.each([
    ['too few lines', `o\n1\n`],
    ['no final newline', `o\n1\n${root}`],
    ['empty origin', `\n1\n${root}\n`],
    ['leading-zero size', `o\n01\n${root}\n`],
    ['signed size', `o\n+1\n${root}\n`],
    ['negative size', `o\n-1\n${root}\n`],
    ['hex size', `o\n0x1\n${root}\n`],
    ['empty size', `o\n\n${root}\n`],
    ['size beyond 2^53-1', `o\n9007199254740992\n${root}\n`],
    ['root of 31 bytes', `o\n1\n${toBase64(ROOT.subarray(1))}\n`],
    ['root of 33 bytes', `o\n1\n${toBase64(new Uint8Array(33))}\n`],
    ['root not base64', `o\n1\n${root.slice(0, -2)}!=\n`],
    ['root unpadded', `o\n1\n${root.slice(0, -1)}\n`],
    ['empty extension line', `o\n1\n${root}\n\n`],
    ['empty line between extensions', `o\n1\n${root}\na\n\nb\n`],
    ['control character', `o\t\n1\n${root}\n`],
    ['CRLF line endings', `o\r\n1\r\n${root}\r\n`],
    ['a space in the size', `o\n 1\n${root}\n`],
    ['size with a decimal point', `o\n1.0\n${root}\n`],
    ['size in exponent form', `o\n1e3\n${root}\n`],
    ['size in non-ASCII digits', `o\n\u0661\n${root}\n`],
    ['size far beyond 2^64', `o\n${'9'.repeat(400)}\n${root}\n`],
    ['root in URL-safe base64', `o\n1\n${toBase64(new Uint8Array(32).fill(0xfb))}\n`.replace(/\+/g, '-').replace(/\//g, '_')],
    ['root with a trailing space', `o\n1\n${root} \n`],
    ['root with non-zero padding bits', `o\n1\n${root.slice(0, -2)}${String.fromCharCode(root.charCodeAt(root.length - 2) + 1)}=\n`],
    ['a missing root line', `o\n1\n`],
    ['only a blank line', `\n`],
    ['an extension with a NUL', `o\n1\n${root}\next\u0000\n`],
  ])('rejects %s', (_d, text) => {
    expect(() => parseCheckpoint(text)).toThrow(NoteError);
  });

  it('accepts size 0 and 2^53-1', () => {
    expect(parseCheckpoint(`o\n0\n${root}\n`).size).toBe(0);
    expect(parseCheckpoint(`o\n9007199254740991\n${root}\n`).size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('formatCheckpoint refuses what parseCheckpoint would refuse', () => {
    const ok = { origin: 'o', size: 1, root: ROOT, extensions: [] };
    // The checkpoint is the caller's argument here: refusing it is the caller's bug, not bad data.
    expect(() => formatCheckpoint({ ...ok, origin: '' })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, origin: 'a\nb' })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, origin: 'tab\there' })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, size: -1 })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, size: 2 ** 53 })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, size: 1.5 })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, root: ROOT.subarray(1) })).toThrow(/32-byte/);
    expect(() => formatCheckpoint({ ...ok, root: ROOT.subarray(1) })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, extensions: [''] })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, extensions: ['a\nb'] })).toThrow(MerkleArgumentError);
    expect(() => formatCheckpoint({ ...ok, extensions: [''] })).not.toThrow(NoteError);
  });
});

describe('openCheckpoint', () => {
  const text = formatCheckpoint({ origin: 'example.com/log', size: 5, root: ROOT, extensions: [] });
  const signed = signNote(text, [signer]);

  it('opens a checkpoint signed by the log, checking the origin against the key name by default', () => {
    const { checkpoint, note } = openCheckpoint(signed, verifier);
    expect(checkpoint.size).toBe(5);
    expect(note.text).toBe(text);
  });

  it('rejects a wrong origin', () => {
    expect(() => openCheckpoint(signed, verifier, 'example.com/other')).toThrow(/origin/);
    const other = generateEd25519Key('example.com/other', new Uint8Array(32).fill(8));
    const signedByOther = signNote(text, [parseSignerKey(other.signerKey)]);
    // Validly signed, but by a key whose name is not the checkpoint's origin.
    expect(() => openCheckpoint(signedByOther, parseVerifierKey(other.verifierKey))).toThrow(NoteError);
    expect(openCheckpoint(signedByOther, parseVerifierKey(other.verifierKey), 'example.com/log').checkpoint.size).toBe(5);
  });

  it('rejects a checkpoint not signed by the log', () => {
    const other = generateEd25519Key('example.com/log', new Uint8Array(32).fill(9));
    expect(() => openCheckpoint(signNote(text, [parseSignerKey(other.signerKey)]), verifier)).toThrow(SignatureError);
  });

  it('rejects a signed note whose text is not a checkpoint', () => {
    expect(() => openCheckpoint(signNote('example.com/log\n05\nx\n', [signer]), verifier)).toThrow(NoteError);
  });
});
