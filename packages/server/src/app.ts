import { Hono, type MiddlewareHandler } from 'hono';
import type { EventLog } from './events/event-log.js';
import type { Log } from './log.js';
import { ByteBudget } from './routes/byte-budget.js';
import { ENTRIES_PAGE_MAX, ENTRIES_PAGE_MAX_BYTES, entryRoutes } from './routes/entries.js';
import { clip, ECHO_MAX, type ErrorReporter, echo, errorResponse, httpError } from './routes/errors.js';
import { eventRoutes } from './routes/events.js';
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
  /** Witness URLs, shown in /v1/log. */
  readonly witnesses?: readonly string[];
  readonly witnessQuorum?: number;
  /** Told of unexpected (5xx) errors. */
  readonly report?: ErrorReporter;
  /** The log's audit events (the /v1/events routes); without it those routes are absent. */
  readonly events?: EventLog;
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

/**
 * The log's HTTP API as a Hono app (Web-standard Request/Response; no Node specifics here).
 * Every error answer is JSON {"error": "..."}; input errors are 4xx, never 5xx.
 */
export function createApp(log: Log, opts: AppOptions): Hono {
  const app = new Hono();
  const report: ErrorReporter = opts.report ?? (() => {});
  const reads = new ByteBudget({ bytes: READ_BUDGET_BYTES, waitMs: BUSY_WAIT_MS, busyWith: 'sending large answers' });
  const bodies = new ByteBudget({ bytes: BODY_BUDGET_BYTES, waitMs: BUSY_WAIT_MS, busyWith: 'receiving large batches' });
  app.use(everyRequest);
  app.route('/', tileRoutes(log, reads));
  app.route(
    '/',
    logInfoRoutes(log, {
      ...opts,
      maxReceiptEntries: Math.min(opts.maxReceiptEntries, opts.maxBatchEntries),
      maxPageEntries: ENTRIES_PAGE_MAX,
      maxPageBytes: ENTRIES_PAGE_MAX_BYTES,
    }),
  );
  app.route('/', proofRoutes(log));
  app.route('/', entryRoutes(log, opts, { reads, bodies }));
  if (opts.events !== undefined) app.route('/', eventRoutes(opts.events, opts, { reads, bodies }));
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${clip(new URL(c.req.url).pathname, ECHO_MAX)}` }, 404));
  app.onError((err, c) => errorResponse(err, c, report));
  return app;
}
