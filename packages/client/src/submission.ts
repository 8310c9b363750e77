/** Submitting entries and verifying the receipts the log answers with (internal). */
import type { Hash } from '@tlog/merkle';
import { bytesEqual, encodeEntryBundle, MAX_ENTRY_SIZE, parseTlogProof, verifyTlogProof } from '@tlog/merkle';
import { batchAnswer, decodeHash, parseAnswer, submitAnswer } from './api-answers.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { verifyCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ArgumentError, ProtocolError } from './errors.js';
import { fetchJson, joinUrl } from './http.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';

/** The verified answer to a submission. */
export interface VerifiedReceipt {
  /** The entry's index in the log. */
  readonly index: number;
  /** RFC 6962 leaf hash of the entry. */
  readonly leafHash: Hash;
  /** The verified checkpoint the receipt proves inclusion in. */
  readonly checkpoint: VerifiedCheckpoint;
  /** The receipt, a c2sp.org/tlog-proof@v1 text, to store beside the entry. */
  readonly receipt: string;
}

/** Checks an entry's size (ArgumentError naming it). */
function checkEntry(entry: Uint8Array, what: string): void {
  if (!(entry instanceof Uint8Array)) throw new ArgumentError(`${what} must be a Uint8Array, got ${typeof entry}`);
  if (entry.length > MAX_ENTRY_SIZE)
    throw new ArgumentError(`${what} is ${entry.length} bytes; an entry is at most ${MAX_ENTRY_SIZE} bytes`);
}

/** Verifies that `receipt` proves `entry` in a checkpoint of the log; 'bad-proof' if not. */
function verifyAnsweredReceipt(
  log: LogContext,
  answer: { readonly receipt: string; readonly checkpoint: string; readonly what: string },
  entry: Uint8Array,
) {
  try {
    return verifyTlogProof(answer.receipt, entry, { log: log.verifier, origin: log.origin }, log.hasher);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `the receipt for ${answer.what} does not verify: ${errorMessage(e)}`,
      evidence: { candidate: answer.checkpoint, details: { receipt: answer.receipt } },
      cause: e,
    });
  }
}

/**
 * POST /v1/entries with one entry (0..65535 bytes) and verifies the answer: the log's signature on
 * its checkpoint, the inclusion of exactly these bytes, and that the index, leaf hash and
 * checkpoint fields agree with the receipt.
 */
export async function submitEntry(log: LogContext, entry: Uint8Array): Promise<VerifiedReceipt> {
  const url = joinUrl(log.url, 'v1/entries');
  const body = await fetchJson(log.http, url, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(entry),
  });
  const answer = parseAnswer(submitAnswer, body, url);
  const checkpoint = verifyCheckpoint(log, answer.checkpoint);
  const verified = verifyAnsweredReceipt(log, { ...answer, what: 'the submitted entry' }, entry);
  const fieldsAgree =
    verified.index === answer.index &&
    bytesEqual(verified.leafHash, decodeHash(answer.leafHash, url)) &&
    verified.checkpoint.size === checkpoint.checkpoint.size &&
    bytesEqual(verified.checkpoint.root, checkpoint.checkpoint.root);
  if (!fieldsAgree) {
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `the submission answer disagrees with its receipt (index ${answer.index} vs ${verified.index}, or another leaf hash or checkpoint)`,
      evidence: { candidate: answer.checkpoint, details: { receipt: answer.receipt } },
    });
  }
  return { index: verified.index, leafHash: verified.leafHash, checkpoint, receipt: answer.receipt };
}

/**
 * POST /v1/entries/batch?receipts=1 with the entries as one entry bundle, verifying every receipt
 * as {@link submitEntry} does; the receipts come back in the order of the entries.
 */
export async function submitEntries(log: LogContext, entries: readonly Uint8Array[]): Promise<VerifiedReceipt[]> {
  const url = joinUrl(log.url, 'v1/entries/batch?receipts=1');
  const body = await fetchJson(log.http, url, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(encodeEntryBundle(entries)),
  });
  const answer = parseAnswer(batchAnswer, body, url);
  if (answer.count !== entries.length || answer.indexes.length !== entries.length || answer.receipts.length !== entries.length) {
    throw new ProtocolError(
      `${url} answered for ${answer.count} entries with ${answer.receipts.length} receipts, but ${entries.length} were sent`,
      { url },
    );
  }
  const checkpoint = verifyCheckpoint(log, answer.checkpoint);
  return entries.map((entry, i) => {
    const receipt = answer.receipts[i]!;
    const verified = verifyAnsweredReceipt(log, { receipt, checkpoint: answer.checkpoint, what: `batch entry ${i}` }, entry);
    if (verified.index !== answer.indexes[i] || verified.checkpoint.size > checkpoint.checkpoint.size) {
      throw misbehaviour(log, {
        kind: 'bad-proof',
        message: `the batch answer disagrees with the receipt of entry ${i} (index ${answer.indexes[i]} vs ${verified.index})`,
        evidence: { candidate: answer.checkpoint, details: { receipt } },
      });
    }
    const own = verified.checkpoint.size === checkpoint.checkpoint.size && bytesEqual(verified.checkpoint.root, checkpoint.checkpoint.root);
    const receiptCheckpoint = own ? checkpoint : { checkpoint: verified.checkpoint, note: parseTlogProof(receipt).checkpoint };
    return { index: verified.index, leafHash: verified.leafHash, checkpoint: receiptCheckpoint, receipt };
  });
}

/** Checks entries before a submission: one or more, each at most 65535 bytes (ArgumentError). */
export function checkEntries(entries: readonly Uint8Array[]): void {
  if (entries.length === 0) throw new ArgumentError('submitBatch needs at least one entry');
  entries.forEach((e, i) => {
    checkEntry(e, `entry ${i}`);
  });
}

/** Checks one entry before a submission: at most 65535 bytes (ArgumentError). */
export function checkSingleEntry(entry: Uint8Array): void {
  checkEntry(entry, 'the entry');
}
