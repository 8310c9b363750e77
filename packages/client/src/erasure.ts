/**
 * Erased events (docs/events.md; internal, {@link LogClient.eraseEvent} and getEvent call these).
 * Erasure deletes an event's record and salt and keeps a tombstone; its entry stays in the tree,
 * so the log still proves the leaf at its index. What "verified" means here: the leaf hash the
 * log names is the one its signed tree has at that index, proven by an inclusion proof in a
 * checkpoint signed by the pinned key (or read from the authenticated hash tiles), and the
 * checkpoints are consistent with each other and with the caller's trusted one.
 */
import type { Hash, TlogProof } from '@tlog/merkle';
import { bytesEqual, parseTlogProof, toBase64 } from '@tlog/merkle';
import { decodeHash, eraseAnswer, erasedAnswer, parseAnswer } from './api-answers.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { fetchLatestCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import { ArgumentError, EventErasedError, LogFetchError, NotFoundError, ProtocolError } from './errors.js';
import type { EventKey } from './event-arguments.js';
import type { EventContext, EventReadOptions } from './events.js';
import { fetchJsonAnswer, joinUrl } from './http.js';
import { verifiedInclusion } from './inclusion.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';
import { ConsistentCheckpoints } from './served-events.js';
import { readTiles } from './tiles.js';

/** Longest erasure reason the log takes, in characters. */
export const MAX_ERASE_REASON = 500;

/**
 * Who erased an event: the API key used (its id and name), or the retention rule that expired
 * it (its id, or the rule itself as the log sends it).
 */
export type ErasedBy =
  | { readonly key_id: string; readonly key_name: string }
  | { readonly rule: string | { readonly id: string; readonly [field: string]: unknown } };

/** What the log keeps of an erased event besides its entry: when, why and by whom. JSON field names as the log sends them. */
export interface EventTombstone {
  /** When the event was erased (RFC 3339). */
  readonly erased_at: string;
  /** Why, as the eraser wrote it (1..500 characters). */
  readonly reason: string;
  readonly by: ErasedBy;
}

/** An erased event as a read of it answers (410), verified: its leaf is still in the log at `index`. */
export interface ErasedEvent {
  /** The erased event's index in the log. */
  readonly index: number;
  /** The RFC 6962 leaf hash of its entry, proven at `index` in `checkpoint`. */
  readonly leafHash: Hash;
  readonly tombstone: EventTombstone;
  /** The verified checkpoint the inclusion proof is for. */
  readonly checkpoint: VerifiedCheckpoint;
  /** The c2sp.org/tlog-proof@v1 text the log served for the leaf (verified). */
  readonly proof: string;
}

/** What {@link LogClient.eraseEvent} verified: the log erased the event whose leaf its signed tree has at `index`. */
export interface EventErasure {
  /** The erased event's index. */
  readonly index: number;
  /** The leaf hash of its entry, equal to the one in the level-0 hash tile of `checkpoint` at `index`. */
  readonly leafHash: Hash;
  readonly tombstone: EventTombstone;
  /** The verified checkpoint the leaf hash was checked against (the log's latest). */
  readonly checkpoint: VerifiedCheckpoint;
}

/** Options of {@link LogClient.eraseEvent}. */
export interface EraseEventOptions extends EventReadOptions {
  /** The tenant an id is looked up in (ids are unique per tenant); none when absent. Ignored for an index. */
  readonly tenant?: string;
}

/** An erasure reason, checked: a string of 1..{@link MAX_ERASE_REASON} characters that is not only blank. */
export function checkEraseReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_ERASE_REASON) {
    throw new ArgumentError(
      `an erasure needs a reason of 1 to ${MAX_ERASE_REASON} characters, got ${typeof reason === 'string' ? `${reason.length} characters${reason.length > 0 ? ' of blanks' : ''}` : typeof reason}`,
    );
  }
  return reason;
}

/** The event's path under the log's URL, with its query (tenant for an id, then `extra`). */
export function eventUrl(base: string, key: EventKey, extra: readonly [string, string][] = []): string {
  const name = 'id' in key ? key.id : String(key.index);
  const params = new URLSearchParams([
    ...('id' in key && key.tenant !== undefined ? [['tenant', key.tenant] as [string, string]] : []),
    ...extra,
  ]);
  const query = params.toString();
  return joinUrl(base, `v1/events/${encodeURIComponent(name)}${query === '' ? '' : `?${query}`}`);
}

/** How an event key reads in messages: `index 3`, `id "x" in tenant "acme"`. */
export function describeEventKey(key: EventKey): string {
  if (!('id' in key)) return `index ${key.index}`;
  return `id ${JSON.stringify(key.id)}${key.tenant === undefined ? '' : ` in tenant ${JSON.stringify(key.tenant)}`}`;
}

/**
 * Verifies the 410 answer for an erased event (see {@link ErasedEvent}): its shape and tombstone
 * (ProtocolError), both checkpoints' signatures ('bad-signature'), that the proof is for the
 * answer's index ('bad-proof') and, for an index asked, that it is the one asked ('bad-events'),
 * the inclusion of the leaf hash ('bad-proof'), and the checkpoints' consistency (with
 * `options.trusted` too).
 */
export async function verifyErasedAnswer(
  ctx: EventContext,
  body: unknown,
  from: { readonly url: string; readonly key: EventKey; readonly options: EventReadOptions },
): Promise<ErasedEvent> {
  const { log } = ctx;
  const { url, key } = from;
  const answer = parseAnswer(erasedAnswer, body, url);
  const leafHash = decodeHash(answer.leafHash, url);
  const checkpoint = verifyCheckpoint(log, answer.checkpoint);
  let proof: TlogProof;
  try {
    proof = parseTlogProof(answer.proof);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw new ProtocolError(`${url} answered an erased event with a malformed proof: ${errorMessage(e)}`, { url, cause: e });
  }
  const at = verifyCheckpoint(log, proof.checkpoint);
  const evidence = (details: Record<string, string | number>) => ({
    candidate: at.note,
    details: { url, index: answer.index, leafHash: answer.leafHash, ...details },
  });
  if (proof.index !== answer.index) {
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `the log says the erased event is at index ${answer.index}, but its tlog-proof is for index ${proof.index}`,
      evidence: evidence({ proof: answer.proof }),
    });
  }
  if ('index' in key && key.index !== answer.index) {
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `asked for the event at index ${key.index}, the log answered that the one at index ${answer.index} was erased`,
      evidence: evidence({ asked: key.index }),
    });
  }
  if (answer.index >= at.checkpoint.size) {
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `the log says an event at index ${answer.index} was erased, outside the tree of size ${at.checkpoint.size} of its proof`,
      evidence: evidence({ treeSize: at.checkpoint.size }),
    });
  }
  verifiedInclusion(log, at, { index: answer.index, leafHash, proof: proof.proof }, { what: 'of the erased event', details: { url } });
  const chain = new ConsistentCheckpoints(ctx, from.options);
  await chain.add(checkpoint);
  await chain.add(at);
  return { index: answer.index, leafHash, tombstone: answer.tombstone, checkpoint: at, proof: answer.proof };
}

/** The EventErasedError for a verified erased event asked for by `key`. */
export function erasedError(key: EventKey, erased: ErasedEvent): EventErasedError {
  const { tombstone: t } = erased;
  const by =
    'key_id' in t.by
      ? `key ${t.by.key_id} (${t.by.key_name})`
      : `retention rule ${typeof t.by.rule === 'string' ? t.by.rule : t.by.rule.id}`;
  return new EventErasedError(
    `the event at ${describeEventKey(key)} was erased at ${t.erased_at} by ${by} (reason: ${JSON.stringify(t.reason)}); its entry is still at index ${erased.index} of the log, proven in the tree of size ${erased.checkpoint.checkpoint.size}`,
    { erased },
  );
}

/**
 * DELETE /v1/events/{id or index}?reason=, verified (see {@link LogClient.eraseEvent}). Another
 * event than the one named is a ProtocolError; a leaf hash the signed tree does not have at the
 * answer's index is LogMisbehaviourError('bad-events').
 */
export async function eraseEvent(ctx: EventContext, key: EventKey, reason: string, options: EventReadOptions): Promise<EventErasure> {
  const { log } = ctx;
  const url = eventUrl(log.url, key, [['reason', reason]]);
  const asked = describeEventKey(key);
  let answered: { readonly status: number; readonly body: unknown };
  try {
    answered = await fetchJsonAnswer(log.http, url, { method: 'DELETE' }, [410]);
  } catch (e) {
    if (!(e instanceof LogFetchError)) throw e;
    if (e.status === 404) throw new NotFoundError(`the log has no event at ${asked} to erase (${errorMessage(e)})`, { cause: e });
    if (e.status === 400) throw new ArgumentError(`the log refused to erase the event at ${asked}: ${errorMessage(e)}`, { cause: e });
    if (e.status === 423) {
      throw new LogFetchError(
        `the log keeps the event at ${asked} for now (a legal hold, or the minimum retention): ${errorMessage(e)}; lift the hold or wait until the retention ends`,
        { url: e.url, status: e.status, cause: e },
      );
    }
    throw e;
  }
  if (answered.status === 410) throw erasedError(key, await verifyErasedAnswer(ctx, answered.body, { url, key, options }));
  const answer = parseAnswer(eraseAnswer, answered.body, url);
  if ('index' in key && answer.index !== key.index) {
    throw new ProtocolError(`${url} answered that it erased the event at index ${answer.index}, not the one asked for (${key.index})`, {
      url,
    });
  }
  const leafHash = decodeHash(answer.leafHash, url);
  const at = await fetchLatestCheckpoint(log);
  await new ConsistentCheckpoints(ctx, options).add(at);
  const size = at.checkpoint.size;
  if (answer.index >= size) {
    throw new ProtocolError(
      `${url} answered that it erased the event at index ${answer.index}, beyond its published tree of size ${size}`,
      {
        url,
      },
    );
  }
  const [inTree] = await readTiles(log, { at }, (reader) => reader.readNodes([{ level: 0, index: answer.index }]));
  if (!bytesEqual(inTree!, leafHash)) {
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `the log says it erased the event at index ${answer.index} with leaf hash ${answer.leafHash}, but its signed tree has ${toBase64(inTree!)} there`,
      evidence: { candidate: at.note, details: { url, index: answer.index, leafHash: answer.leafHash, treeLeafHash: toBase64(inTree!) } },
    });
  }
  return { index: answer.index, leafHash, tombstone: answer.tombstone, checkpoint: at };
}
