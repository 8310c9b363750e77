import { fromBase64, toBase64 } from '@tlog/merkle';
import { z } from 'zod';
import { eventLeaf, SALT_SIZE } from './commitment.js';
import { EventFormatError } from './errors.js';
import { type EventRecord, parseEventRecord } from './schema.js';
import { formatError } from './zod-errors.js';

/**
 * An event receipt: the record, its salt, where it is in the log, and a c2sp.org/tlog-proof@v1
 * receipt of that leaf. Anyone holding the log's verifier key can check it offline: the
 * commitment of (salt, record) is the leaf at `index` of a tree the log signed.
 */
export interface EventReceipt {
  readonly record: EventRecord;
  /** The 32-byte salt, base64. */
  readonly salt: string;
  readonly index: number;
  /** The RFC 6962 leaf hash of the event's entry, base64. */
  readonly leafHash: string;
  /** The c2sp.org/tlog-proof@v1 text proving the entry at `index`. */
  readonly proof: string;
}

const receiptSchema = z.object({
  record: z.record(z.string(), z.unknown()),
  salt: z.string(),
  index: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  leafHash: z.string(),
  proof: z.string(),
});

/**
 * Validates a parsed JSON value as an event receipt (other fields, like a `checkpoint` beside
 * it, are ignored). Throws EventFormatError naming the field. Checks the shape only:
 * {@link eventReceiptEntry} and a tlog-proof verifier check what it proves.
 */
export function parseEventReceipt(value: unknown): EventReceipt {
  const r = receiptSchema.safeParse(value);
  if (!r.success) {
    throw formatError(r.error, '');
  }
  const record = parseEventRecord(r.data.record, 'record');
  let salt: Uint8Array;
  try {
    salt = fromBase64(r.data.salt);
  } catch {
    throw new EventFormatError('salt', 'is not base64');
  }
  if (salt.length !== SALT_SIZE) throw new EventFormatError('salt', `is ${salt.length} bytes; a salt is ${SALT_SIZE}`);
  return { record, salt: r.data.salt, index: r.data.index, leafHash: r.data.leafHash, proof: r.data.proof };
}

/** The log entry a receipt's record and salt commit to (what its tlog-proof must prove). */
export function eventReceiptEntry(receipt: EventReceipt): Uint8Array {
  return eventLeaf(receipt.record, fromBase64(receipt.salt)).entry;
}

/** A salt as base64 (as receipts and answers carry it). */
export function saltText(salt: Uint8Array): string {
  return toBase64(salt);
}
