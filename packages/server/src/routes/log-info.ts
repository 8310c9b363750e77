import { MAX_ENTRY_SIZE, toBase64 } from '@tlog/merkle';
import { Hono } from 'hono';
import type { Log } from '../log.js';
import { methodNotAllowed } from './errors.js';
import { noQuery, query } from './params.js';
import { publicRead, READ_METHODS } from './public-read.js';

/** The request limits /v1/log announces, so clients can split their work to fit. */
export interface LogInfoLimits {
  readonly maxBatchBytes: number;
  readonly maxBatchEntries: number;
  readonly maxReceiptEntries: number;
  readonly maxPageEntries: number;
  readonly maxPageBytes: number;
  readonly witnesses?: readonly string[];
  readonly witnessQuorum?: number;
}

/** GET /v1/log: what a client needs to start: origin, verifier key, the published tree, the limits. */
export function logInfoRoutes(log: Log, limits: LogInfoLimits): Hono {
  const app = new Hono();
  app.on(['GET', 'OPTIONS'], '/v1/log', publicRead, query(noQuery), (c) => {
    const p = log.published;
    c.header('Cache-Control', 'no-store');
    return c.json({
      origin: log.origin,
      verifierKey: log.verifierKey,
      size: p.size,
      root: toBase64(p.root),
      checkpoint: p.checkpoint,
      ...(p.witnessed !== undefined ? { witnessed: p.witnessed } : {}),
      ...(limits.witnesses !== undefined && limits.witnesses.length > 0
        ? { witnesses: limits.witnesses, witnessQuorum: limits.witnessQuorum }
        : {}),
      pool: log.pool,
      maxEntrySize: MAX_ENTRY_SIZE,
      maxBatchBytes: limits.maxBatchBytes,
      maxBatchEntries: limits.maxBatchEntries,
      maxReceiptEntries: limits.maxReceiptEntries,
      maxPageEntries: limits.maxPageEntries,
      maxPageBytes: limits.maxPageBytes,
    });
  });
  app.all('/v1/log', methodNotAllowed(READ_METHODS));
  return app;
}
