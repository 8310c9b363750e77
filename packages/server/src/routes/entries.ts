import { decodeEntryBundle, MAX_ENTRY_SIZE, MerkleError, TILE_WIDTH, toBase64 } from '@tlog/merkle';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Log } from '../log.js';
import { countEntries } from '../tree/entry-reader.js';
import { sizeLimit } from './body-limit.js';
import { type ByteBudget, sendWithin } from './byte-budget.js';
import { echo, httpError, methodNotAllowed } from './errors.js';
import { decimal, noQuery, param, query, receiptsQuery } from './params.js';
import { publicRead, READ_METHODS } from './public-read.js';

/** Most entries one GET /v1/entries page returns. */
export const ENTRIES_PAGE_MAX = 1000;
/**
 * Most entry bytes (before base64) one GET /v1/entries page returns; a page always holds at
 * least one entry, so a page of 64 KiB entries holds 16 and its JSON stays under 1.5 MB.
 */
export const ENTRIES_PAGE_MAX_BYTES = 1 << 20;

/** How much one write request may carry. */
export interface EntryLimits {
  /** Largest POST /v1/entries/batch body. */
  readonly maxBatchBytes: number;
  /** Most entries in one batch request. */
  readonly maxBatchEntries: number;
  /** Most entries in one batch request with receipts=1. */
  readonly maxReceiptEntries: number;
}

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
      `send the entry's raw bytes (e.g. curl --data-binary @file -H 'Content-Type: application/octet-stream'), not a multipart form (got ${echo(type)})`,
    );
  }
  const encoding = c.req.header('content-encoding');
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw httpError(415, `Content-Encoding ${echo(encoding)} is not supported; send the entry's bytes uncompressed`);
  }
  await next();
};

const indexParam = z.object({ index: decimal });
const pageQuery = z.object({ start: decimal, end: decimal.optional() });

/** The most bytes one bundle read can bring in: 256 entries of 65535 bytes with their prefixes. */
const BUNDLE_MAX_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_SIZE);

/**
 * Entries [start, end) of the published tree, cut before the entry that would take the page past
 * {@link ENTRIES_PAGE_MAX_BYTES} (never before the first), and where the page stopped. Reads one
 * bundle at a time, so at most one bundle is read beyond what the page holds.
 */
async function readPage(log: Log, start: number, end: number): Promise<{ end: number; entries: Uint8Array[] }> {
  const entries: Uint8Array[] = [];
  let bytes = 0;
  let next = start;
  page: while (next < end) {
    const bundleEnd = Math.min(end, (Math.floor(next / TILE_WIDTH) + 1) * TILE_WIDTH);
    for (const entry of await log.entries(next, bundleEnd)) {
      if (entries.length > 0 && bytes + entry.length > ENTRIES_PAGE_MAX_BYTES) break page;
      bytes += entry.length;
      entries.push(entry);
      next++;
    }
  }
  return { end: next, entries };
}

/**
 * Writes: POST /v1/entries (one entry, raw body) and POST /v1/entries/batch (an entry bundle:
 * uint16-BE-length-prefixed entries). Reads: GET /v1/entries/<i> and GET /v1/entries?start=&end=,
 * each reading whole bundles (up to 16 MiB) within `budgets.reads`; batch bodies are received
 * within `budgets.bodies`.
 */
export function entryRoutes(log: Log, limits: EntryLimits, budgets: { readonly reads: ByteBudget; readonly bodies: ByteBudget }): Hono {
  const app = new Hono();

  // Before /v1/entries/:index, which would otherwise take GET /v1/entries/batch for index "batch".
  app.post(
    '/v1/entries/batch',
    rawBody,
    query(receiptsQuery),
    sizeLimit(limits.maxBatchBytes, 'the batch body', budgets.bodies),
    async (c) => {
      const q = c.req.valid('query');
      const withReceipts = q.receipts;
      const body = new Uint8Array(await c.req.arrayBuffer());
      // Counted before decoding: a body of empty entries would otherwise cost a view per 2 bytes.
      const most = withReceipts ? Math.min(limits.maxBatchEntries, limits.maxReceiptEntries) : limits.maxBatchEntries;
      if (countEntries(body, most + 1) > most) {
        throw httpError(
          413,
          withReceipts && most === limits.maxReceiptEntries
            ? `the batch holds more than ${most} entries, the most per request with receipts=1; split it, or leave out receipts=1 and fetch proofs later`
            : `the batch holds more than ${most} entries, the most per request; split it`,
        );
      }
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
      const r = await log.append(entries, withReceipts);
      return c.json({
        count: r.indexes.length,
        indexes: r.indexes,
        treeSize: r.published.size,
        checkpoint: r.published.checkpoint,
        ...(r.published.witnessed !== undefined ? { witnessed: r.published.witnessed } : {}),
        ...(withReceipts ? { receipts: r.receipts } : {}),
      });
    },
  );
  app.all('/v1/entries/batch', methodNotAllowed(['POST']));

  app.post('/v1/entries', rawBody, query(noQuery), sizeLimit(MAX_ENTRY_SIZE, 'an entry'), async (c) => {
    const entry = new Uint8Array(await c.req.arrayBuffer());
    const { indexes, leafHashes, receipts, published } = await log.append([entry], true);
    return c.json({
      index: indexes[0],
      leafHash: toBase64(leafHashes[0]!),
      checkpoint: published.checkpoint,
      receipt: receipts![0],
      ...(published.witnessed !== undefined ? { witnessed: published.witnessed } : {}),
    });
  });

  app.on(['GET', 'OPTIONS'], '/v1/entries', publicRead, query(pageQuery), async (c) => {
    const q = c.req.valid('query');
    const size = log.published.size;
    if (q.start >= size) throw httpError(404, `start ${q.start} is not below the published size ${size}`);
    if (q.end !== undefined && q.end <= q.start) throw httpError(400, `"end" (${q.end}) must be greater than "start" (${q.start})`);
    // Room for a bundle read, then for the answer until it is sent (64 pages of 1.4 MB would
    // otherwise wait in memory for slow clients all at once).
    const room = await budgets.reads.reserve(BUNDLE_MAX_BYTES);
    let json: Uint8Array;
    try {
      const page = await readPage(log, q.start, Math.min(q.end ?? size, q.start + ENTRIES_PAGE_MAX, size));
      // Encoded and serialized in one synchronous step: base64's garbage (about 20 MB for a page
      // of 64 KiB entries) never waits across an await, where concurrent pages would pile it up.
      json = new TextEncoder().encode(
        JSON.stringify({ start: q.start, end: page.end, treeSize: size, entries: page.entries.map(toBase64) }),
      );
    } catch (err) {
      room.release();
      throw err;
    }
    return sendWithin(c, room, json, 'application/json');
  });
  app.all('/v1/entries', methodNotAllowed([...READ_METHODS, 'POST']));

  app.on(['GET', 'OPTIONS'], '/v1/entries/:index', publicRead, param(indexParam), query(noQuery), async (c) => {
    const { index } = c.req.valid('param');
    const room = await budgets.reads.reserve(BUNDLE_MAX_BYTES);
    let entry: Uint8Array;
    try {
      // A copy: a view would keep the whole bundle (up to 16 MiB) until the answer is sent.
      entry = (await log.entries(index, index + 1))[0]!.slice();
    } finally {
      room.release();
    }
    c.header('Vary', 'Accept');
    if ((c.req.header('accept') ?? '').includes('application/json')) {
      const leafHash = await log.leafHash(index);
      return c.json({ index, leafHash: toBase64(leafHash), entry: toBase64(entry) });
    }
    return c.body(entry as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
  });
  app.all('/v1/entries/:index', methodNotAllowed(READ_METHODS));

  return app;
}
