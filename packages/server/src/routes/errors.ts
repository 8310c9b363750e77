import { EventFormatError, EventTooLargeError } from '@tlog/events';
import type { Context, Handler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AccessLogUnavailableError } from '../auth/access-trail.js';
import { ErasureRefusedError, EventErasedError } from '../events/erasure.js';
import { EventConflictError } from '../events/event-log.js';
import { CursorError } from '../events/event-search.js';
import { GovernanceInputError } from '../events/governance.js';
import { FeedClosedError } from '../feeds/event-feed.js';
import { NotFoundError } from '../log.js';
import { PoolFullError, SequencerClosedError } from '../sequencer.js';
import { StorageError } from '../storage/store.js';
import { BusyError } from './byte-budget.js';

/** A 4xx answer with a JSON {error} body; throw it from a route. */
export function httpError(status: ContentfulStatusCode, message: string): HTTPException {
  return new HTTPException(status, { message });
}

/** Most characters of user input an error message repeats (the rest is cut, marked with "…"). */
export const ECHO_MAX = 100;

/**
 * User input quoted for an error message: JSON-quoted and cut to {@link ECHO_MAX} characters,
 * so a megabyte of query string does not come back in the answer (or the log).
 */
export function echo(input: string): string {
  return JSON.stringify(clip(input, ECHO_MAX));
}

/** `text` cut to `max` characters, marked with "…" when cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The 405 answer for a known path asked with another method: register it with `app.all(path)`
 * after the path's own handlers. `allowed` becomes the Allow header.
 */
export function methodNotAllowed(allowed: readonly string[]): Handler {
  const allow = allowed.join(', ');
  return (c) => {
    c.header('Allow', allow);
    return c.json({ error: `${c.req.method} is not allowed on ${echo(c.req.path)}; use ${allow}` }, 405);
  };
}

/**
 * Whether a request failed because its client went away (closed the connection before sending
 * the whole body): nobody is waiting for an answer and nothing is wrong with the server. The
 * request's signal says so once the server noticed; the body stream's error (Node's
 * "aborted", ECONNRESET) may arrive first.
 */
export function isClientAbort(err: unknown, c: Context): boolean {
  if (c.req.raw.signal.aborted) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Called for errors that are not a client's fault, so they can be logged. */
export type ErrorReporter = (err: unknown, c: Context) => void;

/**
 * The 4xx status a refusal is answered with (the one mapping of errorResponse), or undefined for
 * an error that is not the client's (overload, storage, bugs).
 */
export function refusalStatus(err: unknown): number | undefined {
  if (err instanceof HTTPException) return err.status;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof EventTooLargeError) return 413;
  if (err instanceof EventFormatError || err instanceof CursorError || err instanceof GovernanceInputError) return 400;
  if (err instanceof EventConflictError) return 409;
  if (err instanceof EventErasedError) return 410;
  if (err instanceof ErasureRefusedError) return 423;
  return undefined;
}

/**
 * Maps errors to JSON answers. Known client errors keep their 4xx status; a request its client
 * abandoned (see {@link isClientAbort}) is answered 400 and not reported; overload and
 * storage trouble are 503 with Retry-After (retrying is the right reaction); anything else is
 * a bug: it is reported and answered with a generic 500 that leaks nothing.
 */
export function errorResponse(err: unknown, c: Context, report: ErrorReporter): Response {
  const refused = refusalStatus(err);
  if (refused !== undefined) {
    const status = refused as ContentfulStatusCode;
    if (err instanceof EventErasedError) return c.json(err.toJSON(), status);
    return c.json({ error: (err as Error).message || 'request refused' }, status);
  }
  if (err instanceof PoolFullError) {
    c.header('Retry-After', String(err.retryAfterSeconds));
    return c.json({ error: err.message }, 503);
  }
  if (err instanceof BusyError) {
    c.header('Retry-After', '1');
    return c.json({ error: err.message }, 503);
  }
  if (err instanceof AccessLogUnavailableError) {
    report(err, c);
    c.header('Retry-After', '5');
    return c.json({ error: err.message }, 503);
  }
  if (err instanceof SequencerClosedError || err instanceof FeedClosedError) {
    c.header('Retry-After', '5');
    return c.json({ error: err.message }, 503);
  }
  if (err instanceof StorageError) {
    report(err, c);
    c.header('Retry-After', '5');
    return c.json({ error: 'the log could not read or write its storage; retry later' }, 503);
  }
  // Not an error: the answer will not be read, and there is nothing for the operator to do.
  if (isClientAbort(err, c)) return c.json({ error: 'the client closed the connection before the request was complete' }, 400);
  report(err, c);
  return c.json({ error: 'internal error; the operator has been told' }, 500);
}
