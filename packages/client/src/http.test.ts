import { describe, expect, it } from 'vitest';
import { LogFetchError, ProtocolError } from './errors.js';
import { fetchBytes, fetchOk, joinUrl, readLimited } from './http.js';

/** A Response whose body arrives in the given chunks. */
function chunked(chunks: Uint8Array[], status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const x of chunks) c.enqueue(x);
      c.close();
    },
  });
  return new Response(body, { status });
}

describe('readLimited', () => {
  it('joins chunks up to the limit and refuses one byte more', async () => {
    const parts = [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5])];
    expect([...(await readLimited(chunked(parts), 5, 'http://x/t'))]).toEqual([1, 2, 3, 4, 5]);
    await expect(readLimited(chunked(parts), 4, 'http://x/t')).rejects.toThrow(ProtocolError);
    await expect(readLimited(chunked(parts), 4, 'http://x/t')).rejects.toThrow(/more than 4 bytes/);
    expect((await readLimited(new Response(null), 0, 'http://x/t')).length).toBe(0);
  });
});

describe('fetchOk', () => {
  const http = (f: (url: string, init?: RequestInit) => Promise<Response>) => ({ fetch: f, timeoutMs: 0 });

  it('names the cause of a failed fetch, as Node keeps it in `cause`', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    });
    const err = await fetchOk(
      http(() => Promise.reject(refused)),
      'http://x/checkpoint',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogFetchError);
    expect((err as LogFetchError).status).toBe(0);
    expect((err as Error).message).toBe(
      'cannot reach http://x/checkpoint: fetch failed (connect ECONNREFUSED 127.0.0.1:9); check the URL and that the log is up',
    );
    const dns = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('getaddrinfo failed'), { code: 'ENOTFOUND' }),
    });
    await expect(
      fetchOk(
        http(() => Promise.reject(dns)),
        'http://x/',
      ),
    ).rejects.toThrow('(ENOTFOUND: getaddrinfo failed)');
  });

  it('reports a non-2xx answer with its status and the start of its body on one line', async () => {
    const err = await fetchOk(
      http(() => Promise.resolve(new Response('{"error":\n"no such\ttile"}', { status: 404 }))),
      'http://x/tile/0/000',
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, message: 'GET http://x/tile/0/000 answered 404: {"error": "no such tile"}' });
  });

  it('passes a timeout signal unless the caller gave one', async () => {
    let seen: AbortSignal | undefined;
    await fetchBytes(
      {
        fetch: (_u, init) => {
          seen = init?.signal ?? undefined;
          return Promise.resolve(new Response('ok'));
        },
        timeoutMs: 1000,
      },
      'http://x/',
      10,
    );
    expect(seen).toBeInstanceOf(AbortSignal);
    const own = new AbortController().signal;
    await fetchOk(
      {
        fetch: (_u, init) => {
          seen = init?.signal ?? undefined;
          return Promise.resolve(new Response('ok'));
        },
        timeoutMs: 1000,
      },
      'http://x/',
      { signal: own },
    );
    expect(seen).toBe(own);
  });
});

describe('joinUrl', () => {
  it('joins without doubling or dropping slashes', () => {
    expect(joinUrl('http://x/log/', '/checkpoint')).toBe('http://x/log/checkpoint');
    expect(joinUrl('http://x', 'tile/0/000')).toBe('http://x/tile/0/000');
  });
});
