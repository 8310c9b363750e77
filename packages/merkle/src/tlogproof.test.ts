import { describe, expect, it } from 'vitest';
import { describeVectors, tlogReference } from '../../../test/support/vectors.js';
import { formatCheckpoint } from './checkpoint.js';
import { generateCosignatureKey, parseCosignerKey } from './cosignature.js';
import { fromHex, toBase64, toHex } from './encoding.js';
import { MerkleArgumentError, MerkleDataError, NoteError, ProofError, SignatureError } from './errors.js';
import type { Hash } from './hash.js';
import { defaultHasher } from './hash.js';
import { generateEd25519Key, parseSignerKey, parseVerifierKey } from './key.js';
import { formatNote, parseNote, signNote } from './note.js';
import { formatTlogProof, parseTlogProof, TLOG_PROOF_HEADER, tlogProofFormatter, verifyTlogProof } from './tlogproof.js';

const h = defaultHasher;
const enc = new TextEncoder();
// A hand-built 3-leaf tree: root = H(H(l0, l1), l2). Proof for leaf 2 is [H(l0, l1)]; for leaf 0, [l1, l2].
const entries = ['zero', 'one', 'two'].map((s) => enc.encode(s));
const leaves = entries.map((e) => h.hashLeaf(e));
const n01 = h.hashChildren(leaves[0]!, leaves[1]!);
const root = h.hashChildren(n01, leaves[2]!);

const logKeys = generateEd25519Key('example.com/log', new Uint8Array(32).fill(1));
const log = parseVerifierKey(logKeys.verifierKey);
const text = formatCheckpoint({ origin: 'example.com/log', size: 3, root, extensions: [] });
const w1k = generateCosignatureKey('witness.example/1', new Uint8Array(32).fill(11));
const w2k = generateCosignatureKey('witness.example/2', new Uint8Array(32).fill(12));
const w3k = generateCosignatureKey('witness.example/3', new Uint8Array(32).fill(13));
const [w1, w2, w3] = [w1k, w2k, w3k].map((k) => parseVerifierKey(k.verifierKey)) as [
  ReturnType<typeof parseVerifierKey>,
  ReturnType<typeof parseVerifierKey>,
  ReturnType<typeof parseVerifierKey>,
];
const logSigned = signNote(text, [parseSignerKey(logKeys.signerKey)]);
// The log's signature followed by cosignatures of witnesses 1 and 2.
const cosigned = formatNote({
  text,
  signatures: [
    ...parseNote(logSigned).signatures,
    parseCosignerKey(w1k.signerKey).cosign(text, 1700000000),
    parseCosignerKey(w2k.signerKey).cosign(text, 1700000001),
  ],
});
const receipt = (index: number, proof: Hash[], checkpoint = cosigned): string => formatTlogProof({ index, proof, checkpoint });

describe('formatTlogProof / parseTlogProof', () => {
  it('writes the C2SP layout and parses it back', () => {
    const r = formatTlogProof({ extra: enc.encode('ctx'), index: 2, proof: [n01], checkpoint: logSigned });
    expect(r).toBe(`${TLOG_PROOF_HEADER}\nextra ${toBase64(enc.encode('ctx'))}\nindex 2\n${toBase64(n01)}\n\n${logSigned}`);
    const p = parseTlogProof(r);
    expect(p).toEqual({ extra: enc.encode('ctx'), index: 2, proof: [n01], checkpoint: logSigned });
    expect(parseTlogProof(enc.encode(r))).toEqual(p);
  });

  it('handles no extra and an empty proof', () => {
    const r = formatTlogProof({ index: 0, proof: [], checkpoint: logSigned });
    expect(r).toBe(`${TLOG_PROOF_HEADER}\nindex 0\n\n${logSigned}`);
    const p = parseTlogProof(r);
    expect(p.extra).toBeUndefined();
    expect(p.proof).toEqual([]);
  });

  const good = receipt(2, [n01]);
  const hashLine = toBase64(n01);
  it.each([
    ['bad header', good.replace(TLOG_PROOF_HEADER, 'c2sp.org/tlog-proof@v2')],
    ['header with trailing space', good.replace(TLOG_PROOF_HEADER, TLOG_PROOF_HEADER + ' ')],
    ['empty input', ''],
    ['header only', `${TLOG_PROOF_HEADER}\n`],
    ['missing index line', good.replace('index 2\n', '')],
    ['leading-zero index', good.replace('index 2\n', 'index 02\n')],
    ['negative index', good.replace('index 2\n', 'index -2\n')],
    ['index with two spaces', good.replace('index 2\n', 'index  2\n')],
    ['index beyond 2^53-1', good.replace('index 2\n', 'index 9007199254740992\n')],
    ['extra after index', good.replace('index 2\n', 'index 2\nextra AAAA\n')],
    ['bad extra base64', good.replace('index 2\n', 'extra A\nindex 2\n')],
    ['bad hash base64', good.replace(hashLine, hashLine.slice(0, -2) + '*=')],
    ['hash of 31 bytes', good.replace(hashLine, toBase64(n01.subarray(1)))],
    ['hash of 33 bytes', good.replace(hashLine, toBase64(new Uint8Array(33)))],
    ['missing blank line and checkpoint', good.slice(0, good.indexOf('\n\n') + 1)],
    ['missing checkpoint', good.slice(0, good.indexOf('\n\n') + 2)],
    ['checkpoint not a signed note', good.slice(0, good.indexOf('\n\n') + 2) + text],
  ])('rejects %s', (_d, r) => {
    expect(() => parseTlogProof(r)).toThrow(NoteError);
  });

  it('rejects bytes that are not UTF-8', () => {
    const b = enc.encode(good);
    b[3] = 0xff;
    expect(() => parseTlogProof(b)).toThrow(/UTF-8/);
  });

  it('formatTlogProof refuses bad input', () => {
    expect(() => formatTlogProof({ index: -1, proof: [], checkpoint: logSigned })).toThrow(MerkleArgumentError);
    expect(() => formatTlogProof({ index: 0, proof: [n01.subarray(1)], checkpoint: logSigned })).toThrow(/31 bytes/);
    expect(() => formatTlogProof({ index: 0, proof: [n01.subarray(1)], checkpoint: logSigned })).toThrow(MerkleArgumentError);
    expect(() => formatTlogProof({ index: 0, proof: [], checkpoint: text })).toThrow(MerkleArgumentError);
  });

  it('tlogProofFormatter checks the checkpoint once and formats exactly what formatTlogProof does', () => {
    expect(() => tlogProofFormatter(text)).toThrow(MerkleArgumentError);
    const format = tlogProofFormatter(logSigned);
    for (const [index, proof] of [
      [0, [n01]],
      [2, []],
      [7, [n01, n01]],
    ] as const) {
      expect(format(index, proof)).toBe(formatTlogProof({ index, proof, checkpoint: logSigned }));
    }
    expect(() => format(-1, [])).toThrow(MerkleArgumentError);
    expect(() => format(0, [n01.subarray(1)])).toThrow(/31 bytes/);
  });
});

describe('verifyTlogProof', () => {
  it('verifies each entry of the 3-leaf tree against the log key', () => {
    const proofs = [[leaves[1]!, leaves[2]!], [leaves[0]!, leaves[2]!], [n01]];
    for (let i = 0; i < 3; i++) {
      const res = verifyTlogProof(receipt(i, proofs[i]!), entries[i]!, { log });
      expect(res.index).toBe(i);
      expect(res.leafHash).toEqual(leaves[i]);
      expect(res.checkpoint.size).toBe(3);
      // A parsed receipt works as well as its text.
      expect(verifyTlogProof(parseTlogProof(receipt(i, proofs[i]!)), entries[i]!, { log }).index).toBe(i);
    }
  });

  it('rejects a different entry, index or proof', () => {
    expect(() => verifyTlogProof(receipt(2, [n01]), enc.encode('TWO'), { log })).toThrow(ProofError);
    expect(() => verifyTlogProof(receipt(1, [n01]), entries[2]!, { log })).toThrow(ProofError);
    expect(() => verifyTlogProof(receipt(3, [n01]), entries[2]!, { log })).toThrow(ProofError);
    expect(() => verifyTlogProof(receipt(2, []), entries[2]!, { log })).toThrow(ProofError);
    expect(() => verifyTlogProof(receipt(2, [leaves[0]!]), entries[2]!, { log })).toThrow(ProofError);
  });

  it('requires the log signature and origin', () => {
    const other = parseVerifierKey(generateEd25519Key('example.com/log', new Uint8Array(32).fill(2)).verifierKey);
    expect(() => verifyTlogProof(receipt(2, [n01]), entries[2]!, { log: other })).toThrow(SignatureError);
    expect(() => verifyTlogProof(receipt(2, [n01]), entries[2]!, { log, origin: 'example.com/else' })).toThrow(/origin/);
    // Only a witness signed: the log signature is missing.
    const onlyWitness = formatNote({ text, signatures: parseNote(cosigned).signatures.slice(1) });
    expect(() => verifyTlogProof(receipt(2, [n01], onlyWitness), entries[2]!, { log, witnesses: [w1, w2] })).toThrow(
      /not signed by the log/,
    );
  });

  it('counts distinct witnesses that validly cosigned against the quorum', () => {
    const r = receipt(2, [n01]);
    expect(verifyTlogProof(r, entries[2]!, { log, witnesses: [w1, w2, w3], quorum: 2 }).index).toBe(2);
    expect(verifyTlogProof(r, entries[2]!, { log, witnesses: [w1], quorum: 1 }).index).toBe(2);
    expect(() => verifyTlogProof(r, entries[2]!, { log, witnesses: [w1, w2, w3], quorum: 3 })).toThrow(SignatureError);
    expect(() => verifyTlogProof(r, entries[2]!, { log, witnesses: [w3], quorum: 1 })).toThrow(/cosigned by 0 of the 1/);
    // A witness listed twice counts once.
    expect(() => verifyTlogProof(r, entries[2]!, { log, witnesses: [w1, w1], quorum: 2 })).toThrow(SignatureError);
    // Without witnesses in the policy the default quorum 0 holds, whatever cosignatures are present.
    expect(verifyTlogProof(r, entries[2]!, { log }).index).toBe(2);
    expect(() => verifyTlogProof(r, entries[2]!, { log, quorum: 1 })).toThrow(SignatureError);
    // The policy is the caller's argument, the receipt is data.
    expect(() => verifyTlogProof(r, entries[2]!, { log, quorum: -1 })).toThrow(MerkleArgumentError);
    expect(() => verifyTlogProof(r, entries[2]!, { log, witnesses: [log], quorum: 0 })).toThrow(MerkleArgumentError);
    expect(() => verifyTlogProof({ ...parseTlogProof(r), index: -1 }, entries[2]!, { log })).toThrow(NoteError);
    expect(() => verifyTlogProof(r, entries[1]!, { log })).toThrow(MerkleDataError);
  });

  it('rejects a receipt whose trusted witness cosignature is invalid', () => {
    const sigs = parseNote(cosigned).signatures;
    const bad = Uint8Array.from(sigs[2]!.signature);
    bad[20]! ^= 4;
    const tampered = formatNote({ text, signatures: [sigs[0]!, sigs[1]!, { ...sigs[2]!, signature: bad }] });
    expect(() => verifyTlogProof(receipt(2, [n01], tampered), entries[2]!, { log, witnesses: [w1, w2], quorum: 1 })).toThrow(
      SignatureError,
    );
    // Untrusted cosignatures are ignored.
    expect(verifyTlogProof(receipt(2, [n01], tampered), entries[2]!, { log, witnesses: [w1], quorum: 1 }).index).toBe(2);
  });
});

describeVectors('verifyTlogProof on the tlog-reference tree', () => {
  it('receipts built from the Go inclusion proofs and signed checkpoints verify', () => {
    const ref = tlogReference();
    const v = parseVerifierKey(ref.signedNote.verifierKey);
    let checked = 0;
    for (const cp of ref.signedNote.checkpoints) {
      for (const inc of ref.inclusion.filter((x) => x.treeSize === cp.treeSize)) {
        const r = formatTlogProof({ index: inc.index, proof: inc.proof.map(fromHex), checkpoint: cp.note });
        const res = verifyTlogProof(r, fromHex(ref.leaves[inc.index]!), { log: v });
        expect(toHex(res.leafHash)).toBe(inc.leafHash);
        const wrong = fromHex(ref.leaves[(inc.index + 1) % cp.treeSize]!);
        if (cp.treeSize > 1 && ref.leaves[(inc.index + 1) % cp.treeSize] !== ref.leaves[inc.index]) {
          expect(() => verifyTlogProof(r, wrong, { log: v })).toThrow(ProofError);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3);
  });
});
