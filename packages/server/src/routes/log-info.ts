import { MAX_ENTRY_SIZE, toBase64 } from '@tlog/merkle';
import { Hono } from 'hono';
import type { Log } from '../log.js';

/** GET /v1/log: what a client needs to start: origin, verifier key, the published tree. */
export function logInfoRoutes(
  log: Log,
  limits: { readonly maxBatchBytes: number; readonly witnesses?: readonly string[]; readonly witnessQuorum?: number },
): Hono {
  const app = new Hono();
  app.get('/v1/log', (c) => {
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
    });
  });
  return app;
}
