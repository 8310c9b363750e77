import { EventFormatError, type EventInput, FILTER_FIELDS, parseEventFilter, parseEventInput } from '@tlog/events';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { EventLog } from '../events/event-log.js';
import { encodePage, MAX_PAGE, MAX_PAGE_BYTES } from '../events/event-search.js';
import { sizeLimit } from './body-limit.js';
import { type ByteBudget, sendWithin } from './byte-budget.js';
import { echo, httpError, methodNotAllowed } from './errors.js';
import { decimal, flag, noQuery, query, receiptsQuery } from './params.js';

/** Largest POST /v1/events body: room for a 64 KiB canonical record written with whitespace and escapes. */
export const EVENT_BODY_MAX = 128 * 1024;
/** Most events in one POST /v1/events/batch. */
export const EVENTS_BATCH_MAX = 1000;

/**
 * What one search may hold at once: its page's records (MAX_PAGE_BYTES and one more), the chunk
 * of candidates being read (4 MiB at most), and the answer as a JSON string and as bytes (its
 * records, plus up to a thousand inclusion proofs). Four searches fit in the read budget at once.
 */
const PAGE_ROOM = 10 * MAX_PAGE_BYTES;

/**
 * What an event batch costs per body byte against the budget for bodies: its parsed, validated,
 * canonical and encrypted forms and its answer live at once (a 4 MiB batch of 1,000 events took
 * about 100 MB of RSS, measured in test/memory.test.ts), where a raw-entry batch costs about its
 * size. At 4, one largest event batch is handled at a time; small ones share.
 */
const EVENT_BATCH_WEIGHT = 4;

/** How much one event write may carry. */
export interface EventLimits {
  /** Largest POST /v1/events/batch body. */
  readonly maxBatchBytes: number;
  /** Most events in one batch with receipts=1. */
  readonly maxReceiptEntries: number;
}

/** The media type of a Content-Type header, lowercase, without parameters. */
function mediaType(c: { req: { header(name: string): string | undefined } }): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** 415 unless the body is labelled with one of `types`. */
function requireType(types: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const type = mediaType(c);
    if (!types.includes(type)) {
      throw httpError(
        415,
        `send the event${types.length > 1 ? 's' : ''} as ${types.join(' or ')} (got Content-Type ${echo(c.req.header('content-type') ?? 'none')})`,
      );
    }
    await next();
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text; 400 when it is not UTF-8. */
async function bodyText(c: { req: { arrayBuffer(): Promise<ArrayBuffer> } }): Promise<string> {
  try {
    return UTF8.decode(await c.req.arrayBuffer());
  } catch (err) {
    if (err instanceof TypeError) throw httpError(400, 'the body is not UTF-8');
    throw err;
  }
}

/** `text` parsed as JSON; 400 naming `where` when it is not. */
function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw httpError(400, `${where}is not JSON: ${(err as Error).message}`);
  }
}

const getQuery = z.object({ tenant: z.string().min(1).max(128).optional() });
const filterText = z.string().optional();
const searchQuery = z.object({
  actor: filterText,
  action: filterText,
  target: filterText,
  tenant: filterText,
  outcome: filterText,
  since: filterText,
  until: filterText,
  occurred_since: filterText,
  occurred_until: filterText,
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: decimal.pipe(z.number().int().min(1).max(MAX_PAGE)).optional(),
  cursor: z.string().min(1).max(512).optional(),
  proofs: flag,
});

/**
 * Audit events: POST /v1/events (one JSON event), POST /v1/events/batch (a JSON array or NDJSON),
 * GET /v1/events/{id or index} (with a receipt) and GET /v1/events (search). See docs/events.md.
 */
export function eventRoutes(
  events: EventLog,
  limits: EventLimits,
  budgets: { readonly reads: ByteBudget; readonly bodies: ByteBudget },
): Hono {
  const app = new Hono();

  app.post(
    '/v1/events/batch',
    requireType(['application/json', 'application/x-ndjson']),
    query(receiptsQuery),
    sizeLimit(limits.maxBatchBytes, 'the batch body', budgets.bodies, EVENT_BATCH_WEIGHT),
    async (c) => {
      const withReceipts = c.req.valid('query').receipts;
      const text = await bodyText(c);
      let values: unknown[];
      if (mediaType(c) === 'application/x-ndjson') {
        values = [];
        const lines = text.split('\n');
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i]!.trim();
          if (line === '') continue;
          if (values.length === EVENTS_BATCH_MAX)
            throw httpError(413, `the batch holds more than ${EVENTS_BATCH_MAX} events, the most per request; split it`);
          values.push(parseJson(line, `line ${i + 1} `));
        }
      } else {
        const v = parseJson(text, 'the body ');
        if (!Array.isArray(v))
          throw httpError(400, 'the body must be a JSON array of events (or NDJSON with Content-Type application/x-ndjson)');
        values = v;
      }
      if (values.length === 0) throw httpError(400, 'the batch holds no events');
      if (values.length > EVENTS_BATCH_MAX)
        throw httpError(413, `the batch holds ${values.length} events; the most per request is ${EVENTS_BATCH_MAX}; split it`);
      if (withReceipts && values.length > limits.maxReceiptEntries) {
        throw httpError(
          413,
          `the batch holds ${values.length} events, more than ${limits.maxReceiptEntries}, the most per request with receipts=1; split it`,
        );
      }
      const inputs: EventInput[] = values.map((v, i) => parseEventInput(v, `[${i}]`));
      const r = await events.append(inputs, withReceipts);
      return c.json({
        results: r.results,
        checkpoint: r.published.checkpoint,
        ...(r.published.witnessed !== undefined ? { witnessed: r.published.witnessed } : {}),
        ...(r.receipts !== undefined ? { receipts: r.receipts } : {}),
      });
    },
  );
  app.all('/v1/events/batch', methodNotAllowed(['POST']));

  app.post('/v1/events', requireType(['application/json']), query(noQuery), sizeLimit(EVENT_BODY_MAX, 'an event'), async (c) => {
    const input = parseEventInput(parseJson(await bodyText(c), 'the body '));
    const r = await events.append([input], true);
    const result = r.results[0]!;
    return c.json({
      index: result.index,
      id: result.id,
      leafHash: result.leafHash,
      checkpoint: r.published.checkpoint,
      ...(r.published.witnessed !== undefined ? { witnessed: r.published.witnessed } : {}),
      receipt: r.receipts![0],
    });
  });

  app.on(['GET', 'HEAD'], '/v1/events', query(searchQuery), async (c) => {
    const q = c.req.valid('query');
    const filter = parseEventFilter(Object.fromEntries(FILTER_FIELDS.map((f) => [f, q[f]])));
    // Room for the records read and the answer until it is sent: concurrent searches of large
    // records would otherwise pile their pages up in memory.
    const room = await budgets.reads.reserve(PAGE_ROOM);
    let body: Uint8Array;
    try {
      const page = await events.search({
        filter,
        order: q.order,
        limit: q.limit ?? 100,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        proofs: q.proofs,
      });
      if (page.next !== undefined) {
        const url = new URL(c.req.url);
        url.searchParams.set('cursor', page.next);
        c.header('Link', `<${url.pathname}${url.search}>; rel="next"`);
      }
      body = encodePage(page);
    } catch (err) {
      room.release();
      throw err;
    }
    return sendWithin(c, room, body, 'application/json');
  });
  app.all('/v1/events', methodNotAllowed(['GET', 'HEAD', 'POST']));

  app.get('/v1/events/:ref', query(getQuery), async (c) => {
    const ref = c.req.param('ref');
    const { tenant } = c.req.valid('query');
    const index = decimal.safeParse(ref);
    if (index.success) {
      if (tenant !== undefined) throw httpError(400, '"tenant" selects among ids; an index names one event already');
      return c.json(await events.get({ index: index.data }));
    }
    if (/^[0-9]+$/.test(ref))
      throw httpError(400, `${echo(ref)} is not an index (no leading zeros, at most 2^53-1), nor an id (ids are not only digits)`);
    if (ref.length > 128) throw new EventFormatError('id', 'must be at most 128 characters');
    return c.json(await events.get({ id: ref, ...(tenant !== undefined ? { tenant } : {}) }));
  });
  app.all('/v1/events/:ref', methodNotAllowed(['GET', 'HEAD']));

  return app;
}
