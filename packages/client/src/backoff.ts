/** Waiting between reconnections: exponential backoff with full jitter (internal). */
import { ArgumentError } from './errors.js';

/** How long to wait before reconnecting: exponential backoff with full jitter. */
export interface BackoffOptions {
  /**
   * The cap of the first wait, in milliseconds (default: the `retry` the server sent, else
   * 1000). Each wait is a uniform random time below its cap; the cap doubles with each attempt
   * in a row that delivers nothing.
   */
  readonly initialMs?: number;
  /** The largest cap, in milliseconds (default 30000). */
  readonly maxMs?: number;
  /**
   * After this many connection attempts in a row that deliver nothing verified, give up and
   * throw the last error (default: never give up).
   */
  readonly maxAttempts?: number;
}

/** Default of {@link BackoffOptions.initialMs} when the server sends no `retry`. */
export const DEFAULT_BACKOFF_INITIAL_MS = 1000;
/** Default of {@link BackoffOptions.maxMs}. */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

/** Backoff options, checked: non-negative integers, initialMs <= maxMs, maxAttempts >= 1 (ArgumentError naming the field). */
export function checkBackoff(options: BackoffOptions = {}): BackoffOptions {
  const { initialMs, maxMs, maxAttempts } = options;
  const check = (v: number | undefined, name: string, min: number) => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < min))
      throw new ArgumentError(`reconnect.${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  check(initialMs, 'initialMs', 0);
  check(maxMs, 'maxMs', 0);
  check(maxAttempts, 'maxAttempts', 1);
  if (initialMs !== undefined && maxMs !== undefined && initialMs > maxMs) {
    throw new ArgumentError(`reconnect.initialMs (${initialMs}) must not exceed reconnect.maxMs (${maxMs})`);
  }
  return options;
}

/**
 * The wait before reconnection attempt `attempt` (0 for the first after a connection that
 * delivered something): uniform in [0, min(maxMs, initialMs * 2^attempt)), "full jitter", so
 * that many clients cut off at once do not come back at once. `random` returns [0, 1).
 */
export function backoffDelay(
  attempt: number,
  limits: { readonly initialMs: number; readonly maxMs: number },
  random = Math.random,
): number {
  const cap = Math.min(limits.maxMs, limits.initialMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * cap);
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
