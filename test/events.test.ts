/**
 * Audit events end to end on the real server (in process, real LevelDB in a temp dir): schema
 * errors change nothing, idempotency, receipts that verify offline with the log key alone,
 * search against a model (fast-check), received_at order, and privacy at rest.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyReceipt } from '@tlog/client';
import { type EventFilter, type EventReceipt, type EventRecord, eventMatches, eventReceiptEntry, parseEventReceipt } from '@tlog/events';
import { defaultHasher, fromBase64, parseCheckpoint, parseNote, toBase64, verifyInclusion } from '@tlog/merkle';
import { createLogServer, type LogServer } from '@tlog/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdminKey } from './support/auth.js';
import { tempDataDir } from './support/server.js';

const json = { 'content-type': 'application/json' };

/** The server, its app sending the admin key on every request (test/auth.test.ts is about keys). */
async function open(dataDir: string, extra: Record<string, unknown> = {}): Promise<LogServer> {
  return withAdminKey(await createLogServer({ dataDir, logLevel: 'silent', ...extra }));
}

async function post(s: LogServer, path: string, body: unknown, headers: Record<string, string> = json): Promise<Response> {
  return s.app.request(path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

function ev(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { action: 'user.login', actor: { type: 'user', id: 'alice' }, occurred_at: '2026-12-01T10:00:00Z', ...over };
}

/** Checks a receipt the way a third party would: the commitment, the leaf hash and the tlog-proof under the log key. */
function checkReceipt(r: EventReceipt, vkey: string): void {
  const receipt = parseEventReceipt(r);
  const entry = eventReceiptEntry(receipt);
  expect(toBase64(defaultHasher.hashLeaf(entry))).toBe(receipt.leafHash);
  const v = verifyReceipt(receipt.proof, entry, vkey);
  expect(v.index).toBe(receipt.index);
}

describe('events: writes', () => {
  let dir: string;
  let s: LogServer;
  beforeAll(async () => {
    dir = await tempDataDir();
    s = await open(dir);
  });
  afterAll(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs an event and answers a receipt that verifies offline', async () => {
    const res = await post(s, '/v1/events', ev({ outcome: 'success', targets: [{ type: 'app', id: 'console' }] }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { index: number; id: string; leafHash: string; checkpoint: string; receipt: EventReceipt };
    expect(body.receipt.index).toBe(body.index);
    expect(body.receipt.record.id).toBe(body.id);
    expect(body.receipt.record.outcome).toBe('success');
    expect(body.receipt.record.received_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    checkReceipt(body.receipt, s.verifierKey);
    // The same receipt fails for any other record.
    const forged = { ...body.receipt, record: { ...body.receipt.record, outcome: 'failure' as const } };
    expect(() => checkReceipt(forged, s.verifierKey)).toThrow();
    // The public entry is the commitment, nothing of the event.
    const entry = await s.app.request(`/v1/entries/${body.index}`);
    expect(new TextDecoder().decode(await entry.arrayBuffer())).toMatch(/^tlog-event-v1 [A-Za-z0-9+/]{43}=\n$/);
    const got = (await (await s.app.request(`/v1/events/${body.id}`)).json()) as EventReceipt & { checkpoint: string };
    expect(got.index).toBe(body.index);
    checkReceipt(got, s.verifierKey);
    const byIndex = (await (await s.app.request(`/v1/events/${body.index}`)).json()) as EventReceipt;
    expect(byIndex.record).toEqual(got.record);
  });

  it.each([
    ['bad JSON', '{"action":', 400, 'is not JSON'],
    ['a missing field', ev({ actor: { type: 'user' } }), 400, 'actor.id: is required'],
    ['an unknown field', ev({ who: 'x' }), 400, 'unknown field "who"'],
    ['a bad action', ev({ action: 'Login' }), 400, 'action:'],
    ['a bad time', ev({ occurred_at: 'yesterday' }), 400, 'occurred_at:'],
    ['a record over 64 KiB', ev({ metadata: { blob: 'x'.repeat(70_000) } }), 413, '65536'],
    ['a body over 128 KiB', ev({ metadata: { blob: 'x'.repeat(140_000) } }), 413, 'larger than'],
  ])('refuses %s, changing nothing', async (_what, body, status, message) => {
    const before = s.log.published.size;
    const res = await post(s, '/v1/events', body);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toContain(message);
    expect(s.log.published.size).toBe(before);
  });

  it('refuses a body that is not labelled JSON (415)', async () => {
    const res = await post(s, '/v1/events', ev(), { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('takes a batch as JSON or NDJSON, all or nothing', async () => {
    const before = s.log.published.size;
    const bad = await post(s, '/v1/events/batch', [ev(), ev(), ev({ actor: {} })]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^\[2\]\.actor/);
    expect(s.log.published.size).toBe(before);
    const nd = `${JSON.stringify(ev({ action: 'doc.read' }))}\n\n${JSON.stringify(ev({ action: 'doc.write' }))}\n`;
    const ok = await post(s, '/v1/events/batch?receipts=1', nd, { 'content-type': 'application/x-ndjson' });
    expect(ok.status).toBe(200);
    const r = (await ok.json()) as { results: { index: number; id: string }[]; receipts: EventReceipt[] };
    expect(r.results.map((x) => x.index)).toEqual([before, before + 1]);
    for (const rc of r.receipts) checkReceipt(rc, s.verifierKey);
    const many = await post(
      s,
      '/v1/events/batch',
      Array.from({ length: 1001 }, () => ev()),
    );
    expect(many.status).toBe(413);
    expect(s.log.published.size).toBe(before + 2);
  });

  it('is idempotent by id within a tenant, and refuses an id reused with other content (409)', async () => {
    const a = (await (await post(s, '/v1/events', ev({ id: 'op-7' }))).json()) as { index: number; receipt: EventReceipt };
    const again = (await (await post(s, '/v1/events', ev({ id: 'op-7' }))).json()) as { index: number; receipt: EventReceipt };
    expect(again.index).toBe(a.index);
    expect(again.receipt.record).toEqual(a.receipt.record);
    checkReceipt(again.receipt, s.verifierKey);
    const size = s.log.published.size;
    const conflict = await post(s, '/v1/events', ev({ id: 'op-7', outcome: 'failure' }));
    expect(conflict.status).toBe(409);
    expect(s.log.published.size).toBe(size);
    // Another tenant has its own ids.
    const other = (await (await post(s, '/v1/events', ev({ id: 'op-7', tenant: 'acme' }))).json()) as { index: number };
    expect(other.index).toBe(size);
    expect(((await (await s.app.request('/v1/events/op-7?tenant=acme')).json()) as EventReceipt).index).toBe(size);
    // Concurrent submissions of one new id get one index.
    const same = await Promise.all(Array.from({ length: 8 }, () => post(s, '/v1/events', ev({ id: 'op-8' }))));
    const indexes = await Promise.all(same.map(async (r) => ((await r.json()) as { index: number }).index));
    expect(new Set(indexes).size).toBe(1);
    // In a batch: a repeated id with the same content is one event, with other content a 409.
    const b = (await (await post(s, '/v1/events/batch', [ev({ id: 'op-9' }), ev({ id: 'op-9' })])).json()) as {
      results: { index: number }[];
    };
    expect(b.results[0]!.index).toBe(b.results[1]!.index);
    expect((await post(s, '/v1/events/batch', [ev({ id: 'op-10' }), ev({ id: 'op-10', outcome: 'success' })])).status).toBe(409);
  });

  it('answers 404 for an entry that is not an event, an unknown id and an index beyond the tree', async () => {
    const raw = (await (await s.app.request('/v1/entries', { method: 'POST', body: 'raw bytes' })).json()) as { index: number };
    expect((await s.app.request(`/v1/events/${raw.index}`)).status).toBe(404);
    expect((await s.app.request('/v1/events/no-such-id')).status).toBe(404);
    expect((await s.app.request('/v1/events/99999999')).status).toBe(404);
    expect((await s.app.request('/v1/events/007')).status).toBe(400);
  });

  it('bounds a page by bytes as well as by count, and the rest follows', async () => {
    const big = Array.from({ length: 20 }, (_, i) =>
      ev({ actor: { type: 'user', id: 'big-writer' }, metadata: { i, pad: 'p'.repeat(60_000) } }),
    );
    for (let i = 0; i < big.length; i += 5) expect((await post(s, '/v1/events/batch', big.slice(i, i + 5))).status).toBe(200);
    const first = (await (await s.app.request('/v1/events?actor=big-writer&limit=100')).json()) as { events: unknown[]; next?: string };
    expect(first.events.length).toBeGreaterThan(0);
    expect(first.events.length).toBeLessThan(20);
    expect(first.next).toBeDefined();
    let total = first.events.length;
    let next = first.next;
    while (next !== undefined) {
      const page = (await (await s.app.request(`/v1/events?actor=big-writer&limit=100&cursor=${next}`)).json()) as {
        events: unknown[];
        next?: string;
      };
      total += page.events.length;
      next = page.next;
    }
    expect(total).toBe(20);
  });

  it('keeps personal data out of the data directory, and refuses another master key', async () => {
    const secret = {
      actor: { type: 'user', id: 'zq-actor-7781', name: 'Zqx Secretname' },
      targets: [{ type: 'doc', id: 'zq-target-5512' }],
    };
    await post(
      s,
      '/v1/events',
      ev({
        ...secret,
        tenant: 'zq-tenant-9',
        context: { ip: '203.0.113.77', user_agent: 'ZqAgent/1.0' },
        metadata: { note: 'zq-meta-4471' },
      }),
    );
    await s.close();
    const needles = ['zq-actor-7781', 'Zqx Secretname', 'zq-target-5512', 'zq-tenant-9', '203.0.113.77', 'ZqAgent', 'zq-meta-4471'];
    const files = await readdir(join(dir, 'db'));
    for (const f of files) {
      const bytes = await readFile(join(dir, 'db', f));
      for (const n of needles) expect(bytes.includes(Buffer.from(n)), `${n} in ${f}`).toBe(false);
    }
    const key = await readFile(join(dir, 'master.key'), 'utf8');
    await writeFile(join(dir, 'master.key'), `${Buffer.alloc(32, 1).toString('base64')}\n`, { mode: 0o600 });
    await expect(open(dir)).rejects.toThrow(/does not open this log's data key/);
    await rm(join(dir, 'master.key'));
    await expect(open(dir)).rejects.toThrow(/master key .* is missing/);
    await writeFile(join(dir, 'master.key'), key, { mode: 0o600 });
    s = await open(dir);
    const found = (await (await s.app.request('/v1/events?actor=zq-actor-7781')).json()) as { events: { record: EventRecord }[] };
    expect(found.events.map((e) => e.record.metadata)).toEqual([{ note: 'zq-meta-4471' }]);
  });
});

describe('events: search', () => {
  let dir: string;
  let s: LogServer;
  const records: { index: number; record: EventRecord }[] = [];
  const actors = ['alice', 'bob', 'carol', 'dave'];
  const actions = ['user.login', 'user.logout', 'user.password.reset', 'role.granted', 'role.revoked', 'doc.read'];
  const targets = ['t1', 't2', 't3'];
  const tenants = [undefined, 'acme', 'globex'];
  const outcomes = ['success', 'failure', 'unknown'] as const;

  beforeAll(async () => {
    dir = await tempDataDir();
    s = await open(dir);
    // A raw entry among the events: searches skip it.
    await s.app.request('/v1/entries', { method: 'POST', body: 'not an event' });
    const rand = fc.sample(
      fc.record({
        actor: fc.constantFrom(...actors),
        action: fc.constantFrom(...actions),
        targets: fc.uniqueArray(fc.constantFrom(...targets), { maxLength: 3 }),
        tenant: fc.constantFrom(...tenants),
        outcome: fc.constantFrom(...outcomes),
        occurred: fc.integer({ min: 0, max: 50 }),
      }),
      { numRuns: 240, seed: 42 },
    );
    // Several batches, so received_at takes several values.
    for (let b = 0; b < 8; b++) {
      const batch = rand.slice(b * 30, b * 30 + 30).map((r) => ({
        action: r.action,
        actor: { type: 'user', id: r.actor },
        targets: r.targets.map((id) => ({ type: 'doc', id })),
        outcome: r.outcome,
        occurred_at: new Date(Date.UTC(2026, 0, 1, 0, r.occurred)).toISOString(),
        ...(r.tenant === undefined ? {} : { tenant: r.tenant }),
      }));
      const res = (await (await post(s, '/v1/events/batch?receipts=1', batch)).json()) as { receipts: EventReceipt[] };
      for (const rc of res.receipts) records.push({ index: rc.index, record: rc.record });
      await new Promise((r) => setTimeout(r, 3));
    }
  });
  afterAll(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('received_at never decreases along the log', () => {
    for (let i = 1; i < records.length; i++) {
      expect(records[i]!.index).toBeGreaterThan(records[i - 1]!.index);
      expect(records[i]!.record.received_at >= records[i - 1]!.record.received_at).toBe(true);
    }
  });

  /** Every page of a search, following `next`; checks each page's shape on the way. */
  async function searchAll(filter: EventFilter, order: 'asc' | 'desc', limit: number, proofs = false): Promise<number[]> {
    const out: number[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const q = new URLSearchParams({
        ...(filter as Record<string, string>),
        order,
        limit: String(limit),
        ...(proofs ? { proofs: '1' } : {}),
      });
      if (cursor !== undefined) q.set('cursor', cursor);
      const res = await s.app.request(`/v1/events?${q}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { events: { index: number; inclusion?: string[] }[]; next?: string; checkpoint: string };
      expect(page.events.length).toBeLessThanOrEqual(limit);
      for (const e of page.events) out.push(e.index);
      if (page.next === undefined) return out;
      expect(res.headers.get('link')).toContain('rel="next"');
      cursor = page.next;
    }
    throw new Error('no end of pages');
  }

  it('answers exactly what an in-memory filter answers, in both orders and any page size', async () => {
    const times = [...new Set(records.map((r) => r.record.received_at))];
    const filterArb = fc.record(
      {
        actor: fc.constantFrom(...actors, 'nobody'),
        action: fc.constantFrom(...actions, 'user.*', 'role.*', 'user.pass*', '*', 'none.*'),
        target: fc.constantFrom(...targets, 't9'),
        tenant: fc.constantFrom('acme', 'globex', 'initech'),
        outcome: fc.constantFrom(...outcomes),
        since: fc.constantFrom(...times),
        until: fc.constantFrom(...times),
        occurred_since: fc.integer({ min: 0, max: 50 }).map((m) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString()),
        occurred_until: fc.integer({ min: 0, max: 50 }).map((m) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString()),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        filterArb,
        fc.constantFrom('asc' as const, 'desc' as const),
        fc.integer({ min: 1, max: 40 }),
        async (filter, order, limit) => {
          const want = records.filter((r) => eventMatches(r.record, filter)).map((r) => r.index);
          if (order === 'desc') want.reverse();
          expect(await searchAll(filter, order, limit)).toEqual(want);
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('gives each result an inclusion proof in the page checkpoint with proofs=1', async () => {
    const res = await s.app.request('/v1/events?actor=alice&limit=5&proofs=1');
    const page = (await res.json()) as { checkpoint: string; events: { index: number; leafHash: string; inclusion: string[] }[] };
    const cp = parseCheckpoint(parseNote(page.checkpoint).text);
    for (const e of page.events) verifyInclusion(e.index, cp.size, fromBase64(e.leafHash), e.inclusion.map(fromBase64), cp.root);
    expect(page.events.length).toBe(5);
  });

  it('refuses bad filters and foreign cursors with 400', async () => {
    for (const q of ['actr=x', 'action=User.*', 'since=yesterday', 'limit=0', 'limit=1001', 'order=up', 'cursor=zzz', 'outcome=ok']) {
      const res = await s.app.request(`/v1/events?${q}`);
      expect(res.status, q).toBe(400);
    }
    const first = (await (await s.app.request('/v1/events?actor=alice&limit=1')).json()) as { next: string };
    expect((await s.app.request(`/v1/events?actor=bob&limit=1&cursor=${first.next}`)).status).toBe(400);
    expect((await s.app.request(`/v1/events?actor=alice&limit=1&order=desc&cursor=${first.next}`)).status).toBe(400);
  });
});
