/** The offline check of an event receipt (docs/events.md, "The event receipt"). */
import type { EventReceipt, EventRecord } from '@tlog/events';
import { EventFormatError, eventReceiptEntry, parseEventReceipt } from '@tlog/events';
import type { Checkpoint, Hash, TlogProof } from '@tlog/merkle';
import { bytesEqual, defaultHasher, hashFromBase64, parseTlogProof, toBase64 } from '@tlog/merkle';
import { errorMessage } from './checks.js';
import { VerificationError } from './errors.js';
import { isDataError, notDataError } from './merkle-errors.js';
import type { ReceiptWitnessPolicy } from './receipt.js';
import { verifyReceipt } from './receipt.js';

/** What {@link verifyEventReceipt} established. */
export interface VerifiedEventReceipt {
  /** The event record the receipt proves, validated. */
  readonly record: EventRecord;
  /** The event's index in the log. */
  readonly index: number;
  /** The RFC 6962 leaf hash of the event's entry. */
  readonly leafHash: Hash;
  /** The checkpoint the event is proven to be in. */
  readonly checkpoint: Checkpoint;
  /** The trusted log key (as given) that signed the checkpoint. */
  readonly logKey: string;
  /** The receipt, validated (its record with the defaults filled in). */
  readonly receipt: EventReceipt;
}

/**
 * Offline check of an event receipt (a parsed JSON value, or its JSON text), as docs/events.md
 * specifies: the entry is recomputed from the record (RFC 8785) and salt; its RFC 6962 leaf hash
 * must equal `leafHash`, the tlog-proof's index must equal `index`, and the tlog-proof must prove
 * that entry in a checkpoint signed by one of trustedKeys, with the witnesses `policy` asks for
 * (see {@link verifyReceipt}). Throws VerificationError saying which step failed, or
 * ArgumentError if a key or the quorum given is not valid.
 */
export function verifyEventReceipt(
  receipt: unknown,
  trustedKeys: string | readonly string[],
  policy: ReceiptWitnessPolicy = {},
): VerifiedEventReceipt {
  let value = receipt;
  if (typeof receipt === 'string') {
    try {
      value = JSON.parse(receipt);
    } catch (e) {
      throw new VerificationError(`the event receipt is not JSON: ${errorMessage(e)}`, { cause: e });
    }
  }
  let parsed: EventReceipt;
  let entry: Uint8Array;
  try {
    parsed = parseEventReceipt(value);
    entry = eventReceiptEntry(parsed);
  } catch (e) {
    if (!(e instanceof EventFormatError)) throw e;
    throw new VerificationError(`the event receipt is malformed: ${errorMessage(e)}`, { cause: e });
  }
  let claimed: Hash;
  try {
    claimed = hashFromBase64(parsed.leafHash);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw new VerificationError(`the event receipt is malformed: leafHash: ${errorMessage(e)}`, { cause: e });
  }
  const leafHash = (policy.hasher ?? defaultHasher).hashLeaf(entry);
  if (!bytesEqual(leafHash, claimed)) {
    throw new VerificationError(
      `the event receipt's record and salt do not commit to its leafHash: they give the leaf hash ${toBase64(leafHash)}, the receipt says ${parsed.leafHash}`,
    );
  }
  let proof: TlogProof;
  try {
    proof = parseTlogProof(parsed.proof);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw new VerificationError(`the event receipt's proof is malformed: ${errorMessage(e)}`, { cause: e });
  }
  if (proof.index !== parsed.index) {
    throw new VerificationError(`the event receipt says index ${parsed.index}, but its proof is for index ${proof.index}`);
  }
  const r = verifyReceipt(proof, entry, trustedKeys, policy);
  return { record: parsed.record, index: r.index, leafHash: r.leafHash, checkpoint: r.checkpoint, logKey: r.logKey, receipt: parsed };
}
