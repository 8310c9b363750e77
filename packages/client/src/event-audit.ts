/**
 * The audit of a log's events: every stored event re-hashed and compared with the entry at its
 * index, and the log's event indexes (the search filters) compared with the events both ways.
 */
import type { EventFilter, EventRecord } from '@tlog/events';
import { eventLeaf, parseEventEntry, timestampMs } from '@tlog/events';
import { bytesEqual, fromBase64, toBase64 } from '@tlog/merkle';
import type { AuditOptions, AuditResult } from './audit.js';
import { auditLog } from './audit.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import type { LogMisbehaviourError } from './errors.js';
import { ArgumentError, EventErasedError, NotFoundError } from './errors.js';
import type { VerifiedEvent } from './events.js';
import { MAX_EVENT_PAGE_SIZE } from './events.js';
import type { LogClient } from './log-client.js';
import { misbehaviour } from './misbehaviour.js';
import type { ProofSource } from './proof-source.js';

/** Options of {@link auditEvents}. */
export interface EventAuditOptions extends AuditOptions {
  /** Events per listing and search request, 1..1000 (default 1000). */
  readonly pageSize?: number;
  /** Where the consistency proofs between the audited checkpoint and the answers' come from (default 'auto'). */
  readonly source?: ProofSource;
  /** Called after each index query with how many of them are done. */
  readonly onQuery?: (p: { readonly done: number; readonly total: number }) => void;
  /** Most GET /v1/events/{index} requests in flight at once while event-shaped entries with no stored event are looked up (default 8, 1..64). */
  readonly lookups?: number;
}

/** Default of {@link EventAuditOptions.lookups}. */
export const DEFAULT_AUDIT_LOOKUPS = 8;

/**
 * Looks up, `limit` at a time, whether the log answers for event-shaped entries with no stored
 * event as erased; the walk of the bundles waits only when `limit` lookups are in flight, so
 * memory stays bounded whatever the number of such entries.
 */
class ErasureLookups {
  erased = 0;
  unstored = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly client: LogClient,
    private readonly at: VerifiedCheckpoint,
    private readonly options: { readonly limit: number; readonly source?: ProofSource },
  ) {}

  /** Queues the lookup of the entry at `index` whose leaf hash is `leafHash`; resolves once it may be followed by another. */
  async add(index: number, leafHash: Uint8Array): Promise<void> {
    this.rethrow();
    const p = this.lookup(index, leafHash).then(
      (erased) => {
        if (erased) this.erased++;
        else this.unstored++;
      },
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    if (this.inFlight.size >= this.options.limit) await Promise.race(this.inFlight);
  }

  /** Waits for every lookup; the first failure is thrown. */
  async done(): Promise<void> {
    await Promise.all(this.inFlight);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  /**
   * Whether the log answers GET /v1/events/{index} with a verified erasure of this very leaf. A
   * stored event (the listing left it out, or it came since) or a 404 leaves it unstored; a 410
   * that does not verify is the log's misbehaviour and fails the audit.
   */
  private async lookup(index: number, leafHash: Uint8Array): Promise<boolean> {
    try {
      await this.client.getEvent(index, {
        trusted: this.at,
        ...(this.options.source === undefined ? {} : { source: this.options.source }),
      });
      return false;
    } catch (e) {
      if (e instanceof EventErasedError) return e.erased.index === index && bytesEqual(e.erased.leafHash, leafHash);
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }
}

/** What a successful event audit checked. */
export interface EventAuditResult {
  /** The audit of the tree itself ({@link auditLog}). */
  readonly log: AuditResult;
  /** Stored events in the audited tree, each re-hashed and equal to the entry at its index. */
  readonly events: number;
  /**
   * Entries shaped like an event's entry (`tlog-event-v1 <commitment>`) with no stored event that
   * the log answers for as erased (a 410 with a well-formed tombstone and a verified proof of the
   * very leaf hash the audited tree has at that index). Not a failure: erasure keeps the entry.
   */
  readonly erased: number;
  /**
   * Entries shaped like an event's entry with no stored event that the log does not answer for as
   * erased: raw entries that look like one (or erasures the log does not own up to). Not a failure.
   */
  readonly unstored: number;
  /** Index queries (one filter each) whose results equalled the set computed from the events. */
  readonly queries: number;
}

/** The search dimensions the audit checks, each with one filter field and the values a record has for it. */
const DIMENSIONS: readonly {
  readonly field: 'tenant' | 'outcome' | 'action' | 'actor' | 'target';
  readonly values: (r: EventRecord) => readonly string[];
}[] = [
  { field: 'tenant', values: (r) => (r.tenant === undefined ? [] : [r.tenant]) },
  { field: 'outcome', values: (r) => [r.outcome] },
  { field: 'action', values: (r) => [r.action] },
  { field: 'actor', values: (r) => [r.actor.id] },
  { field: 'target', values: (r) => [...new Set(r.targets.map((t) => t.id))] },
];

/**
 * What the audit learns from the full event list to check the indexes against. Memory is one
 * index per event per distinct value it has in each dimension (about 4 + targets numbers per
 * event) plus its received_at: O(events), bounded by the audited tree; fine for this issue, a
 * log with hundreds of millions of events would need these sets spilled to disk.
 */
class EventIndexModel {
  /** Per dimension, per value: the indexes of the events that have it. */
  readonly byValue = new Map<string, Map<string, Set<number>>>();
  /** Indexes of the events in order, and their received_at in milliseconds, for time windows. */
  readonly indexes: number[] = [];
  readonly receivedMs: number[] = [];

  add(ev: VerifiedEvent): void {
    for (const d of DIMENSIONS) {
      let values = this.byValue.get(d.field);
      if (values === undefined) this.byValue.set(d.field, (values = new Map()));
      for (const v of d.values(ev.record)) {
        let set = values.get(v);
        if (set === undefined) values.set(v, (set = new Set()));
        set.add(ev.index);
      }
    }
    this.indexes.push(ev.index);
    this.receivedMs.push(timestampMs(ev.record.received_at));
  }

  /** Every query to run: one filter and the index set it must give. */
  queries(): { readonly filter: EventFilter; readonly expected: ReadonlySet<number> }[] {
    const out: { filter: EventFilter; expected: ReadonlySet<number> }[] = [];
    for (const d of DIMENSIONS) {
      for (const [value, expected] of this.byValue.get(d.field) ?? []) out.push({ filter: { [d.field]: value }, expected });
    }
    for (const w of this.windows()) out.push(w);
    return out;
  }

  /**
   * Two received_at windows that split the events at the median ([first, median) and
   * [median, last + 1 ms)), so that both bounds of a time range are exercised.
   */
  private windows(): { readonly filter: EventFilter; readonly expected: ReadonlySet<number> }[] {
    const n = this.receivedMs.length;
    if (n === 0) return [];
    const first = this.receivedMs[0]!;
    const median = this.receivedMs[Math.floor(n / 2)]!;
    const end = this.receivedMs[n - 1]! + 1;
    const bounds: [number, number][] =
      first < median
        ? [
            [first, median],
            [median, end],
          ]
        : [[median, end]];
    return bounds.map(([since, until]) => {
      const expected = new Set<number>();
      this.receivedMs.forEach((ms, i) => {
        if (ms >= since && ms < until) expected.add(this.indexes[i]!);
      });
      return { filter: { since: new Date(since).toISOString(), until: new Date(until).toISOString() }, expected };
    });
  }
}

/** A difference between the events and the entries or the indexes, as the evidence records it. */
interface Mismatch {
  readonly message: string;
  readonly details: Readonly<Record<string, string | number>>;
}

/** A query's filter as text for messages and evidence: `actor=u-1`, `since=…&until=…`. */
function describeFilter(filter: EventFilter): string {
  return Object.entries(filter)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('&');
}

/**
 * Full audit of a log and its events against a verified checkpoint `at`. First {@link auditLog}
 * (every entry re-hashed, every tile and the root recomputed); during it, every stored event
 * (GET /v1/events, ascending) is re-hashed from its record and salt and compared with the entry
 * at its index in the entry bundles, and event-shaped entries with no stored event are looked up
 * (GET /v1/events/{index}, {@link EventAuditOptions.lookups} at a time) and counted as erased (a
 * verified 410 for that very leaf) or unstored.
 * Then the log's indexes are checked against the events both ways: for each distinct tenant,
 * outcome, exact action, actor id and target id, and two received_at windows, a search with that
 * one filter must give exactly the indexes the full list gives (results beyond `at`'s size are
 * ignored: the log may have grown). Any difference is LogMisbehaviourError('bad-events') naming
 * the query, the index, and what was expected and found; the tree's own errors come first
 * ('bad-entries', 'bad-proof'). Every answer is also verified as {@link LogClient.searchEvents}
 * does, with `at` as the trusted checkpoint. Memory: see EventIndexModel.
 */
export async function auditEvents(client: LogClient, at: VerifiedCheckpoint, options: EventAuditOptions = {}): Promise<EventAuditResult> {
  const size = at.checkpoint.size;
  const pageSize = options.pageSize ?? MAX_EVENT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_EVENT_PAGE_SIZE) {
    throw new ArgumentError(`the page size is 1..${MAX_EVENT_PAGE_SIZE}, got ${String(pageSize)}`);
  }
  const lookupLimit = options.lookups ?? DEFAULT_AUDIT_LOOKUPS;
  if (!Number.isSafeInteger(lookupLimit) || lookupLimit < 1 || lookupLimit > 64) {
    throw new ArgumentError(`lookups is 1..64 requests at once, got ${String(lookupLimit)}`);
  }
  const search = (filter: EventFilter) =>
    client.searchEvents(filter, {
      order: 'asc',
      pageSize,
      trusted: at,
      ...(options.source === undefined ? {} : { source: options.source }),
    });

  // The full list, read alongside the entry bundles (both ascending); only events in `at`'s tree.
  const listing = search({})[Symbol.asyncIterator]();
  let pending: VerifiedEvent | undefined;
  let listingDone = false;
  const peek = async (): Promise<VerifiedEvent | undefined> => {
    if (pending === undefined && !listingDone) {
      const r = await listing.next();
      if (r.done === true || r.value.index >= size) {
        listingDone = true;
        if (r.done !== true) await listing.return(undefined);
      } else pending = r.value;
    }
    return pending;
  };
  const model = new EventIndexModel();
  // Mismatches are collected and the first thrown later (those found while the bundles are read
  // after the tree's root is checked, so that a wrong bundle is reported as 'bad-entries' first).
  let found: Mismatch | undefined;
  let more = 0;
  const report = (message: string, details: Record<string, string | number>) => {
    if (found === undefined) found = { message, details };
    else more++;
  };
  const failure = (m: Mismatch): LogMisbehaviourError =>
    misbehaviour(client, {
      kind: 'bad-events',
      message: more === 0 ? m.message : `${m.message} (and ${more} more mismatches)`,
      evidence: { candidate: at.note, details: { ...m.details, moreMismatches: more } },
    });
  let events = 0;
  const lookups = new ErasureLookups(client, at, {
    limit: lookupLimit,
    ...(options.source === undefined ? {} : { source: options.source }),
  });
  let lastReceived = Number.NEGATIVE_INFINITY;
  const onBundle = async (first: number, entries: readonly Uint8Array[]) => {
    for (const [k, entry] of entries.entries()) {
      const index = first + k;
      const ev = await peek();
      if (ev === undefined || ev.index !== index) {
        if (parseEventEntry(entry) !== undefined) await lookups.add(index, client.hasher.hashLeaf(entry));
        continue;
      }
      pending = undefined;
      events++;
      // Re-hash the stored values: the search verified them once; the auditor does not take that on trust.
      const want = eventLeaf(ev.record, fromBase64(ev.receipt.salt)).entry;
      if (!bytesEqual(want, entry)) {
        report(`the stored event at index ${index} does not commit to the entry at that index`, {
          index,
          expected: toBase64(want),
          got: toBase64(entry),
          record: JSON.stringify(ev.record),
        });
      }
      const received = timestampMs(ev.record.received_at);
      if (received < lastReceived) {
        report(`the event at index ${index} was received at ${ev.record.received_at}, before the event logged before it`, {
          index,
          expected: `received_at >= ${new Date(lastReceived).toISOString()}`,
          got: ev.record.received_at,
        });
      }
      lastReceived = Math.max(lastReceived, received);
      model.add(ev);
    }
  };
  const { onQuery, lookups: _, ...auditOptions } = options;
  let log: AuditResult;
  try {
    log = await auditLog(client, at, { ...auditOptions, onBundle });
    await lookups.done();
  } finally {
    if (!listingDone) await listing.return(undefined);
    // A failed walk leaves lookups in flight: let them settle (their errors are the walk's to report).
    await lookups.done().catch(() => undefined);
  }
  if (pending !== undefined) {
    report(`the event list has an event at index ${pending.index}, which the walk of the entry bundles never reached`, {
      index: pending.index,
    });
  }
  if (found !== undefined) throw failure(found);

  const queries = model.queries();
  for (const [done, { filter, expected }] of queries.entries()) {
    const query = describeFilter(filter);
    const got = new Set<number>();
    for await (const ev of search(filter)) {
      if (ev.index >= size) break;
      got.add(ev.index);
      if (!expected.has(ev.index)) {
        report(`the search ${query} answers the event at index ${ev.index}, which the full event list does not have`, {
          query,
          index: ev.index,
          expected: 'absent (not in the full event list)',
          got: 'present',
        });
      }
    }
    for (const index of expected) {
      if (got.has(index)) continue;
      report(`the search ${query} leaves out the event at index ${index}, which matches it`, {
        query,
        index,
        expected: 'present (the full event list has it and it matches)',
        got: 'absent',
      });
    }
    if (found !== undefined) throw failure(found);
    onQuery?.({ done: done + 1, total: queries.length });
  }
  return { log, events, erased: lookups.erased, unstored: lookups.unstored, queries: queries.length };
}
