import type { FeedEvent } from '../feed-event.js';

/**
 * A delivery failed. `retryable` says whether trying again may work (the receiver was busy,
 * down, unreachable, slow) or not (it refused the batch: a 4xx other than 408/429, a redirect):
 * a refusal makes the sink dead at once, since sending the same batch again would fail the same
 * way. The message says what the receiver did and never holds a secret.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  /** Whether retrying may succeed. */
  readonly retryable: boolean;
  /** The wait the receiver asked for (Retry-After), in ms. */
  readonly retryAfterMs?: number;

  /** @param message what the receiver did; @param opts whether to retry and the receiver's Retry-After */
  constructor(message: string, opts: { readonly retryable: boolean; readonly retryAfterMs?: number; readonly cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryable = opts.retryable;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Where a sink delivers, as its status shows it (never with a secret). */
export type SinkTarget = { readonly url: string } | { readonly address: string };

/**
 * Sends batches to one receiver.
 *
 * Contract: `send` resolves only once the receiver acknowledged the whole batch (HTTP: a 2xx
 * answer; TCP syslog: the bytes were handed to the kernel, see syslog.ts), so the caller may then
 * advance its cursor past the batch. It rejects with a DeliveryError when the receiver failed,
 * and with the signal's reason (an AbortError) when `signal` aborts; it never rejects otherwise
 * for a receiver's fault. Calls do not overlap (one worker per sink).
 */
export interface SinkTransport {
  readonly target: SinkTarget;
  /** Delivers the events (ascending index, at least one), formatted in the sink's format. */
  send(events: readonly FeedEvent[], signal: AbortSignal): Promise<void>;
  /** Releases connections; `send` is not called afterwards. */
  close(): void;
}

/** The URL as a status shows it: scheme, host and path, without the query (which may carry a token). */
export function shownUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
