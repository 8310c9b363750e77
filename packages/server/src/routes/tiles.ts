import { MAX_ENTRY_SIZE, MerkleError, type ParsedTilePath, parseTilePath, TILE_WIDTH } from '@tlog/merkle';
import { Hono } from 'hono';
import type { Log } from '../log.js';
import { type ByteBudget, sendWithin } from './byte-budget.js';
import { clip, ECHO_MAX, echo, httpError, methodNotAllowed } from './errors.js';
import { noQuery, query } from './params.js';
import { publicRead, READ_METHODS } from './public-read.js';

/** Full tiles and bundles never change: cache them for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Partial tiles only matter until the tree grows past them. */
export const PARTIAL = 'public, max-age=60';

/**
 * The request's path exactly as sent (Hono's `c.req.path` is percent-decoded, and a tile path
 * is only canonical in the form `formatTilePath` writes, "%30" for "0" included).
 */
function rawPath(url: string): string {
  return new URL(url).pathname;
}

/**
 * C2SP tlog-tiles read endpoints: /checkpoint, /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>].
 * An entry bundle (up to 16 MiB) is read and sent within `budget`.
 */
export function tileRoutes(log: Log, budget: ByteBudget): Hono {
  const app = new Hono();

  app.on(['GET', 'OPTIONS'], '/checkpoint', publicRead, query(noQuery), (c) => {
    c.header('Cache-Control', 'no-store');
    return c.body(log.published.checkpoint, 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });
  app.all('/checkpoint', methodNotAllowed(READ_METHODS));

  app.on(['GET', 'OPTIONS'], '/tile/*', publicRead, query(noQuery), async (c) => {
    // The path below where this app is mounted (/access for the access log), as sent.
    const mount = c.req.routePath.slice(0, c.req.routePath.length - '/tile/*'.length);
    const path = rawPath(c.req.url).slice(mount.length);
    let parsed: ParsedTilePath;
    try {
      parsed = parseTilePath(path.slice(1));
    } catch (err) {
      if (err instanceof MerkleError) {
        // parseTilePath's message quotes the whole path; keep only its reason, cut like any echo.
        const prefix = `invalid tile path ${JSON.stringify(path.slice(1))}: `;
        const why = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
        throw httpError(400, `malformed tile path ${echo(path)}: ${clip(why, ECHO_MAX)}`);
      }
      throw err;
    }
    c.header('Cache-Control', parsed.tile.width === TILE_WIDTH ? IMMUTABLE : PARTIAL);
    if (parsed.kind === 'hash') {
      const data = await log.tile(parsed.tile.level, parsed.tile.index, parsed.tile.width);
      return c.body(data as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': 'application/octet-stream' });
    }
    // Room for the largest bundle this wide, then only for what it is, until it is sent.
    const room = await budget.reserve(parsed.tile.width * (2 + MAX_ENTRY_SIZE));
    let data: Uint8Array;
    try {
      data = await log.entryBundle(parsed.tile.index, parsed.tile.width);
    } catch (err) {
      room.release();
      throw err;
    }
    return sendWithin(c, room, data, 'application/octet-stream');
  });
  app.all('/tile/*', methodNotAllowed(READ_METHODS));

  return app;
}
