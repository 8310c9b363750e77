import type { Logger } from 'pino';
import type { AccessEntry } from '../../auth/principal.js';
import type { FormatContext } from '../formats.js';
import type { SinkConfig } from './sink-config.js';
import type { SinkCursors } from './sink-cursors.js';
import { type SinkSource, type SinkStatus, SinkWorker } from './sink-worker.js';
import { SplunkHecTransport } from './splunk-hec.js';
import { SyslogTransport } from './syslog.js';
import type { SinkTransport } from './transport.js';
import { WebhookTransport } from './webhook.js';

/** What the sinks work on. */
export interface SinksOptions {
  readonly configs: readonly SinkConfig[];
  readonly source: SinkSource;
  readonly cursors: Pick<SinkCursors, 'read' | 'write'>;
  /** Appends an access event of the server's own (AccessTrail.appendSystem). */
  readonly announce: (entry: AccessEntry, actor: string) => Promise<void>;
  /** The log's origin (the cloudevents source, ...). */
  readonly origin: string;
  readonly logger: Logger;
  /** Told of each acknowledged batch (metrics). */
  readonly onDelivered?: (sink: string, events: number) => void;
  /** Makes a sink's transport (tests); by default the one of its type. */
  readonly transport?: (config: SinkConfig, ctx: FormatContext) => SinkTransport;
  /** Replaces global fetch for HTTP sinks. */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The transport of a sink's type. */
export function transportFor(config: SinkConfig, ctx: FormatContext & { readonly fetch?: typeof fetch }): SinkTransport {
  switch (config.type) {
    case 'webhook':
      return new WebhookTransport(config, ctx);
    case 'splunk-hec':
      return new SplunkHecTransport(config, ctx);
    case 'syslog':
      return new SyslogTransport(config, ctx);
  }
}

/** The sinks a key may see: all for an unbound key, else those configured with its tenant. */
function visible(config: SinkConfig, tenant: string | undefined): boolean {
  return tenant === undefined || config.tenant === tenant;
}

/**
 * The configured sinks, one {@link SinkWorker} each. `open` reads their stored cursors (a new
 * sink starts at -1 for `from: "start"`, or after the published tree for `"now"`, and stores it
 * at once, so that "now" means its first start); `start` starts them; `close` stops them (call
 * it before the stores close).
 */
export class Sinks {
  private constructor(private readonly workers: ReadonlyMap<string, { readonly worker: SinkWorker; readonly config: SinkConfig }>) {}

  /** Reads (or makes) each sink's cursor and builds its worker; StorageCorruptError for a damaged cursor. */
  static async open(opts: SinksOptions): Promise<Sinks> {
    const workers = new Map<string, { worker: SinkWorker; config: SinkConfig }>();
    for (const config of opts.configs) {
      let cursor = await opts.cursors.read(config.name);
      if (cursor === undefined) {
        cursor = config.from === 'start' ? -1 : opts.source.published.size - 1;
        await opts.cursors.write(config.name, cursor);
      }
      const ctx = {
        origin: opts.origin,
        ...(opts.fetch === undefined ? {} : { fetch: opts.fetch }),
        ...(opts.now === undefined ? {} : { now: opts.now }),
      };
      const worker = new SinkWorker({
        config,
        source: opts.source,
        transport: opts.transport?.(config, ctx) ?? transportFor(config, ctx),
        cursors: opts.cursors,
        cursor,
        announce: opts.announce,
        logger: opts.logger,
        ...(opts.onDelivered === undefined ? {} : { onDelivered: (n: number) => opts.onDelivered!(config.name, n) }),
        ...(opts.now === undefined ? {} : { now: opts.now }),
        ...(opts.random === undefined ? {} : { random: opts.random }),
      });
      workers.set(config.name, { worker, config });
    }
    return new Sinks(workers);
  }

  /** Starts every sink's worker. */
  start(): void {
    for (const { worker } of this.workers.values()) worker.start();
  }

  /** The sinks' status, in configuration order; only those of `tenant` when given (a tenant-bound key). */
  list(tenant?: string): SinkStatus[] {
    return [...this.workers.values()].filter((w) => visible(w.config, tenant)).map((w) => w.worker.status());
  }

  /** One sink's status; undefined when there is none of that name visible to `tenant`. */
  get(name: string, tenant?: string): SinkStatus | undefined {
    const w = this.workers.get(name);
    return w === undefined || !visible(w.config, tenant) ? undefined : w.worker.status();
  }

  /** Resumes a sink (see SinkWorker.resume); undefined when there is none of that name visible to `tenant`. */
  resume(name: string, tenant?: string): SinkStatus | undefined {
    const w = this.workers.get(name);
    return w === undefined || !visible(w.config, tenant) ? undefined : w.worker.resume();
  }

  /** Stops every worker (in-flight requests aborted, cursors consistent). */
  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.worker.close()));
  }
}
