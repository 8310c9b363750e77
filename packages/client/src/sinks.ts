/**
 * The log's sinks as its admin API reports them (GET /v1/sinks; the API key needs the
 * sinks:admin scope): where each delivers the log's events and how far it got.
 */
import { z } from 'zod';
import { ArgumentError } from './errors.js';

/** What a sink delivers to: an HTTPS webhook, a Splunk HTTP Event Collector, or a syslog server. */
export type SinkType = 'webhook' | 'splunk-hec' | 'syslog';

/**
 * Where a sink stands: `active` delivering, `retrying` after a failure (with backoff), `dead`
 * stopped at its cursor after failing too long or being refused (until resumed), `stopped`
 * (the log is shutting down).
 */
export type SinkState = 'active' | 'retrying' | 'dead' | 'stopped';

/** A sink as the log reports it. */
export interface SinkStatus {
  readonly name: string;
  readonly type: SinkType;
  /** Where a webhook or Splunk sink posts. */
  readonly url?: string;
  /** Where a syslog sink sends (`tcp://host:port`). */
  readonly address?: string;
  /** The line format it sends (ndjson, cloudevents, ocsf). */
  readonly format: string;
  readonly state: SinkState;
  /** The index of the last event delivered, -1 if none. */
  readonly cursor: number;
  /** The size of the log's published tree now. */
  readonly treeSize: number;
  /** How many indexes of that tree are beyond the cursor: treeSize - 1 - cursor. */
  readonly lag: number;
  /** Events delivered since the log started. */
  readonly delivered: number;
  /** The last delivery error, and when (RFC 3339). */
  readonly lastError?: string;
  readonly lastErrorAt?: string;
  /** When the last delivery succeeded. */
  readonly lastDeliveryAt?: string;
  /** Since when deliveries have been failing without a success. */
  readonly failingSince?: string;
  /** Since when the sink is dead. */
  readonly deadSince?: string;
}

const time = z.iso.datetime({ offset: true });
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** One sink of GET /v1/sinks, GET /v1/sinks/{name}, POST /v1/sinks/{name}/resume. */
export const sinkAnswer = z.object({
  name: z.string(),
  type: z.enum(['webhook', 'splunk-hec', 'syslog']),
  url: z.string().optional(),
  address: z.string().optional(),
  format: z.string(),
  state: z.enum(['active', 'retrying', 'dead', 'stopped']),
  cursor: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER),
  treeSize: count,
  lag: z.number().int().max(Number.MAX_SAFE_INTEGER),
  delivered: count,
  lastError: z.string().optional(),
  lastErrorAt: time.optional(),
  lastDeliveryAt: time.optional(),
  failingSince: time.optional(),
  deadSince: time.optional(),
});

/** GET /v1/sinks. */
export const sinksAnswer = z.object({ sinks: z.array(sinkAnswer) });

/** Checks a sink name (1..256 characters, no control characters; ArgumentError otherwise); it is percent-encoded in URLs. */
export function checkSinkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256 || /[\x00-\x1f\x7f]/.test(name)) {
    throw new ArgumentError(`a sink name is 1 to 256 characters without control characters, got ${JSON.stringify(name)}`);
  }
  return name;
}
