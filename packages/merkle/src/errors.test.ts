/**
 * Who is at fault: every error is a MerkleError, and either a MerkleArgumentError (the caller
 * broke a precondition: its own bug) or a MerkleDataError (the data examined is bad: blame its
 * source). A client reports the second as log misbehaviour and must never do so for the first.
 */
import { describe, expect, test } from 'vitest';
import { decodeEntryBundle, encodeEntryBundle } from './bundle.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint } from './checkpoint.js';
import { CompactTree } from './compact.js';
import { generateCosignatureKey, parseCosignerKey, verifyCosignature } from './cosignature.js';
import { fromBase64, fromHex, hashFromBase64, toBase64 } from './encoding.js';
import {
  checkIndex,
  EncodingError,
  MerkleArgumentError,
  MerkleDataError,
  MerkleError,
  NoteError,
  ProofError,
  RootMismatchError,
  SignatureError,
} from './errors.js';
import { defaultHasher, type Hash, rootFromLeafHashes } from './hash.js';
import { cosignatureMessage, generateEd25519Key, parseSignerKey, parseVerifierKey } from './key.js';
import { formatNote, formatSignatureLine, openNote, parseNote, signNote } from './note.js';
import { type NodeId, proveConsistencySync, proveInclusion, proveInclusionSync, treeRootSync } from './prove.js';
import { changedTiles, formatTilePath, hashTileRoot, nodeFromTile, parseTilePath, tileForNode } from './tile.js';
import { TileHashReader } from './tilereader.js';
import { formatTlogProof, parseTlogProof, verifyTlogProof } from './tlogproof.js';
import { verifyConsistency, verifyInclusion, verifySubtreeConsistency, verifySubtreeInclusion } from './verify.js';

const enc = new TextEncoder();
const leaves = Array.from({ length: 7 }, (_, i) => defaultHasher.hashLeaf(enc.encode(`leaf ${i}`)));
const reader = {
  readNodes: (ids: readonly NodeId[]): Hash[] =>
    ids.map(({ level, index }) => rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))),
};
const root = treeRootSync(reader, 7);
const logKeys = generateEd25519Key('example.com/log', new Uint8Array(32).fill(1));
const log = parseVerifierKey(logKeys.verifierKey);
const signer = parseSignerKey(logKeys.signerKey);
const text = formatCheckpoint({ origin: 'example.com/log', size: 7, root, extensions: [] });
const signed = signNote(text, [signer]);

/** Any of the error classes (RootMismatchError's constructor takes more arguments). */
type ErrorClass = abstract new (...args: never[]) => MerkleError;

/** The error f throws (fails the test if it returns). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** f throws `cls`, which is an argument error and not a data error. */
function argumentError(f: () => unknown, cls: ErrorClass = MerkleArgumentError): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(cls);
  expect(e).toBeInstanceOf(MerkleArgumentError);
  expect(e).not.toBeInstanceOf(MerkleDataError);
}

/** f throws `cls`, which is a data error and not an argument error. */
function dataError(f: () => unknown, cls: ErrorClass): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(cls);
  expect(e).toBeInstanceOf(MerkleDataError);
  expect(e).not.toBeInstanceOf(MerkleArgumentError);
}

describe('the error hierarchy', () => {
  test('every class is a MerkleError and exactly one of argument or data', () => {
    const data = [
      new ProofError('x'),
      new RootMismatchError(root, root),
      new NoteError('x'),
      new SignatureError('x'),
      new EncodingError('x'),
    ];
    for (const e of data) {
      expect(e).toBeInstanceOf(MerkleError);
      expect(e).toBeInstanceOf(MerkleDataError);
      expect(e).not.toBeInstanceOf(MerkleArgumentError);
      expect(e).toBeInstanceOf(Error);
    }
    const arg = new MerkleArgumentError('x');
    expect(arg).toBeInstanceOf(MerkleError);
    expect(arg).not.toBeInstanceOf(MerkleDataError);
    expect(new RootMismatchError(root, root)).toBeInstanceOf(ProofError);
    expect(new SignatureError('x')).toBeInstanceOf(NoteError);
  });

  test('names are the class names, so logs and messages say which kind', () => {
    for (const [e, name] of [
      [new MerkleError('x'), 'MerkleError'],
      [new MerkleArgumentError('x'), 'MerkleArgumentError'],
      [new MerkleDataError('x'), 'MerkleDataError'],
      [new ProofError('x'), 'ProofError'],
      [new RootMismatchError(root, root), 'RootMismatchError'],
      [new NoteError('x'), 'NoteError'],
      [new SignatureError('x'), 'SignatureError'],
      [new EncodingError('x'), 'EncodingError'],
    ] as const) {
      expect(e.name).toBe(name);
      expect(String(e)).toMatch(new RegExp(`^${name}: `));
    }
  });

  test('checkIndex throws MerkleArgumentError', () => {
    argumentError(() => checkIndex(-1, 'n'));
    expect(checkIndex(5, 'n')).toBe(5);
  });
});

describe('making a proof: the inputs are the caller’s arguments', () => {
  test('bad index or size, size1 > size2, empty old tree', () => {
    argumentError(() => proveInclusionSync(reader, 7, 7));
    argumentError(() => proveInclusionSync(reader, -1, 7));
    argumentError(() => proveConsistencySync(reader, 5, 4));
    argumentError(() => proveConsistencySync(reader, 0, 4));
    argumentError(() => treeRootSync(reader, 1.5));
  });

  test('a NodeReader that breaks its contract is the caller’s bug, not bad data', async () => {
    argumentError(() => proveInclusionSync({ readNodes: () => [] }, 3, 7));
    argumentError(() => proveInclusionSync({ readNodes: (ids) => ids.map(() => new Uint8Array(31)) }, 3, 7));
    argumentError(() => proveInclusionSync({ ...reader, rangeHash: () => new Uint8Array(33) }, 0, 7));
    await expect(proveInclusion({ readNodes: async () => [] }, 3, 7)).rejects.toBeInstanceOf(MerkleArgumentError);
    await expect(CompactTree.fromReader({ readNodes: () => [] }, 7)).rejects.toBeInstanceOf(MerkleArgumentError);
  });

  test('constructors, formatters and key generation', () => {
    argumentError(() => new CompactTree(3, []));
    argumentError(() => new CompactTree().append(new Uint8Array(31)));
    argumentError(() => defaultHasher.hashChildren(new Uint8Array(31), root));
    argumentError(() => new TileHashReader(7, root.subarray(1), async () => root));
    argumentError(() => encodeEntryBundle([new Uint8Array(65536)]));
    argumentError(() => formatTilePath({ level: 64, index: 0, width: 1 }));
    argumentError(() => changedTiles(5, 4));
    argumentError(() => tileForNode(0, 7, 7));
    argumentError(() => nodeFromTile({ level: 0, index: 0, width: 1 }, root, 1, 0));
    argumentError(() => formatCheckpoint({ origin: '', size: 1, root, extensions: [] }));
    argumentError(() => formatNote({ text, signatures: [] }));
    argumentError(() => formatSignatureLine({ name: 'bad name', keyId: 1, signature: new Uint8Array(1) }));
    argumentError(() => signNote('no newline', [signer]));
    argumentError(() => formatTlogProof({ index: 0, proof: [], checkpoint: 'not a note' }));
    argumentError(() => generateEd25519Key('example.com/log', new Uint8Array(31)));
    argumentError(() => generateCosignatureKey('has space'));
    argumentError(() => cosignatureMessage(text, -1));
    argumentError(() => parseCosignerKey(generateCosignatureKey('w', new Uint8Array(32)).signerKey).cosign('no newline', 1));
    argumentError(() => openNote(signed, [log, parseVerifierKey(logKeys.verifierKey)]));
    argumentError(() =>
      verifyTlogProof(formatTlogProof({ index: 0, proof: [], checkpoint: signed }), enc.encode('x'), { log, quorum: 0.5 }),
    );
  });
});

describe('examining data: every rejection is a data error', () => {
  const proof = proveInclusionSync(reader, 3, 7);

  test('verifying proofs treats every input as data, even a negative index (ProofError)', () => {
    dataError(() => verifyInclusion(-1, 7, leaves[3]!, proof, root), ProofError);
    dataError(() => verifyInclusion(3, 7, leaves[3]!, proof.slice(1), root), ProofError);
    dataError(() => verifyInclusion(3, 7, leaves[4]!, proof, root), RootMismatchError);
    dataError(() => verifyConsistency(5, 4, [], root, root), ProofError);
    dataError(() => verifyConsistency(3, 7, proveConsistencySync(reader, 3, 7), root, root), RootMismatchError);
    dataError(() => verifySubtreeInclusion(0, 1, 3, leaves[0]!, [], root), ProofError);
    dataError(() => verifySubtreeConsistency(0, 8, 7, [], root, root), ProofError);
  });

  test('tiles fetched from a log that do not authenticate', async () => {
    const bad = new TileHashReader(7, root, async () => new Uint8Array(7 * 32));
    await expect(bad.readNodes([{ level: 0, index: 0 }])).rejects.toBeInstanceOf(RootMismatchError);
    const short = new TileHashReader(7, root, async () => new Uint8Array(31));
    await expect(short.readNodes([{ level: 0, index: 0 }])).rejects.toBeInstanceOf(ProofError);
  });

  test('encodings: base64, hex, entry bundles, tile paths, tile data (EncodingError)', () => {
    dataError(() => fromBase64('A==='), EncodingError);
    dataError(() => hashFromBase64(toBase64(new Uint8Array(31))), EncodingError);
    dataError(() => fromHex('abc'), EncodingError);
    dataError(() => decodeEntryBundle(Uint8Array.of(0, 5, 1)), EncodingError);
    dataError(() => parseTilePath('tile/0/1'), EncodingError);
    dataError(() => hashTileRoot(new Uint8Array(33)), EncodingError);
    dataError(() => nodeFromTile({ level: 0, index: 0, width: 2 }, root, 0, 0), EncodingError);
  });

  test('notes, keys, checkpoints, cosignatures and receipts (NoteError, SignatureError)', () => {
    dataError(() => parseNote('no blank line\n'), NoteError);
    dataError(() => openNote(signed.replace('\n7\n', '\n8\n'), [log]), SignatureError);
    dataError(() => parseVerifierKey('example.com/log+00000000+AQ=='), NoteError);
    dataError(() => parseSignerKey(logKeys.verifierKey), NoteError);
    dataError(() => parseCheckpoint('example.com/log\n07\nAAAA\n'), NoteError);
    dataError(() => openCheckpoint(signed, log, 'example.com/other'), NoteError);
    const w = generateCosignatureKey('example.com/w', new Uint8Array(32).fill(3));
    const cosig = parseCosignerKey(w.signerKey).cosign(text, 1);
    dataError(() => verifyCosignature(text.replace('\n7\n', '\n8\n'), cosig, w.verifierKey), SignatureError);
    dataError(() => parseTlogProof('c2sp.org/tlog-proof@v1\nindex 01\n\n'), NoteError);
    const receipt = formatTlogProof({ index: 3, proof, checkpoint: signed });
    dataError(() => verifyTlogProof(receipt, enc.encode('leaf 4'), { log }), ProofError);
    dataError(() => verifyTlogProof({ ...parseTlogProof(receipt), index: -1 }, enc.encode('leaf 3'), { log }), NoteError);
  });
});
