import { errorMessage } from './checks.js';
import { AccessDeniedError, ArgumentError, LogFetchError, ProtocolError } from './errors.js';

/** The subset of the WHATWG fetch the client needs; pass your own to add auth, retries or a test double. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * How a client talks HTTP: the fetch to use, how long one request (answer and body) may take
 * before it is abandoned, in milliseconds (0: no limit), and the API key, if any.
 */
export interface HttpOptions {
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
  /**
   * The API key sent as `Authorization: Bearer <key>` on every request, when set. It is never
   * put in a message: an answer that echoes it has it replaced by `[api key]`.
   */
  readonly apiKey?: string;
}

/** Default of {@link LogClientOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What a client's options say about HTTP (LogClient's and AdminClient's share these). */
export interface HttpClientOptions {
  /** A fetch implementation; defaults to the global fetch. */
  readonly fetch?: FetchLike;
  /**
   * How long one request (answer and body) may take, in milliseconds, before it fails with a
   * LogFetchError; 0 for no limit. Default 60000. For the long bodies of exportEvents and
   * tailEvents it bounds each wait for data instead (the stream's heartbeats keep it alive).
   */
  readonly timeoutMs?: number;
  /**
   * An API key of the log (`tlog_<id>_<secret>`), sent as `Authorization: Bearer <key>` on every
   * request (reads too). Without it, only the log's public endpoints answer; the others answer
   * 401 (an AccessDeniedError). The key never appears in an error message.
   */
  readonly apiKey?: string;
}

/** `url` when it is an http(s) URL, the base a client joins paths to; ArgumentError otherwise. */
export function checkLogUrl(url: unknown): string {
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new ArgumentError(`the log URL must start with http:// or https://, got ${JSON.stringify(url)}`);
  }
  return url;
}

/** The HttpOptions for a client's options, checked (ArgumentError naming the option). */
export function httpOptions(options: HttpClientOptions): HttpOptions {
  const f = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) {
    throw new ArgumentError(`timeoutMs must be a non-negative integer, got ${String(timeoutMs)}`);
  }
  return {
    // Bind: some runtimes refuse a fetch called with another `this`.
    fetch: (input, init) => f(input, init),
    timeoutMs,
    ...(options.apiKey === undefined ? {} : { apiKey: checkApiKey(options.apiKey) }),
  };
}

/**
 * Checks an API key before it is used in a header: printable ASCII without spaces (what an
 * HTTP header value and the log's `tlog_<id>_<secret>` keys allow). The message never holds the key.
 */
export function checkApiKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new ArgumentError(`the API key must be a non-empty string, got ${typeof key === 'string' ? 'an empty one' : typeof key}`);
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new ArgumentError(
      `the API key (${key.length} characters) holds a space, a control or a non-ASCII character; give the key exactly as the log issued it`,
    );
  }
  return key;
}

/**
 * Seconds to wait as a Retry-After header says (delta-seconds or an HTTP date), or undefined
 * when it is absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The request init with the API key's Authorization header added (init unchanged without a key). */
function withApiKey(http: HttpOptions, init: RequestInit): RequestInit {
  if (http.apiKey === undefined) return init;
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${http.apiKey}`);
  return { ...init, headers };
}

/** The error for an answer that is not 2xx: 401 and 403 name what to do about the key, 429 when to retry. */
function statusError(http: HttpOptions, res: Response, request: string, url: string, detail: string): LogFetchError {
  const head = `${request} answered ${res.status}${detail}`;
  const status = res.status;
  if (status === 401) {
    const what =
      http.apiKey === undefined
        ? 'the log needs an API key for this: give the client one (the apiKey option)'
        : 'the log refused the API key given (unknown, revoked or expired): check it, or ask for a new one';
    return new AccessDeniedError(`${what} (${head})`, { url, status, keySent: http.apiKey !== undefined });
  }
  if (status === 403) {
    return new AccessDeniedError(
      `the API key lacks the scope or tenant this needs: use a key that has them, or ask an admin for one (${head})`,
      { url, status, keySent: http.apiKey !== undefined },
    );
  }
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  const after = retryAfter === undefined ? {} : { retryAfter };
  if (status === 429) {
    const when = retryAfter === undefined ? 'retry later' : `retry after ${retryAfter} s`;
    return new LogFetchError(`the log is rate limiting this client: ${when} (${head})`, { url, status, ...after });
  }
  return new LogFetchError(head, { url, status, ...after });
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
 * Fetches url and returns the response if 2xx (or one of the `accept`ed statuses); throws
 * LogFetchError (status 0 if no answer, including a timeout) otherwise: an AccessDeniedError for
 * 401 and 403, one with `retryAfter` for a 429. The timeout also bounds reading the body.
 */
export async function fetchOk(http: HttpOptions, url: string, init: RequestInit = {}, accept: readonly number[] = []): Promise<Response> {
  let res: Response;
  const authorized = withApiKey(http, init);
  const withTimeout =
    http.timeoutMs > 0 && init.signal === undefined ? { ...authorized, signal: AbortSignal.timeout(http.timeoutMs) } : authorized;
  try {
    res = await http.fetch(url, withTimeout);
  } catch (e) {
    throw new LogFetchError(`cannot reach ${url}: ${redact(http, describeFetchFailure(e))}; check the URL and that the log is up`, {
      url,
      status: 0,
      cause: e,
    });
  }
  if (!res.ok && !accept.includes(res.status)) {
    let detail = '';
    try {
      const body = new TextDecoder().decode(await readLimited(res, 4096, url)).trim();
      if (body) detail = `: ${snippet(http, body, 200)}`;
    } catch {
      // The status is what matters; an unreadable body adds nothing.
    }
    throw statusError(http, res, `${init.method ?? 'GET'} ${url}`, url, detail);
  }
  return res;
}

/** `text` with the API key (if any) replaced by `[api key]`: a log or proxy that echoes the request must not leak it into a message. */
function redact(http: HttpOptions, text: string): string {
  return http.apiKey === undefined ? text : text.split(http.apiKey).join('[api key]');
}

/** The first `n` characters of an answer's body for a message, on one line, the API key redacted (before cutting, so no part of it shows). */
function snippet(http: HttpOptions, text: string, n: number): string {
  return redact(http, text.slice(0, n + (http.apiKey?.length ?? 0)))
    .slice(0, n)
    .replace(/\s+/g, ' ');
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
  return (await fetchJsonAnswer(http, url, init)).body;
}

/**
 * {@link fetchJson} that also takes the `accept`ed non-2xx statuses whose body is JSON the caller
 * reads (a 410 with a tombstone), and says which status came.
 */
export async function fetchJsonAnswer(
  http: HttpOptions,
  url: string,
  init?: RequestInit,
  accept: readonly number[] = [],
): Promise<{ readonly status: number; readonly body: unknown }> {
  const res = await fetchOk(http, url, init, accept);
  const text = new TextDecoder().decode(await readLimited(res, MAX_JSON_ANSWER, url));
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new ProtocolError(`${url} answered with a body that is not JSON: ${snippet(http, text, 100)}`, {
      url,
    });
  }
}

/** An answer whose body is read as it arrives: see {@link fetchStream}. */
export interface StreamedAnswer {
  /** The answer (2xx); its body is read through {@link read}. */
  readonly response: Response;
  /**
   * The next chunk of the body, or undefined at its clean end. A LogFetchError (with the
   * answer's status) when the body breaks off, when no byte came for the idle time, or when the
   * request's signal aborted (the caller tells that case by its signal).
   */
  read(): Promise<Uint8Array | undefined>;
  /** Stops reading and releases the connection; safe to call more than once. */
  close(): Promise<void>;
}

/** Options of {@link fetchStream}. */
export interface StreamRequest {
  /** Request headers besides the API key's. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request and any read. */
  readonly signal?: AbortSignal;
  /**
   * How long to wait for the answer, then for each chunk while a read waits, in milliseconds
   * (0: no limit). Time the caller spends between reads does not count.
   */
  readonly idleMs: number;
}

/**
 * GETs url for a body too long to hold (an export, an event stream), read chunk by chunk. Unlike
 * {@link fetchOk}'s timeout, which bounds the whole request, `idleMs` bounds each wait for data,
 * so a long body that keeps coming is never cut. Errors as fetchOk for the answer itself.
 */
export async function fetchStream(http: HttpOptions, url: string, request: StreamRequest): Promise<StreamedAnswer> {
  const { signal, idleMs } = request;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idle = false;
  const arm = () => {
    if (idleMs > 0)
      timer = setTimeout(() => {
        idle = true;
        controller.abort();
      }, idleMs);
  };
  const disarm = () => clearTimeout(timer);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted === true) controller.abort();
  const release = () => {
    disarm();
    signal?.removeEventListener('abort', onAbort);
  };
  arm();
  let response: Response;
  try {
    response = await fetchOk(http, url, { headers: { ...request.headers }, signal: controller.signal });
  } catch (e) {
    release();
    throw e;
  } finally {
    disarm();
  }
  const reader = response.body?.getReader();
  return {
    response,
    read: async () => {
      if (reader === undefined) return undefined;
      arm();
      try {
        const r = await reader.read();
        if (r.done) release();
        return r.done ? undefined : r.value;
      } catch (e) {
        release();
        const why = idle ? `no data came for ${idleMs / 1000} s` : redact(http, describeFetchFailure(e));
        throw new LogFetchError(`reading the answer of ${url} failed: ${why}`, { url, status: response.status, cause: e });
      } finally {
        disarm();
      }
    },
    close: async () => {
      release();
      await reader?.cancel().catch(() => undefined);
    },
  };
}
