import type { EventFilter } from '@tlog/events';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AuthEnv, Guard, Scope } from '../auth/principal.js';
import { type EventFeed, FeedClosedError } from '../feeds/event-feed.js';
import { EventStream, type StreamOptions } from '../feeds/event-stream.js';
import { exportBody } from '../feeds/export-body.js';
import { FEED_FORMATS, type FeedFormat } from '../feeds/formats.js';
import { echo, httpError, methodNotAllowed, refusalStatus } from './errors.js';
import { checkTenant, type FilterParams, filterQuery, givenFilters, tenantFilter } from './events.js';
import { decimal, flag, query } from './params.js';

/** How many feed connections a log serves at once. */
export interface FeedLimits extends Partial<StreamOptions> {
  /** Most exports at once (default 16); beyond it 503 with Retry-After. */
  readonly maxExports?: number;
  /** Most live streams at once (default 1000); beyond it 503 with Retry-After. */
  readonly maxStreams?: number;
}

/** Told of a failure that cut an export or a stream after its answer began (storage damage, a bug). */
export type FeedErrorReporter = (err: unknown, c: Context<AuthEnv>) => void;

/** Who may read a log's feeds. */
export interface FeedAccess {
  readonly guard: Guard;
  /** The scope reading events needs (events:read on the main log, admin on the access log). */
  readonly readScope: Scope;
}

/** A position: -1 (before the first event) or an index. */
const position = z.union([z.literal('-1'), decimal], {
  error: 'must be -1 or an event index (a decimal integer without sign or leading zeros)',
});
const exportQuery = z.object({
  ...filterQuery,
  after: position.optional(),
  format: z.enum(FEED_FORMATS as [FeedFormat, ...FeedFormat[]]).default('ndjson'),
  limit: decimal.pipe(z.number().int().min(1)).optional(),
});
const streamQuery = z.object({
  ...filterQuery,
  after: position.optional(),
  proofs: flag,
});

/** `after` as given: -1, an index, or undefined. */
function afterOf(given: string | number | undefined): number | undefined {
  if (given === undefined) return undefined;
  return given === '-1' ? -1 : (given as number);
}

/**
 * The filter a request asks for, with a tenant-bound key held to its tenant (another tenant
 * asked for is 403). Returns what was given (for the access event) and the filter to apply.
 */
function requestFilter(c: Context<AuthEnv>, q: FilterParams): { given: Record<string, string>; filter: EventFilter } {
  const own = c.get('principal')?.tenant;
  checkTenant(own, q.tenant);
  return { given: givenFilters(q), filter: tenantFilter(own, q) };
}

/** The headers of an export of the published tree `published`: what it covers, and the checkpoint to prove its lines against. */
function exportHeaders(published: { readonly size: number; readonly checkpoint: string }): Record<string, string> {
  return {
    'Content-Type': 'application/x-ndjson; charset=utf-8',
    'Cache-Control': 'no-store',
    'Tlog-Tree-Size': String(published.size),
    'Tlog-Checkpoint': Buffer.from(published.checkpoint).toString('base64'),
  };
}

const STREAM_HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' };

/** Counts connections of one kind, refusing beyond its limit. */
class Slots {
  private used = 0;
  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {}

  take(c: Context): () => void {
    if (this.used >= this.max) {
      c.header('Retry-After', '5');
      throw httpError(503, `the server already serves ${this.max} ${this.what}, its most at once; retry shortly`);
    }
    this.used++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.used--;
      }
    };
  }
}

/**
 * The feeds of a log's events: GET /v1/events/export (NDJSON, CloudEvents or OCSF lines, oldest
 * first, resumable by `after`) and GET /v1/events/stream (Server-Sent Events, resumable by
 * Last-Event-ID). Both read the scope `access.readScope`, hold a tenant-bound key to its tenant,
 * and record their access event durably before the first byte of event data goes out. See
 * docs/feeds.md.
 */
export function feedRoutes(
  feed: EventFeed,
  access: FeedAccess,
  limits: FeedLimits = {},
  report: FeedErrorReporter = () => {},
): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const read = access.guard(access.readScope);
  const exports = new Slots(limits.maxExports ?? 16, 'exports');
  const streams = new Slots(limits.maxStreams ?? 1000, 'event streams');

  app.get('/v1/events/export', read, query(exportQuery), async (c) => {
    const q = c.req.valid('query');
    const after = afterOf(q.after) ?? -1;
    let details: Record<string, unknown> = { after, format: q.format, ...(q.limit !== undefined ? { limit: q.limit } : {}) };
    try {
      const { given, filter } = requestFilter(c, q);
      details = { ...details, filters: given };
      const published = feed.published;
      if (c.req.method === 'HEAD') return c.body(null, 200, exportHeaders(published));
      const release = exports.take(c);
      try {
        await c.get('access').record({
          action: 'events.export',
          outcome: 'success',
          targets: [],
          details: { status: 200, ...details, treeSize: published.size },
        });
      } catch (err) {
        release();
        throw err;
      }
      return c.body(
        exportBody(feed, {
          filter,
          after,
          upTo: published.size,
          format: q.format,
          limit: q.limit ?? Number.POSITIVE_INFINITY,
          release,
          onError: (err) => report(err, c),
        }),
        200,
        exportHeaders(published),
      );
    } catch (err) {
      const status = refusalStatus(err);
      if (status !== undefined && status !== 503) {
        await c.get('access').record({ action: 'events.export', outcome: 'failure', targets: [], details: { status, ...details } });
      }
      throw err;
    }
  });
  app.all('/v1/events/export', methodNotAllowed(['GET', 'HEAD']));

  app.get('/v1/events/stream', read, query(streamQuery), async (c) => {
    const q = c.req.valid('query');
    const lastId = c.req.header('last-event-id');
    let details: Record<string, unknown> = { proofs: q.proofs };
    try {
      let after = afterOf(q.after);
      if (lastId !== undefined && lastId.trim() !== '') {
        const parsed = position.safeParse(lastId.trim());
        if (!parsed.success) throw httpError(400, `Last-Event-ID ${echo(lastId)} is not an event index of this log (or -1)`);
        after = afterOf(parsed.data);
      }
      const published = feed.published;
      if (after !== undefined && after >= published.size) {
        throw httpError(
          400,
          `${lastId !== undefined ? 'Last-Event-ID' : 'after'}: ${after} is beyond the published tree (size ${published.size}); resume from an id this log sent`,
        );
      }
      const start = after ?? published.size - 1;
      details = { ...details, after: start, live: after === undefined };
      const { given, filter } = requestFilter(c, q);
      details = { ...details, filters: given };
      if (c.req.method === 'HEAD') return c.body(null, 200, STREAM_HEADERS);
      const release = streams.take(c);
      try {
        await c.get('access').record({ action: 'events.stream', outcome: 'success', targets: [], details: { status: 200, ...details } });
      } catch (err) {
        release();
        throw err;
      }
      const stream = new EventStream(feed, { filter, after: start, proofs: q.proofs, release, onError: (err) => report(err, c) }, limits);
      return c.body(stream.body, 200, STREAM_HEADERS);
    } catch (err) {
      const status = err instanceof FeedClosedError ? 503 : refusalStatus(err);
      if (status !== undefined && status !== 503) {
        await c.get('access').record({ action: 'events.stream', outcome: 'failure', targets: [], details: { status, ...details } });
      }
      throw err;
    }
  });
  app.all('/v1/events/stream', methodNotAllowed(['GET', 'HEAD']));

  return app;
}
