import { errorMessage } from './checks.js';
import { LogFetchError, ProtocolError } from './errors.js';

/** The subset of the WHATWG fetch the client needs; pass your own to add auth, retries or a test double. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * How a LogClient talks HTTP: the fetch to use and how long one request (answer and body) may
 * take before it is abandoned, in milliseconds (0: no limit).
 */
export interface HttpOptions {
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
}

/**
 * Joins a base URL and a path without doubling or dropping slashes.
 * Requires base to be an absolute http(s) URL; path is relative ("checkpoint", "tile/0/000").
 */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
}

/**
 * One line naming why a fetch failed. Node's fetch says only "fetch failed" and keeps the
 * reason (ECONNREFUSED, ENOTFOUND, a TLS error) in `cause`, which is what a user needs.
 */
function describeFetchFailure(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return 'no answer in time (timed out)';
  const cause = e instanceof Error ? e.cause : undefined;
  if (cause === undefined || cause === null) return errorMessage(e);
  const code = typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
  const detail = errorMessage(cause);
  return `${errorMessage(e)} (${code !== undefined && !detail.includes(code) ? `${code}: ` : ''}${detail})`;
}

/**
 * Fetches url and returns the response if 2xx; throws LogFetchError (status 0 if no answer,
 * including a timeout) otherwise. The timeout also bounds reading the body.
 */
export async function fetchOk(http: HttpOptions, url: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  const withTimeout = http.timeoutMs > 0 && init.signal === undefined ? { ...init, signal: AbortSignal.timeout(http.timeoutMs) } : init;
  try {
    res = await http.fetch(url, withTimeout);
  } catch (e) {
    throw new LogFetchError(`cannot reach ${url}: ${describeFetchFailure(e)}; check the URL and that the log is up`, {
      url,
      status: 0,
      cause: e,
    });
  }
  if (!res.ok) {
    let detail = '';
    try {
      const body = new TextDecoder().decode(await readLimited(res, 4096, url)).trim();
      if (body) detail = `: ${body.slice(0, 200).replace(/\s+/g, ' ')}`;
    } catch {
      // The status is what matters; an unreadable body adds nothing.
    }
    throw new LogFetchError(`${init.method ?? 'GET'} ${url} answered ${res.status}${detail}`, { url, status: res.status });
  }
  return res;
}

/**
 * Reads a response body, refusing one longer than maxBytes (a log must not be able to make the
 * client buffer without bound): ProtocolError naming the limit. Reading stops at the limit.
 * A body cut off by the network is a LogFetchError with the answer's status.
 */
export async function readLimited(res: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const tooLarge = () => new ProtocolError(`${url} answered more than ${maxBytes} bytes, more than any valid answer; refusing it`, { url });
  // Content-Length is not checked: with Content-Encoding it counts compressed bytes.
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new LogFetchError(`reading the answer of ${url} failed: ${describeFetchFailure(e)}`, { url, status: res.status, cause: e });
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** GET url as at most maxBytes bytes (2xx only). */
export async function fetchBytes(http: HttpOptions, url: string, maxBytes: number): Promise<Uint8Array> {
  const res = await fetchOk(http, url);
  return readLimited(res, maxBytes, url);
}

/** GET url as UTF-8 text of at most maxBytes bytes (2xx only). */
export async function fetchText(http: HttpOptions, url: string, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await fetchBytes(http, url, maxBytes));
}

/** Largest JSON answer the client reads (proofs are at most 63 hashes; receipts of a batch are larger). */
export const MAX_JSON_ANSWER = 32 << 20;

/** Fetches url (2xx only) and parses the body as JSON; a body that is not JSON is a ProtocolError. */
export async function fetchJson(http: HttpOptions, url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetchOk(http, url, init);
  const text = new TextDecoder().decode(await readLimited(res, MAX_JSON_ANSWER, url));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(`${url} answered with a body that is not JSON: ${text.slice(0, 100).replace(/\s+/g, ' ')}`, { url });
  }
}
