import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AccessTrail, RequestParty } from './access-trail.js';
import type { ApiKeyStore, KeyRefusal } from './api-keys.js';
import { type AccessRecorder, type AuthEnv, type Guard, hasScope, type Principal, type Scope } from './principal.js';
import { type RateLimit, type RateLimiter, TokenBuckets } from './rate-limit.js';

/** What the authenticator needs. */
export interface AuthenticatorOptions {
  readonly keys: ApiKeyStore;
  readonly limiter: RateLimiter;
  /** Where access events go. */
  readonly trail: AccessTrail;
  /** The client's socket address (undefined where there is none, e.g. app.request in tests). */
  readonly clientIp: (c: Context) => string | undefined;
  /** Told of each refused request (metrics). */
  readonly onRefused?: (reason: KeyRefusal | 'forbidden') => void;
  /** Told of each rate-limited request (metrics). */
  readonly onRateLimited?: (scope: Scope) => void;
  /** Told when a denial could not be recorded (the request is refused all the same). */
  readonly onUnrecorded?: (err: unknown) => void;
}

const UNAUTHORIZED = 'this endpoint needs a valid API key: send Authorization: Bearer tlog_<id>_<secret>';

/**
 * Refusals recorded per client address: 20 a second, 200 saved up. Beyond it a client that keeps
 * being refused gets 429 and is not recorded each time (it is counted in the metrics), so nobody
 * can grow the access log without bound by sending bad keys.
 */
const REFUSALS_RECORDED: RateLimit = { rate: 20, burst: 200 };

/** The bearer token of a request, or undefined. */
function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization');
  if (h === undefined) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
  return m === null ? '' : m[1];
}

/**
 * Checks API keys on the routes it guards, rate-limits them per key and scope, and gives each
 * request that passes an access recorder bound to its key, address and user agent. Every
 * refusal (401, 403) is recorded in the access log before it is answered; a refusal that
 * cannot be recorded is answered all the same (refusing is the safe side); an address refused
 * more than REFUSALS_RECORDED allows gets 429, unrecorded. The answers never
 * tell which keys exist: a missing, malformed, unknown, wrong, revoked or expired key all
 * answer the same 401.
 */
export class Authenticator {
  private readonly refusals = new TokenBuckets();

  constructor(private readonly opts: AuthenticatorOptions) {}

  /** The party of a request, for its access events. */
  party(c: Context, principal: Principal | undefined): RequestParty {
    return {
      principal,
      ip: this.opts.clientIp(c),
      userAgent: c.req.header('user-agent'),
      method: c.req.method,
      route: c.req.routePath,
    };
  }

  /** An access recorder for the request `c` made by `principal`. */
  recorder(c: Context, principal: Principal | undefined): AccessRecorder {
    return { record: (entry) => this.opts.trail.append(entry, this.party(c, principal)) };
  }

  private async refuse(
    c: Context,
    status: 401 | 403,
    principal: Principal | undefined,
    details: Record<string, unknown>,
    message: string,
  ): Promise<never> {
    const wait = this.refusals.take(this.opts.clientIp(c) ?? 'unknown', REFUSALS_RECORDED);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      throw new HTTPException(429, { message: `too many refused requests from this address; retry in ${wait} s with a valid API key` });
    }
    try {
      await this.opts.trail.append(
        { action: 'auth.denied', outcome: 'failure', details: { status, ...details } },
        this.party(c, principal),
      );
    } catch (err) {
      this.opts.onUnrecorded?.(err);
    }
    throw new HTTPException(status, { message });
  }

  /** See {@link Guard}. */
  readonly guard: Guard = (scope) => {
    const mw: MiddlewareHandler<AuthEnv> = async (c, next) => {
      const checked = this.opts.keys.check(bearer(c));
      if (!checked.ok) {
        this.opts.onRefused?.(checked.reason);
        return this.refuse(
          c,
          401,
          undefined,
          { reason: checked.reason, required_scope: scope, ...(checked.keyId !== undefined ? { presented_key_id: checked.keyId } : {}) },
          UNAUTHORIZED,
        );
      }
      const { principal } = checked;
      if (!hasScope(principal, scope)) {
        this.opts.onRefused?.('forbidden');
        return this.refuse(c, 403, principal, { reason: 'scope', required_scope: scope }, `this API key lacks the scope ${scope}`);
      }
      const wait = this.opts.limiter.take(principal.keyId, scope);
      if (wait > 0) {
        this.opts.onRateLimited?.(scope);
        c.header('Retry-After', String(wait));
        throw new HTTPException(429, { message: `this API key is over its rate limit for ${scope}; retry in ${wait} s` });
      }
      c.set('principal', principal);
      c.set('access', this.recorder(c, principal));
      await next();
    };
    return mw;
  };
}
