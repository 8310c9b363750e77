import {
  defaultHasher,
  formatCheckpoint,
  formatNote,
  formatTlogProof,
  generateCosignatureKey,
  generateEd25519Key,
  parseCosignerKey,
  parseNote,
  parseSignerKey,
  rootFromLeafHashes,
  signNote,
} from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { VerificationError } from './errors.js';
import { verifyReceipt } from './receipt.js';

const enc = new TextEncoder();
const log = generateEd25519Key('example.com/log', new Uint8Array(32).fill(1));
const other = generateEd25519Key('example.com/log', new Uint8Array(32).fill(2));
const witness = generateCosignatureKey('witness.example', new Uint8Array(32).fill(3));

function receiptFor(entries: Uint8Array[], index: number, withWitness = false): string {
  const leaves = entries.map((e) => defaultHasher.hashLeaf(e));
  const root = rootFromLeafHashes(leaves);
  const text = formatCheckpoint({ origin: 'example.com/log', size: entries.length, root, extensions: [] });
  let note = signNote(text, [parseSignerKey(log.signerKey)]);
  if (withWitness)
    note = formatNote({
      text,
      signatures: [...parseNote(note).signatures, parseCosignerKey(witness.signerKey).cosign(text, 1_700_000_000)],
    });
  // Two leaves: the proof for index 0 is leaf 1 and vice versa.
  const proof = entries.length === 2 ? [leaves[1 - index]!] : [];
  return formatTlogProof({ index, proof, checkpoint: note });
}

describe('verifyReceipt', () => {
  const entries = [enc.encode('a'), enc.encode('b')];
  it('accepts a valid receipt with the right key', () => {
    const r = verifyReceipt(receiptFor(entries, 1), entries[1]!, [other.verifierKey, log.verifierKey]);
    expect(r.index).toBe(1);
    expect(r.checkpoint.size).toBe(2);
    expect(r.logKey).toBe(log.verifierKey);
  });
  it('refuses other bytes, another key, and a missing witness quorum', () => {
    const receipt = receiptFor(entries, 0);
    expect(() => verifyReceipt(receipt, enc.encode('b'), log.verifierKey)).toThrow(VerificationError);
    expect(() => verifyReceipt(receipt, entries[0]!, other.verifierKey)).toThrow(VerificationError);
    expect(() => verifyReceipt(receipt, entries[0]!, log.verifierKey, { witnesses: [witness.verifierKey] })).toThrow(VerificationError);
    expect(() => verifyReceipt('garbage', entries[0]!, log.verifierKey)).toThrow(VerificationError);
    expect(() => verifyReceipt(receipt, entries[0]!, generateEd25519Key('other.example/log').verifierKey)).toThrow(/no trusted log key/);
  });
  it('counts witness cosignatures', () => {
    const receipt = receiptFor(entries, 0, true);
    expect(verifyReceipt(receipt, entries[0]!, log.verifierKey, { witnesses: [witness.verifierKey], quorum: 1 }).index).toBe(0);
  });
});
