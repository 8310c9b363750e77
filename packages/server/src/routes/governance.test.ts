/**
 * The governance routes on a real log, behind a fake guard (a test header picks the principal)
 * and a fake access recorder that collects what it is given.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventReceipt, parseEventInput } from '@tlog/events';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AccessEntry, type AuthEnv, type Guard, hasScope, type Principal } from '../auth/principal.js';
import { DAY_MS, Governance } from '../events/governance.js';
import { MASTER_KEY_FILE_NAME, openEventKeys } from '../events/master-key.js';
import { createLogServer, type LogServer } from '../index.js';
import { StorageError } from '../storage/store.js';
import { errorResponse } from './errors.js';
import { governanceRoutes } from './governance.js';

const PRINCIPALS: Record<string, Principal> = {
  admin: { keyId: 'a000000000000001', name: 'ops admin', scopes: ['admin'] },
  eraser: { keyId: 'e000000000000001', name: 'dpo', scopes: ['events:erase'] },
  acme: { keyId: 'e000000000000002', name: 'acme dpo', scopes: ['events:erase'], tenant: 'acme' },
  reader: { keyId: 'r000000000000001', name: 'reader', scopes: ['events:read'] },
};

let dir: string;
let s: LogServer;
let gov: Governance;
const clock = { now: 0 };
const recorded: AccessEntry[] = [];
let accessDown = false;
let app: Hono<AuthEnv>;

const guard: Guard = (scope) => async (c, next) => {
  const p = PRINCIPALS[c.req.header('x-test-key') ?? ''];
  if (p === undefined) return c.json({ error: 'this endpoint needs an API key: send Authorization: Bearer <key>' }, 401);
  if (!hasScope(p, scope)) return c.json({ error: `this key lacks the scope ${scope}` }, 403);
  c.set('principal', p);
  c.set('access', {
    record: async (entry) => {
      if (accessDown) throw new StorageError('the access log cannot be written');
      recorded.push(entry);
    },
  });
  await next();
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tlog-gov-routes-'));
  s = await createLogServer({ dataDir: dir, logLevel: 'silent' });
  const keys = await openEventKeys(s.log.currentStore, { path: join(dir, MASTER_KEY_FILE_NAME), explicit: true });
  clock.now = Date.now();
  gov = await Governance.open({
    events: s.events,
    cipher: keys.cipher,
    minRetentionDays: 7,
    initialRules: [{ days: 30 }],
    now: () => clock.now,
  });
  app = new Hono<AuthEnv>();
  app.route('/', governanceRoutes({ governance: gov, guard }));
  app.onError((err, c) => errorResponse(err, c, () => {}));
});

afterAll(async () => {
  await s.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  recorded.length = 0;
  accessDown = false;
  clock.now = Date.now() + 8 * DAY_MS; // past the minimum retention of the events logged now
});

async function logEvents(...overs: Record<string, unknown>[]): Promise<readonly EventReceipt[]> {
  const inputs = overs.map((o) =>
    parseEventInput({ action: 'user.login', actor: { type: 'user', id: 'alice' }, occurred_at: '2026-06-01T10:00:00Z', ...o }),
  );
  return (await s.events.append(inputs, true)).receipts!;
}

function call(method: string, path: string, key: string | undefined, body?: unknown): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method,
      headers: {
        ...(key === undefined ? {} : { 'x-test-key': key }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

describe('DELETE /v1/events/{ref}', () => {
  it('erases with a reason, records the access event first, and answers 410 after', async () => {
    const [e] = await logEvents({ id: 'to-erase' });
    expect((await call('DELETE', `/v1/events/${e!.index}`, undefined)).status).toBe(401);
    expect((await call('DELETE', `/v1/events/${e!.index}?reason=x`, 'reader')).status).toBe(403);
    const noReason = await call('DELETE', `/v1/events/${e!.index}`, 'eraser');
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { error: string }).error).toMatch(/"reason"/);
    expect(recorded).toMatchObject([{ action: 'events.erase', outcome: 'failure', details: { status: 400 } }]);
    recorded.length = 0;

    const res = await call('DELETE', '/v1/events/to-erase?reason=GDPR%20request%2042', 'eraser');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { index: number; leafHash: string; tombstone: unknown };
    expect(body).toEqual({
      index: e!.index,
      leafHash: e!.leafHash,
      tombstone: {
        erased_at: new Date(clock.now).toISOString(),
        reason: 'GDPR request 42',
        by: { key_id: 'e000000000000001', key_name: 'dpo' },
      },
    });
    expect(recorded).toEqual([
      {
        action: 'events.erase',
        outcome: 'success',
        targets: [{ type: 'event', id: String(e!.index) }],
        details: { reason: 'GDPR request 42' },
      },
    ]);

    const again = await call('DELETE', `/v1/events/${e!.index}?reason=again`, 'eraser');
    expect(again.status).toBe(410);
    const gone = (await again.json()) as Record<string, unknown>;
    expect(gone).toMatchObject({ index: e!.index, leafHash: e!.leafHash, tombstone: body.tombstone });
    expect(gone.error).toMatch(new RegExp(`^event ${e!.index} was erased`));
    expect(gone.proof).toMatch(/^c2sp.org\/tlog-proof@v1\n/);
    expect(Object.keys(gone).sort()).toEqual(['checkpoint', 'error', 'index', 'leafHash', 'proof', 'tombstone']);
    expect((await call('DELETE', '/v1/events/999999?reason=x', 'eraser')).status).toBe(404);
  });

  it('answers 423 under a hold or inside the minimum retention, and changes nothing', async () => {
    const [held, young] = await logEvents({ actor: { type: 'user', id: 'carol' } }, {});
    const placed = await call('POST', '/v1/admin/holds', 'admin', { reason: 'case 9', actor: 'carol' });
    expect(placed.status).toBe(201);
    const hold = (await placed.json()) as { id: string };
    const refused = await call('DELETE', `/v1/events/${held!.index}?reason=x`, 'eraser');
    expect(refused.status).toBe(423);
    expect(((await refused.json()) as { error: string }).error).toContain(hold.id);
    clock.now = Date.now();
    const tooSoon = await call('DELETE', `/v1/events/${young!.index}?reason=x`, 'eraser');
    expect(tooSoon.status).toBe(423);
    expect(((await tooSoon.json()) as { error: string }).error).toMatch(/minimum retention of 7 days; it cannot be erased before \d{4}-/);
    expect((await s.events.get({ index: held!.index })).record).toEqual(held!.record);
    expect((await s.events.get({ index: young!.index })).record).toEqual(young!.record);
    expect(recorded.filter((r) => r.action === 'events.erase').map((r) => [r.outcome, r.details?.status])).toEqual([
      ['failure', 423],
      ['failure', 423],
    ]);
    expect((await call('DELETE', `/v1/admin/holds/${hold.id}`, 'admin')).status).toBe(200);
  });

  it('lets a tenant-bound key erase only its own tenant’s events (404 for the rest, erased or not)', async () => {
    const [mine, theirs, gone] = await logEvents({ tenant: 'acme', id: 'mine' }, { tenant: 'globex', id: 'theirs' }, { tenant: 'globex' });
    expect((await call('DELETE', `/v1/events/${theirs!.index}?reason=x`, 'acme')).status).toBe(404);
    expect((await call('DELETE', '/v1/events/theirs?tenant=globex&reason=x', 'acme')).status).toBe(404);
    expect((await call('DELETE', '/v1/events/theirs?reason=x', 'acme')).status).toBe(404);
    expect((await call('DELETE', `/v1/events/${gone!.index}?reason=x`, 'eraser')).status).toBe(200);
    expect((await call('DELETE', `/v1/events/${gone!.index}?reason=x`, 'acme')).status).toBe(404);
    expect((await call('DELETE', '/v1/events/mine?reason=x', 'acme')).status).toBe(200);
    expect((await call('DELETE', `/v1/events/${mine!.index}?reason=x`, 'acme')).status).toBe(410);
  });

  it('answers 503 and erases nothing when the access log cannot be written', async () => {
    const [e] = await logEvents({});
    accessDown = true;
    expect((await call('DELETE', `/v1/events/${e!.index}?reason=x`, 'eraser')).status).toBe(503);
    expect((await s.events.get({ index: e!.index })).index).toBe(e!.index);
  });
});

describe('retention and holds', () => {
  it('reads and replaces the retention rules (admin only), refusing rules below the minimum', async () => {
    expect((await call('GET', '/v1/admin/retention', 'eraser')).status).toBe(403);
    expect(await (await call('GET', '/v1/admin/retention', 'admin')).json()).toEqual({
      min_retention_days: 7,
      rules: [{ id: 'r1', days: 30 }],
    });
    const low = await call('PUT', '/v1/admin/retention', 'admin', { rules: [{ days: 3 }] });
    expect(low.status).toBe(400);
    expect(((await low.json()) as { error: string }).error).toMatch(/rules\[0\]\.days: 3 is below the minimum retention of 7 days/);
    expect((await call('PUT', '/v1/admin/retention', 'admin', { rules: [{ days: 30, colour: 'red' }] })).status).toBe(400);
    expect((await call('PUT', '/v1/admin/retention', 'admin', [])).status).toBe(400);
    const rules = [
      { id: 'acme', days: 365, tenant: 'acme' },
      { days: 90, action_prefix: 'user.' },
    ];
    const ok = await call('PUT', '/v1/admin/retention', 'admin', { rules });
    expect(ok.status).toBe(200);
    const stored = [rules[0], { id: 'r2', days: 90, action_prefix: 'user.' }];
    expect(await ok.json()).toEqual({ min_retention_days: 7, rules: stored });
    expect(await (await call('GET', '/v1/admin/retention', 'admin')).json()).toEqual({ min_retention_days: 7, rules: stored });
    expect(recorded.map((r) => [r.action, r.outcome])).toEqual([
      ['retention.update', 'failure'],
      ['retention.update', 'failure'],
      ['retention.update', 'failure'],
      ['retention.update', 'success'],
    ]);
    expect(recorded[3]!.details).toEqual({ rules: stored });
  });

  it('places, lists and lifts holds, recording each', async () => {
    expect((await call('POST', '/v1/admin/holds', 'admin', { reason: 'no selector' })).status).toBe(400);
    const res = await call('POST', '/v1/admin/holds', 'admin', { reason: 'case 12', tenant: 'acme', since: '2026-01-01T00:00:00Z' });
    expect(res.status).toBe(201);
    const hold = (await res.json()) as Record<string, unknown>;
    expect(hold).toMatchObject({
      reason: 'case 12',
      tenant: 'acme',
      since: '2026-01-01T00:00:00Z',
      created_by: { key_id: 'a000000000000001', key_name: 'ops admin' },
    });
    expect(hold.id).toMatch(/^hold_[0-9a-f]{16}$/);
    const list = (await (await call('GET', '/v1/admin/holds', 'admin')).json()) as { holds: { id: string }[] };
    expect(list.holds.map((h) => h.id)).toContain(hold.id);
    const lifted = await call('DELETE', `/v1/admin/holds/${String(hold.id)}`, 'admin');
    expect(lifted.status).toBe(200);
    expect(await lifted.json()).toEqual({ id: hold.id, lifted_at: new Date(clock.now).toISOString() });
    expect((await call('DELETE', '/v1/admin/holds/hold_nope', 'admin')).status).toBe(404);
    expect((await call('PATCH', '/v1/admin/holds', 'admin')).status).toBe(405);
    expect(recorded.map((r) => [r.action, r.outcome])).toEqual([
      ['hold.place', 'failure'],
      ['hold.place', 'success'],
      ['hold.lift', 'success'],
      ['hold.lift', 'failure'],
    ]);
    expect(recorded[1]).toMatchObject({ targets: [{ type: 'legal_hold', id: hold.id }], details: { reason: 'case 12', tenant: 'acme' } });
  });
});
