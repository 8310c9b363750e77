/**
 * Verifying the events a log serves (internal): each against the checkpoint it came with, its
 * record and salt against the proven leaf, the event against what was sent, and the checkpoints
 * of one call against each other and the caller's trusted one.
 */
import type { EventInput, EventReceipt, EventRecord } from '@tlog/events';
import { canonicalEvent, EventFormatError, eventLeaf, parseEventReceipt, parseEventRecord, SALT_SIZE } from '@tlog/events';
import type { Hash, TlogProof } from '@tlog/merkle';
import { bytesEqual, formatTlogProof, fromBase64, parseTlogProof, toBase64 } from '@tlog/merkle';
import type { z } from 'zod';
import type { eventLine } from './api-answers.js';
import { decodeHash } from './api-answers.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { verifyCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import { consistencyProof, verifiedConsistency } from './consistency.js';
import type { LogContext } from './context.js';
import { ProtocolError } from './errors.js';
import type { EventContext, EventReadOptions, VerifiedEvent } from './events.js';
import { verifiedInclusion } from './inclusion.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';

/**
 * The checkpoints one call meets, each proven consistent with the largest met before, starting
 * from the caller's trusted one: a larger one must extend it, a smaller one be a prefix of it.
 */
export class ConsistentCheckpoints {
  private largest: VerifiedCheckpoint | undefined;

  constructor(
    private readonly ctx: EventContext,
    private readonly options: EventReadOptions,
  ) {
    this.largest = options.trusted;
  }

  /** Proves `cp` consistent with the largest checkpoint seen so far (LogMisbehaviourError if it is not). */
  async add(cp: VerifiedCheckpoint): Promise<void> {
    const largest = this.largest;
    const source = this.options.source === undefined ? {} : { source: this.options.source };
    if (largest === undefined) this.largest = cp;
    else if (cp.checkpoint.size >= largest.checkpoint.size) {
      await consistencyProof(this.ctx.log, this.ctx.chooser, { from: largest, to: cp, ...source });
      this.largest = cp;
    } else await consistencyProof(this.ctx.log, this.ctx.chooser, { from: cp, to: largest, ...source });
  }

  /**
   * {@link add} for a checkpoint that came with a consistency proof from `from`, an earlier
   * checkpoint of the same answer (a stream's previous one): the proof is verified ('bad-proof'
   * or 'fork' if it does not), and when `from` is the largest seen so far nothing is fetched.
   * Requires from's size <= cp's size.
   */
  async addWithProof(cp: VerifiedCheckpoint, from: VerifiedCheckpoint, proof: readonly Hash[]): Promise<void> {
    await verifiedConsistency(this.ctx.log, { from, to: cp, proof });
    const largest = this.largest;
    const fromIsLargest =
      largest === undefined ||
      (largest.checkpoint.size === from.checkpoint.size && bytesEqual(largest.checkpoint.root, from.checkpoint.root));
    if (fromIsLargest) this.largest = cp;
    else await this.add(cp);
  }
}

/** An event line as served, with its record validated and its hash and salt decoded. */
export type ServedEventLine = Omit<ServedEvent, 'proof'> & { readonly inclusion?: readonly string[] };

/**
 * Validates and decodes one event line of an answer (a search result, an export line, a stream
 * frame): the record against the event schema, the salt (32 bytes), the leaf hash. A
 * ProtocolError naming `where` (e.g. `events[3]`) otherwise. Nothing is verified yet.
 */
export function parseServedEvent(value: z.infer<typeof eventLine>, where: string, url: string): ServedEventLine {
  let record: EventRecord;
  try {
    record = parseEventRecord(value.record, `${where}.record`);
  } catch (e) {
    if (!(e instanceof EventFormatError)) throw e;
    throw new ProtocolError(`${url} answered a malformed event: ${errorMessage(e)}`, { url, cause: e });
  }
  let salt: Uint8Array | undefined;
  try {
    salt = fromBase64(value.salt);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
  }
  if (salt?.length !== SALT_SIZE) {
    throw new ProtocolError(`${url} answered a malformed event: ${where}.salt is not base64 of ${SALT_SIZE} bytes`, { url });
  }
  return {
    record,
    salt: value.salt,
    index: value.index,
    leafHash: decodeHash(value.leafHash, url),
    ...(value.inclusion ? { inclusion: value.inclusion } : {}),
  };
}

/** An event as an answer serves it, decoded but not yet verified. */
export interface ServedEvent {
  readonly record: EventRecord;
  /** The salt, base64 of 32 bytes (checked by the parser). */
  readonly salt: string;
  readonly index: number;
  /** The leaf hash the answer names. */
  readonly leafHash: Hash;
  /** The inclusion proof of `leafHash` at `index`. */
  readonly proof: readonly Hash[];
  /** The tlog-proof text as the log served it, kept verbatim in the receipt; made from `proof` if absent. */
  readonly proofText?: string;
}

/** Where a served event came from, for messages and ProtocolErrors. */
export interface ServedFrom {
  readonly url: string;
  /** What the event is, e.g. "the appended event", "result 3 of the page". */
  readonly what: string;
}

/**
 * Verifies a served event against `at`: the inclusion of its leaf hash at its index ('bad-proof'
 * if the proof does not verify), and that its record and salt commit to that leaf ('bad-events').
 */
export function verifyServedEvent(log: LogContext, at: VerifiedCheckpoint, ev: ServedEvent, from: ServedFrom): VerifiedEvent {
  const { index, leafHash, proof, record } = ev;
  const size = at.checkpoint.size;
  const evidence = (details: Record<string, string | number>) => ({
    candidate: at.note,
    proof: proof.map(toBase64),
    details: { index, treeSize: size, leafHash: toBase64(leafHash), ...details },
  });
  if (index >= size) {
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `${from.what} is at index ${index}, outside the tree of size ${size} of the checkpoint it came with`,
      evidence: evidence({ url: from.url }),
    });
  }
  verifiedInclusion(log, at, { index, leafHash, proof }, { what: `of ${from.what}`, details: { url: from.url } });
  checkCommitment(log, at, { ...ev, proof }, from);
  let proofText = ev.proofText;
  if (proofText === undefined) {
    try {
      proofText = formatTlogProof({ index, proof, checkpoint: at.note });
    } catch (e) {
      throw notDataError(e);
    }
  }
  return {
    index,
    id: record.id,
    leafHash,
    checkpoint: at,
    record,
    receipt: { record, salt: ev.salt, index, leafHash: toBase64(leafHash), proof: proofText },
  };
}

/**
 * Checks that an event's record and salt commit to `leafHash`, the leaf its index has in the tree
 * of `at` (established by the caller: an inclusion proof, an authenticated tile): 'bad-events'
 * if they do not; a ProtocolError for a record with no canonical form.
 */
export function checkCommitment(
  log: LogContext,
  at: VerifiedCheckpoint,
  ev: Omit<ServedEvent, 'proof' | 'proofText'> & { readonly proof?: readonly Hash[] },
  from: ServedFrom,
): void {
  const { index, leafHash, record } = ev;
  let entry: Uint8Array;
  try {
    entry = eventLeaf(record, fromBase64(ev.salt)).entry;
  } catch (e) {
    if (!(e instanceof EventFormatError)) throw e;
    throw new ProtocolError(`${from.url} answered ${from.what} with a record that has no commitment: ${errorMessage(e)}`, {
      url: from.url,
      cause: e,
    });
  }
  const computed = log.hasher.hashLeaf(entry);
  if (bytesEqual(computed, leafHash)) return;
  throw misbehaviour(log, {
    kind: 'bad-events',
    message: `the record and salt of ${from.what} do not commit to the leaf at index ${index}: they give leaf hash ${toBase64(computed)}, the tree has ${toBase64(leafHash)}`,
    evidence: {
      candidate: at.note,
      ...(ev.proof === undefined ? {} : { proof: ev.proof.map(toBase64) }),
      details: {
        index,
        treeSize: at.checkpoint.size,
        leafHash: toBase64(leafHash),
        url: from.url,
        computedLeafHash: toBase64(computed),
        record: JSON.stringify(record),
        salt: ev.salt,
      },
    },
  });
}

/**
 * Verifies an event receipt inside an answer: its shape (ProtocolError), its checkpoint's
 * signature ('bad-signature'), that its proof is for its index ('bad-proof'), and the event itself
 * as {@link verifyServedEvent} does.
 */
export function verifyAnsweredReceipt(log: LogContext, value: unknown, from: ServedFrom): VerifiedEvent {
  let receipt: EventReceipt;
  let proof: TlogProof;
  try {
    receipt = parseEventReceipt(value);
    proof = parseTlogProof(receipt.proof);
  } catch (e) {
    if (!(e instanceof EventFormatError) && !isDataError(e)) throw notDataError(e);
    throw new ProtocolError(`${from.url} answered ${from.what} with a malformed event receipt: ${errorMessage(e)}`, {
      url: from.url,
      cause: e,
    });
  }
  const at = verifyCheckpoint(log, proof.checkpoint);
  if (proof.index !== receipt.index) {
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `the receipt of ${from.what} says index ${receipt.index}, but its tlog-proof is for index ${proof.index}`,
      evidence: { candidate: at.note, details: { url: from.url, receipt: receipt.proof } },
    });
  }
  return verifyServedEvent(
    log,
    at,
    { ...receipt, leafHash: decodeHash(receipt.leafHash, from.url), proof: proof.proof, proofText: receipt.proof },
    from,
  );
}

/** The evidence details of an event that is not what was asked for. */
export function eventDetails(ev: VerifiedEvent, extra: Record<string, string | number>): Record<string, string | number> {
  return { index: ev.index, leafHash: toBase64(ev.leafHash), record: JSON.stringify(ev.record), ...extra };
}

/**
 * Whether `record` is the event `sent`, with only the id (when the caller gave none), the tenant
 * (when the caller gave none: an API key bound to a tenant sets its own) and received_at added.
 */
function isSentEvent(sent: EventInput, record: EventRecord): boolean {
  if (sent.id !== undefined && sent.id !== record.id) return false;
  const tenant = sent.tenant ?? record.tenant;
  const expected = canonicalEvent({ ...sent, ...(tenant !== undefined ? { tenant } : {}), id: record.id, received_at: record.received_at });
  return bytesEqual(expected, canonicalEvent(record));
}

/** 'bad-events' unless `ev` is the event `sent`. */
export function checkSentEvent(log: LogContext, sent: EventInput, ev: VerifiedEvent, what: string): void {
  if (isSentEvent(sent, ev.record)) return;
  throw misbehaviour(log, {
    kind: 'bad-events',
    message: `the log logged another event than ${what}: the record at index ${ev.index} differs from the event sent`,
    evidence: { candidate: ev.checkpoint.note, details: eventDetails(ev, { sent: JSON.stringify(sent) }) },
  });
}
