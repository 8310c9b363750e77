import { MerkleError, type ParsedTilePath, parseTilePath, TILE_WIDTH } from '@tlog/merkle';
import { Hono } from 'hono';
import type { Log } from '../log.js';
import { httpError } from './errors.js';

/** Full tiles and bundles never change: cache them for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Partial tiles only matter until the tree grows past them. */
export const PARTIAL = 'public, max-age=60';

/** C2SP tlog-tiles read endpoints: /checkpoint, /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>]. */
export function tileRoutes(log: Log): Hono {
  const app = new Hono();

  app.get('/checkpoint', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.body(log.published.checkpoint, 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });

  app.get('/tile/*', async (c) => {
    let parsed: ParsedTilePath;
    try {
      parsed = parseTilePath(c.req.path.slice(1));
    } catch (err) {
      if (err instanceof MerkleError) throw httpError(400, `malformed tile path ${c.req.path}: ${err.message}`);
      throw err;
    }
    const data =
      parsed.kind === 'hash'
        ? await log.tile(parsed.tile.level, parsed.tile.index, parsed.tile.width)
        : await log.entryBundle(parsed.tile.index, parsed.tile.width);
    c.header('Cache-Control', parsed.tile.width === TILE_WIDTH ? IMMUTABLE : PARTIAL);
    return c.body(data as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': 'application/octet-stream' });
  });

  return app;
}
