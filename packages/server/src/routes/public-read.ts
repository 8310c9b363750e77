import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/** The methods of the public read routes (HEAD is answered by the GET handlers). */
export const READ_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;

const preflight = cors({ origin: '*', allowMethods: [...READ_METHODS], maxAge: 86_400 });

/**
 * CORS for the public read routes (checkpoint, tiles, bundles, /v1/log, proofs, entries): any
 * origin may read them from a browser, without credentials (nothing there depends on who asks).
 * Hono's cors answers the preflight OPTIONS requests. On the reads themselves the one header
 * that origin "*" needs is set with `c.header`: Hono's cors sets it on `c.res` before the
 * handler runs, which makes Hono rebuild the handler's response around its body stream, and
 * under @hono/node-server that turns every answer (a 1.4 MB page, say) into a stream copy.
 * Register it for GET and OPTIONS on the route.
 */
export const publicRead: MiddlewareHandler = async (c, next) => {
  if (c.req.method === 'OPTIONS') return preflight(c, next);
  c.header('Access-Control-Allow-Origin', '*');
  await next();
};
