import { Hono, type MiddlewareHandler } from 'hono';
import type { AuthEnv, Guard, Scope } from './auth/principal.js';
import type { EventLog } from './events/event-log.js';
import type { EventFeed } from './feeds/event-feed.js';
import type { Log } from './log.js';
import { ByteBudget } from './routes/byte-budget.js';
import { ENTRIES_PAGE_MAX, ENTRIES_PAGE_MAX_BYTES, entryRoutes } from './routes/entries.js';
import { clip, ECHO_MAX, type ErrorReporter, echo, errorResponse, httpError } from './routes/errors.js';
import { eventRoutes } from './routes/events.js';
import { type FeedLimits, feedRoutes } from './routes/feeds.js';
import { logInfoRoutes } from './routes/log-info.js';
import { proofRoutes } from './routes/proofs.js';
import { tileRoutes } from './routes/tiles.js';

/** What the HTTP layer needs besides the log. */
export interface AppOptions {
  /** Largest POST /v1/entries/batch body. */
  readonly maxBatchBytes: number;
  /** Most entries in one batch request (at most the pool size, or it could never be admitted). */
  readonly maxBatchEntries: number;
  /** Most entries in one batch request with receipts=1 (receipts are about 1 KB each). */
  readonly maxReceiptEntries: number;
  /** Told of unexpected (5xx) errors. */
  readonly report?: ErrorReporter;
  /** Who may do what. */
  readonly auth: AppAuth;
  /** More routes, mounted at the root before the logs' (key admin, governance, operations). */
  readonly extraRoutes?: readonly Hono<AuthEnv>[];
  /** Metrics middleware, mounted first so it sees every answer. */
  readonly measure?: MiddlewareHandler;
  /** Limits and pacing of exports and live streams. */
  readonly feeds?: FeedLimits;
}

/** Access control of the app's routes. */
export interface AppAuth {
  readonly guard: Guard;
  /** Tree reads (checkpoint, tiles, bundles, /v1/log, proofs, entries) need events:read too. */
  readonly privateTree: boolean;
  /** POST /v1/entries[/batch] need no key (a CT-style public log). */
  readonly openEntries: boolean;
}

/** One log the app serves, under its URL prefix. */
export interface ServedLog {
  /** '' for the main log, '/access' for the access log. */
  readonly prefix: string;
  readonly log: Log;
  /** Its audit events (the /v1/events routes). */
  readonly events: EventLog;
  /** Its events as exports and streams read them. */
  readonly feed: EventFeed;
  /** Whether clients write to it (entries and events); the access log is written by the server only. */
  readonly writable: boolean;
  /** The scope reading its events needs. */
  readonly eventReadScope: Scope;
  /** Witness URLs, shown in its /v1/log. */
  readonly witnesses?: readonly string[];
  readonly witnessQuorum?: number;
}

/**
 * Entry bytes that reads of bundles and entries may hold at once (read from the store or being
 * sent): two bundles of 64 KiB entries and some room. Beyond it requests wait, up to BUSY_WAIT_MS.
 */
export const READ_BUDGET_BYTES = 40 * 1024 * 1024;
/**
 * Bytes of batch bodies being received or waiting to be committed at once: four of the largest
 * (--max-batch-bytes 4 MiB); committing one costs about four times its size for a moment.
 */
export const BODY_BUDGET_BYTES = 16 * 1024 * 1024;
/** How long a request waits for room in a budget before a 503. */
export const BUSY_WAIT_MS = 30_000;

/**
 * What every request gets, in one middleware (each async layer costs the write path a promise
 * hop per request):
 * - `X-Content-Type-Options: nosniff` on every answer, errors included. Only that header: the
 *   others of Hono's secure-headers middleware are for HTML pages and some would hurt an API
 *   (Cross-Origin-Resource-Policy would block cross-origin reads; HSTS is the operator's call).
 * - A body is framed by Content-Length or by chunked transfer coding; any other coding (gzip,
 *   "gzip, chunked", identity) is refused, and the connection closed, since the bytes read
 *   would not be the body meant.
 */
const everyRequest: MiddlewareHandler = async (c, next) => {
  // Set before the answer exists, so every answer built on this context carries it.
  c.header('X-Content-Type-Options', 'nosniff');
  const te = c.req.header('transfer-encoding');
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
    c.header('Connection', 'close');
    throw httpError(400, `Transfer-Encoding ${echo(te)} is not supported; send the body with Content-Length or Transfer-Encoding: chunked`);
  }
  await next();
};

/** The tree-read paths (public unless --private-tree). */
const TREE_READS = ['/checkpoint', '/tile/*', '/v1/log', '/v1/proof/*', '/v1/entries', '/v1/entries/*'] as const;

/** `mw` for every method but OPTIONS (a CORS preflight carries no credentials). */
function exceptPreflight(mw: MiddlewareHandler<AuthEnv>): MiddlewareHandler<AuthEnv> {
  return async (c, next) => (c.req.method === 'OPTIONS' ? next() : mw(c, next));
}

/** One log's routes: its tree, entries and events, as seen from its prefix. */
function logApp(served: ServedLog, opts: AppOptions, budgets: { reads: ByteBudget; bodies: ByteBudget }): Hono<AuthEnv> {
  const { log } = served;
  const { guard } = opts.auth;
  const app = new Hono<AuthEnv>();
  if (opts.auth.privateTree) {
    const treeRead = exceptPreflight(guard(served.eventReadScope));
    for (const path of TREE_READS) app.on(['GET', 'HEAD', 'OPTIONS'], path, treeRead);
  }
  if (served.writable) {
    if (!opts.auth.openEntries) app.on('POST', ['/v1/entries', '/v1/entries/batch'], guard('entries:write'));
  } else {
    app.on('POST', ['/v1/entries', '/v1/entries/batch'], (c) =>
      c.json({ error: 'this log is written by the server only; it takes no entries' }, 405),
    );
  }
  app.route('/', tileRoutes(log, budgets.reads));
  app.route(
    '/',
    logInfoRoutes(log, {
      ...opts,
      ...(served.witnesses !== undefined ? { witnesses: served.witnesses } : {}),
      ...(served.witnessQuorum !== undefined ? { witnessQuorum: served.witnessQuorum } : {}),
      maxReceiptEntries: Math.min(opts.maxReceiptEntries, opts.maxBatchEntries),
      maxPageEntries: ENTRIES_PAGE_MAX,
      maxPageBytes: ENTRIES_PAGE_MAX_BYTES,
    }),
  );
  app.route('/', proofRoutes(log));
  app.route('/', entryRoutes(log, opts, budgets));
  // Before the event routes: /v1/events/export and /v1/events/stream are not event ids.
  app.route('/', feedRoutes(served.feed, { guard, readScope: served.eventReadScope }, opts.feeds, opts.report));
  app.route('/', eventRoutes(served.events, opts, budgets, { guard, writable: served.writable, readScope: served.eventReadScope }));
  return app;
}

/**
 * The server's HTTP API as a Hono app (Web-standard Request/Response; no Node specifics here):
 * every log under its prefix, and the extra routes at the root. Every error answer is JSON
 * {"error": "..."}; input errors are 4xx, never 5xx.
 */
export function createApp(logs: readonly ServedLog[], opts: AppOptions): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const report: ErrorReporter = opts.report ?? (() => {});
  const budgets = {
    reads: new ByteBudget({ bytes: READ_BUDGET_BYTES, waitMs: BUSY_WAIT_MS, busyWith: 'sending large answers' }),
    bodies: new ByteBudget({ bytes: BODY_BUDGET_BYTES, waitMs: BUSY_WAIT_MS, busyWith: 'receiving large batches' }),
  };
  if (opts.measure !== undefined) app.use(opts.measure);
  app.use(everyRequest);
  for (const extra of opts.extraRoutes ?? []) app.route('/', extra);
  // Longest prefix first, so /access/... is never taken for a path of the root log.
  for (const served of [...logs].sort((a, b) => b.prefix.length - a.prefix.length)) {
    app.route(served.prefix === '' ? '/' : served.prefix, logApp(served, opts, budgets));
  }
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${clip(new URL(c.req.url).pathname, ECHO_MAX)}` }, 404));
  app.onError((err, c) => errorResponse(err, c, report));
  return app;
}
