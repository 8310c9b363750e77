import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { NotFoundError } from '../log.js';
import { PoolFullError, SequencerClosedError } from '../sequencer.js';
import { StorageError } from '../storage/store.js';

/** A 4xx answer with a JSON {error} body; throw it from a route. */
export function httpError(status: ContentfulStatusCode, message: string): HTTPException {
  return new HTTPException(status, { message });
}

/** Called for errors that are not a client's fault, so they can be logged. */
export type ErrorReporter = (err: unknown, c: Context) => void;

/**
 * Maps errors to JSON answers. Known client errors keep their 4xx status; overload and
 * storage trouble are 503 with Retry-After (retrying is the right reaction); anything else is
 * a bug: it is reported and answered with a generic 500 that leaks nothing.
 */
export function errorResponse(err: unknown, c: Context, report: ErrorReporter): Response {
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return c.json({ error: err.message || 'request refused' }, status);
  }
  if (err instanceof NotFoundError) return c.json({ error: err.message }, 404);
  if (err instanceof PoolFullError) {
    c.header('Retry-After', String(err.retryAfterSeconds));
    return c.json({ error: err.message }, 503);
  }
  if (err instanceof SequencerClosedError) {
    c.header('Retry-After', '5');
    return c.json({ error: err.message }, 503);
  }
  if (err instanceof StorageError) {
    report(err, c);
    c.header('Retry-After', '5');
    return c.json({ error: 'the log could not read or write its storage; retry later' }, 503);
  }
  report(err, c);
  return c.json({ error: 'internal error; the operator has been told' }, 500);
}
