/**
 * HTTP hygiene of the real server: 405 with Allow, HEAD, strict query strings, canonical tile
 * paths, Transfer-Encoding, CORS on the public reads, nosniff everywhere, and error messages
 * that do not echo megabytes of input.
 */
import { rm } from 'node:fs/promises';
import { encodeEntryBundle } from '@tlog/merkle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './support/raw-http.js';
import { type SpawnedServer, spawnServer } from './support/server.js';

const octet = { 'content-type': 'application/octet-stream' };

let s: SpawnedServer;
beforeAll(async () => {
  s = await spawnServer();
  const entries = Array.from({ length: 3 }, (_, i) => new TextEncoder().encode(`hygiene ${i}`));
  const res = await fetch(`${s.url}/v1/entries/batch`, { method: 'POST', body: encodeEntryBundle(entries) as BodyInit, headers: octet });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  expect(await s?.stop()).toBe(0);
  if (s !== undefined) await rm(s.dataDir, { recursive: true, force: true });
});

async function errorOf(res: Response): Promise<string> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error?: unknown };
  expect(typeof body.error).toBe('string');
  return body.error as string;
}

describe('HTTP hygiene (real process)', () => {
  it('answers a wrong method on a known path with 405 and Allow', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/checkpoint', 'GET, HEAD, OPTIONS'],
      ['POST', '/v1/log', 'GET, HEAD, OPTIONS'],
      ['GET', '/v1/entries/batch', 'POST'],
      ['PUT', '/tile/0/000', 'GET, HEAD, OPTIONS'],
      ['PATCH', '/tile/entries/000.p/3', 'GET, HEAD, OPTIONS'],
      ['DELETE', '/v1/entries', 'GET, HEAD, OPTIONS, POST'],
      ['PUT', '/v1/entries/0', 'GET, HEAD, OPTIONS'],
      ['POST', '/v1/proof/inclusion', 'GET, HEAD, OPTIONS'],
      ['DELETE', '/v1/proof/consistency', 'GET, HEAD, OPTIONS'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await fetch(s.url + path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(await errorOf(res)).toMatch(new RegExp(`${method} is not allowed`));
    }
    // An unknown path is still 404.
    expect((await fetch(`${s.url}/v1/nothing`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers HEAD wherever GET works, without a body', async () => {
    for (const path of [
      '/checkpoint',
      '/v1/log',
      '/tile/0/000.p/3',
      '/tile/entries/000.p/3',
      '/v1/entries?start=0',
      '/v1/entries/1',
      '/v1/proof/inclusion?index=1',
    ]) {
      const get = await fetch(s.url + path);
      const head = await fetch(s.url + path, { method: 'HEAD' });
      expect(head.status, path).toBe(200);
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect((await head.arrayBuffer()).byteLength, path).toBe(0);
      await get.arrayBuffer();
    }
    expect((await fetch(`${s.url}/tile/0/000.p/9`, { method: 'HEAD' })).status).toBe(404);
  });

  it('refuses repeated and unknown query parameters on every route, naming them', async () => {
    for (const path of ['/v1/proof/inclusion?index=1&index=2', '/v1/entries?start=0&start=1', '/v1/proof/consistency?from=1&from=1&to=2']) {
      const res = await fetch(s.url + path);
      expect(res.status, path).toBe(400);
      expect(await errorOf(res), path).toMatch(/"(index|start|from)" is given 2 times/);
    }
    const gets = [
      '/checkpoint?x=1',
      '/v1/log?x=1',
      '/tile/0/000.p/3?x=1',
      '/tile/entries/000.p/3?x=1',
      '/v1/entries/0?x=1',
      '/v1/entries?start=0&x=1',
      '/v1/proof/inclusion?index=0&x=1',
      '/v1/proof/consistency?from=1&x=1',
    ];
    for (const path of gets) {
      const res = await fetch(s.url + path);
      expect(res.status, path).toBe(400);
      expect(await errorOf(res), path).toMatch(/unknown query parameter\(s\): "x"/);
    }
    for (const path of ['/v1/entries?x=1', '/v1/entries/batch?x=1']) {
      const res = await fetch(s.url + path, { method: 'POST', body: encodeEntryBundle([Uint8Array.of(1)]) as BodyInit, headers: octet });
      expect(res.status, path).toBe(400);
      expect(await errorOf(res), path).toMatch(/"x"/);
    }
    expect((await (await fetch(`${s.url}/v1/log`)).json()) as { size: number }).toMatchObject({ size: 3 });
  });

  it('refuses tile paths that are not written canonically, percent-encodings included', async () => {
    for (const path of [
      '/tile/0/x001/.p/1%30',
      '/tile/0/00%30.p/3',
      '/tile/entries/%30%30%30.p/3',
      '/tile/%30/000.p/3',
      '/tile/0/000.p/%33',
    ]) {
      const res = await rawRequest(s.url, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body).error, path).toMatch(/malformed tile path/);
    }
    expect((await rawRequest(s.url, 'GET /tile/0/000.p/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(200);
  });

  it('refuses a Transfer-Encoding other than chunked with a 4xx', async () => {
    const body = '5\r\nhello\r\n0\r\n\r\n';
    for (const te of ['gzip, chunked', 'identity, chunked', 'gzip', 'chunked, chunked']) {
      const res = await rawRequest(
        s.url,
        `POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: ${te}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(res.status, te).toBeGreaterThanOrEqual(400);
      expect(res.status, te).toBeLessThan(500);
    }
    const chunked = await rawRequest(
      s.url,
      `POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(chunked.status).toBe(200);
    expect(JSON.parse(chunked.body)).toMatchObject({ index: 3 });
  });

  it('lets any origin read the public routes (no credentials) and answers preflights; writes get no CORS', async () => {
    const origin = { origin: 'https://elsewhere.example' };
    for (const path of [
      '/checkpoint',
      '/v1/log',
      '/tile/0/000.p/3',
      '/tile/entries/000.p/3',
      '/v1/entries?start=0',
      '/v1/entries/0',
      '/v1/proof/consistency?from=1',
      '/tile/0/000',
    ]) {
      const res = await fetch(s.url + path, { headers: origin });
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
      await res.arrayBuffer();
      const pre = await fetch(s.url + path, {
        method: 'OPTIONS',
        headers: { ...origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'accept' },
      });
      expect(pre.status, path).toBe(204);
      expect(pre.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(pre.headers.get('access-control-allow-methods'), path).toMatch(/GET/);
      expect(pre.headers.get('access-control-allow-methods'), path).not.toMatch(/POST/);
    }
    const write = await fetch(`${s.url}/v1/entries`, { method: 'POST', body: 'cors write', headers: { ...octet, ...origin } });
    expect(write.status).toBe(200);
    expect(write.headers.get('access-control-allow-origin')).toBeNull();
    await write.arrayBuffer();
    expect((await fetch(`${s.url}/v1/entries/batch`, { method: 'OPTIONS', headers: origin })).status).toBe(405);
  });

  it('sends X-Content-Type-Options: nosniff on every answer', async () => {
    const answers = await Promise.all([
      fetch(`${s.url}/checkpoint`),
      fetch(`${s.url}/tile/0/000.p/3`),
      fetch(`${s.url}/tile/0/000`),
      fetch(`${s.url}/nope`),
      fetch(`${s.url}/checkpoint`, { method: 'DELETE' }),
      fetch(`${s.url}/v1/entries?start=x`),
      fetch(`${s.url}/v1/entries`, { method: 'POST', body: new Uint8Array(70_000), headers: octet }),
      fetch(`${s.url}/v1/log`, { method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' } }),
      fetch(`${s.url}/v1/entries/0`, { method: 'HEAD' }),
    ]);
    for (const res of answers) {
      expect(res.headers.get('x-content-type-options'), `${res.status} ${res.url}`).toBe('nosniff');
      await res.arrayBuffer();
    }
  });

  it('repeats at most about 100 characters of any input in an error', async () => {
    const long = 'a'.repeat(5000);
    const answers = [
      await fetch(`${s.url}/${long}`),
      await fetch(`${s.url}/v1/proof/inclusion?index=${long}`),
      await fetch(`${s.url}/v1/log?${long}=1`),
      await fetch(`${s.url}/tile/0/${long}`),
      await fetch(`${s.url}/v1/entries`, { method: 'POST', body: 'x', headers: { 'content-type': `multipart/${long}` } }),
      await fetch(`${s.url}/v1/entries`, { method: 'POST', body: 'x', headers: { ...octet, 'content-encoding': long } }),
      await fetch(`${s.url}/${long}`, { method: 'DELETE' }),
      await fetch(`${s.url}/tile/0/${long}`, { method: 'DELETE' }),
    ];
    for (const res of answers) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const error = await errorOf(res);
      expect(error.length, error.slice(0, 300)).toBeLessThan(400);
      expect(error).not.toContain('a'.repeat(101));
    }
  });
});
