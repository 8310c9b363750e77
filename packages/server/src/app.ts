import { Hono } from 'hono';
import type { Log } from './log.js';
import { entryRoutes } from './routes/entries.js';
import { type ErrorReporter, errorResponse } from './routes/errors.js';
import { logInfoRoutes } from './routes/log-info.js';
import { proofRoutes } from './routes/proofs.js';
import { tileRoutes } from './routes/tiles.js';

/** What the HTTP layer needs besides the log. */
export interface AppOptions {
  /** Largest POST /v1/entries/batch body. */
  readonly maxBatchBytes: number;
  /** Most entries in one batch request (at most the pool size, or it could never be admitted). */
  readonly maxBatchEntries: number;
  /** Witness URLs, shown in /v1/log. */
  readonly witnesses?: readonly string[];
  readonly witnessQuorum?: number;
  /** Told of unexpected (5xx) errors. */
  readonly report?: ErrorReporter;
}

/**
 * The log's HTTP API as a Hono app (Web-standard Request/Response; no Node specifics here).
 * Every error answer is JSON {"error": "..."}; input errors are 4xx, never 5xx.
 */
export function createApp(log: Log, opts: AppOptions): Hono {
  const app = new Hono();
  const report: ErrorReporter = opts.report ?? (() => {});
  app.route('/', tileRoutes(log));
  app.route('/', logInfoRoutes(log, opts));
  app.route('/', proofRoutes(log));
  app.route('/', entryRoutes(log, opts));
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => errorResponse(err, c, report));
  return app;
}
