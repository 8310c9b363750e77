/**
 * Audit events (docs/events.md): appending, reading and searching them, every answer verified
 * (internal; {@link LogClient}'s event methods call these). What "verified" means for an event:
 * its record and salt commit to the entry whose leaf hash the log proves at its index, in a
 * checkpoint signed by the pinned key and consistent with every other checkpoint of the call and
 * with the caller's trusted one, and the event is the one sent or asked for.
 */
import type { EventInput, EventReceipt, EventRecord } from '@tlog/events';
import { eventMatches, filterParams } from '@tlog/events';
import type { Hash, TileHashReader } from '@tlog/merkle';
import { bytesEqual, proveInclusion, toBase64 } from '@tlog/merkle';
import { appendEventAnswer, appendEventsAnswer, decodeHash, eventAnswer, eventPageAnswer, parseAnswer } from './api-answers.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { verifyCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { describeEventKey, erasedError, eventUrl, verifyErasedAnswer } from './erasure.js';
import { ArgumentError, LogFetchError, NotFoundError, ProtocolError } from './errors.js';
import type { EventKey, SearchQuery } from './event-arguments.js';
import { fetchJson, fetchJsonAnswer, joinUrl } from './http.js';
import { misbehaviour } from './misbehaviour.js';
import type { ProofOptions, ProofSourceChooser } from './proof-source.js';
import {
  ConsistentCheckpoints,
  checkSentEvent,
  eventDetails,
  parseServedEvent,
  verifyAnsweredReceipt,
  verifyServedEvent,
} from './served-events.js';
import { readTiles, tileReader } from './tiles.js';

/** Most events in one {@link LogClient.appendEvents} call (the API's limit). */
export const MAX_EVENT_BATCH = 1000;
/** Most results per page of a search (the API's limit). */
export const MAX_EVENT_PAGE_SIZE = 1000;
/** Results per page of a search unless {@link EventSearchOptions.pageSize} says otherwise. */
export const DEFAULT_EVENT_PAGE_SIZE = 100;

/**
 * An event to append, as a caller writes it: the fields of an EventInput (@tlog/events), with
 * those that have defaults (`targets`, `outcome`, `context`, `metadata`) optional.
 */
export type NewEvent = Omit<EventInput, 'targets' | 'outcome' | 'context' | 'metadata'> &
  Partial<Pick<EventInput, 'targets' | 'outcome' | 'context' | 'metadata'>>;

/** An event the log took, as a batch without receipts answers it: where it is, verified against the signed tree. */
export interface AppendedEvent {
  /** The event's index in the log. */
  readonly index: number;
  /** The event's id (the caller's, or the one the log made). */
  readonly id: string;
  /** The RFC 6962 leaf hash of the event's entry, the one the signed tree has at `index`. */
  readonly leafHash: Hash;
  /** The verified checkpoint whose tree has the event at `index`. */
  readonly checkpoint: VerifiedCheckpoint;
}

/** An event with its record, verified: it is in the log at `index` (see events.ts), and `receipt` proves it offline. */
export interface VerifiedEvent extends AppendedEvent {
  /** The logged record (with its defaults, id and received_at). */
  readonly record: EventRecord;
  /**
   * The event receipt: record, salt, index, leaf hash and a c2sp.org/tlog-proof@v1 text in
   * `checkpoint`. Store it as JSON; verifyEventReceipt checks it with the log's key alone.
   */
  readonly receipt: EventReceipt;
}

/** Options of every event method. */
export interface EventReadOptions extends ProofOptions {
  /**
   * A checkpoint the caller already trusts (say from a TrustedStateStore). Every checkpoint an
   * answer brings must be consistent with it (a larger one extends it, a smaller one is a prefix
   * of it), or the call throws LogMisbehaviourError. `source` says where those consistency
   * proofs come from. Without it, the checkpoints of one call are still checked against each other.
   */
  readonly trusted?: VerifiedCheckpoint;
}

/** Options of {@link LogClient.appendEvents}. */
export interface AppendEventsOptions extends EventReadOptions {
  /**
   * Ask for a receipt per event (POST /v1/events/batch?receipts=1; the log caps how many events
   * may have one). With receipts each result is a {@link VerifiedEvent}, its record checked
   * against the event sent; without, only where each event is (index and leaf hash, checked
   * against the authenticated hash tiles). Default false.
   */
  readonly receipts?: boolean;
}

/** Options of {@link LogClient.getEvent}. */
export interface GetEventOptions extends EventReadOptions {
  /** The tenant an id is looked up in (ids are unique per tenant); none when absent. Ignored for an index. */
  readonly tenant?: string;
}

/** Which way a search walks the log: `asc` oldest first, `desc` newest first. */
export type EventOrder = 'asc' | 'desc';

/** Options of {@link LogClient.searchEvents}. */
export interface EventSearchOptions extends EventReadOptions {
  /** Default 'asc'. */
  readonly order?: EventOrder;
  /** Results asked per request, 1..1000; default 100. A page may hold fewer. */
  readonly pageSize?: number;
  /**
   * Whether the log sends each result's inclusion proof (`proofs=1`, the default). With false the
   * client computes the proofs from hash tiles authenticated against the page's checkpoint: the
   * same verification, with fewer bytes from the JSON API and more tile reads.
   */
  readonly proofs?: boolean;
}

/** What the event functions share: the log, and its proof-source chooser for consistency proofs. */
export interface EventContext {
  readonly log: LogContext;
  readonly chooser: ProofSourceChooser;
}

/** POSTs a JSON body; a 409 (an id already logged with other content) is the caller's ArgumentError. */
async function postJson(log: LogContext, url: string, body: string): Promise<unknown> {
  try {
    return await fetchJson(log.http, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  } catch (e) {
    if (e instanceof LogFetchError && e.status === 409) {
      throw new ArgumentError(`${errorMessage(e)}; an event with that id is already logged with other content: give this one another id`, {
        cause: e,
      });
    }
    throw e;
  }
}

/** POST /v1/events with one validated event, verified (see {@link LogClient.appendEvent}). */
export async function appendEvent(ctx: EventContext, sent: EventInput, options: EventReadOptions): Promise<VerifiedEvent> {
  const { log } = ctx;
  const url = joinUrl(log.url, 'v1/events');
  const answer = parseAnswer(appendEventAnswer, await postJson(log, url, JSON.stringify(sent)), url);
  const checkpoint = verifyCheckpoint(log, answer.checkpoint);
  const ev = verifyAnsweredReceipt(log, answer.receipt, { url, what: 'the appended event' });
  if (answer.index !== ev.index || answer.id !== ev.id || !bytesEqual(decodeHash(answer.leafHash, url), ev.leafHash)) {
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `the answer to the appended event (index ${answer.index}, id ${JSON.stringify(answer.id)}) disagrees with its receipt`,
      evidence: { candidate: ev.checkpoint.note, details: eventDetails(ev, { answer: JSON.stringify({ ...answer, receipt: undefined }) }) },
    });
  }
  checkSentEvent(log, sent, ev, 'the one appended');
  const chain = new ConsistentCheckpoints(ctx, options);
  await chain.add(checkpoint);
  await chain.add(ev.checkpoint);
  return ev;
}

/** POST /v1/events/batch with validated events, verified (see {@link LogClient.appendEvents}). */
export async function appendEvents(
  ctx: EventContext,
  sent: readonly EventInput[],
  options: AppendEventsOptions,
): Promise<AppendedEvent[] | VerifiedEvent[]> {
  const { log } = ctx;
  const receipts = options.receipts === true;
  const url = joinUrl(log.url, `v1/events/batch${receipts ? '?receipts=1' : ''}`);
  const answer = parseAnswer(appendEventsAnswer, await postJson(log, url, JSON.stringify(sent)), url);
  if (answer.results.length !== sent.length || (receipts && answer.receipts?.length !== sent.length)) {
    throw new ProtocolError(
      `${url} answered ${answer.results.length} results and ${answer.receipts?.length ?? 0} receipts for ${sent.length} events`,
      { url },
    );
  }
  const checkpoint = verifyCheckpoint(log, answer.checkpoint);
  const chain = new ConsistentCheckpoints(ctx, options);
  await chain.add(checkpoint);
  const results = answer.results.map((r, i) => {
    if (sent[i]!.id !== undefined && r.id !== sent[i]!.id) {
      throw new ProtocolError(
        `${url} answered id ${JSON.stringify(r.id)} for event ${i}, which was sent with id ${JSON.stringify(sent[i]!.id)}`,
        {
          url,
        },
      );
    }
    return { index: r.index, id: r.id, leafHash: decodeHash(r.leafHash, url) };
  });
  if (!receipts) {
    await checkLeafHashes(log, checkpoint, results, url);
    return results.map((r) => ({ ...r, checkpoint }));
  }
  const out: VerifiedEvent[] = [];
  for (const [i, r] of results.entries()) {
    const ev = verifyAnsweredReceipt(log, answer.receipts![i], { url, what: `batch event ${i}` });
    if (r.index !== ev.index || r.id !== ev.id || !bytesEqual(r.leafHash, ev.leafHash)) {
      throw misbehaviour(log, {
        kind: 'bad-events',
        message: `the batch answer for event ${i} (index ${r.index}, id ${JSON.stringify(r.id)}) disagrees with its receipt`,
        evidence: {
          candidate: ev.checkpoint.note,
          details: eventDetails(ev, { result: JSON.stringify({ ...r, leafHash: toBase64(r.leafHash) }) }),
        },
      });
    }
    checkSentEvent(log, sent[i]!, ev, `batch event ${i}`);
    await chain.add(ev.checkpoint);
    out.push(ev);
  }
  return out;
}

/**
 * Checks that the tree of `at` has each result's leaf hash at its index, reading the level-0
 * hash tiles authenticated against `at` ('bad-events' if it does not).
 */
async function checkLeafHashes(
  log: LogContext,
  at: VerifiedCheckpoint,
  results: readonly { readonly index: number; readonly id: string; readonly leafHash: Hash }[],
  url: string,
): Promise<void> {
  const size = at.checkpoint.size;
  const beyond = results.find((r) => r.index >= size);
  if (beyond !== undefined) {
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `the batch answer puts event ${JSON.stringify(beyond.id)} at index ${beyond.index}, outside the tree of size ${size} of its checkpoint`,
      evidence: { candidate: at.note, details: { url, index: beyond.index, treeSize: size } },
    });
  }
  const inTree = await readTiles(log, { at }, (reader) => reader.readNodes(results.map((r) => ({ level: 0, index: r.index }))));
  results.forEach((r, i) => {
    if (bytesEqual(inTree[i]!, r.leafHash)) return;
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `the batch answer puts event ${JSON.stringify(r.id)} at index ${r.index} with leaf hash ${toBase64(r.leafHash)}, but the signed tree has ${toBase64(inTree[i]!)} there`,
      evidence: {
        candidate: at.note,
        details: { url, index: r.index, leafHash: toBase64(r.leafHash), treeLeafHash: toBase64(inTree[i]!) },
      },
    });
  });
}

/**
 * GET /v1/events/{id or index}, verified (see {@link LogClient.getEvent}); an erased event (410)
 * is an EventErasedError carrying its verified tombstone answer.
 */
export async function getEvent(ctx: EventContext, key: EventKey, options: EventReadOptions): Promise<VerifiedEvent> {
  const { log } = ctx;
  const tenant = 'id' in key ? key.tenant : undefined;
  const asked = describeEventKey(key);
  const url = eventUrl(log.url, key);
  let answered: { readonly status: number; readonly body: unknown };
  try {
    answered = await fetchJsonAnswer(log.http, url, undefined, [410]);
  } catch (e) {
    if (e instanceof LogFetchError && e.status === 404) {
      throw new NotFoundError(`the log has no event at ${asked} in its published tree (${errorMessage(e)})`, { cause: e });
    }
    throw e;
  }
  if (answered.status === 410) throw erasedError(key, await verifyErasedAnswer(ctx, answered.body, { url, key, options }));
  const body = answered.body;
  const answer = parseAnswer(eventAnswer, body, url);
  const checkpoint = verifyCheckpoint(log, answer.checkpoint);
  const ev = verifyAnsweredReceipt(log, answer, { url, what: 'the event asked for' });
  const isAsked = 'id' in key ? ev.record.id === key.id && ev.record.tenant === tenant : ev.index === key.index;
  if (!isAsked) {
    throw misbehaviour(log, {
      kind: 'bad-events',
      message: `asked for the event at ${asked}, the log answered the one at index ${ev.index} with id ${JSON.stringify(ev.record.id)}${ev.record.tenant === undefined ? '' : ` in tenant ${JSON.stringify(ev.record.tenant)}`}`,
      evidence: { candidate: ev.checkpoint.note, details: eventDetails(ev, { url }) },
    });
  }
  const chain = new ConsistentCheckpoints(ctx, options);
  await chain.add(checkpoint);
  await chain.add(ev.checkpoint);
  return ev;
}

/** GET /v1/events page by page, every result verified (see {@link LogClient.searchEvents}). */
export async function* searchEvents(ctx: EventContext, query: SearchQuery, options: EventReadOptions): AsyncGenerator<VerifiedEvent> {
  const { log } = ctx;
  const { filter: f, order, pageSize, proofs: withProofs } = query;
  const chain = new ConsistentCheckpoints(ctx, options);
  let last: number | undefined;
  let cursor: string | undefined;
  for (;;) {
    const params = new URLSearchParams([...filterParams(f), ['order', order], ['limit', String(pageSize)]]);
    if (withProofs) params.set('proofs', '1');
    if (cursor !== undefined) params.set('cursor', cursor);
    const url = joinUrl(log.url, `v1/events?${params.toString()}`);
    const answer = parseAnswer(eventPageAnswer, await fetchJson(log.http, url), url);
    if (answer.events.length > pageSize) {
      throw new ProtocolError(`${url} answered ${answer.events.length} events, more than the ${pageSize} asked`, { url });
    }
    const at = verifyCheckpoint(log, answer.checkpoint);
    await chain.add(at);
    let reader: TileHashReader | undefined;
    const page: VerifiedEvent[] = [];
    for (const [i, value] of answer.events.entries()) {
      const served = parseServedEvent(value, `events[${i}]`, url);
      const what = `search result ${i} of ${url}`;
      if (last !== undefined && (order === 'asc' ? served.index <= last : served.index >= last)) {
        throw misbehaviour(log, {
          kind: 'bad-events',
          message: `the search answered index ${served.index} after index ${last}, out of ${order === 'asc' ? 'ascending' : 'descending'} order`,
          evidence: { candidate: at.note, details: { url, index: served.index, previousIndex: last, order } },
        });
      }
      let proof: readonly Hash[];
      if (withProofs) {
        if (served.inclusion === undefined) throw new ProtocolError(`${url} answered ${what} without its inclusion proof`, { url });
        proof = served.inclusion.map((p) => decodeHash(p, url));
      } else if (served.index < at.checkpoint.size) {
        reader ??= tileReader(log, at);
        const r = reader;
        proof = await readTiles(log, { at, reader: r }, (t) => proveInclusion(t, served.index, at.checkpoint.size, log.hasher));
      } else proof = [];
      const ev = verifyServedEvent(log, at, { ...served, proof }, { url, what });
      if (!eventMatches(ev.record, f)) {
        throw misbehaviour(log, {
          kind: 'bad-events',
          message: `the search answered the event at index ${ev.index}, which does not match the filter ${JSON.stringify(f)}`,
          evidence: { candidate: at.note, details: eventDetails(ev, { url, filter: JSON.stringify(f) }) },
        });
      }
      last = ev.index;
      page.push(ev);
    }
    yield* page;
    if (answer.next === undefined) return;
    if (answer.events.length === 0 && answer.next === cursor) {
      throw new ProtocolError(`${url} answered an empty page whose next cursor is the one asked: following it would never end`, { url });
    }
    cursor = answer.next;
  }
}
