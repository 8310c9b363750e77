/**
 * Every item of ../shared/vectors is consumed by some test. This file pins the inventory (so a
 * new vector fails here until a test uses it) and checks the items the per-module tests do not:
 * the witness add-checkpoint consistency proof, the cosignature bytes against an independent
 * Ed25519 verifier, the tiles against the entry bundles, and reading the reference tree through
 * its own tiles. Per-module tests cover the rest (see the inventory comments below).
 */
import * as ed from '@noble/ed25519';
import { sha256 } from '@noble/hashes/sha2.js';
import { expect, test } from 'vitest';
import {
  describeVectors,
  type SignedNoteVectors,
  signedNoteVectors,
  tlogReference,
  VECTORS_PRESENT,
  vectorFiles,
} from '../../../test/support/vectors.js';
import { decodeEntryBundle } from './bundle.js';
import { openCheckpoint } from './checkpoint.js';
import { verifyCosignature } from './cosignature.js';
import { fromBase64, fromHex, toHex } from './encoding.js';
import { ProofError } from './errors.js';
import { defaultHasher, type Hash, rootFromLeafHashes } from './hash.js';
import { cosignatureMessage, keyId, parseVerifierKey, verifierKeyOf } from './key.js';
import { openNote, parseNote } from './note.js';
import { type NodeId, proveConsistency, proveConsistencySync, proveInclusion, treeRoot } from './prove.js';
import { formatTilePath, nodeFromTile, parseTilePath, type TileId } from './tile.js';
import { TileHashReader } from './tilereader.js';
import { verifyConsistency } from './verify.js';

// Loaded once for the suites below, which only run when the vectors are present.
const ref = VECTORS_PRESENT ? tlogReference() : undefined;
const notes = VECTORS_PRESENT ? signedNoteVectors() : undefined;
const enc = new TextEncoder();

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const c = h.slice();
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

/** The key material after the type byte of a "name+keyid+base64" verifier key. */
function publicKeyOf(vkey: string): { type: number; key: Uint8Array } {
  const data = fromBase64(vkey.split('+').slice(2).join('+'));
  return { type: data[0]!, key: data.subarray(1) };
}

describeVectors('vector inventory', () => {
  test('the files and their top-level items are exactly the ones the tests consume', () => {
    expect(vectorFiles()).toEqual(['README.md', 'signed-note.json', 'tlog-reference.json', 'transparency-dev-merkle']);
    expect(vectorFiles('transparency-dev-merkle')).toEqual(['LICENSE', 'testdata']);
    // leaves, leafHashes, roots: compact.test.ts, proof.test.ts; inclusion, consistency: proof.test.ts,
    // tlogproof.test.ts and below; tiles: tile.test.ts and below; entryBundles: bundle.test.ts,
    // tile.test.ts and below; signedNote: checkpoint.test.ts, tlogproof.test.ts and below;
    // rfc6962Example: compact.test.ts and below.
    expect(Object.keys(ref!).sort()).toEqual(
      [
        'about',
        'consistency',
        'entryBundles',
        'inclusion',
        'leafHashes',
        'leaves',
        'rfc6962Example',
        'roots',
        'signedNote',
        'tiles',
      ].sort(),
    );
    expect(Object.keys(ref!.signedNote).sort()).toEqual(['checkpoints', 'origin', 'signerKey', 'verifierKey']);
    expect(Object.keys(ref!.rfc6962Example).sort()).toEqual(['leaves', 'rootsBySize']);
    expect(ref!.leaves).toHaveLength(1100);
    expect(ref!.leafHashes).toHaveLength(1100);
    expect(Object.keys(ref!.roots)).toHaveLength(1101);
    expect(ref!.inclusion).toHaveLength(82);
    expect(ref!.consistency).toHaveLength(110);
    expect(ref!.tiles).toHaveLength(6);
    expect(ref!.entryBundles).toHaveLength(5);
    // signedNote: note.test.ts (both notes) and below; cosignatureV1: cosignature.test.ts and
    // below; witnessAddCheckpoint: cosignature.test.ts (keys, checkpoints) and below (the proof).
    expect(Object.keys(notes!).sort()).toEqual(['about', 'cosignatureV1', 'signedNote', 'witnessAddCheckpoint']);
    expect(notes!.signedNote).toHaveLength(2);
    expect(notes!.cosignatureV1).toHaveLength(2);
    expect(Object.keys(notes!.witnessAddCheckpoint).sort()).toEqual(
      ['checkpoints', 'consistencyProof1to3', 'logPublicKeyHex', 'origin', 'source', 'verifierKey'].sort(),
    );
  });
});

describeVectors('tlog-reference.json: hashing, tiles and bundles', () => {
  test('hashes follow RFC 6962 byte for byte, checked with SHA-256 directly', () => {
    // Empty tree: SHA-256 of the empty string (not Go's all-zero hash).
    expect(ref!.roots['0']).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(sha256(new Uint8Array(0)))).toBe(ref!.roots['0']);
    expect(toHex(defaultHasher.emptyRoot())).toBe(ref!.roots['0']);
    // Leaf: SHA-256(0x00 || entry), for every entry (lengths 0..300).
    ref!.leaves.forEach((l, i) => {
      expect(toHex(sha256(Uint8Array.of(0, ...fromHex(l)))), `leaf ${i}`).toBe(ref!.leafHashes[i]);
    });
    // Node: SHA-256(0x01 || left || right).
    const lh = ref!.leafHashes.map(fromHex);
    expect(toHex(sha256(Uint8Array.of(1, ...lh[0]!, ...lh[1]!)))).toBe(ref!.roots['2']);
    const r2 = fromHex(ref!.roots['2']!);
    expect(toHex(sha256(Uint8Array.of(1, ...r2, ...lh[2]!)))).toBe(ref!.roots['3']);
    // The RFC 6962 example tree: every root by size, from its own leaves.
    const ex = ref!.rfc6962Example.leaves.map((l) => defaultHasher.hashLeaf(fromHex(l)));
    expect(ref!.rfc6962Example.rootsBySize.map((_, n) => toHex(rootFromLeafHashes(ex.slice(0, n))))).toEqual(
      ref!.rfc6962Example.rootsBySize,
    );
  });

  test('each entry bundle hashes to the level-0 tile of the same index, hash by hash (tlog-tiles)', () => {
    const tiles = new Map(ref!.tiles.map((t) => [t.path, fromHex(t.hex)]));
    for (const b of ref!.entryBundles) {
      const p = parseTilePath(b.path);
      if (p.kind !== 'entries') throw new Error(`${b.path} is not an entry bundle`);
      const tilePath = formatTilePath({ level: 0, index: p.tile.index, width: p.tile.width });
      const tile = tiles.get(tilePath);
      expect(tile, tilePath).toBeDefined();
      const entries = decodeEntryBundle(fromHex(b.hex), p.tile.width);
      entries.forEach((e, i) => {
        expect(toHex(defaultHasher.hashLeaf(e)), `${b.path} entry ${i}`).toBe(toHex(tile!.subarray(32 * i, 32 * i + 32)));
      });
    }
  });

  test('the level-1 tile holds the roots of the full level-0 tiles, which are the reference roots at 256, 512, ...', () => {
    const l1 = fromHex(ref!.tiles.find((t) => t.path === 'tile/1/000.p/4')!.hex);
    const tile: TileId = { level: 1, index: 0, width: 4 };
    expect(toHex(nodeFromTile(tile, l1, 8, 0))).toBe(ref!.roots['256']);
    expect(toHex(nodeFromTile(tile, l1, 9, 0))).toBe(ref!.roots['512']);
    expect(toHex(nodeFromTile(tile, l1, 10, 0))).toBe(ref!.roots['1024']);
    expect(toHex(defaultHasher.hashChildren(nodeFromTile(tile, l1, 9, 0), nodeFromTile(tile, l1, 8, 2)))).toBe(ref!.roots['768']);
  });

  test('the reference tiles, authenticated against the signed 1100 checkpoint, give every leaf hash and the Go proofs', async () => {
    const cp = ref!.signedNote.checkpoints.find((c) => c.treeSize === 1100)!;
    const { checkpoint } = openCheckpoint(cp.note, parseVerifierKey(ref!.signedNote.verifierKey));
    const served = new Map(ref!.tiles.map((t) => [t.path, fromHex(t.hex)]));
    const fetched: string[] = [];
    const reader = new TileHashReader(checkpoint.size, checkpoint.root, async (t) => {
      const p = formatTilePath(t);
      fetched.push(p);
      const data = served.get(p);
      if (data === undefined) throw new Error(`404 ${p}`);
      return data;
    });
    const ids: NodeId[] = ref!.leafHashes.map((_, index) => ({ level: 0, index }));
    expect((await reader.readNodes(ids)).map(toHex)).toEqual(ref!.leafHashes);
    expect(toHex(await treeRoot(reader, 1100))).toBe(ref!.roots['1100']);
    const incl = ref!.inclusion.filter((v) => v.treeSize === 1100);
    const cons = ref!.consistency.filter((v) => v.to === 1100);
    expect(incl.length).toBeGreaterThan(0);
    expect(cons.length).toBeGreaterThan(0);
    for (const v of incl) expect((await proveInclusion(reader, v.index, 1100)).map(toHex), `index ${v.index}`).toEqual(v.proof);
    for (const v of cons) expect((await proveConsistency(reader, v.from, 1100)).map(toHex), `${v.from} -> 1100`).toEqual(v.proof);
    // Each tile was fetched once and only existing tiles were asked for.
    expect(new Set(fetched).size).toBe(fetched.length);
    expect(fetched.every((p) => served.has(p))).toBe(true);
  });

  test('a reference tile with one flipped bit is refused by the tile reader', async () => {
    const root = fromHex(ref!.roots['1100']!);
    for (const target of ref!.tiles) {
      const reader = new TileHashReader(1100, root, async (t) => {
        const p = formatTilePath(t);
        const data = fromHex(ref!.tiles.find((x) => x.path === p)!.hex);
        return p === target.path ? flipBit(data, 8 * 32 * ((data.length / 64) | 0) + 3) : data;
      });
      await expect(reader.readNodes(ref!.leafHashes.map((_, index) => ({ level: 0, index }))), target.path).rejects.toThrow(ProofError);
    }
  });
});

describeVectors('signed-note.json against an independent Ed25519 verifier', () => {
  test('the Go signer key derives the first verifier key; every signature line verifies with raw Ed25519', async () => {
    const g = notes!.signedNote[0];
    expect(verifierKeyOf(g.signerKey)).toBe(g.verifierKeys[0]);
    const text = enc.encode(g.text);
    g.signatureLines.forEach((line, i) => {
      expect(line.startsWith(`\u2014 ${parseVerifierKey(g.verifierKeys[i]!).name} `)).toBe(true);
    });
    const sigs = parseNote(`${g.text}\n${g.signatureLines.join('\n')}\n`).signatures;
    for (const [i, s] of sigs.entries()) {
      const { type, key } = publicKeyOf(g.verifierKeys[i]!);
      expect(type).toBe(1);
      expect(s.keyId).toBe(keyId(s.name, Uint8Array.of(1, ...key)));
      expect(await ed.verifyAsync(s.signature, text, key)).toBe(true);
    }
    // The C2SP example too.
    const c = notes!.signedNote[1];
    const parsed = parseNote(c.note);
    const { key } = publicKeyOf(c.verifierKeys[0]!);
    expect(await ed.verifyAsync(parsed.signatures[0]!.signature, enc.encode(parsed.text), key)).toBe(true);
  });

  test('each cosignature is timestamp || Ed25519 over "cosignature/v1\\ntime <t>\\n" + body, under a 0x04 key ID', async () => {
    for (const c of notes!.cosignatureV1) {
      const sig = parseNote(`${c.checkpointBody}\n${c.signatureLine}\n`).signatures[0]!;
      const { type, key } = publicKeyOf(c.verifierKey);
      expect(type).toBe(0x04);
      expect(sig.keyId).toBe(keyId(sig.name, Uint8Array.of(0x04, ...key)));
      expect(sig.signature).toHaveLength(72);
      const ts = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0);
      expect(ts).toBe(BigInt(c.timestamp));
      const message = cosignatureMessage(c.checkpointBody, c.timestamp);
      expect(new TextDecoder().decode(message)).toBe(`cosignature/v1\ntime ${c.timestamp}\n${c.checkpointBody}`);
      expect(await ed.verifyAsync(sig.signature.subarray(8), message, key)).toBe(true);
      // Domain separation: the same signature is not one over the bare body or another time.
      expect(await ed.verifyAsync(sig.signature.subarray(8), enc.encode(c.checkpointBody), key)).toBe(false);
      expect(await ed.verifyAsync(sig.signature.subarray(8), cosignatureMessage(c.checkpointBody, c.timestamp + 1), key)).toBe(false);
      expect(verifyCosignature(c.checkpointBody, sig, c.verifierKey).timestamp).toBe(c.timestamp);
    }
    expect(notes!.cosignatureV1[0]!.signedMessage).toBe('cosignature/v1\ntime 1767139200\n + checkpointBody');
  });
});

describeVectors('witness add-checkpoint example (litewitness)', () => {
  const w = (): SignedNoteVectors['witnessAddCheckpoint'] => notes!.witnessAddCheckpoint;

  test('the 1 -> 3 consistency proof ties the two signed checkpoints', () => {
    const v = parseVerifierKey(w().verifierKey);
    const [c1, c3] = w().checkpoints.map((c) => {
      const signed = `${w().origin}\n${c.size}\n${c.root}\n\n\u2014 ${w().origin} ${c.signature}\n`;
      return openCheckpoint(signed, v).checkpoint;
    }) as [ReturnType<typeof openCheckpoint>['checkpoint'], ReturnType<typeof openCheckpoint>['checkpoint']];
    expect([c1.size, c3.size]).toEqual([1, 3]);
    const proof = w().consistencyProof1to3.map(fromBase64);
    verifyConsistency(c1.size, c3.size, proof, c1.root, c3.root);
    // The proof is what this package makes for a 3-leaf tree whose leaf hashes are root1, proof[0], proof[1].
    const leaves: Hash[] = [c1.root, proof[0]!, proof[1]!];
    const reader = {
      readNodes: (ids: readonly NodeId[]) =>
        ids.map(({ level, index }) => rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))),
    };
    expect(proveConsistencySync(reader, 1, 3).map(toHex)).toEqual(proof.map(toHex));
    expect(toHex(rootFromLeafHashes(leaves))).toBe(toHex(c3.root));
  });

  test('any flipped bit, swapped element, or wrong size makes the 1 -> 3 proof fail', () => {
    const [r1, r3] = w().checkpoints.map((c) => fromBase64(c.root)) as [Hash, Hash];
    const proof = w().consistencyProof1to3.map(fromBase64);
    for (let bit = 0; bit < 256; bit++) {
      for (let j = 0; j < proof.length; j++) {
        const bad = proof.slice();
        bad[j] = flipBit(proof[j]!, bit);
        expect(() => verifyConsistency(1, 3, bad, r1, r3)).toThrow(ProofError);
      }
      expect(() => verifyConsistency(1, 3, proof, flipBit(r1, bit), r3)).toThrow(ProofError);
      expect(() => verifyConsistency(1, 3, proof, r1, flipBit(r3, bit))).toThrow(ProofError);
    }
    expect(() => verifyConsistency(1, 3, [proof[1]!, proof[0]!], r1, r3)).toThrow(ProofError);
    expect(() => verifyConsistency(1, 3, proof.slice(0, 1), r1, r3)).toThrow(ProofError);
    expect(() => verifyConsistency(1, 3, [...proof, r3], r1, r3)).toThrow(ProofError);
    // (1 -> 4 is not in the list: RFC 9162's verifier takes the same steps for it as for 1 -> 3,
    // so the sizes alone cannot tell them apart; the signed roots do.)
    for (const [a, b] of [
      [2, 3],
      [1, 5],
      [1, 2],
      [3, 3],
      [0, 3],
      [3, 1],
    ] as const) {
      expect(() => verifyConsistency(a, b, proof, r1, r3), `${a} -> ${b}`).toThrow(ProofError);
    }
    // And the checkpoints, with their signatures swapped, do not open.
    const v = parseVerifierKey(w().verifierKey);
    const [c1, c3] = w().checkpoints;
    expect(() => openNote(`${w().origin}\n1\n${c1!.root}\n\n\u2014 ${w().origin} ${c3!.signature}\n`, [v])).toThrow(/invalid signature/);
  });
});
