/**
 * Access control on the real server (in process, real LevelDB in a temp dir): every guarded
 * route answers 401 without a valid key, 403 without its scope and lets the scope through; keys
 * bound to a tenant see and write only that tenant's events (fast-check); every read of event
 * content and every refusal is an access event in the access log, itself a verifiable log.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventRecord } from '@tlog/events';
import { createLogServer, type LogServer, SCOPES, type Scope } from '@tlog/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKeyOf } from './support/auth.js';
import { tempDataDir } from './support/server.js';

const JSON_TYPE = { 'content-type': 'application/json' };

function ev(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { action: 'user.login', actor: { type: 'user', id: 'alice' }, occurred_at: '2026-12-01T10:00:00Z', ...over };
}

interface AccessEvent {
  readonly index: number;
  readonly record: EventRecord;
}

/** A server and what the tests need of it. */
class Harness {
  private constructor(
    readonly s: LogServer,
    readonly dir: string,
    readonly admin: string,
  ) {}

  static async open(extra: Record<string, unknown> = {}): Promise<Harness> {
    const dir = await tempDataDir();
    const s = await createLogServer({ dataDir: dir, logLevel: 'silent', ...extra });
    return new Harness(s, dir, await adminKeyOf(s));
  }

  req(path: string, init: RequestInit & { key?: string | undefined } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.key !== undefined) headers.set('authorization', `Bearer ${init.key}`);
    return Promise.resolve(this.s.app.request(path, { ...init, headers }));
  }

  async makeKey(scopes: readonly string[], tenant?: string, name = 'test key'): Promise<{ key: string; id: string }> {
    const res = await this.req('/v1/admin/keys', {
      method: 'POST',
      key: this.admin,
      headers: JSON_TYPE,
      body: JSON.stringify({ name, scopes, ...(tenant !== undefined ? { tenant } : {}) }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { key: string; id: string };
  }

  /** Every access event so far, read through the access log's own API with the admin key. */
  async accessEvents(): Promise<AccessEvent[]> {
    const out: AccessEvent[] = [];
    let cursor: string | undefined;
    do {
      const res = await this.req(`/access/v1/events?limit=1000${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, {
        key: this.admin,
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { events: AccessEvent[]; next?: string };
      out.push(...page.events);
      cursor = page.next;
    } while (cursor !== undefined);
    return out;
  }

  async close(): Promise<void> {
    await this.s.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

describe('auth: keys and the bootstrap admin key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.open();
  });
  afterAll(() => h.close());

  it('writes the bootstrap admin key to admin.key with mode 0600, and the key text has the documented shape', async () => {
    expect((await stat(join(h.dir, 'admin.key'))).mode & 0o777).toBe(0o600);
    expect(h.admin).toMatch(/^tlog_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(h.s.notices.join('\n')).toContain(join(h.dir, 'admin.key'));
  });

  it('creates a key shown once, lists keys without secrets, and revokes a key at once', async () => {
    const made = await h.makeKey(['events:read'], 'acme', 'reader of acme');
    expect(made.key).toMatch(new RegExp(`^tlog_${made.id}_`));
    const list = await h.req('/v1/admin/keys', { key: h.admin });
    const text = await list.text();
    expect(text).not.toContain(made.key.slice(22));
    const keys = (JSON.parse(text) as { keys: { id: string; name: string; tenant?: string; last_used_at?: string }[] }).keys;
    expect(keys.find((k) => k.id === made.id)).toMatchObject({ name: 'reader of acme', tenant: 'acme', scopes: ['events:read'] });
    expect((await h.req('/v1/events', { key: made.key })).status).toBe(200);
    const after = (await (await h.req('/v1/admin/keys', { key: h.admin })).json()) as { keys: { id: string; last_used_at?: string }[] };
    expect(after.keys.find((k) => k.id === made.id)?.last_used_at).toBeDefined();
    const del = await h.req(`/v1/admin/keys/${made.id}`, { method: 'DELETE', key: h.admin });
    expect(del.status).toBe(200);
    expect((await h.req('/v1/events', { key: made.key })).status).toBe(401);
    expect((await h.req('/v1/admin/keys/0123456789abcdef', { method: 'DELETE', key: h.admin })).status).toBe(404);
  });

  it('answers every bad key alike (missing, malformed, unknown id, wrong secret, revoked): 401 with one message', async () => {
    const made = await h.makeKey(['events:read']);
    await h.req(`/v1/admin/keys/${made.id}`, { method: 'DELETE', key: h.admin });
    const id = h.admin.slice(5, 21);
    const bodies = new Set<string>();
    for (const key of [undefined, 'nonsense', `tlog_0123456789abcdef_${'A'.repeat(43)}`, `tlog_${id}_${'A'.repeat(43)}`, made.key]) {
      const res = await h.req('/v1/events', { key });
      expect(res.status).toBe(401);
      bodies.add(await res.text());
    }
    expect(bodies.size).toBe(1);
  });

  it('refuses bad key requests with 400 and makes no key', async () => {
    const before = h.s.keys.size;
    for (const body of [
      '{',
      JSON.stringify({ name: 'x', scopes: [] }),
      JSON.stringify({ name: 'x', scopes: ['root'] }),
      JSON.stringify({ name: 'x', scopes: ['admin', 'admin'] }),
      JSON.stringify({ name: '', scopes: ['admin'] }),
      JSON.stringify({ name: 'x', scopes: ['admin'], expires_at: '2001-01-01T00:00:00Z' }),
      JSON.stringify({ name: 'x', scopes: ['admin'], extra: 1 }),
    ]) {
      const res = await h.req('/v1/admin/keys', { method: 'POST', key: h.admin, headers: JSON_TYPE, body });
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBeTypeOf('string');
    }
    expect(h.s.keys.size).toBe(before);
  });
});

/** A guarded route, the scope it needs, and a request that exercises it. */
interface Route {
  readonly scope: Scope;
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly type?: string;
}

const ROUTES: readonly Route[] = [
  { scope: 'entries:write', method: 'POST', path: '/v1/entries', body: 'x', type: 'application/octet-stream' },
  { scope: 'entries:write', method: 'POST', path: '/v1/entries/batch', body: '\u0000\u0001y', type: 'application/octet-stream' },
  { scope: 'events:write', method: 'POST', path: '/v1/events', body: JSON.stringify(ev()), type: 'application/json' },
  { scope: 'events:write', method: 'POST', path: '/v1/events/batch', body: JSON.stringify([ev()]), type: 'application/json' },
  { scope: 'events:read', method: 'GET', path: '/v1/events?action=user.login' },
  { scope: 'events:read', method: 'GET', path: '/v1/events/0' },
  { scope: 'events:erase', method: 'DELETE', path: '/v1/events/999999?reason=test' },
  { scope: 'keys:admin', method: 'GET', path: '/v1/admin/keys' },
  {
    scope: 'keys:admin',
    method: 'POST',
    path: '/v1/admin/keys',
    body: JSON.stringify({ name: 'k', scopes: ['events:read'] }),
    type: 'application/json',
  },
  { scope: 'keys:admin', method: 'DELETE', path: '/v1/admin/keys/0123456789abcdef' },
  { scope: 'admin', method: 'GET', path: '/v1/admin/retention' },
  { scope: 'admin', method: 'GET', path: '/v1/admin/holds' },
  {
    scope: 'admin',
    method: 'POST',
    path: '/v1/admin/holds',
    body: JSON.stringify({ reason: 'case 1', tenant: 'acme' }),
    type: 'application/json',
  },
  { scope: 'admin', method: 'DELETE', path: '/v1/admin/holds/nohold' },
  { scope: 'admin', method: 'GET', path: '/access/v1/events' },
  { scope: 'admin', method: 'GET', path: '/access/v1/events/0' },
  { scope: 'metrics:read', method: 'GET', path: '/metrics' },
  { scope: 'sinks:admin', method: 'GET', path: '/v1/sinks' },
  { scope: 'sinks:admin', method: 'GET', path: '/v1/sinks/nosink' },
  { scope: 'sinks:admin', method: 'POST', path: '/v1/sinks/nosink/resume' },
];

const PUBLIC_PATHS = ['/checkpoint', '/v1/log', '/access/checkpoint', '/access/v1/log', '/healthz', '/readyz'];

describe('auth: every scope boundary on every route', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.open();
  });
  afterAll(() => h.close());

  it('answers 401 without a key, 403 with every scope but the one needed, and lets that scope through', async () => {
    for (const r of ROUTES) {
      const init = (key: string | undefined): RequestInit & { key?: string | undefined } => ({
        method: r.method,
        key,
        ...(r.body !== undefined ? { body: r.body, headers: { 'content-type': r.type! } } : {}),
      });
      const what = `${r.method} ${r.path}`;
      const none = await h.req(r.path, init(undefined));
      expect(none.status, what).toBe(401);
      const others = SCOPES.filter((s) => s !== r.scope && s !== 'admin');
      const without = await h.makeKey(others);
      const refused = await h.req(r.path, init(without.key));
      expect(refused.status, what).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toContain(r.scope);
      const withScope = await h.makeKey([r.scope]);
      const allowed = await h.req(r.path, init(withScope.key));
      expect([401, 403], `${what} -> ${allowed.status}`).not.toContain(allowed.status);
      expect(allowed.status, what).toBeLessThan(500);
    }
  });

  it('keeps the tree public by default', async () => {
    for (const p of PUBLIC_PATHS) expect((await h.req(p)).status, p).toBe(200);
  });

  it('records every refusal in the access log, with the route, the scope and the key (never its secret)', async () => {
    const events = await h.accessEvents();
    const denied = events.filter((e) => e.record.action === 'auth.denied');
    // One 401 and one 403 per route above.
    expect(denied.filter((e) => e.record.metadata.status === 401).length).toBeGreaterThanOrEqual(ROUTES.length);
    expect(denied.filter((e) => e.record.metadata.status === 403).length).toBeGreaterThanOrEqual(ROUTES.length);
    for (const r of ROUTES) {
      expect(
        denied.some((e) => e.record.metadata.required_scope === r.scope && e.record.metadata.status === 403),
        r.path,
      ).toBe(true);
    }
    const text = JSON.stringify(events);
    expect(text).not.toContain(h.admin.slice(22));
    expect(denied.every((e) => e.record.outcome === 'failure')).toBe(true);
  });
});

describe('auth: --private-tree and --open-entries', () => {
  it('--private-tree guards the tree reads of both logs; --open-entries opens POST /v1/entries only', async () => {
    const h = await Harness.open({ privateTree: true, openEntries: true });
    try {
      const reader = await h.makeKey(['events:read']);
      for (const p of ['/checkpoint', '/v1/log', '/tile/0/000', '/v1/proof/consistency?from=0&to=0']) {
        expect((await h.req(p)).status, p).toBe(401);
        expect([401, 403]).not.toContain((await h.req(p, { key: reader.key })).status);
      }
      expect((await h.req('/access/checkpoint', { key: reader.key })).status).toBe(403);
      expect((await h.req('/access/checkpoint', { key: h.admin })).status).toBe(200);
      expect((await h.req('/v1/entries', { method: 'POST', body: 'open' })).status).toBe(200);
      expect((await h.req('/v1/events', { method: 'POST', body: JSON.stringify(ev()), headers: JSON_TYPE })).status).toBe(401);
      // A CORS preflight carries no credentials and is still answered.
      expect(
        (
          await h.req('/checkpoint', {
            method: 'OPTIONS',
            headers: { origin: 'https://x.example', 'access-control-request-method': 'GET' },
          })
        ).status,
      ).toBe(204);
    } finally {
      await h.close();
    }
  });

  it('the access log takes no entries from clients', async () => {
    const h = await Harness.open();
    try {
      const res = await h.req('/access/v1/entries', { method: 'POST', key: h.admin, body: 'x' });
      expect(res.status).toBe(405);
      expect(
        (await h.req('/access/v1/events', { method: 'POST', key: h.admin, body: JSON.stringify(ev()), headers: JSON_TYPE })).status,
      ).toBe(405);
    } finally {
      await h.close();
    }
  });
});

describe('auth: rate limits', () => {
  it('gives each key a token bucket per limited scope: 429 with Retry-After beyond it, other keys and scopes unaffected', async () => {
    const h = await Harness.open({ rateLimit: ['events:read=1/3'] });
    try {
      const a = await h.makeKey(['events:read', 'events:write']);
      const b = await h.makeKey(['events:read']);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await h.req('/v1/events', { key: a.key })).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toContain(429);
      const limited = await h.req('/v1/events', { key: a.key });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await limited.json()) as { error: string }).error).toMatch(/rate limit for events:read/);
      expect((await h.req('/v1/events', { key: b.key })).status).toBe(200);
      const write = await h.req('/v1/events', { method: 'POST', key: a.key, headers: JSON_TYPE, body: JSON.stringify(ev()) });
      expect(write.status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('auth: tenant isolation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.open();
  });
  afterAll(() => h.close());

  it('a tenant-bound key writes its tenant (set when absent, 403 for another) and reads only its tenant, by search, index and id', async () => {
    const tenants = ['acme', 'globex', 'initech'];
    const keys = new Map<string, string>();
    for (const t of tenants) keys.set(t, (await h.makeKey(['events:write', 'events:read'], t)).key);
    // What a read of a raw entry (no event) answers: another tenant's event must answer exactly so.
    const raw = (await (await h.req('/v1/entries', { method: 'POST', key: h.admin, body: 'not an event' })).json()) as { index: number };
    const rawAnswer = await h.req(`/v1/events/${raw.index}`, { key: keys.get('acme') });
    expect(rawAnswer.status).toBe(404);
    const rawError = ((await rawAnswer.json()) as { error: string }).error;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tenant: fc.constantFrom(...tenants),
            actor: fc.constantFrom('alice', 'bob', 'carol'),
            explicit: fc.boolean(),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (writes) => {
          for (const w of writes) {
            const body = ev({ actor: { type: 'user', id: w.actor }, ...(w.explicit ? { tenant: w.tenant } : {}) });
            const res = await h.req('/v1/events', {
              method: 'POST',
              key: keys.get(w.tenant),
              headers: JSON_TYPE,
              body: JSON.stringify(body),
            });
            expect(res.status).toBe(200);
            const other = tenants.find((t) => t !== w.tenant)!;
            const refused = await h.req('/v1/events', {
              method: 'POST',
              key: keys.get(w.tenant),
              headers: JSON_TYPE,
              body: JSON.stringify(ev({ tenant: other })),
            });
            expect(refused.status).toBe(403);
          }
          // The admin key sees everything: the truth each tenant's view must equal.
          const all = (await (await h.req('/v1/events?limit=1000', { key: h.admin })).json()) as { events: AccessEvent[] };
          for (const t of tenants) {
            const want = all.events.filter((e) => e.record.tenant === t).map((e) => e.index);
            const page = (await (await h.req('/v1/events?limit=1000', { key: keys.get(t) })).json()) as { events: AccessEvent[] };
            expect(page.events.map((e) => e.index)).toEqual(want);
            // Asking for another tenant is refused, not answered empty.
            const other = tenants.find((x) => x !== t)!;
            expect((await h.req(`/v1/events?tenant=${other}`, { key: keys.get(t) })).status).toBe(403);
            for (const e of all.events) {
              const got = await h.req(`/v1/events/${e.index}`, { key: keys.get(t) });
              if (e.record.tenant === t) {
                expect(got.status).toBe(200);
              } else {
                expect(got.status).toBe(404);
                expect(((await got.json()) as { error: string }).error).toBe(rawError.replace(`index ${raw.index}`, `index ${e.index}`));
              }
              const byId = await h.req(`/v1/events/${e.record.id}`, { key: keys.get(t) });
              expect(byId.status).toBe(e.record.tenant === t ? 200 : 404);
            }
          }
        },
      ),
      { numRuns: 6 },
    );
  });
});

describe('auth: the access trail', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.open();
  });
  afterAll(() => h.close());

  it('records each read of event content before answering it: who, what, which filters, how many, from where', async () => {
    const writer = await h.makeKey(['events:write']);
    const reader = await h.makeKey(['events:read'], undefined, 'auditor bot');
    for (const actor of ['alice', 'bob']) {
      const res = await h.req('/v1/events', {
        method: 'POST',
        key: writer.key,
        headers: JSON_TYPE,
        body: JSON.stringify(ev({ actor: { type: 'user', id: actor }, id: `login-${actor}` })),
      });
      expect(res.status).toBe(200);
    }
    const before = (await h.accessEvents()).length;
    const search = await h.req('/v1/events?actor=alice', { key: reader.key, headers: { 'user-agent': 'auditor/1.0' } });
    expect(search.status).toBe(200);
    expect((await h.req('/v1/events/login-bob', { key: reader.key })).status).toBe(200);
    expect((await h.req('/v1/events/nosuchid', { key: reader.key })).status).toBe(404);
    const after = await h.accessEvents();
    // The three reads, plus the admin's own read of the access log above.
    const mine = after.slice(before).filter((e) => e.record.actor.id === reader.id);
    expect(mine.map((e) => e.record.action)).toEqual(['events.search', 'events.get', 'events.get']);
    const [s0, g0, g1] = mine;
    expect(s0!.record.actor).toEqual({ type: 'api_key', id: reader.id, name: 'auditor bot' });
    expect(s0!.record.metadata).toMatchObject({ filters: { actor: 'alice' }, results: 1, status: 200, route: '/v1/events', method: 'GET' });
    expect(s0!.record.context.user_agent).toBe('auditor/1.0');
    expect(g0!.record).toMatchObject({ outcome: 'success', metadata: { results: 1, status: 200 } });
    expect(g1!.record).toMatchObject({ outcome: 'failure', metadata: { results: 0, status: 404 } });
    // Reading the access log is itself an access event.
    expect(
      after
        .slice(before)
        .some(
          (e) =>
            e.record.action === 'events.search' &&
            e.record.metadata.route === '/access/v1/events' &&
            e.record.actor.id === h.admin.slice(5, 21),
        ),
    ).toBe(true);
  });

  it('records admin actions: keys created and revoked, holds, retention changes, erasures', async () => {
    const made = await h.makeKey(['events:read'], undefined, 'temp');
    await h.req(`/v1/admin/keys/${made.id}`, { method: 'DELETE', key: h.admin });
    const hold = await h.req('/v1/admin/holds', {
      method: 'POST',
      key: h.admin,
      headers: JSON_TYPE,
      body: JSON.stringify({ reason: 'case 7', actor: 'mallory' }),
    });
    expect(hold.status).toBe(201);
    const put = await h.req('/v1/admin/retention', {
      method: 'PUT',
      key: h.admin,
      headers: JSON_TYPE,
      body: JSON.stringify({ rules: [{ days: 400 }] }),
    });
    expect(put.status).toBe(200);
    const erase = await h.req('/v1/events/login-alice?reason=GDPR%20request', { method: 'DELETE', key: h.admin });
    expect(erase.status).toBe(200);
    const actions = (await h.accessEvents()).map((e) => `${e.record.action} ${e.record.targets.map((t) => t.id).join(',')}`);
    expect(actions).toContain(`keys.create ${made.id}`);
    expect(actions).toContain(`keys.revoke ${made.id}`);
    expect(actions.some((a) => a.startsWith('hold.place'))).toBe(true);
    expect(actions.some((a) => a.startsWith('retention.update'))).toBe(true);
    expect(actions.some((a) => a.startsWith('events.erase'))).toBe(true);
  });

  it('records refusals up to a budget per address, then answers 429 unrecorded: bad keys cannot grow the access log without bound', async () => {
    const fresh = await Harness.open();
    try {
      const statuses = new Map<number, number>();
      for (let i = 0; i < 300; i++) {
        const res = await fresh.req('/v1/events', { key: `tlog_0123456789abcdef_${'B'.repeat(43)}` });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      expect(statuses.get(429) ?? 0).toBeGreaterThan(0);
      const denied = (await fresh.accessEvents()).filter((e) => e.record.action === 'auth.denied');
      expect(denied.length).toBe(statuses.get(401));
      expect(denied.length).toBeLessThan(300);
    } finally {
      await fresh.close();
    }
  });

  it('answers 503 and sends nothing it read when the access log cannot be written', async () => {
    const reader = await h.makeKey(['events:read']);
    await h.s.access.log.close();
    const res = await h.req('/v1/events?actor=bob', { key: reader.key });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toContain('bob');
    expect(JSON.parse(text)).toHaveProperty('error');
  });
});
