import { timestampMs } from '@tlog/events';
import type { FeedEvent } from '../feed-event.js';
import { formatLine } from '../formats.js';
import { postBatch } from './http-post.js';
import type { SplunkHecSinkConfig } from './sink-config.js';
import { type SinkTarget, type SinkTransport, shownUrl } from './transport.js';
import type { TransportContext } from './webhook.js';

const UTF8 = new TextEncoder();

/** The HEC endpoint of a collector base URL: `<url>/services/collector/event`. */
export function hecEndpoint(base: string): string {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/services/collector/event`;
  return u.toString();
}

/**
 * The body of one HEC request: one event object per event, `\n` after each (HEC takes
 * concatenated JSON objects): `{"time":<occurred_at, epoch seconds with milliseconds>,
 * "host"?,"source":"tlog","sourcetype","index"?,"event":<the line>}`, the line spliced in as
 * formatLine made it.
 */
export function hecBody(
  events: readonly FeedEvent[],
  config: Pick<SplunkHecSinkConfig, 'format' | 'host' | 'sourcetype' | 'index'>,
  ctx: { readonly origin: string },
): Uint8Array<ArrayBuffer> {
  const fixed =
    `${config.host === undefined ? '' : `"host":${JSON.stringify(config.host)},`}"source":"tlog","sourcetype":${JSON.stringify(config.sourcetype)},` +
    `${config.index === undefined ? '' : `"index":${JSON.stringify(config.index)},`}"event":`;
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const e of events) {
    const head = UTF8.encode(`{"time":${(timestampMs(e.record.occurred_at) / 1000).toFixed(3)},${fixed}`);
    const line = formatLine(config.format, e, ctx);
    const tail = UTF8.encode('}\n');
    parts.push(head, line, tail);
    n += head.length + line.length + tail.length;
  }
  return Buffer.concat(parts, n);
}

/**
 * Delivers to a Splunk HTTP Event Collector: one POST of {@link hecBody} per batch to
 * `<url>/services/collector/event` with `Authorization: Splunk <token>`. A 2xx answer is the
 * acknowledgment (HEC's optional indexer acknowledgment is not used).
 */
export class SplunkHecTransport implements SinkTransport {
  readonly target: SinkTarget;
  private readonly endpoint: string;

  /** @param config the sink; @param ctx the log's origin, and fetch / clock for tests */
  constructor(
    private readonly config: SplunkHecSinkConfig,
    private readonly ctx: TransportContext,
  ) {
    this.endpoint = hecEndpoint(config.url);
    this.target = { url: shownUrl(this.endpoint) };
  }

  async send(events: readonly FeedEvent[], signal: AbortSignal): Promise<void> {
    await postBatch({
      url: this.endpoint,
      headers: { authorization: `Splunk ${this.config.token}`, 'content-type': 'application/json', 'user-agent': 'tlog-sink' },
      body: hecBody(events, this.config, this.ctx),
      timeoutMs: this.config.timeoutMs,
      signal,
      ...(this.ctx.fetch === undefined ? {} : { fetch: this.ctx.fetch }),
      ...(this.ctx.now === undefined ? {} : { now: this.ctx.now }),
    });
  }

  close(): void {}
}
