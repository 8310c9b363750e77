import { type EventFilter, type EventInput, FILTER_FIELDS, parseEventFilter, parseEventInput } from '@tlog/events';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AccessEntry, AuthEnv, Guard, Principal, Scope } from '../auth/principal.js';
import { EventErasedError } from '../events/erasure.js';
import { type EventLog, noEventAt } from '../events/event-log.js';
import { encodePage, MAX_PAGE, MAX_PAGE_BYTES } from '../events/event-search.js';
import { sizeLimit } from './body-limit.js';
import { type ByteBudget, sendWithin } from './byte-budget.js';
import { httpError, methodNotAllowed, refusalStatus } from './errors.js';
import { bodyText, mediaType, parseJson, requireType } from './json-body.js';
import { decimal, eventRef, flag, noQuery, query, receiptsQuery } from './params.js';

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

const getQuery = z.object({ tenant: z.string().min(1).max(128).optional() });
const filterText = z.string().optional();
/** The query parameters of the event filters (GET /v1/events, the export and the stream), checked by parseEventFilter. */
export const filterQuery = {
  actor: filterText,
  action: filterText,
  target: filterText,
  tenant: filterText,
  outcome: filterText,
  since: filterText,
  until: filterText,
  occurred_since: filterText,
  occurred_until: filterText,
};
const searchQuery = z.object({
  ...filterQuery,
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: decimal.pipe(z.number().int().min(1).max(MAX_PAGE)).optional(),
  cursor: z.string().min(1).max(512).optional(),
  proofs: flag,
});

/** The filter parameters of a request, as given (the query of filterQuery). */
export type FilterParams = { readonly [K in (typeof FILTER_FIELDS)[number]]?: string | undefined };

/** 403 when a key bound to tenant `own` asks for another tenant (`asked`; absent or empty asks for none). */
export function checkTenant(own: string | undefined, asked: string | undefined): void {
  if (own !== undefined && asked !== undefined && asked !== '' && asked !== own) {
    throw httpError(403, `tenant: this API key reads only the tenant ${JSON.stringify(own)}`);
  }
}

/** The filter parameters given (not empty), as the access events record them. */
export function givenFilters(q: FilterParams): Record<string, string> {
  const given: Record<string, string> = {};
  for (const f of FILTER_FIELDS) {
    const v = q[f];
    if (v !== undefined && v !== '') given[f] = v;
  }
  return given;
}

/** The filter to apply (EventFormatError when malformed), a key bound to tenant `own` held to it. */
export function tenantFilter(own: string | undefined, q: FilterParams): EventFilter {
  return parseEventFilter(Object.fromEntries(FILTER_FIELDS.map((f) => [f, f === 'tenant' && own !== undefined ? own : q[f]])));
}

/** Who may do what with a log's events. */
export interface EventAccess {
  readonly guard: Guard;
  /** Whether clients may append events (the access log is written by the server only). */
  readonly writable: boolean;
  /** The scope reading events needs (events:read on the main log, admin on the access log). */
  readonly readScope: Scope;
}

/**
 * An event input as the caller may write it: a key bound to a tenant writes that tenant's events
 * (an event without a tenant gets the key's; one naming another tenant is refused with 403).
 */
function inTenant(input: EventInput, principal: Principal | undefined, at: string): EventInput {
  const tenant = principal?.tenant;
  if (tenant === undefined) return input;
  if (input.tenant === undefined) return { ...input, tenant };
  if (input.tenant !== tenant) {
    throw httpError(403, `${at}tenant: this API key writes only the tenant ${JSON.stringify(tenant)}`);
  }
  return input;
}

/**
 * Runs a read of event content and records its access event (durably) before anything read is
 * answered; a failed read is recorded with its status, then answered as it would have been.
 */
async function recordedRead<T>(
  c: Context<AuthEnv>,
  entry: (result: T | undefined, status: number) => AccessEntry,
  work: () => Promise<T>,
): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (err) {
    // A refusal keeps its status; anything else is the server's trouble (503 or 500).
    const status = refusalStatus(err) ?? 503;
    await c.get('access').record(entry(undefined, status));
    throw err;
  }
  await c.get('access').record(entry(result, 200));
  return result;
}

/** At most this many event indexes are named in one access event's targets; the rest are in its details. */
const TARGETS_PER_ACCESS = 32;

/**
 * Audit events: POST /v1/events (one JSON event), POST /v1/events/batch (a JSON array or NDJSON),
 * GET /v1/events/{id or index} (with a receipt) and GET /v1/events (search). See docs/events.md.
 * Writes need events:write, reads `access.readScope`; a key bound to a tenant writes and reads
 * only that tenant's events. Every read is recorded in the access log before it is answered.
 */
export function eventRoutes(
  events: EventLog,
  limits: EventLimits,
  budgets: { readonly reads: ByteBudget; readonly bodies: ByteBudget },
  access: EventAccess,
): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const read = access.guard(access.readScope);
  const write = access.guard('events:write');

  if (access.writable)
    app.post(
      '/v1/events/batch',
      write,
      requireType(['application/json', 'application/x-ndjson'], 'the events'),
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
        const principal = c.get('principal');
        const inputs: EventInput[] = values.map((v, i) => inTenant(parseEventInput(v, `[${i}]`), principal, `[${i}].`));
        const r = await events.append(inputs, withReceipts);
        return c.json({
          results: r.results,
          checkpoint: r.published.checkpoint,
          ...(r.published.witnessed !== undefined ? { witnessed: r.published.witnessed } : {}),
          ...(r.receipts !== undefined ? { receipts: r.receipts } : {}),
        });
      },
    );
  if (access.writable) app.all('/v1/events/batch', methodNotAllowed(['POST']));

  if (access.writable)
    app.post(
      '/v1/events',
      write,
      requireType(['application/json'], 'the event'),
      query(noQuery),
      sizeLimit(EVENT_BODY_MAX, 'an event'),
      async (c) => {
        const input = inTenant(parseEventInput(parseJson(await bodyText(c), 'the body ')), c.get('principal'), '');
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
      },
    );

  app.on(['GET', 'HEAD'], '/v1/events', read, query(searchQuery), async (c) => {
    const q = c.req.valid('query');
    const tenant = c.get('principal')?.tenant;
    checkTenant(tenant, q.tenant);
    const given = givenFilters(q);
    // Room for the records read and the answer until it is sent: concurrent searches of large
    // records would otherwise pile their pages up in memory.
    const room = await budgets.reads.reserve(PAGE_ROOM);
    let body: Uint8Array;
    try {
      const page = await recordedRead(
        c,
        (p, status) => ({
          action: 'events.search',
          outcome: status === 200 ? 'success' : 'failure',
          targets: (p?.events ?? []).slice(0, TARGETS_PER_ACCESS).map((e) => ({ type: 'event', id: String(e.index) })),
          details: {
            status,
            filters: given,
            order: q.order,
            ...(q.limit !== undefined ? { limit: q.limit } : {}),
            ...(q.cursor !== undefined ? { cursor: true } : {}),
            results: p?.events.length ?? 0,
            ...(p !== undefined && p.events.length > TARGETS_PER_ACCESS ? { indexes: p.events.map((e) => e.index) } : {}),
          },
        }),
        () => {
          return events.search({
            filter: tenantFilter(tenant, q),
            order: q.order,
            limit: q.limit ?? 100,
            ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
            proofs: q.proofs,
          });
        },
      );
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
  app.all('/v1/events', methodNotAllowed(access.writable ? ['GET', 'HEAD', 'POST'] : ['GET', 'HEAD']));

  app.get('/v1/events/:ref', read, query(getQuery), async (c) => {
    const ref = c.req.param('ref');
    const { tenant } = c.req.valid('query');
    const own = c.get('principal')?.tenant;
    const got = await recordedRead(
      c,
      (ev, status) => ({
        action: 'events.get',
        outcome: status === 200 ? 'success' : 'failure',
        targets: [{ type: 'event', id: ev === undefined ? ref : String(ev.index) }],
        details: { status, ref, ...(tenant !== undefined ? { tenant } : {}), results: ev === undefined ? 0 : 1 },
      }),
      async () => {
        checkTenant(own, tenant);
        const target = eventRef(ref, tenant);
        let ev: Awaited<ReturnType<EventLog['get']>>;
        if ('index' in target) {
          try {
            ev = await events.get(target);
          } catch (err) {
            // Another tenant's erased event reads as no event too.
            if (own !== undefined && err instanceof EventErasedError && !err.inTenant(own)) throw noEventAt(target.index);
            throw err;
          }
        } else {
          const t = own ?? target.tenant;
          ev = await events.get({ id: target.id, ...(t !== undefined ? { tenant: t } : {}) });
        }
        // Another tenant's event reads exactly as an entry that is no event: a tenant's key learns nothing of others.
        if (own !== undefined && ev.record.tenant !== own) {
          throw noEventAt(ev.index);
        }
        return ev;
      },
    );
    return c.json(got);
  });
  app.all('/v1/events/:ref', methodNotAllowed(access.writable ? ['GET', 'HEAD', 'DELETE'] : ['GET', 'HEAD']));

  return app;
}
