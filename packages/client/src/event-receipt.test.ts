import type { EventReceipt, EventRecord } from '@tlog/events';
import { eventLeaf, parseEventInput } from '@tlog/events';
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
  parseTlogProof,
  proveInclusionSync,
  signNote,
  toBase64,
} from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { MemoryTree } from '../../../test/support/fake-log.js';
import { ArgumentError, VerificationError } from './errors.js';
import { verifyEventReceipt } from './event-receipt.js';

const ORIGIN = 'example.com/events';
const log = generateEd25519Key(ORIGIN, new Uint8Array(32).fill(1));
const sameName = generateEd25519Key(ORIGIN, new Uint8Array(32).fill(2));
const witness = generateCosignatureKey('witness.example', new Uint8Array(32).fill(3));
const enc = new TextEncoder();

const record: EventRecord = {
  ...parseEventInput({
    action: 'user.login',
    actor: { type: 'user', id: 'alice', name: 'Alice' },
    targets: [{ type: 'app', id: 'console' }],
    outcome: 'success',
    occurred_at: '2026-12-01T18:04:05.123+01:00',
    tenant: 'acme',
    metadata: { attempt: 2 },
  }),
  id: 'ev-1',
  received_at: '2026-12-01T17:04:06.000Z',
};
const salt = new Uint8Array(32).fill(9);

/**
 * A valid receipt for `record` at index 5 of a 9-entry tree whose other entries are raw bytes,
 * signed by the log key (and cosigned by the witness if asked).
 */
function validReceipt(options: { witness?: boolean } = {}): EventReceipt {
  const { entry } = eventLeaf(record, salt);
  const tree = new MemoryTree(Array.from({ length: 9 }, (_, i) => (i === 5 ? entry : enc.encode(`raw ${i}`))));
  const text = formatCheckpoint({ origin: ORIGIN, size: tree.size, root: tree.root(), extensions: [] });
  let note = signNote(text, [parseSignerKey(log.signerKey)]);
  if (options.witness === true) {
    note = formatNote({
      text,
      signatures: [...parseNote(note).signatures, parseCosignerKey(witness.signerKey).cosign(text, 1_700_000_000)],
    });
  }
  return {
    record,
    salt: toBase64(salt),
    index: 5,
    leafHash: toBase64(defaultHasher.hashLeaf(entry)),
    proof: formatTlogProof({ index: 5, proof: proveInclusionSync(tree.reader, 5, tree.size), checkpoint: note }),
  };
}

/** A receipt as JSON, open to any change. */
type Editable = Record<string, unknown> & { record?: Record<string, unknown> };

/** The receipt as JSON, changed by `edit` (a deep copy: the valid one stays intact). */
function changed(edit: (r: Editable) => void): unknown {
  const copy = JSON.parse(JSON.stringify(validReceipt())) as Editable;
  edit(copy);
  return copy;
}

/** The VerificationError `f` throws (the test fails if it throws nothing or something else). */
function refusal(f: () => unknown): VerificationError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(VerificationError);
  return err as VerificationError;
}

describe('verifyEventReceipt', () => {
  it('accepts a valid receipt, as an object or as JSON text, and says what it proves', () => {
    const receipt = validReceipt();
    for (const r of [
      verifyEventReceipt(receipt, log.verifierKey),
      verifyEventReceipt(JSON.stringify(receipt), [sameName.verifierKey, log.verifierKey]),
    ]) {
      expect(r.record).toEqual(record);
      expect(r.index).toBe(5);
      expect(toBase64(r.leafHash)).toBe(receipt.leafHash);
      expect(r.checkpoint.size).toBe(9);
      expect(r.checkpoint.origin).toBe(ORIGIN);
      expect(r.logKey).toBe(log.verifierKey);
    }
  });

  it.each<[string, (r: Editable) => void, RegExp]>([
    ['the action changed', (r) => (r.record!.action = 'user.logout'), /do not commit to its leafHash/],
    ['the actor id changed', (r) => ((r.record!.actor as Record<string, unknown>).id = 'mallory'), /do not commit/],
    ['received_at changed', (r) => (r.record!.received_at = '2026-12-01T17:04:06.001Z'), /do not commit/],
    ['the metadata changed', (r) => (r.record!.metadata = { attempt: 3 }), /do not commit/],
    ['the tenant removed', (r) => delete r.record!.tenant, /do not commit/],
    ['a field added to the record', (r) => (r.record!.extra = 1), /malformed: record: unknown field "extra"/],
    ['another salt', (r) => (r.salt = toBase64(new Uint8Array(32).fill(8))), /do not commit/],
    ['a shortened salt', (r) => (r.salt = toBase64(new Uint8Array(31))), /malformed: salt/],
    ['another index', (r) => (r.index = 4), /says index 4, but its proof is for index 5/],
    ['another leaf hash', (r) => (r.leafHash = toBase64(new Uint8Array(32))), /do not commit to its leafHash/],
    ['a leaf hash that is not base64', (r) => (r.leafHash = 'nope'), /malformed: leafHash/],
    [
      'a proof hash changed',
      (r) => {
        const p = parseTlogProof(r.proof as string);
        const hashes = p.proof.map((h) => h.slice());
        hashes[0]![0]! ^= 1;
        r.proof = formatTlogProof({ ...p, proof: hashes });
      },
      /does not verify/,
    ],
    [
      'the proof index and the index changed together',
      (r) => {
        const p = parseTlogProof(r.proof as string);
        r.proof = formatTlogProof({ ...p, index: 4 });
        r.index = 4;
      },
      /does not verify/,
    ],
    [
      'the checkpoint signature changed',
      (r) => (r.proof = (r.proof as string).replace(/\n— (\S+) (\S)/, (_m, n: string, c: string) => `\n— ${n} ${c === 'A' ? 'B' : 'A'}`)),
      /does not verify/,
    ],
    ['a truncated proof', (r) => (r.proof = 'c2sp.org/tlog-proof@v1\nindex 5\n'), /proof is malformed/],
    ['no record', (r) => delete r.record, /malformed: record/],
  ])('refuses a receipt with %s', (_what, edit, message) => {
    expect(refusal(() => verifyEventReceipt(changed(edit), log.verifierKey)).message).toMatch(message);
  });

  it('refuses another key, a key for another origin, and text that is not JSON', () => {
    expect(refusal(() => verifyEventReceipt(validReceipt(), sameName.verifierKey)).message).toMatch(/does not verify/);
    expect(refusal(() => verifyEventReceipt(validReceipt(), generateEd25519Key('other.example/log').verifierKey)).message).toMatch(
      /no trusted log key/,
    );
    expect(refusal(() => verifyEventReceipt('{"record":', log.verifierKey)).message).toMatch(/not JSON/);
    expect(refusal(() => verifyEventReceipt(null, log.verifierKey)).message).toMatch(/malformed/);
  });

  it('applies the witness policy, and refuses a bad key as the caller’s mistake', () => {
    expect(refusal(() => verifyEventReceipt(validReceipt(), log.verifierKey, { witnesses: [witness.verifierKey] })).message).toMatch(
      /cosigned by 0/,
    );
    expect(verifyEventReceipt(validReceipt({ witness: true }), log.verifierKey, { witnesses: [witness.verifierKey] }).index).toBe(5);
    expect(() => verifyEventReceipt(validReceipt(), 'not a key')).toThrow(ArgumentError);
  });
});
