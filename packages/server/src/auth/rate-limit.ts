import { LRUCache } from 'lru-cache';
import type { Scope } from './principal.js';

/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
export interface RateLimit {
  readonly rate: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Most buckets kept; the least recently used are dropped (a dropped bucket starts full again). */
const MAX_BUCKETS = 100_000;

/**
 * Token buckets by name: a request takes one token; without one it is refused with the seconds
 * until the next token. A few lines of arithmetic, kept here rather than in a package because the
 * packages at hand count fixed windows, not buckets. At most MAX_BUCKETS are kept (least recently
 * used dropped; a dropped bucket starts full again), so memory is bounded whoever asks.
 */
export class TokenBuckets {
  private readonly buckets = new LRUCache<string, Bucket>({ max: MAX_BUCKETS });

  /** @param now the clock, in ms */
  constructor(private readonly now: () => number = Date.now) {}

  /** Takes a token from bucket `id` under `limit`: 0 when allowed, else the whole seconds to wait (at least 1). */
  take(id: string, limit: RateLimit): number {
    const now = this.now();
    let b = this.buckets.get(id);
    if (b === undefined) {
      b = { tokens: limit.burst, at: now };
      this.buckets.set(id, b);
    }
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / limit.rate));
  }
}

/** Per-key token buckets, one per (key, scope) with a limit configured for the scope. */
export class RateLimiter {
  private readonly buckets: TokenBuckets;

  /**
   * @param limits the limit of each scope that has one (scopes without one are not limited)
   * @param now the clock, in ms
   */
  constructor(
    private readonly limits: ReadonlyMap<Scope, RateLimit>,
    now: () => number = Date.now,
  ) {
    this.buckets = new TokenBuckets(now);
  }

  /** Takes a token for `keyId` under `scope`: 0 when allowed, else the whole seconds to wait (at least 1). */
  take(keyId: string, scope: Scope): number {
    const limit = this.limits.get(scope);
    return limit === undefined ? 0 : this.buckets.take(`${keyId}\u0000${scope}`, limit);
  }
}

/**
 * Parses `<scope>=<rate>[/<burst>]` (requests a second, burst defaulting to twice the rate, at
 * least 1), e.g. `events:read=50/100`. Throws RangeError saying what is wrong.
 */
export function parseRateLimit(spec: string, scopes: readonly string[]): { scope: Scope; limit: RateLimit } {
  const m = /^([a-z:]+)=([0-9]+(?:\.[0-9]+)?)(?:\/([0-9]+))?$/.exec(spec.trim());
  if (m === null) throw new RangeError(`"${spec}" is not <scope>=<requests per second>[/<burst>], e.g. events:read=50/100`);
  if (!scopes.includes(m[1]!)) throw new RangeError(`"${m[1]}" is not a scope (${scopes.join(', ')})`);
  const rate = Number(m[2]);
  if (!(rate > 0) || rate > 1e6) throw new RangeError(`the rate of "${spec}" must be more than 0 and at most 1000000 a second`);
  const burst = m[3] === undefined ? Math.max(1, Math.ceil(rate * 2)) : Number(m[3]);
  if (burst < 1 || burst > 1e7) throw new RangeError(`the burst of "${spec}" must be 1..10000000`);
  return { scope: m[1] as Scope, limit: { rate, burst } };
}
