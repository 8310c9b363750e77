import { createHash } from 'node:crypto';
import { actionPrefix, type EventFilter, type EventRecord, eventMatches, filterParams, saltText, timestampMs } from '@tlog/events';
import { type Hash, toBase64 } from '@tlog/merkle';
import type { Published } from '../publisher.js';
import type { ExtensionCursor, LogStore } from '../storage/store.js';
import type { EventCipher } from './event-cipher.js';
import {
  actionOfCatalogKey,
  actionTerm,
  catalogRange,
  EVENT_RANGE,
  eventKey,
  FIELD,
  indexOfKey,
  MAX_MS,
  OUTCOME_TERM,
  occurredRange,
  postingKey,
  postingPrefix,
  receivedRange,
} from './event-keys.js';
import type { StoredEvent } from './event-log.js';

/** Most results one page holds. */
export const MAX_PAGE = 1000;
/**
 * Most record bytes (canonical form) one page holds; a page always holds at least one result, so
 * a page of 64 KiB records holds 16 and its JSON stays under about 1.5 MB.
 */
export const MAX_PAGE_BYTES = 1024 * 1024;
/** Most candidates read from the store at once (at most 4 MiB of 64 KiB records). */
const READ_CHUNK = 64;
/** Most candidate events one request reads and checks; beyond it the page ends early with a `next`. */
const MAX_EXAMINED = 4000;
/** Most index steps (seeks and reads of postings) one request takes; beyond it the page ends early with a `next`. */
const MAX_STEPS = 40_000;
/** Most actions a prefix search merges; a broader prefix scans events instead. */
const MAX_PREFIX_ACTIONS = 64;
/** Most occurred_at keys collected to drive a search by occurred_at alone. */
const MAX_OCCURRED_COLLECT = 10_000;

/** A search cursor that does not belong to this search (other filters or order) or is not a cursor. Maps to 400. */
export class CursorError extends Error {
  override readonly name: string = 'CursorError';
}

/** One page to find. */
export interface SearchRequest {
  readonly filter: EventFilter;
  readonly order: 'asc' | 'desc';
  /** 1..MAX_PAGE */
  readonly limit: number;
  readonly cursor?: string;
  /** Add each result's inclusion proof in the page's checkpoint. */
  readonly proofs: boolean;
}

/** One result. */
export interface FoundEvent {
  readonly index: number;
  readonly leafHash: string;
  readonly record: EventRecord;
  /** The record's canonical form as stored (UTF-8 JSON): what the answer sends as `record`. */
  readonly canonical: Uint8Array;
  readonly salt: string;
  readonly inclusion?: readonly string[];
}

/** A page of results: in log order, all in `checkpoint`'s tree; `next` while more may follow. */
export interface EventPage {
  readonly checkpoint: string;
  readonly events: readonly FoundEvent[];
  readonly next?: string;
}

/** What a search reads. */
export interface SearchContext {
  readonly store: LogStore;
  readonly cipher: EventCipher;
  readonly published: Published;
  readonly readEvents: (indexes: readonly number[]) => Promise<(StoredEvent | undefined)[]>;
  /** Decrypts a stored event record read through a cursor (its key and value). */
  readonly openEvent: (key: Uint8Array, value: Uint8Array) => StoredEvent;
  readonly leafHashes: (indexes: readonly number[]) => Promise<Hash[]>;
  readonly inclusionProof: (index: number, size: number) => Promise<Hash[]>;
}

/**
 * A sorted set of event indexes, walked in one direction. `seek(t)` answers the first member at
 * or after `t` in that direction (>= t ascending, <= t descending), or undefined when none is left;
 * targets only move forward.
 */
interface IndexStream {
  seek(target: number): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Counts the index steps of one request. */
interface Budget {
  steps: number;
}

/** The members of one posting list (or of the event records themselves), read through a store cursor. */
class KeyStream implements IndexStream {
  private current: number | undefined;
  private done = false;
  private readonly cursor: ExtensionCursor;

  constructor(
    store: LogStore,
    private readonly prefix: Uint8Array,
    private readonly asc: boolean,
    private readonly budget: Budget,
  ) {
    const lt = new Uint8Array(prefix.length + 9).fill(0xff);
    lt.set(prefix);
    this.cursor = store.extensionCursor({ gte: prefix, lt, reverse: !asc });
  }

  async seek(target: number): Promise<number | undefined> {
    if (this.done) return undefined;
    const c = this.current;
    if (c !== undefined && (this.asc ? c >= target : c <= target)) return c;
    // The next member in order is read on; only a jump needs a seek (which drops the cursor's read-ahead).
    if (c === undefined || target !== (this.asc ? c + 1 : c - 1)) this.cursor.seek(postingKey(this.prefix, target));
    this.budget.steps++;
    const r = await this.cursor.next();
    if (r === undefined) {
      this.done = true;
      this.current = undefined;
      return undefined;
    }
    this.current = indexOfKey(r.key);
    return this.current;
  }

  close(): Promise<void> {
    return this.cursor.close();
  }
}

/** The union of streams (the actions matching a prefix). */
class UnionStream implements IndexStream {
  constructor(
    private readonly parts: readonly IndexStream[],
    private readonly asc: boolean,
  ) {}

  async seek(target: number): Promise<number | undefined> {
    let best: number | undefined;
    for (const p of this.parts) {
      const x = await p.seek(target);
      if (x !== undefined && (best === undefined || (this.asc ? x < best : x > best))) best = x;
    }
    return best;
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.close()));
  }
}

/** A sorted array of indexes. */
class ArrayStream implements IndexStream {
  private at = 0;
  constructor(
    private readonly sorted: readonly number[],
    private readonly asc: boolean,
  ) {}

  async seek(target: number): Promise<number | undefined> {
    while (this.at < this.sorted.length) {
      const x = this.sorted[this.at]!;
      if (this.asc ? x >= target : x <= target) return x;
      this.at++;
    }
    return undefined;
  }

  async close(): Promise<void> {}
}

/** The first key of a store range read in one direction (the last key when reverse), or undefined when the range is empty. */
export async function firstKey(
  store: LogStore,
  range: { gte: Uint8Array; lt: Uint8Array },
  reverse: boolean,
): Promise<Uint8Array | undefined> {
  const c = store.extensionCursor({ ...range, reverse });
  try {
    return (await c.next())?.key;
  } finally {
    await c.close();
  }
}

/** The fingerprint a cursor carries: which filters and order it continues. */
function fingerprint(filter: EventFilter, order: string): string {
  return createHash('sha256')
    .update(JSON.stringify([filterParams(filter), order]))
    .digest('base64url')
    .slice(0, 16);
}

function encodeCursor(position: number, fp: string): string {
  return Buffer.from(JSON.stringify({ v: 1, p: position, f: fp })).toString('base64url');
}

function decodeCursor(cursor: string, fp: string): number {
  let c: { v?: unknown; p?: unknown; f?: unknown };
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof c;
  } catch {
    throw new CursorError('cursor: is not a cursor of this log; pass the "next" of the previous page unchanged');
  }
  if (typeof c !== 'object' || c === null || c.v !== 1 || typeof c.p !== 'number' || !Number.isSafeInteger(c.p) || c.p < -1) {
    throw new CursorError('cursor: is not a cursor of this log; pass the "next" of the previous page unchanged');
  }
  if (c.f !== fp)
    throw new CursorError('cursor: belongs to a search with other filters or order; repeat the same filters and order with it');
  return c.p;
}

/**
 * One page of events matching `request.filter`, in log order, within the published tree.
 *
 * How: every filter with an index gives a stream of event indexes in log order (a posting list;
 * an action prefix is the union of the postings of the actions it matches). The streams are
 * intersected by leapfrogging (each seeks to the largest index another one answered), within the
 * index bounds a received_at range maps to (received_at never decreases along the log). Without
 * any such filter, the event records themselves are the stream. Each candidate's record is then
 * read, decrypted and checked against the whole filter, so an answer holds only events that
 * match, whatever the indexes say. One request examines a bounded number of candidates and index
 * steps; a page cut short carries a `next` to continue from.
 */
export async function searchEvents(ctx: SearchContext, request: SearchRequest): Promise<EventPage> {
  const { filter, order, limit } = request;
  const asc = order === 'asc';
  const fp = fingerprint(filter, order);
  const published = ctx.published;
  const budget: Budget = { steps: 0 };
  const [lo, hi] = await receivedBounds(ctx.store, filter, 0, published.size - 1);
  let position = request.cursor === undefined ? (asc ? lo : hi) : decodeCursor(request.cursor, fp);
  if (asc) position = Math.max(position, lo);
  else position = Math.min(position, hi);
  const empty: EventPage = { checkpoint: published.checkpoint, events: [] };
  if (lo > hi || (asc ? position > hi : position < lo)) return empty;

  const streams = await planStreams(ctx, filter, asc, budget);
  if (streams === undefined) return empty; // a filter no event can match (an action prefix that names no action)
  const found: StoredEvent[] = [];
  let bytes = 0;
  let examined = 0;
  let exhausted = false;
  let full = false;
  try {
    while (!full && found.length < limit && examined < MAX_EXAMINED && budget.steps < MAX_STEPS) {
      const candidates: number[] = [];
      const want = Math.min(READ_CHUNK, limit - found.length);
      while (candidates.length < want && budget.steps < MAX_STEPS) {
        const x = await leapfrog(streams, position);
        if (x === undefined || (asc ? x > hi : x < lo)) {
          exhausted = true;
          break;
        }
        candidates.push(x);
        position = asc ? x + 1 : x - 1;
      }
      examined += candidates.length;
      const events = await ctx.readEvents(candidates);
      for (let k = 0; k < candidates.length; k++) {
        const ev = events[k];
        if (ev === undefined || !eventMatches(ev.record, filter)) continue;
        if (found.length > 0 && bytes + ev.canonical.length > MAX_PAGE_BYTES) {
          // The page is full: the next one starts at this candidate.
          position = candidates[k]!;
          exhausted = false;
          full = true;
          break;
        }
        bytes += ev.canonical.length;
        found.push(ev);
      }
      if (exhausted) break;
    }
  } finally {
    await Promise.all(streams.map((s) => s.close()));
  }
  if (asc ? position > hi : position < lo) exhausted = true;
  const indexes = found.map((e) => e.index);
  const hashes = await ctx.leafHashes(indexes);
  const events: FoundEvent[] = [];
  for (let k = 0; k < found.length; k++) {
    const ev = found[k]!;
    const inclusion = request.proofs ? (await ctx.inclusionProof(ev.index, published.size)).map(toBase64) : undefined;
    events.push({
      index: ev.index,
      leafHash: toBase64(hashes[k]!),
      record: ev.record,
      canonical: ev.canonical,
      salt: saltText(ev.salt),
      ...(inclusion === undefined ? {} : { inclusion }),
    });
  }
  return { checkpoint: published.checkpoint, events, ...(exhausted ? {} : { next: encodeCursor(position, fp) }) };
}

/**
 * The index bounds [lo, hi] within [lo0, hi0] that a filter's received_at range maps to
 * (received_at never decreases along the log); lo > hi when no event can match.
 */
async function receivedBounds(store: LogStore, filter: EventFilter, lo0: number, hi0: number): Promise<[number, number]> {
  if (filter.since === undefined && filter.until === undefined) return [lo0, hi0];
  const from = filter.since === undefined ? 0 : Math.max(0, timestampMs(filter.since));
  const to = filter.until === undefined ? MAX_MS : Math.max(0, timestampMs(filter.until));
  const range = receivedRange(from, to);
  const first = to <= from ? undefined : await firstKey(store, range, false);
  const last = first === undefined ? undefined : await firstKey(store, range, true);
  if (first === undefined || last === undefined) return [lo0, -1];
  return [Math.max(lo0, indexOfKey(first)), Math.min(hi0, indexOfKey(last))];
}

/** One step of a feed's walk through the log, oldest first. */
export interface ScanRequest {
  readonly filter: EventFilter;
  /** Events with an index above this one... */
  readonly after: number;
  /** ...and below this one (at most the published size). */
  readonly upTo: number;
  /** Most events in the answer (at least one is always allowed). */
  readonly maxEvents: number;
  /** About the most record bytes in the answer (one larger record is always allowed). */
  readonly maxBytes: number;
}

/** What a scan step found: matching events, oldest first, and how far it looked. */
export interface ScanResult {
  readonly events: readonly FoundEvent[];
  /** Every matching event with an index in (after, through] is in `events` (or was erased); through >= after. */
  readonly through: number;
}

/** Records a scan reads from a cursor at once, and the bytes it lets the store read ahead. */
const CURSOR_BATCH = 256;
const READ_AHEAD_BYTES = 512 * 1024;

/** Standard base64 (Node's, native). */
function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
}

/** A scanned event: its record is the stored event's, parsed only when read. */
class ScannedEvent implements FoundEvent {
  readonly index: number;
  readonly canonical: Uint8Array;
  readonly salt: string;

  constructor(
    private readonly stored: StoredEvent,
    readonly leafHash: string,
  ) {
    this.index = stored.index;
    this.canonical = stored.canonical;
    this.salt = base64(stored.salt);
  }

  get record(): EventRecord {
    return this.stored.record;
  }
}

/** Whether a filter leaves nothing to an index: every event is a candidate (within received_at bounds). */
function scansEverything(filter: EventFilter): boolean {
  return (
    filter.actor === undefined &&
    filter.target === undefined &&
    filter.tenant === undefined &&
    filter.outcome === undefined &&
    filter.occurred_since === undefined &&
    filter.occurred_until === undefined &&
    (filter.action === undefined || actionPrefix(filter.action) === '')
  );
}

/**
 * One step of a walk through the events with `after < index < upTo` that match the filter, in
 * log order: what exports, streams and sinks read. Like a search it examines a bounded number of
 * candidates; `through` says where the next step starts. A filter that names nothing indexed
 * reads the event records in one pass of a store cursor (the export's hot path).
 */
export async function scanEvents(ctx: SearchContext, request: ScanRequest): Promise<ScanResult> {
  const { filter, maxEvents, maxBytes } = request;
  const [lo, hi] = await receivedBounds(ctx.store, filter, request.after + 1, request.upTo - 1);
  const end = Math.max(request.after, request.upTo - 1);
  if (lo > hi) return { events: [], through: end };
  const found: StoredEvent[] = [];
  let bytes = 0;
  let through = hi;
  const take = (ev: StoredEvent): boolean => {
    if (found.length > 0 && (found.length >= maxEvents || bytes + ev.canonical.length > maxBytes)) return false;
    bytes += ev.canonical.length;
    found.push(ev);
    return true;
  };
  if (scansEverything(filter)) {
    // Every event in [lo, hi] matches, but for received_at bounds (exact too: received_at never
    // decreases along the log) and a `*` action; the records are checked all the same when a
    // bound is given, and not even parsed otherwise.
    const check = filter.since !== undefined || filter.until !== undefined || filter.action !== undefined;
    const cursor = ctx.store.extensionCursor({ gte: eventKey(lo), lt: eventKey(hi + 1), readAheadBytes: READ_AHEAD_BYTES });
    // The store reads the next records (on its own thread) while these are decrypted.
    let ahead = cursor.nextMany(CURSOR_BATCH);
    try {
      read: for (;;) {
        const rs = await ahead;
        if (rs.length === 0) break;
        ahead = cursor.nextMany(CURSOR_BATCH);
        for (const r of rs) {
          const ev = ctx.openEvent(r.key, r.value);
          if (check && !eventMatches(ev.record, filter)) continue;
          if (!take(ev)) {
            through = ev.index - 1;
            break read;
          }
        }
      }
    } finally {
      await ahead.catch(() => {});
      await cursor.close();
    }
  } else {
    const budget: Budget = { steps: 0 };
    const streams = await planStreams(ctx, filter, true, budget);
    if (streams === undefined) return { events: [], through: end };
    let position = lo;
    let examined = 0;
    try {
      scan: while (examined < MAX_EXAMINED && budget.steps < MAX_STEPS) {
        const candidates: number[] = [];
        while (candidates.length < READ_CHUNK && budget.steps < MAX_STEPS) {
          const stop = { budget, reached: position };
          const x = await leapfrog(streams, position, stop);
          if (x === undefined && budget.steps >= MAX_STEPS) {
            position = Math.max(position, stop.reached);
            break;
          }
          if (x === undefined || x > hi) {
            position = hi + 1;
            break;
          }
          candidates.push(x);
          position = x + 1;
        }
        examined += candidates.length;
        const events = await ctx.readEvents(candidates);
        for (let k = 0; k < candidates.length; k++) {
          const ev = events[k];
          if (ev === undefined || !eventMatches(ev.record, filter)) continue;
          if (!take(ev)) {
            position = candidates[k]!;
            break scan;
          }
        }
        if (position > hi) break;
      }
    } finally {
      await Promise.all(streams.map((s) => s.close()));
    }
    through = Math.min(hi, position - 1);
  }
  const hashes = await ctx.leafHashes(found.map((e) => e.index));
  const events = found.map((ev, k) => new ScannedEvent(ev, base64(hashes[k]!)));
  return { events, through: Math.max(request.after, through) };
}

/** The first index at or after `from` (in the walk's direction) that every stream holds. */
async function leapfrog(
  streams: readonly IndexStream[],
  from: number,
  stop?: { readonly budget: Budget; reached: number },
): Promise<number | undefined> {
  let t = from;
  for (;;) {
    let agreed = true;
    for (const s of streams) {
      const x = await s.seek(t);
      if (x === undefined) return undefined;
      if (x !== t) {
        t = x;
        agreed = false;
        break;
      }
    }
    if (agreed) return t;
    // No stream holds anything in [from, t) they all share: a walk out of steps may go on from t.
    if (stop !== undefined) {
      stop.reached = t;
      if (stop.budget.steps >= MAX_STEPS) return undefined;
    }
  }
}

/** The index streams a filter gives (the event records when it gives none); undefined when no event can match. */
async function planStreams(ctx: SearchContext, filter: EventFilter, asc: boolean, budget: Budget): Promise<IndexStream[] | undefined> {
  const { store, cipher } = ctx;
  const streams: IndexStream[] = [];
  const posting = (field: number, term: Uint8Array) => new KeyStream(store, postingPrefix(field, term), asc, budget);
  if (filter.actor !== undefined) streams.push(posting(FIELD.actor, cipher.term('actor', filter.actor)));
  if (filter.target !== undefined) streams.push(posting(FIELD.target, cipher.term('target', filter.target)));
  if (filter.tenant !== undefined) streams.push(posting(FIELD.tenant, cipher.term('tenant', filter.tenant)));
  if (filter.action !== undefined) {
    const prefix = actionPrefix(filter.action);
    if (prefix === undefined) streams.push(posting(FIELD.action, actionTerm(filter.action)));
    else if (prefix !== '') {
      const actions = await actionsWithPrefix(store, prefix);
      if (actions.length === 0) {
        await Promise.all(streams.map((s) => s.close()));
        return undefined;
      }
      if (actions.length <= MAX_PREFIX_ACTIONS) {
        streams.push(
          new UnionStream(
            actions.map((a) => posting(FIELD.action, actionTerm(a))),
            asc,
          ),
        );
      }
    }
  }
  if (filter.outcome !== undefined) streams.push(posting(FIELD.outcome, Uint8Array.of(OUTCOME_TERM[filter.outcome])));
  if (streams.length === 0 && (filter.occurred_since !== undefined || filter.occurred_until !== undefined)) {
    const occurred = await occurredIndexes(store, filter);
    if (occurred !== undefined) streams.push(new ArrayStream(asc ? occurred : occurred.reverse(), asc));
  }
  if (streams.length === 0) streams.push(new KeyStream(store, EVENT_RANGE.gte, asc, budget));
  return streams;
}

/** The actions seen that start with `prefix` (at most MAX_PREFIX_ACTIONS + 1). */
async function actionsWithPrefix(store: LogStore, prefix: string): Promise<string[]> {
  const c = store.extensionCursor(catalogRange(prefix));
  const out: string[] = [];
  try {
    for (let r = await c.next(); r !== undefined && out.length <= MAX_PREFIX_ACTIONS; r = await c.next())
      out.push(actionOfCatalogKey(r.key));
  } finally {
    await c.close();
  }
  return out;
}

/** The indexes of the events whose occurred_at is in the filter's range, sorted, or undefined when there are too many to hold. */
async function occurredIndexes(store: LogStore, filter: EventFilter): Promise<number[] | undefined> {
  const from = filter.occurred_since === undefined ? 0 : Math.max(0, timestampMs(filter.occurred_since));
  const to = filter.occurred_until === undefined ? MAX_MS : Math.max(0, timestampMs(filter.occurred_until));
  if (to <= from) return [];
  const c = store.extensionCursor(occurredRange(from, to));
  const out: number[] = [];
  try {
    for (let r = await c.next(); r !== undefined; r = await c.next()) {
      if (out.length === MAX_OCCURRED_COLLECT) return undefined;
      out.push(indexOfKey(r.key));
    }
  } finally {
    await c.close();
  }
  return out.sort((a, b) => a - b);
}

const UTF8 = new TextEncoder();

/**
 * A page as the JSON answer of GET /v1/events, as bytes: `{checkpoint, events: [{index, leafHash,
 * record, salt, inclusion?}], next?}`. Each record goes out as its stored canonical form, copied
 * byte for byte rather than parsed and serialized again, and no string holds the whole page (a
 * string with the checkpoint's em dash would hold every character in two bytes).
 */
export function encodePage(page: EventPage): Uint8Array {
  const parts: Uint8Array[] = [UTF8.encode(`{"checkpoint":${JSON.stringify(page.checkpoint)},"events":[`)];
  page.events.forEach((e, k) => {
    parts.push(UTF8.encode(`${k === 0 ? '' : ','}{"index":${e.index},"leafHash":"${e.leafHash}","record":`));
    parts.push(e.canonical);
    parts.push(UTF8.encode(`,"salt":"${e.salt}"${e.inclusion === undefined ? '' : `,"inclusion":${JSON.stringify(e.inclusion)}`}}`));
  });
  parts.push(UTF8.encode(`]${page.next === undefined ? '' : `,"next":${JSON.stringify(page.next)}`}}`));
  return Buffer.concat(parts);
}
