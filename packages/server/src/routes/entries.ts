import { decodeEntryBundle, MAX_ENTRY_SIZE, MerkleError, toBase64 } from '@tlog/merkle';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Log } from '../log.js';
import { httpError } from './errors.js';
import { decimal, parseParams } from './params.js';

/** Most entries one GET /v1/entries page returns. */
export const ENTRIES_PAGE_MAX = 1000;

/**
 * An entry is the request body's bytes, whatever they encode (JSON, text, a file): any
 * Content-Type is accepted, since curl and fetch label raw bodies form-urlencoded or text/plain.
 * Refused (415) are bodies whose bytes are not the entry: multipart forms (the entry would be
 * the MIME envelope) and compressed bodies (Content-Encoding other than identity).
 */
const rawBody: MiddlewareHandler = async (c, next) => {
  const type = c.req.header('content-type');
  if (type?.trimStart().toLowerCase().startsWith('multipart/')) {
    throw httpError(
      415,
      `send the entry's raw bytes (e.g. curl --data-binary @file -H 'Content-Type: application/octet-stream'), not a multipart form (got ${JSON.stringify(type)})`,
    );
  }
  const encoding = c.req.header('content-encoding');
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw httpError(415, `Content-Encoding ${JSON.stringify(encoding)} is not supported; send the entry's bytes uncompressed`);
  }
  await next();
};

/**
 * Reads the request body, refusing (413) more than maxSize bytes before buffering them: a
 * declared Content-Length is checked first; a chunked body is counted while it streams and the
 * stream is cancelled as soon as it passes the limit.
 */
async function readBody(c: Context, maxSize: number, what: string): Promise<Uint8Array> {
  const tooBig = () => httpError(413, `${what} is larger than ${maxSize} bytes`);
  const declared = c.req.header('content-length');
  if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
    if (Number(declared) > maxSize) throw tooBig();
    // Node's HTTP parser enforces the declared length, so the body cannot be larger.
    return new Uint8Array(await c.req.arrayBuffer());
  }
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxSize) {
      await reader.cancel().catch(() => {});
      throw tooBig();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.length;
  }
  return out;
}

const noQuery = z.object({});
const indexParam = z.object({ index: decimal });
const receiptsQuery = z.object({ receipts: z.enum(['0', '1', 'true', 'false']).optional() });
const pageQuery = z.object({ start: decimal, end: decimal.optional() });

/**
 * Writes: POST /v1/entries (one entry, raw body) and POST /v1/entries/batch (an entry bundle:
 * uint16-BE-length-prefixed entries). Reads: GET /v1/entries/<i> and GET /v1/entries?start=&end=.
 */
export function entryRoutes(log: Log, limits: { readonly maxBatchBytes: number; readonly maxBatchEntries: number }): Hono {
  const app = new Hono();

  app.post('/v1/entries', rawBody, async (c) => {
    if (c.req.url.includes('?')) parseParams(noQuery, c.req.query());
    const entry = await readBody(c, MAX_ENTRY_SIZE, 'an entry');
    const { indexes, leafHashes, receipts, published } = await log.append([entry], true);
    return c.json({
      index: indexes[0],
      leafHash: toBase64(leafHashes[0]!),
      checkpoint: published.checkpoint,
      receipt: receipts![0],
      ...(published.witnessed !== undefined ? { witnessed: published.witnessed } : {}),
    });
  });

  app.post('/v1/entries/batch', rawBody, async (c) => {
    const q = parseParams(receiptsQuery, c.req.query());
    const body = await readBody(c, limits.maxBatchBytes, 'the batch body');
    let entries: Uint8Array[];
    try {
      entries = decodeEntryBundle(body);
    } catch (err) {
      if (err instanceof MerkleError) {
        throw httpError(400, `the batch body is not a sequence of uint16-BE-length-prefixed entries: ${err.message}`);
      }
      throw err;
    }
    if (entries.length === 0) throw httpError(400, 'the batch body holds no entries');
    if (entries.length > limits.maxBatchEntries) {
      throw httpError(413, `the batch holds ${entries.length} entries; at most ${limits.maxBatchEntries} per request`);
    }
    const withReceipts = q.receipts === '1' || q.receipts === 'true';
    const r = await log.append(entries, withReceipts);
    return c.json({
      count: r.indexes.length,
      indexes: r.indexes,
      treeSize: r.published.size,
      checkpoint: r.published.checkpoint,
      ...(r.published.witnessed !== undefined ? { witnessed: r.published.witnessed } : {}),
      ...(withReceipts ? { receipts: r.receipts } : {}),
    });
  });

  app.get('/v1/entries/:index', async (c) => {
    const { index } = parseParams(indexParam, { index: c.req.param('index') });
    if (c.req.url.includes('?')) parseParams(noQuery, c.req.query());
    const [entry] = await log.entries(index, index + 1);
    c.header('Vary', 'Accept');
    if ((c.req.header('accept') ?? '').includes('application/json')) {
      const leafHash = await log.leafHash(index);
      return c.json({ index, leafHash: toBase64(leafHash), entry: toBase64(entry!) });
    }
    return c.body(entry! as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
  });

  app.get('/v1/entries', async (c) => {
    const q = parseParams(pageQuery, c.req.query());
    const size = log.published.size;
    if (q.start >= size) throw httpError(404, `start ${q.start} is not below the published size ${size}`);
    if (q.end !== undefined && q.end <= q.start) throw httpError(400, `"end" (${q.end}) must be greater than "start" (${q.start})`);
    const end = Math.min(q.end ?? size, q.start + ENTRIES_PAGE_MAX, size);
    const entries = await log.entries(q.start, end);
    return c.json({ start: q.start, end, treeSize: size, entries: entries.map(toBase64) });
  });

  return app;
}
