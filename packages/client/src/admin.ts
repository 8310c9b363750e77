/**
 * Administration of a tlog log: its API keys (POST, GET and DELETE /v1/admin/keys; the API key
 * used needs the keys:admin scope) and its sinks (GET /v1/sinks, POST /v1/sinks/{name}/resume;
 * sinks:admin). Nothing here is signed, so nothing is verified beyond the answers' shapes; the
 * log's verifier key is not needed.
 */
import { z } from 'zod';
import { parseAnswer } from './api-answers.js';
import { errorMessage } from './checks.js';
import { ArgumentError, LogFetchError, NotFoundError, ProtocolError } from './errors.js';
import { checkFilter } from './event-arguments.js';
import type { HttpClientOptions, HttpOptions } from './http.js';
import { checkLogUrl, fetchJson, httpOptions, joinUrl } from './http.js';
import type { SinkStatus } from './sinks.js';
import { checkSinkName, sinkAnswer, sinksAnswer } from './sinks.js';

/** Longest API key name the log takes, in characters. */
export const MAX_API_KEY_NAME = 100;
/** Most scopes one API key may have. */
export const MAX_API_KEY_SCOPES = 8;

/** The shape of a scope name (`events:read`, `admin`); which scopes exist is the log's to say. */
const SCOPE_PATTERN = /^[a-z]+(:[a-z]+)?$/;
/** An API key id: the `<id>` of `tlog_<id>_<secret>`. */
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
/** A whole API key as the log issues it. */
const KEY_PATTERN = /^tlog_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

/** What to create: POST /v1/admin/keys. */
export interface NewApiKey {
  /** A name for people (who or what uses the key), 1..100 characters. */
  readonly name: string;
  /** 1..8 distinct scopes: entries:write, events:write, events:read, events:erase, sinks:admin, keys:admin, metrics:read, admin (every scope). */
  readonly scopes: readonly string[];
  /** Bind the key to this tenant: it then writes and reads only that tenant's events. */
  readonly tenant?: string;
  /** When the key stops working (a Date, or RFC 3339 with a time zone); must be in the future. */
  readonly expiresAt?: Date | string;
}

/** An API key as the log lists it (never its secret). */
export interface ApiKeyInfo {
  /** The key's id (16 hex digits), the `<id>` of `tlog_<id>_<secret>`. */
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly tenant?: string;
  /** RFC 3339 times as the log gives them. */
  readonly expiresAt?: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
  readonly revokedAt?: string;
}

/** A key just created: its description and the key itself, which the log shows this once. */
export interface CreatedApiKey extends ApiKeyInfo {
  /** The whole key, `tlog_<id>_<secret>`: store it now, the log keeps only a hash of its secret. */
  readonly key: string;
}

/** A key revoked. */
export interface RevokedApiKey {
  readonly id: string;
  readonly revokedAt: string;
}

/** Options of an {@link AdminClient}. */
export interface AdminClientOptions extends HttpClientOptions {
  /** Base URL of the log, e.g. "http://localhost:8080". */
  readonly url: string;
}

const time = z.iso.datetime({ offset: true });
const keyInfo = z.object({
  id: z.string().regex(KEY_ID_PATTERN),
  name: z.string(),
  scopes: z.array(z.string()),
  tenant: z.string().optional(),
  expires_at: time.optional(),
  created_at: time,
  last_used_at: time.optional(),
  revoked_at: time.optional(),
});
const createdAnswer = keyInfo.extend({ key: z.string().regex(KEY_PATTERN, 'not a tlog_<id>_<secret> key') });
const listAnswer = z.object({ keys: z.array(keyInfo) });
const revokedAnswer = z.object({ id: z.string().regex(KEY_ID_PATTERN), revoked_at: time });

/** The camelCase description of a key in an answer. */
function toInfo(k: z.infer<typeof keyInfo>): ApiKeyInfo {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    ...(k.tenant === undefined ? {} : { tenant: k.tenant }),
    ...(k.expires_at === undefined ? {} : { expiresAt: k.expires_at }),
    createdAt: k.created_at,
    ...(k.last_used_at === undefined ? {} : { lastUsedAt: k.last_used_at }),
    ...(k.revoked_at === undefined ? {} : { revokedAt: k.revoked_at }),
  };
}

/** The request body for a new key, validated (ArgumentError naming the field). */
export function checkNewApiKey(input: NewApiKey, now = Date.now()): Record<string, unknown> {
  if (typeof input !== 'object' || input === null) throw new ArgumentError('a new API key is described by an object {name, scopes, ...}');
  const { name, scopes, tenant, expiresAt } = input;
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_API_KEY_NAME) {
    throw new ArgumentError(`name: a key's name is 1 to ${MAX_API_KEY_NAME} characters, got ${JSON.stringify(name)}`);
  }
  if (!Array.isArray(scopes) || scopes.length === 0 || scopes.length > MAX_API_KEY_SCOPES) {
    throw new ArgumentError(
      `scopes: a key has 1 to ${MAX_API_KEY_SCOPES} scopes, got ${Array.isArray(scopes) ? scopes.length : typeof scopes}`,
    );
  }
  for (const [i, s] of scopes.entries()) {
    if (typeof s !== 'string' || !SCOPE_PATTERN.test(s)) {
      throw new ArgumentError(`scopes[${i}]: ${JSON.stringify(s)} is not a scope (e.g. events:read, keys:admin, admin)`);
    }
    if (scopes.indexOf(s) !== i) throw new ArgumentError(`scopes[${i}]: ${s} is given twice`);
  }
  const body: Record<string, unknown> = { name, scopes: [...scopes] };
  if (tenant !== undefined) {
    const checked = checkFilter({ tenant }).tenant;
    if (checked === undefined) throw new ArgumentError('tenant: must not be empty');
    body.tenant = checked;
  }
  if (expiresAt !== undefined) {
    const ms = expiresAt instanceof Date ? expiresAt.getTime() : time.safeParse(expiresAt).success ? Date.parse(expiresAt) : Number.NaN;
    if (Number.isNaN(ms))
      throw new ArgumentError(`expiresAt: must be a Date or an RFC 3339 time with a time zone, got ${JSON.stringify(expiresAt)}`);
    if (ms <= now) throw new ArgumentError(`expiresAt: ${new Date(ms).toISOString()} is not in the future`);
    body.expires_at = new Date(ms).toISOString();
  }
  return body;
}

/** Checks an API key id (16 lowercase hex digits). */
export function checkApiKeyId(id: unknown): string {
  if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
    throw new ArgumentError(`an API key id is 16 lowercase hex digits (the <id> of tlog_<id>_<secret>), got ${JSON.stringify(id)}`);
  }
  return id;
}

/**
 * Manages a log's API keys and sinks. Every request carries `apiKey` (it needs the keys:admin
 * scope for keys, sinks:admin for sinks, or admin); a 401 or 403 is an AccessDeniedError. Answers of the wrong shape are ProtocolErrors,
 * whose messages never hold a key.
 */
export class AdminClient {
  /** The log's base URL. */
  readonly url: string;
  private readonly http: HttpOptions;

  /** Requires an http(s) URL, a non-negative timeout and a well-formed API key if any (ArgumentError otherwise). */
  constructor(options: AdminClientOptions) {
    this.url = checkLogUrl(options.url);
    this.http = httpOptions(options);
  }

  /**
   * Creates a key (POST /v1/admin/keys): `input` is validated first (ArgumentError naming the
   * field; which scopes exist is the log's to check). The answer must describe the key asked for.
   * The returned `key` is the only copy of the secret.
   */
  async createApiKey(input: NewApiKey): Promise<CreatedApiKey> {
    const body = checkNewApiKey(input);
    const url = joinUrl(this.url, 'v1/admin/keys');
    const answer = parseAnswer(
      createdAnswer,
      await this.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      url,
    );
    const idInKey = KEY_PATTERN.exec(answer.key)![1];
    const sameScopes = answer.scopes.length === input.scopes.length && answer.scopes.every((s) => input.scopes.includes(s));
    if (idInKey !== answer.id || answer.name !== body.name || !sameScopes || answer.tenant !== body.tenant) {
      throw new ProtocolError(
        `${url} answered a key other than the one asked for (id ${answer.id}, name ${JSON.stringify(answer.name)}, scopes ${answer.scopes.join(',')}${answer.tenant === undefined ? '' : `, tenant ${answer.tenant}`}${idInKey === answer.id ? '' : ', and a key whose id is not its id'})`,
        { url },
      );
    }
    return { ...toInfo(answer), key: answer.key };
  }

  /** Every key of the log (GET /v1/admin/keys), revoked and expired ones included, without secrets. */
  async listApiKeys(): Promise<ApiKeyInfo[]> {
    const url = joinUrl(this.url, 'v1/admin/keys');
    return parseAnswer(listAnswer, await this.request(url), url).keys.map(toInfo);
  }

  /** Revokes the key with this id (DELETE /v1/admin/keys/{id}); it stops working at once. NotFoundError for an unknown id. */
  async revokeApiKey(id: string): Promise<RevokedApiKey> {
    checkApiKeyId(id);
    const url = joinUrl(this.url, `v1/admin/keys/${id}`);
    let body: unknown;
    try {
      body = await this.request(url, { method: 'DELETE' });
    } catch (e) {
      if (e instanceof LogFetchError && e.status === 404)
        throw new NotFoundError(`the log has no API key ${id} (${errorMessage(e)})`, { cause: e });
      throw e;
    }
    const answer = parseAnswer(revokedAnswer, body, url);
    if (answer.id !== id) throw new ProtocolError(`${url} answered that it revoked key ${answer.id}, not ${id}`, { url });
    return { id: answer.id, revokedAt: answer.revoked_at };
  }

  /**
   * The log's sinks (GET /v1/sinks) and where each stands: state, cursor, lag, last error. A key
   * bound to a tenant sees only that tenant's sinks.
   */
  async sinks(): Promise<SinkStatus[]> {
    const url = joinUrl(this.url, 'v1/sinks');
    return parseAnswer(sinksAnswer, await this.request(url), url).sinks;
  }

  /** One sink (GET /v1/sinks/{name}); NotFoundError if the log has no sink of that name. */
  async sink(name: string): Promise<SinkStatus> {
    return this.sinkRequest(name, '');
  }

  /**
   * Makes a dead sink deliver again from its cursor (POST /v1/sinks/{name}/resume), nothing
   * skipped; returns its status after. NotFoundError if the log has no sink of that name.
   */
  async resumeSink(name: string): Promise<SinkStatus> {
    return this.sinkRequest(name, '/resume', { method: 'POST' });
  }

  /** A request about one sink; its 404 is a NotFoundError, and the answer must be about that sink. */
  private async sinkRequest(name: string, suffix: string, init?: RequestInit): Promise<SinkStatus> {
    checkSinkName(name);
    const url = joinUrl(this.url, `v1/sinks/${encodeURIComponent(name)}${suffix}`);
    let body: unknown;
    try {
      body = await this.request(url, init);
    } catch (e) {
      if (e instanceof LogFetchError && e.status === 404)
        throw new NotFoundError(`the log has no sink ${JSON.stringify(name)} (${errorMessage(e)})`, { cause: e });
      throw e;
    }
    const answer = parseAnswer(sinkAnswer, body, url);
    if (answer.name !== name)
      throw new ProtocolError(`${url} answered about sink ${JSON.stringify(answer.name)}, not ${JSON.stringify(name)}`, { url });
    return answer;
  }

  /** One JSON request; a 400 (the log refused the input) is the caller's ArgumentError. */
  private async request(url: string, init?: RequestInit): Promise<unknown> {
    try {
      return await fetchJson(this.http, url, init);
    } catch (e) {
      if (e instanceof LogFetchError && e.status === 400)
        throw new ArgumentError(`the log refused the request: ${errorMessage(e)}`, { cause: e });
      throw e;
    }
  }
}
