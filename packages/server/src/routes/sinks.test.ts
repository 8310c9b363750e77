/**
 * The sink routes behind a fake guard (a test header picks the principal) over real Sinks with
 * scripted transports and a fake feed: scope, tenant visibility, 404, 405, resume and its
 * access event. The real authentication is exercised by test/sinks-e2e.test.ts.
 */
import { Hono } from 'hono';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeFeed, FakeTransport, testRecord } from '../../../../test/support/fake-sinks.js';
import { type AccessEntry, type AuthEnv, type Guard, hasScope, type Principal } from '../auth/principal.js';
import { parseSinksConfig } from '../feeds/sinks/sink-config.js';
import { Sinks } from '../feeds/sinks/sinks.js';
import { DeliveryError } from '../feeds/sinks/transport.js';
import { errorResponse } from './errors.js';
import { sinkRoutes } from './sinks.js';

const PRINCIPALS: Record<string, Principal> = {
  admin: { keyId: 'a000000000000001', name: 'ops', scopes: ['admin'] },
  sinks: { keyId: 's000000000000001', name: 'sink ops', scopes: ['sinks:admin'] },
  acme: { keyId: 's000000000000002', name: 'acme ops', scopes: ['sinks:admin'], tenant: 'acme' },
  reader: { keyId: 'r000000000000001', name: 'reader', scopes: ['events:read'] },
};
const recorded: AccessEntry[] = [];
const guard: Guard = (scope) => async (c, next) => {
  const p = PRINCIPALS[c.req.header('x-test-key') ?? ''];
  if (p === undefined) return c.json({ error: 'this endpoint needs an API key' }, 401);
  if (!hasScope(p, scope)) return c.json({ error: `this key lacks the scope ${scope}` }, 403);
  c.set('principal', p);
  c.set('access', { record: async (entry) => void recorded.push(entry) });
  await next();
};

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
let sinks: Sinks;
let app: Hono<AuthEnv>;
const transports = new Map<string, FakeTransport>();

beforeAll(async () => {
  const feed = new FakeFeed();
  feed.publish([0, 1, 2].map((i) => testRecord(i, { tenant: 'acme' })));
  sinks = await Sinks.open({
    configs: parseSinksConfig({
      sinks: [
        { name: 'siem', type: 'webhook', url: 'http://siem.test/hook', secret: SECRET, batch: { maxEvents: 10, maxMs: 0 } },
        {
          name: 'acme-hec',
          type: 'splunk-hec',
          url: 'http://hec.test',
          token: 'tok',
          tenant: 'acme',
          batch: { maxEvents: 10, maxMs: 0 },
          retry: { initialMs: 1, maxMs: 1, deadAfterMs: 60_000 },
        },
      ],
    }),
    source: feed,
    cursors: { read: async () => undefined, write: async () => {} },
    announce: async () => {},
    origin: 'test.example/log',
    logger: pino({ level: 'silent' }),
    transport: (config) => {
      const t = new FakeTransport(
        config.name === 'acme-hec' ? [new DeliveryError('the receiver answered 400: no', { retryable: false })] : [],
      );
      transports.set(config.name, t);
      return t;
    },
  });
  sinks.start();
  app = new Hono<AuthEnv>();
  app.route('/', sinkRoutes({ sinks, guard }));
  app.onError((err, c) => errorResponse(err, c, () => {}));
  await vi.waitFor(() => expect(sinks.get('acme-hec')?.state).toBe('dead'));
  await vi.waitFor(() => expect(sinks.get('siem')?.cursor).toBe(2));
});
afterAll(() => sinks.close());

const req = (path: string, key?: string, method = 'GET') =>
  app.request(path, { method, headers: key === undefined ? {} : { 'x-test-key': key } });

describe('GET /v1/sinks', () => {
  it('lists every sink for an unbound key with sinks:admin or admin', async () => {
    for (const key of ['admin', 'sinks']) {
      const res = await req('/v1/sinks', key);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { sinks: Record<string, unknown>[] };
      expect(body.sinks.map((s) => s.name)).toEqual(['siem', 'acme-hec']);
      expect(body.sinks[0]).toMatchObject({
        type: 'webhook',
        url: 'http://receiver.test/hook',
        format: 'ndjson',
        state: 'active',
        cursor: 2,
        treeSize: 3,
        lag: 0,
        delivered: 3,
      });
      expect(body.sinks[1]).toMatchObject({
        type: 'splunk-hec',
        state: 'dead',
        cursor: -1,
        lag: 3,
        lastError: 'the receiver answered 400: no',
      });
      expect(JSON.stringify(body)).not.toContain(SECRET);
      expect(JSON.stringify(body)).not.toContain('tok"');
    }
  });

  it("shows a tenant-bound key only its tenant's sinks", async () => {
    const body = (await (await req('/v1/sinks', 'acme')).json()) as { sinks: { name: string }[] };
    expect(body.sinks.map((s) => s.name)).toEqual(['acme-hec']);
    expect((await req('/v1/sinks/siem', 'acme')).status).toBe(404);
    expect((await req('/v1/sinks/acme-hec', 'acme')).status).toBe(200);
  });

  it('needs a key (401) with sinks:admin (403), takes no query, and answers 405 to other methods', async () => {
    expect((await req('/v1/sinks')).status).toBe(401);
    expect((await req('/v1/sinks', 'reader')).status).toBe(403);
    expect((await req('/v1/sinks/siem', 'reader')).status).toBe(403);
    expect((await req('/v1/sinks?x=1', 'admin')).status).toBe(400);
    const put = await req('/v1/sinks', 'admin', 'PUT');
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    expect((await req('/v1/sinks/siem', 'admin', 'DELETE')).status).toBe(405);
    const get = await req('/v1/sinks/siem/resume', 'admin');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('answers 404 for an unknown sink', async () => {
    const res = await req('/v1/sinks/nope', 'admin');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(/there is no sink named "nope"/);
  });
});

describe('POST /v1/sinks/{name}/resume', () => {
  it('revives a dead sink from its cursor, recording the access event first', async () => {
    recorded.length = 0;
    expect((await req('/v1/sinks/acme-hec/resume', 'reader', 'POST')).status).toBe(403);
    expect((await req('/v1/sinks/acme-hec/resume', 'admin', 'POST')).status).toBe(200);
    expect(recorded).toEqual([
      { action: 'sinks.resume', outcome: 'success', targets: [{ type: 'sink', id: 'acme-hec' }], details: { state: 'dead', cursor: -1 } },
    ]);
    await vi.waitFor(() => expect(sinks.get('acme-hec')).toMatchObject({ state: 'active', cursor: 2, delivered: 3 }));
    expect(transports.get('acme-hec')!.deliveredIndexes()).toEqual([0, 1, 2]);
  });

  it('is 404 (and recorded as a failure) for a sink the key cannot see', async () => {
    recorded.length = 0;
    expect((await req('/v1/sinks/siem/resume', 'acme', 'POST')).status).toBe(404);
    expect(recorded).toEqual([
      { action: 'sinks.resume', outcome: 'failure', targets: [{ type: 'sink', id: 'siem' }], details: { status: 404 } },
    ]);
  });
});
