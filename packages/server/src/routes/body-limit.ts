import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ByteBudget } from './byte-budget.js';
import { httpError } from './errors.js';

/**
 * The request body's size limit: 413 for more than maxSize bytes. A body with a declared
 * Content-Length is judged by the header alone (Node's parser holds the body to that length);
 * only a chunked body goes through Hono's bodyLimit, which counts it while it streams and cuts it
 * off at the limit (that connection is then closed: the rest of the body is never read).
 * bodyLimit is not used for declared lengths because it opens `c.req.raw.body` first, which under
 * @hono/node-server gives up the direct (one-copy) body read and, when the body is refused,
 * stalls the draining of its unread rest, so the connection could not carry the next request.
 * With `budget`, room for the body (its declared length, else maxSize, times `weight`: what
 * handling it costs per body byte) is reserved before it is read and held until the handler is
 * done with it.
 */
export function sizeLimit(maxSize: number, what: string, budget?: ByteBudget, weight = 1): MiddlewareHandler {
  const tooBig = () => httpError(413, `${what} is larger than ${maxSize} bytes`);
  const chunked = bodyLimit({
    maxSize,
    onError: (c) => {
      c.header('Connection', 'close');
      throw tooBig();
    },
  });
  return async (c, next) => {
    const header = c.req.header('content-length');
    const declared = header === undefined || c.req.header('transfer-encoding') !== undefined ? undefined : Number(header);
    if (declared !== undefined && declared > maxSize) throw tooBig();
    const room = await budget?.reserve((declared ?? maxSize) * weight);
    try {
      if (declared === undefined) await chunked(c, next);
      else await next();
    } finally {
      room?.release();
    }
  };
}
