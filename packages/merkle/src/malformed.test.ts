/**
 * Malformed input of every kind gets a MerkleError, never a crash (TypeError, RangeError) and
 * never a silent success on garbage: a MerkleDataError (NoteError, ProofError, EncodingError)
 * from parsers and verifiers, whose input is data; a MerkleArgumentError from makers, formatters
 * and constructors, whose input is the caller's. Each parser is fed random input and random edits
 * of valid input.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeEntryBundle, encodeEntryBundle } from './bundle.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint } from './checkpoint.js';
import { CompactTree } from './compact.js';
import { generateCosignatureKey, parseCosignerKey, verifyCosignature } from './cosignature.js';
import { fromBase64, fromHex, hashFromBase64, toBase64 } from './encoding.js';
import { EncodingError, MerkleArgumentError, MerkleDataError, type MerkleError, NoteError, ProofError } from './errors.js';
import { defaultHasher, type Hash } from './hash.js';
import { cosignatureMessage, generateEd25519Key, parseSignerKey, parseVerifierKey } from './key.js';
import { openNote, parseNote, signNote } from './note.js';
import { proveConsistency, proveConsistencySync, proveInclusion, proveInclusionSync, treeRoot, treeRootSync } from './prove.js';
import {
  changedTiles,
  entriesTilesForSize,
  formatEntriesPath,
  formatTileIndex,
  formatTilePath,
  nodeFromTile,
  parseTilePath,
  tileForNode,
  tilesForSize,
} from './tile.js';
import { TileHashReader } from './tilereader.js';
import { formatTlogProof, parseTlogProof, verifyTlogProof } from './tlogproof.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion, verifySubtreeConsistency, verifySubtreeInclusion } from './verify.js';

/** Runs f; passes if it returns or throws a MerkleDataError (of the given class), fails on anything else. */
function refusesCleanly(f: () => unknown, errorClass: typeof MerkleError = MerkleDataError): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof errorClass)) throw new Error(`expected ${errorClass.name} or success, got ${String(e)}`, { cause: e });
  }
}

// Valid samples to mutate.
const enc = new TextEncoder();
const logKeys = generateEd25519Key('example.com/log', new Uint8Array(32).fill(1));
const log = parseVerifierKey(logKeys.verifierKey);
const leaves = ['a', 'b', 'c'].map((s) => defaultHasher.hashLeaf(enc.encode(s)));
const n01 = defaultHasher.hashChildren(leaves[0]!, leaves[1]!);
const root = defaultHasher.hashChildren(n01, leaves[2]!);
const text = formatCheckpoint({ origin: 'example.com/log', size: 3, root, extensions: [] });
const signed = signNote(text, [parseSignerKey(logKeys.signerKey)]);
const receipt = formatTlogProof({ extra: enc.encode('x'), index: 2, proof: [n01], checkpoint: signed });
const witnessKeys = generateCosignatureKey('witness.example/w', new Uint8Array(32).fill(2));
const cosig = parseCosignerKey(witnessKeys.signerKey).cosign(text, 1700000000);

/** A random edit: delete, insert or replace a few characters, favouring the ones the formats use. */
const interesting = fc.constantFrom(
  '\n',
  '\n\n',
  ' ',
  '+',
  '=',
  '/',
  '\u2014',
  '\u2014 ',
  '\u0000',
  '\r',
  '\t',
  '\ud800',
  '\udc00',
  'é',
  '0',
  '9',
  'x',
  '.p',
  'A',
  '-',
  '_',
  '\ufeff',
);
function edited(sample: string): fc.Arbitrary<string> {
  return fc
    .tuple(fc.nat(sample.length), fc.nat(8), fc.oneof(interesting, fc.string({ maxLength: 3 }), fc.constant('')))
    .map(([at, del, ins]) => sample.slice(0, at) + ins + sample.slice(Math.min(sample.length, at + del)));
}
function editedBytes(sample: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat(sample.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(4)).map(([at, x, cut]) => {
    const b = sample.slice(0, sample.length - cut);
    if (at < b.length) b[at]! ^= x;
    return b;
  });
}

describe('parsers refuse garbage and near-misses with MerkleDataError', () => {
  const runs = { numRuns: 300 };

  test('base64 and hex', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 50 }), edited(toBase64(root)), edited('AA==')), (s) => {
        refusesCleanly(() => fromBase64(s), EncodingError);
        refusesCleanly(() => hashFromBase64(s), EncodingError);
        refusesCleanly(() => fromHex(s), EncodingError);
        // Whatever decodes re-encodes to the same string: the encoding is canonical.
        let b: Uint8Array | undefined;
        try {
          b = fromBase64(s);
        } catch {
          return;
        }
        expect(toBase64(b)).toBe(s);
      }),
      { numRuns: 1000 },
    );
    for (const s of ['A', 'AA', 'AAA', 'AA=', 'A===', '====', 'AA==AA==', 'AB==', 'AAB=', 'AA\n==', ' AA==', 'AA-_', '\u00c0AAA']) {
      expect(() => fromBase64(s), JSON.stringify(s)).toThrow(EncodingError);
    }
    expect(() => hashFromBase64(toBase64(root.subarray(1)))).toThrow(/must be 32 bytes, got 31/);
    expect(() => hashFromBase64(toBase64(new Uint8Array(33)))).toThrow(/must be 32 bytes, got 33/);
  });

  test('signed notes, as text and as bytes', () => {
    fc.assert(
      fc.property(fc.oneof(edited(signed), fc.string({ maxLength: 80 })), (s) => {
        refusesCleanly(() => parseNote(s), NoteError);
        refusesCleanly(() => openNote(s, [log]), NoteError);
      }),
      runs,
    );
    fc.assert(
      fc.property(fc.oneof(editedBytes(enc.encode(signed)), fc.uint8Array({ maxLength: 80 })), (b) => {
        refusesCleanly(() => parseNote(b), NoteError);
        refusesCleanly(() => openNote(b, [log]), NoteError);
      }),
      runs,
    );
  });

  test('checkpoints', () => {
    fc.assert(
      fc.property(edited(text), edited(signed), (t, s) => {
        refusesCleanly(() => parseCheckpoint(t), NoteError);
        refusesCleanly(() => openCheckpoint(s, log), NoteError);
      }),
      runs,
    );
  });

  test('tlog-proof receipts', () => {
    fc.assert(
      fc.property(fc.oneof(edited(receipt), fc.string({ maxLength: 80 })), (r) => {
        refusesCleanly(() => parseTlogProof(r), NoteError);
        refusesCleanly(() => verifyTlogProof(r, enc.encode('c'), { log }));
      }),
      runs,
    );
    fc.assert(
      fc.property(editedBytes(enc.encode(receipt)), (b) => refusesCleanly(() => parseTlogProof(b), NoteError)),
      runs,
    );
  });

  test('keys', () => {
    fc.assert(
      fc.property(edited(logKeys.verifierKey), edited(logKeys.signerKey), edited(witnessKeys.signerKey), (v, s, w) => {
        refusesCleanly(() => parseVerifierKey(v), NoteError);
        refusesCleanly(() => parseSignerKey(s), NoteError);
        refusesCleanly(() => parseCosignerKey(w), NoteError);
      }),
      runs,
    );
  });

  test('cosignatures with arbitrary signature bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), editedBytes(cosig.signature)), edited(text), (sig, t) => {
        refusesCleanly(() => verifyCosignature(t, { ...cosig, signature: sig }, witnessKeys.verifierKey), NoteError);
      }),
      runs,
    );
  });

  test('entry bundles', () => {
    const bundle = encodeEntryBundle([enc.encode('one'), new Uint8Array(0), enc.encode('three')]);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 60 }), editedBytes(bundle)), fc.option(fc.nat(5)), (b, count) => {
        refusesCleanly(() => decodeEntryBundle(b, count ?? undefined), EncodingError);
      }),
      runs,
    );
  });
});

describe('verifiers refuse any malformed argument with ProofError', () => {
  // Sizes and indexes of every awkward kind: negative, fractional, unsafe, not numbers at all.
  const num = fc.oneof(
    fc.integer({ min: 0, max: 20 }),
    fc.constantFrom(-1, -0, 0.5, 2 ** 53, 2 ** 53 + 2, 2 ** 64, Number.MAX_SAFE_INTEGER, Number.NaN, Infinity, -Infinity),
    fc.constantFrom(...(['3', null, undefined, 3n, {}] as unknown as number[])),
  );
  const hash = fc.oneof(
    fc.constantFrom(root, n01, ...leaves),
    fc.uint8Array({ minLength: 0, maxLength: 40 }),
    fc.constantFrom(...([null, undefined, 'abc', [1, 2]] as unknown as Hash[])),
  );
  const proof = fc.oneof(fc.array(hash, { maxLength: 4 }), fc.constantFrom(...([null, undefined, 'x', {}] as unknown as Hash[][])));

  test('inclusion, consistency and subtree verification', () => {
    fc.assert(
      fc.property(num, num, num, hash, hash, proof, (a, b, c, h1, h2, p) => {
        refusesCleanly(() => verifyInclusion(a, b, h1, p, h2), ProofError);
        refusesCleanly(() => rootFromInclusionProof(a, b, h1, p), ProofError);
        refusesCleanly(() => verifySubtreeInclusion(a, b, c, h1, p, h2), ProofError);
        refusesCleanly(() => verifyConsistency(a, b, p, h1, h2), ProofError);
        refusesCleanly(() => verifySubtreeConsistency(a, b, c, p, h1, h2), ProofError);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('sizes and indexes beyond 2^53-1 are refused everywhere, with an error naming the limit', () => {
  const big = 2 ** 53;
  const reader = { readNodes: (ids: readonly unknown[]) => ids.map(() => root) };
  const limit = /2\^53-1/;

  test('synchronous APIs', () => {
    const calls: [string, () => unknown, typeof MerkleError][] = [
      ['proveInclusionSync index', () => proveInclusionSync(reader, big, big + 2), MerkleArgumentError],
      ['proveInclusionSync size', () => proveInclusionSync(reader, 0, big), MerkleArgumentError],
      ['proveConsistencySync', () => proveConsistencySync(reader, 1, big), MerkleArgumentError],
      ['treeRootSync', () => treeRootSync(reader, big), MerkleArgumentError],
      ['verifyInclusion', () => verifyInclusion(0, big, root, [], root), ProofError],
      ['rootFromInclusionProof', () => rootFromInclusionProof(big, big + 2, root, []), ProofError],
      ['verifyConsistency', () => verifyConsistency(1, big, [], root, root), ProofError],
      ['verifySubtreeInclusion', () => verifySubtreeInclusion(0, 0, big, root, [], root), ProofError],
      ['verifySubtreeConsistency', () => verifySubtreeConsistency(0, 1, big, [], root, root), ProofError],
      ['CompactTree', () => new CompactTree(big, []), MerkleArgumentError],
      ['formatTileIndex', () => formatTileIndex(big), MerkleArgumentError],
      ['formatTilePath', () => formatTilePath({ level: 0, index: big, width: 1 }), MerkleArgumentError],
      ['formatEntriesPath', () => formatEntriesPath({ index: big, width: 1 }), MerkleArgumentError],
      ['parseTilePath', () => parseTilePath('tile/0/x009/x007/x199/x254/x740/992'), EncodingError],
      ['parseTilePath entries', () => parseTilePath('tile/entries/x009/x007/x199/x254/x740/993.p/1'), EncodingError],
      ['tilesForSize', () => tilesForSize(big), MerkleArgumentError],
      ['changedTiles', () => changedTiles(0, big), MerkleArgumentError],
      ['entriesTilesForSize', () => entriesTilesForSize(big), MerkleArgumentError],
      ['tileForNode', () => tileForNode(0, big, big), MerkleArgumentError],
      ['nodeFromTile', () => nodeFromTile({ level: 0, index: big, width: 1 }, root, 0, 0), MerkleArgumentError],
      ['decodeEntryBundle', () => decodeEntryBundle(new Uint8Array(0), big), MerkleArgumentError],
      ['TileHashReader', () => new TileHashReader(big, root, async () => root), MerkleArgumentError],
      ['formatCheckpoint', () => formatCheckpoint({ origin: 'o', size: big, root, extensions: [] }), MerkleArgumentError],
      ['parseCheckpoint', () => parseCheckpoint(`o\n${big}\n${toBase64(root)}\n`), NoteError],
      ['cosignatureMessage', () => cosignatureMessage(text, big), MerkleArgumentError],
      ['cosign', () => parseCosignerKey(witnessKeys.signerKey).cosign(text, big), MerkleArgumentError],
      ['formatTlogProof', () => formatTlogProof({ index: big, proof: [], checkpoint: signed }), MerkleArgumentError],
      ['parseTlogProof', () => parseTlogProof(receipt.replace('index 2', `index ${big}`)), NoteError],
      ['verifyTlogProof', () => verifyTlogProof({ index: big, proof: [], checkpoint: signed }, enc.encode('c'), { log }), NoteError],
    ];
    for (const [what, f, errorClass] of calls) {
      expect(f, what).toThrow(errorClass);
      expect(f, what).toThrow(limit);
      // Exactly one side is at fault.
      const e = (() => {
        try {
          f();
        } catch (err) {
          return err;
        }
      })();
      expect(e instanceof MerkleArgumentError !== e instanceof MerkleDataError, what).toBe(true);
    }
  });

  test('asynchronous APIs', async () => {
    await expect(proveInclusion(reader, 0, big)).rejects.toBeInstanceOf(MerkleArgumentError);
    await expect(CompactTree.fromReader(reader, big)).rejects.toBeInstanceOf(MerkleArgumentError);
    await expect(proveInclusion(reader, 0, big)).rejects.toThrow(limit);
    await expect(proveConsistency(reader, 1, big)).rejects.toThrow(limit);
    await expect(treeRoot(reader, big)).rejects.toThrow(limit);
    await expect(CompactTree.fromReader(reader, big)).rejects.toThrow(limit);
  });
});
