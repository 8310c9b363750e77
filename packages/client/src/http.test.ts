import { describe, expect, it } from 'vitest';
import { LogFetchError, ProtocolError } from './errors.js';
import { fetchBytes, fetchOk, httpOptions, joinUrl, readLimited } from './http.js';

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

describe('the API key', () => {
  const KEY = `tlog_0123456789abcdef_${'k'.repeat(43)}`;

  it('joins the request headers, and is absent without a key', async () => {
    const seen: Headers[] = [];
    const f = async (_url: string, init?: RequestInit) => {
      seen.push(new Headers(init?.headers));
      return new Response('ok');
    };
    await fetchOk(httpOptions({ fetch: f, apiKey: KEY }), 'http://x/a', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    await fetchOk(httpOptions({ fetch: f }), 'http://x/b');
    expect(seen[0]!.get('authorization')).toBe(`Bearer ${KEY}`);
    expect(seen[0]!.get('content-type')).toBe('application/json');
    expect(seen[1]!.has('authorization')).toBe(false);
  });

  it('a failed fetch that names the key does not carry it into the message', async () => {
    const f = async () => {
      throw new TypeError(`bad header Bearer ${KEY}`);
    };
    const e = await fetchOk(httpOptions({ fetch: f, apiKey: KEY }), 'http://x/a').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(LogFetchError);
    expect((e as Error).message).not.toContain(KEY);
  });

  it('Retry-After is kept on a 503 too', async () => {
    const f = async () => new Response('busy', { status: 503, headers: { 'retry-after': '3' } });
    await expect(fetchOk(httpOptions({ fetch: f }), 'http://x/a')).rejects.toMatchObject({ status: 503, retryAfter: 3 });
  });
});
