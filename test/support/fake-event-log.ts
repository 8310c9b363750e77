/**
 * A fake log with the audit-event API of docs/events.md (POST /v1/events[/batch], GET
 * /v1/events/{id or index}, GET /v1/events), built on FakeLog's in-memory tree, that can be made
 * to lie about events: tampered records, rewritten events, searches that ignore their filter,
 * leave events out or answer out of order.
 */
import { randomUUID } from 'node:crypto';
import type { EventFilter, EventInput, EventRecord } from '@tlog/events';
import { canonicalEvent, EventFormatError, eventLeaf, eventMatches, parseEventFilter, parseEventInput } from '@tlog/events';
import { bytesEqual, formatTlogProof, proveInclusionSync, toBase64 } from '@tlog/merkle';
import type { FakeAnswer } from './fake-log.js';
import { FakeLog } from './fake-log.js';

/** What the fake event API does wrong; all off = honest. */
export interface FakeEventFaults {
  /** Serve every record with its action changed, so it no longer commits to its leaf. */
  tamperRecords: boolean;
  /** Log events with this action instead of the one sent (the commitment is then to the rewritten record). */
  rewriteAction: string | undefined;
  /** Searches answer every candidate, whether it matches the filter or not. */
  ignoreFilter: boolean;
  /** Searches with a filter leave out the event at this index (a corrupt index). */
  hideFromSearch: number | undefined;
  /** The full listing (no filter) leaves out the event at this index. */
  hideFromListing: number | undefined;
  /** Each search page lists its results in the opposite order. */
  reversePages: boolean;
  /** GET by id answers the event at this index instead. */
  getAnswersIndex: number | undefined;
}

/** All event faults off. */
export function honestEventFaults(): FakeEventFaults {
  return {
    tamperRecords: false,
    rewriteAction: undefined,
    ignoreFilter: false,
    hideFromSearch: undefined,
    hideFromListing: undefined,
    reversePages: false,
    getAnswersIndex: undefined,
  };
}

/** An event the fake log stores. */
export interface FakeStoredEvent {
  readonly record: EventRecord;
  readonly salt: Uint8Array;
  readonly index: number;
}

const START = Date.parse('2026-01-01T00:00:00.000Z');

/** An id already logged (in the tenant) with other content: a 409. */
class Conflict extends Error {}

/** The tombstone of an erased event, as the log answers it (docs: governance API). */
export interface FakeTombstone {
  readonly erased_at: string;
  readonly reason: string;
  readonly by: { readonly key_id: string; readonly key_name: string } | { readonly rule: string };
}

/** The fake log with events. */
export class FakeEventLog extends FakeLog {
  /** Stored events by index (erase() deletes one, keeping its entry). */
  readonly events = new Map<number, FakeStoredEvent>();
  /** Tombstones by index of the events erased with one: GET answers 410 for them. */
  readonly tombstones = new Map<number, FakeTombstone>();
  /** Indexes under a legal hold: DELETE answers 423. */
  readonly held = new Set<number>();
  /** When set, the 410 of these indexes names another leaf hash (a lie the audit must not count as erased). */
  readonly lieAboutErased = new Set<number>();
  readonly eventFaults: FakeEventFaults = honestEventFaults();
  /** Every search request's query string, for asserting what a client asked. */
  readonly searches: string[] = [];
  private readonly ids = new Map<string, number>();

  /** Starts a fake event log on a random local port. */
  static override async start(origin?: string, prefix?: string): Promise<FakeEventLog> {
    const log = new FakeEventLog(origin, prefix);
    await log.listen();
    return log;
  }

  override reset(): void {
    super.reset();
    this.events.clear();
    this.tombstones.clear();
    this.held.clear();
    this.lieAboutErased.clear();
    this.ids.clear();
    this.searches.length = 0;
    Object.assign(this.eventFaults, honestEventFaults());
  }

  /** Logs an event as the server would (Conflict for a 409); returns it and whether it was new. */
  append(input: EventInput): { event: FakeStoredEvent; created: boolean } {
    const key = `${input.tenant ?? ''}\u0000${input.id ?? ''}`;
    const existing = input.id === undefined ? undefined : this.ids.get(key);
    if (existing !== undefined) {
      const old = this.events.get(existing)!;
      const same = bytesEqual(
        canonicalEvent({ ...input, id: old.record.id, received_at: old.record.received_at }),
        canonicalEvent(old.record),
      );
      if (!same) throw new Conflict(`event ${input.id} is logged with other content`);
      return { event: old, created: false };
    }
    const index = this.honest.size;
    const record: EventRecord = {
      ...input,
      ...(this.eventFaults.rewriteAction === undefined ? {} : { action: this.eventFaults.rewriteAction }),
      id: input.id ?? randomUUID(),
      received_at: new Date(START + index * 1000).toISOString(),
    };
    const salt = crypto.getRandomValues(new Uint8Array(32));
    this.honest.append(eventLeaf(record, salt).entry);
    this.published = this.honest.size;
    const event = { record, salt, index };
    this.events.set(index, event);
    this.ids.set(`${record.tenant ?? ''}\u0000${record.id}`, index);
    return { event, created: true };
  }

  /**
   * Deletes an event's record and salt, keeping its entry (as erasure does); with a tombstone,
   * GET answers 410 for it as the real log does, without one 404 (an entry with no event).
   */
  erase(index: number, tombstone?: FakeTombstone): void {
    const ev = this.events.get(index);
    if (ev === undefined) return;
    this.events.delete(index);
    this.ids.delete(`${ev.record.tenant ?? ''}\u0000${ev.record.id}`);
    if (tombstone !== undefined) this.tombstones.set(index, tombstone);
  }

  /** The 410 body for the erased event at `index`: its tombstone and the proof of its leaf. */
  private erasedBody(index: number) {
    const checkpoint = this.checkpoint();
    const leaf = this.honest.levels[0]![index]!;
    return {
      error: `event ${index} was erased`,
      index,
      leafHash: toBase64(this.lieAboutErased.has(index) ? new Uint8Array(32).fill(9) : leaf),
      tombstone: this.tombstones.get(index)!,
      checkpoint,
      proof: formatTlogProof({ index, proof: proveInclusionSync(this.honest.reader, index, this.published), checkpoint }),
    };
  }

  /** The record as served (tampered if asked). */
  private served(ev: FakeStoredEvent): EventRecord {
    return this.eventFaults.tamperRecords ? { ...ev.record, action: 'tampered.action' } : ev.record;
  }

  /** An event receipt against the current checkpoint. */
  private receipt(ev: FakeStoredEvent, checkpoint: string) {
    return {
      record: this.served(ev),
      salt: toBase64(ev.salt),
      index: ev.index,
      leafHash: toBase64(this.honest.levels[0]![ev.index]!),
      proof: formatTlogProof({ index: ev.index, proof: proveInclusionSync(this.honest.reader, ev.index, this.published), checkpoint }),
    };
  }

  protected override async handleMore(method: string, u: URL, req: NodeJS.ReadableStream): Promise<FakeAnswer | undefined> {
    const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body), type: 'application/json' });
    const readJson = async (): Promise<unknown> => {
      const chunks: Uint8Array[] = [];
      for await (const c of req) chunks.push(c as Uint8Array);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    };
    try {
      if (method === 'POST' && u.pathname === '/v1/events') {
        const { event } = this.append(parseEventInput(await readJson()));
        const checkpoint = this.checkpoint();
        const receipt = this.receipt(event, checkpoint);
        return json(200, { index: event.index, id: event.record.id, leafHash: receipt.leafHash, checkpoint, receipt });
      }
      if (method === 'POST' && u.pathname === '/v1/events/batch') {
        const body = await readJson();
        if (!Array.isArray(body)) return json(400, { error: 'not an array' });
        const inputs = body.map((e, i) => parseEventInput(e, `[${i}]`));
        const events = inputs.map((e) => this.append(e).event);
        const checkpoint = this.checkpoint();
        const results = events.map((e) => ({ index: e.index, id: e.record.id, leafHash: toBase64(this.honest.levels[0]![e.index]!) }));
        const receipts = u.searchParams.get('receipts') === '1' ? { receipts: events.map((e) => this.receipt(e, checkpoint)) } : {};
        return json(200, { results, checkpoint, ...receipts });
      }
      if (method === 'DELETE' && u.pathname.startsWith('/v1/events/')) {
        const key = decodeURIComponent(u.pathname.slice('/v1/events/'.length));
        const reason = u.searchParams.get('reason') ?? '';
        if (reason === '' || reason.length > 500) return json(400, { error: 'give a reason of 1 to 500 characters' });
        const index = /^[0-9]+$/.test(key) ? Number(key) : this.ids.get(`${u.searchParams.get('tenant') ?? ''}\u0000${key}`);
        if (index !== undefined && this.tombstones.has(index)) return json(410, this.erasedBody(index));
        if (index === undefined || !this.events.has(index)) return json(404, { error: 'no such event' });
        if (this.held.has(index)) return json(423, { error: `event ${index} is under legal hold h-1` });
        const tombstone = { erased_at: new Date(START).toISOString(), reason, by: { key_id: '0123456789abcdef', key_name: 'eraser' } };
        this.erase(index, tombstone);
        return json(200, { index, leafHash: toBase64(this.honest.levels[0]![index]!), tombstone });
      }
      if (method === 'GET' && u.pathname.startsWith('/v1/events/')) {
        const key = decodeURIComponent(u.pathname.slice('/v1/events/'.length));
        if (/^[0-9]+$/.test(key) && this.tombstones.has(Number(key))) return json(410, this.erasedBody(Number(key)));
        let index = /^[0-9]+$/.test(key) ? Number(key) : this.ids.get(`${u.searchParams.get('tenant') ?? ''}\u0000${key}`);
        if (index !== undefined && !/^[0-9]+$/.test(key) && this.eventFaults.getAnswersIndex !== undefined)
          index = this.eventFaults.getAnswersIndex;
        const ev = index === undefined ? undefined : this.events.get(index);
        if (ev === undefined) return json(404, { error: 'no such event' });
        const checkpoint = this.checkpoint();
        return json(200, { ...this.receipt(ev, checkpoint), checkpoint });
      }
      if (method === 'GET' && u.pathname === '/v1/events') return json(200, this.search(u));
    } catch (e) {
      if (e instanceof Conflict) return json(409, { error: e.message });
      if (e instanceof EventFormatError) return json(400, { error: e.message });
      throw e;
    }
    return undefined;
  }

  /**
   * One page: examines up to `limit` candidates after the cursor (the last index examined), so
   * a page may hold fewer results, even none, and still have a `next`.
   */
  private search(u: URL) {
    this.searches.push(u.search);
    const p = Object.fromEntries(u.searchParams);
    const { order = 'asc', limit = '100', cursor, proofs, ...filterParams } = p;
    const filter: EventFilter = parseEventFilter(filterParams);
    const unfiltered = Object.keys(filter).length === 0;
    const desc = order === 'desc';
    const all = [...this.events.keys()].sort((a, b) => (desc ? b - a : a - b));
    const after = cursor === undefined ? all : all.filter((i) => (desc ? i < Number(cursor) : i > Number(cursor)));
    const examined = after.slice(0, Number(limit));
    const checkpoint = this.checkpoint();
    const f = this.eventFaults;
    const results = examined.filter((i) => {
      if (unfiltered) return i !== f.hideFromListing;
      if (i === f.hideFromSearch) return false;
      return f.ignoreFilter || eventMatches(this.events.get(i)!.record, filter);
    });
    if (f.reversePages) results.reverse();
    const events = results.map((i) => {
      const r = this.receipt(this.events.get(i)!, checkpoint);
      return {
        index: i,
        leafHash: r.leafHash,
        record: r.record,
        salt: r.salt,
        ...(proofs === '1' ? { inclusion: proveInclusionSync(this.honest.reader, i, this.published).map(toBase64) } : {}),
      };
    });
    const more = after.length > examined.length;
    return { checkpoint, events, ...(more ? { next: String(examined[examined.length - 1]) } : {}) };
  }
}
