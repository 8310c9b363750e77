import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { ServerMetrics, UNMATCHED_ROUTE } from './metrics.js';

describe('ServerMetrics', () => {
  it('exposes the gauges of every log, read at scrape time', async () => {
    const m = new ServerMetrics();
    let size = 3;
    m.addLog('main', () => ({ size, poolEntries: 2 }));
    m.addLog('access', () => ({ size: 7, poolEntries: 0 }));
    let text = await m.exposition();
    expect(text).toContain('tlog_tree_size{log="main"} 3');
    expect(text).toContain('tlog_tree_size{log="access"} 7');
    expect(text).toContain('tlog_pool_entries{log="main"} 2');
    size = 10;
    text = await m.exposition();
    expect(text).toContain('tlog_tree_size{log="main"} 10');
  });

  it("exposes each sink's delivered events, lag and deadness", async () => {
    const m = new ServerMetrics();
    let sinks = [
      { name: 'siem', lag: 4, state: 'active' },
      { name: 'hec', lag: 9, state: 'dead' },
    ];
    m.addSinks(() => sinks);
    m.sinkDelivered('siem', 5);
    m.sinkDelivered('siem', 2);
    m.sinkDelivered('hec', 0);
    let text = await m.exposition();
    expect(text).toContain('tlog_sink_delivered_events_total{sink="siem"} 7');
    expect(text).not.toContain('tlog_sink_delivered_events_total{sink="hec"}');
    expect(text).toContain('tlog_sink_lag{sink="siem"} 4');
    expect(text).toContain('tlog_sink_lag{sink="hec"} 9');
    expect(text).toContain('tlog_sink_dead{sink="hec"} 1');
    expect(text).toContain('tlog_sink_dead{sink="siem"} 0');
    sinks = [{ name: 'siem', lag: 0, state: 'active' }];
    text = await m.exposition();
    expect(text).toContain('tlog_sink_lag{sink="siem"} 0');
  });

  it('counts commits, events, auth failures, rate limits and erasures', async () => {
    const m = new ServerMetrics();
    const observe = m.commitObserver('main');
    observe({ entries: 5, seconds: 0.002 });
    observe({ entries: 1, seconds: 0.5 });
    m.eventsAppendedTo('main', 4);
    m.authFailed('invalid');
    m.authFailed('invalid');
    m.authFailed('forbidden');
    m.rateLimitedIn('ip');
    m.erased('request');
    m.erased('retention', 3);
    const text = await m.exposition();
    expect(text).toContain('tlog_entries_appended_total{log="main"} 6');
    expect(text).toContain('tlog_events_appended_total{log="main"} 4');
    expect(text).toContain('tlog_auth_failures_total{reason="invalid"} 2');
    expect(text).toContain('tlog_auth_failures_total{reason="forbidden"} 1');
    expect(text).toContain('tlog_rate_limited_total{scope="ip"} 1');
    expect(text).toContain('tlog_erasures_total{how="request"} 1');
    expect(text).toContain('tlog_erasures_total{how="retention"} 3');
    expect(text).toContain('tlog_commit_duration_seconds_count{log="main"} 2');
    expect(text).toContain('tlog_commit_duration_seconds_sum{log="main"} 0.502');
    expect(text).toContain('tlog_commit_batch_entries_bucket{le="4",log="main"} 1');
    expect(text).toContain('tlog_commit_batch_entries_sum{log="main"} 6');
  });

  it('includes the default process metrics, on its own registry', async () => {
    const a = new ServerMetrics();
    const b = new ServerMetrics();
    a.eventsAppendedTo('main', 1);
    expect(await a.exposition()).toContain('process_cpu_user_seconds_total');
    expect(await b.exposition()).not.toContain('tlog_events_appended_total{log="main"} 1');
    expect(a.registry.contentType).toMatch(/^text\/plain/);
  });

  it('labels requests by the matched route pattern, never the raw path', async () => {
    const m = new ServerMetrics();
    const app = new Hono();
    app.use(m.measure);
    app.use(async (_c, next) => next());
    app.get('/v1/proof/:n', (c) => c.json({ n: c.req.param('n') }));
    app.post('/v1/entries', (c) => c.json({ error: 'no' }, 400));
    app.get('/boom/:x', () => {
      throw new HTTPException(409, { message: 'conflict' });
    });
    app.notFound((c) => c.json({ error: 'none' }, 404));
    app.onError((err, c) => c.json({ error: err.message }, err instanceof HTTPException ? err.status : 500));
    for (const n of [1, 2, 3]) expect((await app.request(`/v1/proof/${n}`)).status).toBe(200);
    expect((await app.request('/v1/entries', { method: 'POST' })).status).toBe(400);
    expect((await app.request('/some/random/path')).status).toBe(404);
    expect((await app.request('/boom/1')).status).toBe(409);
    const text = await m.exposition();
    expect(text).toContain('tlog_http_requests_total{method="GET",route="/v1/proof/:n",status="200"} 3');
    expect(text).toContain('tlog_http_requests_total{method="POST",route="/v1/entries",status="400"} 1');
    expect(text).toContain(`tlog_http_requests_total{method="GET",route="${UNMATCHED_ROUTE}",status="404"} 1`);
    expect(text).toContain('tlog_http_request_duration_seconds_count{method="GET",route="/v1/proof/:n",status="200"} 3');
    expect(text).toContain('tlog_http_requests_total{method="GET",route="/boom/:x",status="409"} 1');
    expect(text).not.toContain('/v1/proof/1');
    expect(text).not.toContain('/some/random/path');
  });
});
