import { createHmac } from 'node:crypto';
import type { FeedEvent } from '../feed-event.js';
import { type FeedFormat, type FormatContext, formatLine } from '../formats.js';
import { postBatch } from './http-post.js';
import type { WebhookSinkConfig } from './sink-config.js';
import { type SinkTarget, type SinkTransport, shownUrl } from './transport.js';

const UTF8 = new TextEncoder();
const SECRET_PREFIX = 'whsec_';
const HEAD = UTF8.encode('{"events":[');
const TAIL = UTF8.encode(']}');
const COMMA = UTF8.encode(',');

/**
 * The body of a webhook delivery: `{"events":[<line>,<line>,...]}`, each line the event in the
 * sink's format, copied as formatLine made it (an object rather than a bare array, so fields
 * can be added later without breaking receivers).
 */
export function webhookBody(events: readonly FeedEvent[], format: FeedFormat, ctx: FormatContext): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [HEAD];
  events.forEach((e, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(formatLine(format, e, ctx));
  });
  parts.push(TAIL);
  return Buffer.concat(parts);
}

/**
 * The webhook-id of a batch: the same for every attempt at the same events (Standard Webhooks:
 * receivers may drop a repeated id), `<sink>_<first index>_<last index>`.
 */
export function webhookId(sink: string, events: readonly FeedEvent[]): string {
  return `${sink}_${events[0]!.index}_${events[events.length - 1]!.index}`;
}

/**
 * The Standard Webhooks headers of a body: webhook-id, webhook-timestamp (seconds) and
 * webhook-signature: `v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes (after
 * `whsec_`), of `id.timestamp.body`. Computed with node:crypto: the same bytes as the
 * standardwebhooks package's Webhook.sign (a test compares them), which hashes in JavaScript at
 * about 50 MB/s where this is native; the tests and receivers verify with the package.
 */
export function signWebhook(secret: string, id: string, nowMs: number, body: Uint8Array): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}

/** What a webhook transport needs besides its sink. */
export interface TransportContext extends FormatContext {
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/**
 * Delivers to a Standard Webhooks receiver: one signed POST of {@link webhookBody} per batch,
 * `Content-Type: application/json`, freshly signed at each attempt (receivers refuse timestamps
 * more than five minutes old) with the same webhook-id.
 */
export class WebhookTransport implements SinkTransport {
  readonly target: SinkTarget;
  private readonly now: () => number;

  /** @param config the sink; @param ctx the log's origin, and fetch / clock for tests */
  constructor(
    private readonly config: WebhookSinkConfig,
    private readonly ctx: TransportContext,
  ) {
    this.target = { url: shownUrl(config.url) };
    this.now = ctx.now ?? Date.now;
  }

  async send(events: readonly FeedEvent[], signal: AbortSignal): Promise<void> {
    const body = webhookBody(events, this.config.format, this.ctx);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'tlog-sink',
      ...signWebhook(this.config.secret, webhookId(this.config.name, events), this.now(), body),
    };
    await postBatch({
      url: this.config.url,
      headers,
      body,
      timeoutMs: this.config.timeoutMs,
      signal,
      ...(this.ctx.fetch === undefined ? {} : { fetch: this.ctx.fetch }),
      now: this.now,
    });
  }

  close(): void {}
}
