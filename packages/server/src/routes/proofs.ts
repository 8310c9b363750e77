import { toBase64 } from '@tlog/merkle';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Log } from '../log.js';
import { httpError, methodNotAllowed } from './errors.js';
import { base64Hash, decimal, query } from './params.js';
import { publicRead, READ_METHODS } from './public-read.js';

const inclusionQuery = z.object({ index: decimal.optional(), leafHash: base64Hash.optional(), treeSize: decimal.optional() });
const consistencyQuery = z.object({ from: decimal, to: decimal.optional() });

/**
 * JSON proofs: GET /v1/proof/inclusion?index=I|leafHash=H[&treeSize=S] and
 * GET /v1/proof/consistency?from=A[&to=B]. Sizes default to the published size.
 */
export function proofRoutes(log: Log): Hono {
  const app = new Hono();

  app.on(['GET', 'OPTIONS'], '/v1/proof/inclusion', publicRead, query(inclusionQuery), async (c) => {
    const q = c.req.valid('query');
    const treeSize = q.treeSize ?? log.published.size;
    if (treeSize > log.published.size) throw httpError(404, `treeSize ${treeSize} is beyond the published size ${log.published.size}`);
    let index: number;
    if (q.index !== undefined && q.leafHash === undefined) {
      index = q.index;
      if (index >= treeSize) throw httpError(404, `index ${index} is not in a tree of size ${treeSize}`);
    } else if (q.leafHash !== undefined && q.index === undefined) {
      const found = await log.findLeafHash(q.leafHash);
      if (found === undefined || found >= treeSize)
        throw httpError(404, `no entry with leafHash ${toBase64(q.leafHash)} in a tree of size ${treeSize}`);
      index = found;
    } else {
      throw httpError(400, 'give exactly one of "index" and "leafHash"');
    }
    const proof = await log.inclusionProof(index, treeSize);
    const leafHash = q.leafHash ?? (await log.leafHash(index));
    return c.json({ index, treeSize, leafHash: toBase64(leafHash), proof: proof.map(toBase64) });
  });

  app.all('/v1/proof/inclusion', methodNotAllowed(READ_METHODS));

  app.on(['GET', 'OPTIONS'], '/v1/proof/consistency', publicRead, query(consistencyQuery), async (c) => {
    const q = c.req.valid('query');
    const to = q.to ?? log.published.size;
    if (q.from === 0) throw httpError(400, '"from" must be at least 1: every tree is consistent with the empty one');
    if (q.from > to) throw httpError(400, `"from" (${q.from}) must not exceed "to" (${to})`);
    if (to > log.published.size) throw httpError(404, `"to" (${to}) is beyond the published size ${log.published.size}`);
    const proof = await log.consistencyProof(q.from, to);
    return c.json({ from: q.from, to, proof: proof.map(toBase64) });
  });
  app.all('/v1/proof/consistency', methodNotAllowed(READ_METHODS));

  return app;
}
