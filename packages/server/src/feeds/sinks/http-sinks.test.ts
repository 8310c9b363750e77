/**
 * The HTTP sinks: the webhook body and its Standard Webhooks signature (verified with the
 * standardwebhooks package), the Splunk HEC body, and how postBatch reads a receiver's answers
 * (against a real HTTP server).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { testEvent, testRecord } from '../../../../../test/support/fake-sinks.js';
import { eventLine } from '../formats.js';
import { postBatch } from './http-post.js';
import { parseSinksConfig, type SplunkHecSinkConfig, type WebhookSinkConfig } from './sink-config.js';
import { hecBody, hecEndpoint, SplunkHecTransport } from './splunk-hec.js';
import { DeliveryError } from './transport.js';
import { signWebhook, WebhookTransport, webhookBody, webhookId } from './webhook.js';

const SECRET = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
const ctx = { origin: 'tlog.example/log' };
const UTF8 = new TextDecoder();

describe('webhook', () => {
  const events = [testEvent(3), testEvent(4), testEvent(9)];

  it('sends {"events":[<lines>]}, each line as formatLine made it', () => {
    const body = webhookBody(events, 'ndjson', ctx);
    expect(UTF8.decode(body)).toBe(`{"events":[${events.map((e) => UTF8.decode(eventLine(e))).join(',')}]}`);
    expect(JSON.parse(UTF8.decode(body)).events.map((l: { index: number; leafHash: string }) => [l.index, l.leafHash])).toEqual(
      events.map((e) => [e.index, e.leafHash]),
    );
    expect(webhookId('siem', events)).toBe('siem_3_9');
  });

  it('signs so that the standardwebhooks package verifies it, and a changed byte does not', () => {
    const body = webhookBody(events, 'ndjson', ctx);
    const headers = signWebhook(SECRET, 'siem_3_9', Date.now(), body);
    expect(headers['webhook-id']).toBe('siem_3_9');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const verified = new Webhook(SECRET).verify(Buffer.from(body), headers) as { events: unknown[] };
    expect(verified.events).toHaveLength(3);
    const tampered = Buffer.from(body);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 3) ^ 1, tampered.length - 3);
    expect(() => new Webhook(SECRET).verify(tampered, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 6).toString('base64')}`).verify(Buffer.from(body), headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it('signs exactly as the standardwebhooks package does, with or without the whsec_ prefix', () => {
    const body = webhookBody(events, 'cloudevents', ctx);
    const now = Date.UTC(2026, 11, 1, 12, 0, 0, 456);
    for (const secret of [SECRET, SECRET.slice('whsec_'.length)]) {
      const ours = signWebhook(secret, 'siem_3_9', now, body)['webhook-signature'];
      expect(ours).toBe(new Webhook(secret).sign('siem_3_9', new Date(now), Buffer.from(body)));
    }
  });

  it('posts a signed request per batch with the same id on every attempt', async () => {
    const seen: { url: string; headers: Headers; body: Buffer }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      seen.push({ url, headers: new Headers(init.headers), body: Buffer.from(init.body as Uint8Array) });
      return new Response(null, { status: seen.length === 1 ? 503 : 204 });
    }) as unknown as typeof fetch;
    const config = parseSinksConfig({
      sinks: [{ name: 'siem', type: 'webhook', url: 'http://r.test/hook?k=1', secret: SECRET }],
    })[0] as WebhookSinkConfig;
    const t = new WebhookTransport(config, { ...ctx, fetch: fakeFetch });
    expect(t.target).toEqual({ url: 'http://r.test/hook' });
    const signal = new AbortController().signal;
    await expect(t.send(events, signal)).rejects.toBeInstanceOf(DeliveryError);
    await t.send(events, signal);
    expect(seen.map((s) => s.url)).toEqual(['http://r.test/hook?k=1', 'http://r.test/hook?k=1']);
    for (const s of seen) {
      expect(s.headers.get('content-type')).toBe('application/json');
      expect(s.headers.get('webhook-id')).toBe('siem_3_9');
      const headers: Record<string, string> = {};
      s.headers.forEach((v, k) => {
        headers[k] = v;
      });
      expect((new Webhook(SECRET).verify(s.body, headers) as { events: unknown[] }).events).toHaveLength(3);
    }
  });
});

describe('splunk-hec', () => {
  const config = parseSinksConfig({
    sinks: [{ name: 'splunk', type: 'splunk-hec', url: 'https://splunk.example:8088/', token: 'tok-1', index: 'audit', host: 'tlog-1' }],
  })[0] as SplunkHecSinkConfig;

  it('posts to <url>/services/collector/event', () => {
    expect(hecEndpoint('https://splunk.example:8088/')).toBe('https://splunk.example:8088/services/collector/event');
    expect(hecEndpoint('https://splunk.example/hec//')).toBe('https://splunk.example/hec/services/collector/event');
  });

  it('sends one HEC event object per event: time from occurred_at, host, source, sourcetype, index, the line as event', () => {
    const events = [
      testEvent(0, testRecord(0, { occurredAt: '2026-01-02T03:04:05.678Z' })),
      testEvent(1, testRecord(1, { occurredAt: '2026-01-02T04:04:05+01:00' })),
    ];
    const text = UTF8.decode(hecBody(events, config, ctx));
    const objects = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    expect(objects).toEqual(
      events.map((e) => ({
        time: Date.parse(e.record.occurred_at) / 1000,
        host: 'tlog-1',
        source: 'tlog',
        sourcetype: 'tlog:ndjson',
        index: 'audit',
        event: JSON.parse(UTF8.decode(eventLine(e))),
      })),
    );
    expect(objects[0].time).toBe(1767323045.678);
    // The line is spliced in byte for byte.
    expect(text).toContain(`"event":${UTF8.decode(eventLine(events[0]!))}}\n`);
    const bare = hecBody(events, { format: 'ndjson', sourcetype: '_json' }, ctx);
    expect(Object.keys(JSON.parse(UTF8.decode(bare).split('\n')[0]!))).toEqual(['time', 'source', 'sourcetype', 'event']);
  });

  it('sends the token as Authorization: Splunk <token>', async () => {
    let auth: string | null = null;
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      auth = new Headers(init.headers).get('authorization');
      return new Response('{"text":"Success","code":0}', { status: 200 });
    }) as unknown as typeof fetch;
    const t = new SplunkHecTransport(config, { ...ctx, fetch: fakeFetch });
    await t.send([testEvent(0)], new AbortController().signal);
    expect(auth).toBe('Splunk tok-1');
    expect(t.target).toEqual({ url: 'https://splunk.example:8088/services/collector/event' });
  });
});

describe('postBatch', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
    server = undefined;
  });

  async function receiver(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(req, res));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  }

  const post = (url: string, signal = new AbortController().signal, timeoutMs = 2000) =>
    postBatch({ url, headers: {}, body: new Uint8Array([123, 125]), timeoutMs, signal });
  const failure = (p: Promise<void>) => p.then(() => undefined).catch((e: unknown) => e as DeliveryError);

  it('resolves on 2xx', async () => {
    const url = await receiver((_, res) => res.writeHead(202).end('queued'));
    await post(url);
  });

  it('retries 5xx, 408 and 429 (with Retry-After), and refuses other 4xx and redirects at once', async () => {
    let status = 503;
    const url = await receiver((_, res) =>
      res.writeHead(status, status === 503 ? { 'retry-after': '3' } : {}).end(`answer\u0001${status}`),
    );
    const cases: [number, boolean, number | undefined][] = [
      [503, true, 3000],
      [500, true, undefined],
      [408, true, undefined],
      [429, true, undefined],
      [400, false, undefined],
      [401, false, undefined],
      [404, false, undefined],
      [302, false, undefined],
    ];
    for (const [s, retryable, after] of cases) {
      status = s;
      const err = await failure(post(url));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err!.retryable, String(s)).toBe(retryable);
      expect(err!.retryAfterMs).toBe(after);
      expect(err!.message).toContain(`the receiver answered ${s}: answer ${s}`);
    }
    status = 301;
    expect((await failure(post(url)))!.message).toMatch(/sinks do not follow redirects/);
  });

  it('fails retryably on a timeout and on a refused connection; rejects with the reason when aborted', async () => {
    const url = await receiver(() => {});
    const timedOut = await failure(post(url, new AbortController().signal, 50));
    expect(timedOut).toMatchObject({ retryable: true, message: 'the receiver did not answer within 50 ms' });
    const ac = new AbortController();
    const pending = failure(post(url, ac.signal));
    ac.abort(new Error('closing'));
    expect(((await pending) as unknown as Error).message).toBe('closing');
    server!.closeAllConnections();
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const refused = await failure(post(url));
    expect(refused).toMatchObject({ retryable: true });
    expect(refused!.message).toMatch(/could not reach the receiver \(ECONNREFUSED\)/);
  });
});
