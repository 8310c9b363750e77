/** How a sink waits between failed attempts. */
export interface BackoffPolicy {
  /** The ceiling of the first wait. */
  readonly initialMs: number;
  /** The largest ceiling (and the longest Retry-After honoured). */
  readonly maxMs: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): exponential backoff with full
 * jitter, a uniformly random time in [0, min(maxMs, initialMs * 2^attempt)). Full jitter spreads
 * the retries of many senders that failed together (AWS architecture blog, "Exponential Backoff
 * And Jitter"). A receiver's Retry-After is a lower bound (it is waited at least, but never more
 * than maxMs, so that a receiver cannot park a sink longer than its policy allows; and a
 * `Retry-After: 0` does not make the sink hammer it). `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new RangeError(`attempt is an integer >= 0, got ${attempt}`);
  // 2^attempt overflows to Infinity for large attempts, which min() then caps.
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 1024));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(Math.max(0, retryAfterMs), policy.maxMs));
}

/**
 * A Retry-After header (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date, in milliseconds
 * from `now`; undefined when absent or malformed (then the sink's own backoff applies).
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const s = header.trim();
  if (/^[0-9]+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) || !/[A-Za-z]/.test(s) ? undefined : Math.max(0, at - now);
}
