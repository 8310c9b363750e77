import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEntryBundle, fromBase64, parseVerifierKey, verifyTlogProof } from '@tlog/merkle';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from './config.js';
import { createLogServer, type LogServer } from './index.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(extra: Partial<ConfigInput> = {}): Promise<LogServer & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-app-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const s = await createLogServer({ dataDir: dir, batchIntervalMs: 0, logLevel: 'silent', ...extra });
  cleanup.push(() => s.close());
  // Every request sends the bootstrap admin key (auth.test.ts is about keys).
  const key = (await readFile(s.adminKeyPath, 'utf8')).trim();
  const request: LogServer['app']['request'] = (input, init, ...rest) => {
    const headers = new Headers(init?.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
    return s.app.request(input, { ...init, headers }, ...rest);
  };
  return { ...s, app: Object.assign(Object.create(s.app) as LogServer['app'], { request }), dir };
}

const octet = { 'content-type': 'application/octet-stream' };
const post = (s: LogServer, path: string, body: Uint8Array | string, headers: Record<string, string> = octet) =>
  s.app.request(path, { method: 'POST', body: body as BodyInit, headers });
async function json(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

describe('HTTP app', () => {
  it('generates a 0600 key named by the default origin and serves the empty tree', async () => {
    const s = await server();
    expect(s.origin).toBe('tlog.localhost/log');
    expect((await stat(join(s.dir, 'log.key'))).mode & 0o777).toBe(0o600);
    const cp = await s.app.request('/checkpoint');
    expect(cp.status).toBe(200);
    expect(cp.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(cp.headers.get('cache-control')).toBe('no-store');
    expect(await cp.text()).toMatch(/^tlog\.localhost\/log\n0\n/);
    const info = await json(await s.app.request('/v1/log'));
    expect(info).toMatchObject({ origin: s.origin, verifierKey: s.verifierKey, size: 0 });
  });

  it('appends an entry and answers a receipt that verifies offline', async () => {
    const s = await server({ origin: 'example.com/app' });
    const res = await post(s, '/v1/entries', 'hello');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ index: 0 });
    const v = verifyTlogProof(body.receipt as string, new TextEncoder().encode('hello'), { log: parseVerifierKey(s.verifierKey) });
    expect(v.checkpoint.size).toBe(1);
    // Any other content type (or none) is fine: the body's bytes are the entry. The same bytes again get the same index.
    for (const type of ['application/json', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded']) {
      const r = await json(await post(s, '/v1/entries', 'hello', { 'content-type': type }));
      expect(r.index).toBe(0);
    }
    const asJson = await json(await post(s, '/v1/entries', '{"actor":"alice","action":"login"}', { 'content-type': 'application/json' }));
    expect(asJson.index).toBe(1);
    verifyTlogProof(asJson.receipt as string, new TextEncoder().encode('{"actor":"alice","action":"login"}'), {
      log: parseVerifierKey(s.verifierKey),
    });
    const again = await json(await s.app.request('/v1/entries', { method: 'POST', body: new TextEncoder().encode('hello') }));
    expect(again.index).toBe(0);
    const empty = await json(await post(s, '/v1/entries', new Uint8Array(0)));
    expect(empty.index).toBe(2);
  });

  it('refuses bad writes with JSON errors and writes nothing', async () => {
    const s = await server({ maxBatchBytes: 100_000, poolMaxEntries: 10 });
    const big = await post(s, '/v1/entries', new Uint8Array(65536));
    expect(big.status).toBe(413);
    expect((await json(big)).error).toMatch(/65535/);
    expect((await post(s, '/v1/entries', 'x', { 'content-type': 'multipart/form-data; boundary=x' })).status).toBe(415);
    expect((await post(s, '/v1/entries', 'x', { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' })).status).toBe(
      415,
    );
    expect((await post(s, '/v1/entries/batch', 'x', { 'content-type': 'Multipart/mixed; boundary=x' })).status).toBe(415);
    expect((await post(s, '/v1/entries?x=1', 'x')).status).toBe(400);
    // Batch: truncated bundle, empty body, too many entries, too large.
    expect((await post(s, '/v1/entries/batch', Uint8Array.of(0, 5, 1))).status).toBe(400);
    expect((await post(s, '/v1/entries/batch', new Uint8Array(0))).status).toBe(400);
    const eleven = encodeEntryBundle(Array.from({ length: 11 }, (_, i) => Uint8Array.of(i)));
    expect((await post(s, '/v1/entries/batch', eleven)).status).toBe(413);
    expect((await post(s, '/v1/entries/batch', new Uint8Array(100_001))).status).toBe(413);
    expect((await post(s, '/v1/entries/batch?receipts=maybe', eleven)).status).toBe(400);
    expect(s.log.published.size).toBe(0);
    expect((await s.app.request('/v1/entries', { method: 'DELETE' })).status).toBe(405);
  });

  it('answers a batch with indexes, the checkpoint and optional receipts', async () => {
    const s = await server();
    const entries = ['a', 'b', 'a', 'c'].map((x) => new TextEncoder().encode(x));
    const r = await json(await post(s, '/v1/entries/batch?receipts=1', encodeEntryBundle(entries)));
    expect(r).toMatchObject({ count: 4, indexes: [0, 1, 0, 2], treeSize: 3 });
    const receipts = r.receipts as string[];
    receipts.forEach((rc, i) => {
      verifyTlogProof(rc, entries[i]!, { log: parseVerifierKey(s.verifierKey) });
    });
    const plain = await json(await post(s, '/v1/entries/batch', encodeEntryBundle([Uint8Array.of(9)])));
    expect(plain.indexes).toEqual([3]);
    expect(plain.receipts).toBeUndefined();
  });

  it('announces its request limits in /v1/log and refuses batches over them with 413', async () => {
    const s = await server({ maxBatchEntries: 5, maxReceiptEntries: 2 });
    const info = await json(await s.app.request('/v1/log'));
    expect(info).toMatchObject({ maxBatchEntries: 5, maxReceiptEntries: 2, maxPageEntries: 1000, maxPageBytes: 1 << 20 });
    const three = encodeEntryBundle(['a', 'b', 'c'].map((x) => new TextEncoder().encode(x)));
    const withReceipts = await post(s, '/v1/entries/batch?receipts=1', three);
    expect(withReceipts.status).toBe(413);
    expect((await json(withReceipts)).error).toMatch(/more than 2 entries.*receipts=1/);
    const six = encodeEntryBundle(Array.from({ length: 6 }, (_, i) => Uint8Array.of(i)));
    expect((await post(s, '/v1/entries/batch', six)).status).toBe(413);
    expect(s.log.published.size).toBe(0);
    expect((await post(s, '/v1/entries/batch', three)).status).toBe(200);
    expect(s.log.published.size).toBe(3);
  });

  it('cuts entry pages at 1 MiB of entry bytes (never below one entry) and says where it stopped', async () => {
    const s = await server();
    const big = Array.from({ length: 40 }, (_, i) => new Uint8Array(60_000).fill(i));
    expect((await post(s, '/v1/entries/batch', encodeEntryBundle(big))).status).toBe(200);
    const page = await json(await s.app.request('/v1/entries?start=0'));
    expect(page).toMatchObject({ start: 0, end: 17, treeSize: 40 });
    expect(page.entries).toHaveLength(17);
    const next = await json(await s.app.request('/v1/entries?start=17&end=18'));
    expect(next).toMatchObject({ start: 17, end: 18 });
    expect(fromBase64((next.entries as string[])[0]!)).toEqual(big[17]);
  });

  it('answers 503 with Retry-After when the pool is full, writing nothing for the refused entry', async () => {
    const s = await server({ poolMaxEntries: 1, batchIntervalMs: 60_000 });
    // The idle log commits the first entry at once; the next waits in the pool for the interval.
    expect((await json(await post(s, '/v1/entries', 'first'))).index).toBe(0);
    const second = post(s, '/v1/entries', 'second');
    for (let i = 0; i < 100 && s.log.pool.entries === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await json(await s.app.request('/v1/log'))).pool).toEqual({ entries: 1, bytes: 6 });
    const refused = await post(s, '/v1/entries', 'third');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await json(refused)).error).toMatch(/pool is full/);
    await s.close(); // drains the admitted entry
    expect((await json(await second)).index).toBe(1);
    expect(s.log.published.size).toBe(2);
  });

  it('validates read parameters: 400 for malformed, 404 for beyond the tree', async () => {
    const s = await server();
    await post(s, '/v1/entries/batch', encodeEntryBundle(['a', 'b', 'c'].map((x) => new TextEncoder().encode(x))));
    const cases: [string, number][] = [
      ['/v1/proof/inclusion?index=1', 200],
      ['/v1/proof/inclusion?index=1&treeSize=2', 200],
      ['/v1/proof/inclusion?index=01', 400],
      ['/v1/proof/inclusion?index=-1', 400],
      ['/v1/proof/inclusion?index=1.5', 400],
      ['/v1/proof/inclusion?index=99999999999999999999', 400],
      ['/v1/proof/inclusion', 400],
      ['/v1/proof/inclusion?index=1&leafHash=AAAA', 400],
      ['/v1/proof/inclusion?leafHash=notbase64', 400],
      ['/v1/proof/inclusion?index=3', 404],
      ['/v1/proof/inclusion?index=1&treeSize=4', 404],
      ['/v1/proof/inclusion?index=2&treeSize=2', 404],
      ['/v1/proof/inclusion?index=1&bogus=1', 400],
      ['/v1/proof/consistency?from=1&to=3', 200],
      ['/v1/proof/consistency?from=2', 200],
      ['/v1/proof/consistency?from=0&to=3', 400],
      ['/v1/proof/consistency?from=3&to=2', 400],
      ['/v1/proof/consistency?from=1&to=4', 404],
      ['/v1/proof/consistency?to=2', 400],
      ['/v1/entries/2', 200],
      ['/v1/entries/3', 404],
      ['/v1/entries/x', 400],
      ['/v1/entries?start=0&end=2', 200],
      ['/v1/entries?start=3', 404],
      ['/v1/entries?start=2&end=2', 400],
      ['/v1/entries', 400],
      ['/tile/0/000.p/3', 200],
      ['/tile/0/000.p/4', 404],
      ['/tile/0/000', 404],
      ['/tile/1/000.p/1', 404],
      ['/tile/entries/000.p/3', 200],
      ['/tile/entries/000.p/4', 404],
      ['/tile/0/0000', 400],
      ['/tile/0/000.p/0', 400],
      ['/tile/0/000.p/256', 400],
      ['/tile/x/000', 400],
      ['/tile/entries/x001', 400],
      ['/nope', 404],
    ];
    for (const [path, status] of cases) {
      const res = await s.app.request(path);
      expect(res.status, path).toBe(status);
      if (status !== 200) expect(((await res.json()) as { error: string }).error, path).toBeTruthy();
    }
    const page = await json(await s.app.request('/v1/entries?start=1'));
    expect(page).toMatchObject({ start: 1, end: 3, entries: ['Yg==', 'Yw=='] });
    const one = await s.app.request('/v1/entries/1');
    expect(one.headers.get('content-type')).toBe('application/octet-stream');
    expect(await one.text()).toBe('b');
    const oneJson = await json(await s.app.request('/v1/entries/1', { headers: { accept: 'application/json' } }));
    expect(oneJson).toMatchObject({ index: 1, entry: 'Yg==' });
    const tile = await s.app.request('/tile/0/000.p/3');
    expect(tile.headers.get('content-type')).toBe('application/octet-stream');
    expect(tile.headers.get('cache-control')).toMatch(/max-age=60/);
    expect((await tile.arrayBuffer()).byteLength).toBe(96);
    const byHash = await json(await s.app.request(`/v1/proof/inclusion?leafHash=${encodeURIComponent(oneJson.leafHash as string)}`));
    expect(byHash).toMatchObject({ index: 1, treeSize: 3 });
  });
});
