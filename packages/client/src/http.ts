import { LogFetchError } from './errors.js';
import { errorMessage } from './checks.js';

/** The subset of the WHATWG fetch the client needs; pass your own to add auth, retries or a test double. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Joins a base URL and a path without doubling or dropping slashes.
 * Requires base to be an absolute http(s) URL; path is relative ("checkpoint", "tile/0/000").
 */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
}

/** Fetches url and returns the response if 2xx; throws LogFetchError (status 0 if no answer) otherwise. */
export async function fetchOk(fetchImpl: FetchLike, url: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetchImpl(url, init);
  } catch (e) {
    throw new LogFetchError(url, 0, `cannot reach ${url}: ${errorMessage(e)}; check the URL and that the log is up`, { cause: e });
  }
  if (!res.ok) {
    let detail = '';
    try {
      const body = (await res.text()).trim();
      if (body) detail = `: ${body.slice(0, 200).replace(/\s+/g, ' ')}`;
    } catch {
      // The status is what matters; an unreadable body adds nothing.
    }
    throw new LogFetchError(url, res.status, `${init?.method ?? 'GET'} ${url} answered ${res.status}${detail}`);
  }
  return res;
}

/** GET url as bytes (2xx only). */
export async function fetchBytes(fetchImpl: FetchLike, url: string): Promise<Uint8Array> {
  const res = await fetchOk(fetchImpl, url);
  return new Uint8Array(await res.arrayBuffer());
}

/** GET url as text (2xx only). */
export async function fetchText(fetchImpl: FetchLike, url: string): Promise<string> {
  const res = await fetchOk(fetchImpl, url);
  return res.text();
}

/** Fetches url (2xx only) and parses the body as JSON; a body that is not JSON is a LogFetchError. */
export async function fetchJson(fetchImpl: FetchLike, url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetchOk(fetchImpl, url, init);
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LogFetchError(url, res.status, `${url} answered with a body that is not JSON: ${text.slice(0, 100)}`);
  }
}
