/**
 * The feed's walk through the events, on a real log (LevelDB in a temp dir): from any position,
 * with any filter and any step size, walking `read` until the end gives exactly the matching
 * events a model keeps, oldest first, once each; readers at the live edge (served from the
 * shared recent events) get what readers of the store get; an erased event leaves both; a
 * stream whose client stops reading is cut, and its slot released.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventFilter, type EventInput, type EventRecord, eventMatches, parseEventFilter, parseEventInput } from '@tlog/events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogServer, type LogServer } from '../index.js';
import { EventFeed } from './event-feed.js';
import { EventStream } from './event-stream.js';
import { exportBody } from './export-body.js';
import type { FeedEvent } from './feed-event.js';
import { RecentEvents } from './recent-events.js';

const ACTIONS = ['user.login', 'user.logout', 'doc.read', 'doc.write', 'role.granted'];
const TENANTS = [undefined, 'acme', 'globex'];

function input(i: number): EventInput {
  return parseEventInput({
    action: ACTIONS[i % ACTIONS.length]!,
    actor: { type: 'user', id: `user-${i % 7}` },
    targets: [{ type: 'doc', id: `doc-${i % 11}` }],
    outcome: i % 4 === 0 ? 'failure' : 'success',
    occurred_at: new Date(Date.UTC(2026, 0, 1) + ((i * 7919) % 5000) * 1000).toISOString(),
    ...(TENANTS[i % 3] !== undefined ? { tenant: TENANTS[i % 3] } : {}),
  });
}

/** Walks the feed from `after` to the published size in steps of at most `step` events. */
async function walk(feed: EventFeed, filter: EventFilter, after: number, step: number): Promise<number[]> {
  const upTo = feed.published.size;
  const out: number[] = [];
  let at = after;
  while (at < upTo - 1) {
    const r = await feed.read(filter, at, upTo, { events: step });
    expect(r.through).toBeGreaterThanOrEqual(at);
    expect(r.through).toBeLessThan(upTo);
    expect(r.events.length).toBeLessThanOrEqual(step);
    for (const e of r.events) {
      expect(e.index).toBeGreaterThan(at);
      expect(e.index).toBeLessThanOrEqual(r.through);
      out.push(e.index);
    }
    if (r.events.length === 0 && r.through === at) throw new Error(`no progress at ${at}`);
    at = r.through;
  }
  return out;
}

describe('RecentEvents', () => {
  const fake = (index: number, tenant: string): FeedEvent => ({
    index,
    leafHash: '',
    salt: '',
    canonical: new Uint8Array(10),
    record: { ...input(index), tenant, id: String(index), received_at: '2026-01-01T00:00:00Z' } as EventRecord,
  });

  it('reads each new range of the store once for every reader at the live edge, and sends readers behind it to the store', async () => {
    const loads: [number, number][] = [];
    const recent = new RecentEvents(10, { events: 8, bytes: 1000 });
    const load = async (after: number, upTo: number) => {
      loads.push([after, upTo]);
      const events: FeedEvent[] = [];
      for (let i = after + 1; i < upTo; i++) if (i % 2 === 0) events.push(fake(i, i % 4 === 0 ? 'acme' : 'globex'));
      return { events, through: upTo - 1 };
    };
    const lim = { events: 100, bytes: 1 << 20 };
    const [a, b] = await Promise.all([
      recent.read(parseEventFilter({ tenant: 'acme' }), 9, 16, lim, load),
      recent.read({}, 9, 16, lim, load),
    ]);
    expect(loads).toEqual([[9, 16]]);
    expect(a!.events.map((e) => e.index)).toEqual([12]);
    expect(b!.events.map((e) => e.index)).toEqual([10, 12, 14]);
    expect(b!.through).toBe(15);
    // Limits cut a read short, saying where to go on.
    const cut = await recent.read({}, 9, 16, { events: 2, bytes: 1 << 20 }, load);
    expect(cut).toEqual({ events: b!.events.slice(0, 2), through: 13 });
    // The window holds 8 events: after growing to 30, 10 and 12 are gone and a reader from 9 reads the store.
    await recent.read({}, 15, 24, lim, load);
    await recent.read({}, 23, 30, lim, load);
    expect(loads).toEqual([
      [9, 16],
      [15, 24],
      [23, 30],
    ]);
    expect(await recent.read({}, 9, 30, lim, load)).toBeUndefined();
    expect((await recent.read({}, 20, 30, lim, load))!.events.map((e) => e.index)).toEqual([22, 24, 26, 28]);
    recent.forget(24);
    expect((await recent.read({}, 20, 30, lim, load))!.events.map((e) => e.index)).toEqual([22, 26, 28]);
    expect(loads.length).toBe(3);
    // A jump beyond what the window can hold: it starts again at the new edge.
    expect(await recent.read({}, 29, 100, lim, load)).toBeUndefined();
    expect((await recent.read({}, 99, 104, lim, load))!.events.map((e) => e.index)).toEqual([100, 102]);
  });
});

describe('EventFeed', () => {
  let dir: string;
  let s: LogServer;
  /** The model: every event's record by index (erased ones removed). */
  const records = new Map<number, EventRecord>();

  async function append(from: number, n: number): Promise<void> {
    const r = await s.events.append(
      Array.from({ length: n }, (_, k) => input(from + k)),
      true,
    );
    for (const x of r.receipts!) records.set(x.index, x.record);
    // Raw entries between events: indexes the walk must step over.
    await s.log.append([new TextEncoder().encode(`raw ${from}`)], false);
  }

  const expected = (filter: EventFilter, after: number) =>
    [...records.entries()]
      .filter(([i, r]) => i > after && eventMatches(r, filter))
      .map(([i]) => i)
      .sort((a, b) => a - b);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlog-feed-'));
    s = await createLogServer({ dataDir: dir, logLevel: 'silent' });
    for (let k = 0; k < 6; k++) await append(k * 50, 50);
  });
  afterAll(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  const filterArb = fc.record(
    {
      actor: fc.constantFrom('user-1', 'user-3', 'nobody'),
      action: fc.constantFrom('user.login', 'user.*', 'doc.*', 'role.granted', 'none.*'),
      target: fc.constantFrom('doc-2', 'doc-5'),
      tenant: fc.constantFrom('acme', 'globex'),
      outcome: fc.constantFrom('success', 'failure'),
      occurred_since: fc.constantFrom('2026-01-01T00:20:00Z', '2026-01-01T01:00:00Z'),
      occurred_until: fc.constantFrom('2026-01-01T00:40:00Z', '2026-01-01T02:00:00Z'),
    },
    { requiredKeys: [] },
  );

  it('walks exactly the matching events, from any position, in steps of any size', async () => {
    const feed = new EventFeed(s.log, s.events);
    const size = s.log.published.size;
    await fc.assert(
      fc.asyncProperty(filterArb, fc.integer({ min: -1, max: size - 1 }), fc.integer({ min: 1, max: 40 }), async (given, after, step) => {
        const filter = parseEventFilter(given);
        expect(await walk(feed, filter, after, step)).toEqual(expected(filter, after));
      }),
      { numRuns: 60 },
    );
    feed.close();
  });

  it('answers readers at the live edge from the recent events exactly as from the store', async () => {
    const live = new EventFeed(s.log, s.events, { recentEvents: 64 });
    const start = s.log.published.size - 1;
    for (let k = 0; k < 4; k++) {
      await append(1000 + k * 30, 30);
      for (const given of [{}, { tenant: 'acme' }, { action: 'doc.*', outcome: 'success' }]) {
        const filter = parseEventFilter(given);
        // A fresh feed has no recent events: it reads the store.
        const cold = new EventFeed(s.log, s.events);
        expect(await walk(live, filter, start, 10)).toEqual(await walk(cold, filter, start, 1000));
        expect(await walk(live, filter, start, 10)).toEqual(expected(filter, start));
        cold.close();
      }
    }
    // An erased event leaves the recent events too.
    const victim = [...records.keys()].filter((i) => i > start)[3]!;
    await s.events.erase(victim, {
      erased_at: new Date().toISOString(),
      reason: 'test',
      by: { key_id: '0123456789abcdef', key_name: 'test' },
    });
    records.delete(victim);
    expect(await walk(live, {}, start, 7)).toEqual(expected({}, start));
    live.close();
  });

  it('wakes waiters on the next checkpoint and rejects them when closed', async () => {
    const feed = new EventFeed(s.log, s.events);
    const size = feed.published.size;
    const waiting = feed.waitBeyond(size - 1 + 0);
    await expect(waiting).resolves.toMatchObject({ size });
    const next = feed.waitBeyond(size);
    await append(5000, 1);
    expect((await next).size).toBeGreaterThan(size);
    const never = feed.waitBeyond(feed.published.size + 100);
    feed.close();
    await expect(never).rejects.toThrow(/closed/);
  });

  it('cuts an export whose read fails, tells the operator why, and releases its slot', async () => {
    const feed = new EventFeed(s.log, s.events);
    const reported: unknown[] = [];
    let released = 0;
    const damaged = new Error('storage is corrupt at event 7');
    const failing = Object.assign(Object.create(feed) as EventFeed, { read: () => Promise.reject(damaged) });
    const body = exportBody(failing, {
      filter: {},
      after: -1,
      upTo: feed.published.size,
      format: 'ndjson',
      limit: Number.POSITIVE_INFINITY,
      release: () => released++,
      onError: (err) => reported.push(err),
    });
    await expect(body.getReader().read()).rejects.toBe(damaged);
    expect(reported).toEqual([damaged]);
    expect(released).toBe(1);
    feed.close();
  });

  it('cuts a stream whose client stops reading, and releases its slot', async () => {
    const feed = new EventFeed(s.log, s.events);
    let released = 0;
    const stream = new EventStream(
      feed,
      { filter: {}, after: -1, proofs: false, release: () => released++, onError: () => {} },
      { stallMs: 50, heartbeatMs: 10_000 },
    );
    const reader = stream.body.getReader();
    const retry = await reader.read();
    expect(new TextDecoder().decode(retry.value)).toBe('retry: 2000\n\n');
    // The checkpoint frame is made; then nobody reads: after stallMs the stream fails.
    await new Promise((r) => setTimeout(r, 30));
    await new Promise((r) => setTimeout(r, 200));
    await expect(
      (async () => {
        for (;;) await reader.read();
      })(),
    ).rejects.toThrow(/stopped reading/);
    expect(released).toBe(1);
    feed.close();
  });
});
