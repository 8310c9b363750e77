import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CommitStats } from './sequencer.js';

/** What a log reports at scrape time. */
export interface LogGauges {
  /** The size of the log's committed tree. */
  readonly size: number;
  /** Entries admitted and waiting for a commit. */
  readonly poolEntries: number;
}

/** Why a request was refused by authentication or authorization. */
export type AuthFailureReason = 'missing' | 'invalid' | 'expired' | 'revoked' | 'forbidden';

/** What a sink reports at scrape time (a SinkStatus fits). */
export interface SinkGauges {
  readonly name: string;
  /** Indexes it has yet to look at. */
  readonly lag: number;
  readonly state: string;
}

/** How an event came to be erased. */
export type ErasureKind = 'request' | 'retention';

/** The route label of a 404 that no route answered (only catch-all middleware ran): one value, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Batch-size buckets: 1 to 64Ki entries, by powers of four. */
const BATCH_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16_384, 65_536];
/** Commit-duration buckets, in seconds: an fsync'd LevelDB batch takes about a millisecond to a second. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Request-duration buckets, in seconds (reads are sub-millisecond; writes wait for a commit). */
const HTTP_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The server's Prometheus metrics, on a registry of their own (never prom-client's global one, so
 * two servers in one process, as in tests, keep apart). Holds the process's default metrics too.
 *
 * Gauges of a log (tree size, pool depth) are read from the callback given to {@link addLog} when
 * scraped, so nothing is done per request for them; counters and histograms are fed by the hooks
 * below. Every series is named `tlog_...`; labels have bounded values (log names, a fixed set of
 * reasons, route patterns rather than paths).
 */
export class ServerMetrics {
  /** The registry to expose (GET /metrics); `registry.contentType` is the exposition's media type. */
  readonly registry = new Registry();
  private readonly logs = new Map<string, () => LogGauges>();
  private sinks: () => readonly SinkGauges[] = () => [];
  private readonly entriesAppended: Counter<'log'>;
  private readonly eventsAppended: Counter<'log'>;
  private readonly authFailures: Counter<'reason'>;
  private readonly rateLimited: Counter<'scope'>;
  private readonly erasures: Counter<'how'>;
  private readonly sinkEvents: Counter<'sink'>;
  private readonly commitSeconds: Histogram<'log'>;
  private readonly commitEntries: Histogram<'log'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const logs = this.logs;
    new Gauge({
      name: 'tlog_tree_size',
      help: "Entries in the log's committed tree",
      labelNames: ['log'],
      registers,
      collect() {
        for (const [log, read] of logs) this.set({ log }, read().size);
      },
    });
    new Gauge({
      name: 'tlog_pool_entries',
      help: 'Entries admitted and waiting for a commit',
      labelNames: ['log'],
      registers,
      collect() {
        for (const [log, read] of logs) this.set({ log }, read().poolEntries);
      },
    });
    this.entriesAppended = new Counter({
      name: 'tlog_entries_appended_total',
      help: 'Entries added to the log by durable commits',
      labelNames: ['log'],
      registers,
    });
    this.eventsAppended = new Counter({
      name: 'tlog_events_appended_total',
      help: 'Audit events durably appended (idempotent repeats not counted)',
      labelNames: ['log'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'tlog_auth_failures_total',
      help: 'Requests refused by authentication or authorization',
      labelNames: ['reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'tlog_rate_limited_total',
      help: 'Requests refused with 429 by a rate limit',
      labelNames: ['scope'],
      registers,
    });
    this.erasures = new Counter({
      name: 'tlog_erasures_total',
      help: 'Events erased (tombstoned)',
      labelNames: ['how'],
      registers,
    });
    this.sinkEvents = new Counter({
      name: 'tlog_sink_delivered_events_total',
      help: 'Events a sink delivered and its receiver acknowledged',
      labelNames: ['sink'],
      registers,
    });
    const sinks = () => this.sinks();
    new Gauge({
      name: 'tlog_sink_lag',
      help: 'Indexes of the published tree a sink has yet to look at (tree size - 1 - its cursor)',
      labelNames: ['sink'],
      registers,
      collect() {
        for (const s of sinks()) this.set({ sink: s.name }, s.lag);
      },
    });
    new Gauge({
      name: 'tlog_sink_dead',
      help: 'Whether a sink is dead (stopped at its cursor until resumed): 1 or 0',
      labelNames: ['sink'],
      registers,
      collect() {
        for (const s of sinks()) this.set({ sink: s.name }, s.state === 'dead' ? 1 : 0);
      },
    });
    this.commitSeconds = new Histogram({
      name: 'tlog_commit_duration_seconds',
      help: 'Time from taking a batch off the pool to its commit being durable and sealed',
      labelNames: ['log'],
      buckets: COMMIT_BUCKETS,
      registers,
    });
    this.commitEntries = new Histogram({
      name: 'tlog_commit_batch_entries',
      help: 'New entries per durable commit',
      labelNames: ['log'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'tlog_http_requests_total',
      help: 'HTTP requests answered, by method, matched route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'tlog_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (to the response head), by method, matched route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
  }

  /**
   * Reports the log named `name` (e.g. "main", "access"): `read` is called at every scrape for its
   * tree size and pool depth. A second call with the same name replaces the first.
   */
  addLog(name: string, read: () => LogGauges): void {
    this.logs.set(name, read);
  }

  /**
   * The commit hook for the log named `name` (give it to LogOptions.onCommitted): counts the
   * entries and observes the batch size and duration. Synchronous and cheap: it runs on the
   * commit path.
   */
  commitObserver(name: string): (c: CommitStats) => void {
    const seconds = this.commitSeconds.labels(name);
    const entries = this.commitEntries.labels(name);
    const appended = this.entriesAppended.labels(name);
    return (c) => {
      seconds.observe(c.seconds);
      entries.observe(c.entries);
      appended.inc(c.entries);
    };
  }

  /** Counts `n` audit events durably appended to the log named `log`. */
  eventsAppendedTo(log: string, n: number): void {
    if (n > 0) this.eventsAppended.inc({ log }, n);
  }

  /** Reports the sinks: `read` is called at every scrape for their lag and state. */
  addSinks(read: () => readonly SinkGauges[]): void {
    this.sinks = read;
  }

  /** Counts `n` events delivered (and acknowledged) by the sink `sink`. */
  sinkDelivered(sink: string, n: number): void {
    if (n > 0) this.sinkEvents.inc({ sink }, n);
  }

  /** Counts a request refused for `reason` (401 missing/invalid/expired/revoked key, 403 forbidden). */
  authFailed(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  /** Counts a request refused with 429 by the rate limit of `scope` (e.g. a key id's class, "ip"). */
  rateLimitedIn(scope: string): void {
    this.rateLimited.inc({ scope });
  }

  /** Counts `n` erasures, asked for by a request or done by the retention job. */
  erased(how: ErasureKind, n = 1): void {
    if (n > 0) this.erasures.inc({ how }, n);
  }

  /**
   * Middleware counting and timing every request by method, matched route pattern (Hono's
   * routePath, never the raw path, so the series stay few) and status. Mount it first.
   */
  readonly measure: MiddlewareHandler = async (c, next) => {
    const start = performance.now();
    await next();
    // routeIndex is left at the last handler that ran: the route that answered, or a middleware
    // (method ALL) when none matched or a middleware answered itself.
    const r = matchedRoutes(c)[c.req.routeIndex];
    const route = r === undefined || (r.method === 'ALL' && c.res.status === 404) ? UNMATCHED_ROUTE : r.path;
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    this.httpRequests.inc(labels);
    this.httpSeconds.observe(labels, (performance.now() - start) / 1000);
  };

  /** The exposition in Prometheus text format. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
