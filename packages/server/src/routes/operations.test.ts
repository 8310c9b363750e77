import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Guard } from '../auth/principal.js';
import { createLogServer } from '../index.js';
import { ServerMetrics } from '../metrics.js';
import { operationsRoutes, type ReadinessProbe } from './operations.js';

/** A stand-in for the real guard: one fixed key holds every scope. */
const fakeGuard: Guard = (scope) => async (c, next) => {
  if (c.req.header('authorization') !== 'Bearer test-key') return c.json({ error: `needs a key with ${scope}` }, 401);
  await next();
};

const ok = (name: string): ReadinessProbe => ({ name, check: () => {} });

describe('operations routes', () => {
  it('answers /healthz 200 always', async () => {
    const app = operationsRoutes({ registry: new Registry(), probes: [], guard: fakeGuard, metricsPublic: false });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await app.request('/healthz', { method: 'POST' })).status).toBe(405);
  });

  it('answers /readyz 200 with every check, or 503 naming the failed ones', async () => {
    const ready = operationsRoutes({
      registry: new Registry(),
      probes: [ok('store'), ok('sequencer')],
      guard: fakeGuard,
      metricsPublic: false,
    });
    const res = await ready.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { store: 'ok', sequencer: 'ok' } });

    const failing: ReadinessProbe = {
      name: 'access_log',
      check: () => Promise.reject(new Error('the access log is not writable')),
    };
    const hanging: ReadinessProbe = { name: 'slow', check: () => new Promise<void>(() => {}) };
    const notReady = operationsRoutes({
      registry: new Registry(),
      probes: [ok('store'), failing, hanging],
      guard: fakeGuard,
      metricsPublic: false,
      probeTimeoutMs: 20,
    });
    const bad = await notReady.request('/readyz');
    expect(bad.status).toBe(503);
    const body = (await bad.json()) as { error: string; checks: Record<string, string> };
    expect(body.checks).toEqual({ store: 'ok', access_log: 'the access log is not writable', slow: 'did not answer within 20 ms' });
    expect(body.error).toMatch(/^not ready: access_log: the access log is not writable; slow: /);
  });

  it('guards /metrics with metrics:read unless it is public', async () => {
    const m = new ServerMetrics();
    m.addLog('main', () => ({ size: 1, poolEntries: 0 }));
    const guarded = operationsRoutes({ registry: m.registry, probes: [], guard: fakeGuard, metricsPublic: false });
    expect((await guarded.request('/metrics')).status).toBe(401);
    const res = await guarded.request('/metrics', { headers: { authorization: 'Bearer test-key' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(m.registry.contentType);
    expect(await res.text()).toContain('tlog_tree_size{log="main"} 1');

    const open = operationsRoutes({ registry: m.registry, probes: [], guard: fakeGuard, metricsPublic: true });
    expect((await open.request('/metrics')).status).toBe(200);
  });
});

describe('operations in the log server', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('serves /healthz, /readyz and public /metrics with the log series', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-ops-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const s = await createLogServer({ dataDir: dir, logLevel: 'silent', metricsPublic: true, openEntries: true });
    cleanup.push(() => s.close());
    expect((await s.app.request('/healthz')).status).toBe(200);
    const ready = await s.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', sequencer: 'ok', access_log: 'ok' } });
    for (const e of ['a', 'b']) expect((await s.app.request('/v1/entries', { method: 'POST', body: e })).status).toBe(200);
    const text = await (await s.app.request('/metrics')).text();
    expect(text).toContain('tlog_tree_size{log="main"} 2');
    expect(text).toContain('tlog_tree_size{log="access"} 0');
    expect(text).toContain('tlog_pool_entries{log="main"} 0');
    expect(text).toContain('tlog_entries_appended_total{log="main"} 2');
    expect(text).toMatch(/tlog_commit_duration_seconds_count\{log="main"\} [12]\n/);
    expect(text).toContain('tlog_http_requests_total{method="POST",route="/v1/entries",status="200"} 2');
    expect(text).toContain('tlog_http_requests_total{method="GET",route="/readyz",status="200"} 1');
  });

  it('is not ready once the log is closing, and guards /metrics by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-ops-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const s = await createLogServer({ dataDir: dir, logLevel: 'silent' });
    expect((await s.app.request('/metrics')).status).toBe(401);
    await s.close();
    const res = await s.app.request('/readyz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: Record<string, string> };
    expect(body.checks.sequencer).toMatch(/does not accept entries/);
    expect(body.checks.store).not.toBe('ok');
    expect((await s.app.request('/healthz')).status).toBe(200);
  });
});
