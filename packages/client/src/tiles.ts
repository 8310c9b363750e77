/** Hash tiles: fetching them, and reading them authenticated against a verified checkpoint (internal). */
import type { TileId } from '@tlog/merkle';
import { formatTilePath, HASH_SIZE, TILE_HEIGHT, TILE_WIDTH, TileHashReader } from '@tlog/merkle';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { checkIndex, errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ArgumentError, LogFetchError } from './errors.js';
import { fetchBytes, joinUrl } from './http.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';

/** Largest hash tile: 256 hashes. */
const MAX_TILE_BYTES = TILE_WIDTH * HASH_SIZE;

/** Checks a TileId: level 0..63, index a safe integer, width 1..256 (ArgumentError otherwise). */
export function checkTileId(tile: TileId): void {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > 63)
    throw new ArgumentError(`a tile level is 0..63, got ${String(tile.level)}`);
  checkIndex(tile.index, 'tile index');
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH)
    throw new ArgumentError(`a tile width is 1..${TILE_WIDTH}, got ${String(tile.width)}`);
}

/** What {@link fetchWithFullFallback} fetches. */
export interface TileRequest {
  /** The tile or bundle path, e.g. "tile/0/001.p/44". */
  readonly path: string;
  /** The path of the full tile or bundle that contains it. */
  readonly fullPath: string;
  /** The width asked (1..256). */
  readonly width: number;
  /** The largest acceptable answer. */
  readonly maxBytes: number;
}

/** Fetches a tile or bundle; a partial one that is gone (404) is read from the full one, as tlog-tiles allows. */
export async function fetchWithFullFallback(log: LogContext, req: TileRequest): Promise<Uint8Array> {
  try {
    return await fetchBytes(log.http, joinUrl(log.url, req.path), req.maxBytes);
  } catch (e) {
    if (!(e instanceof LogFetchError) || e.status !== 404 || req.width >= TILE_WIDTH) throw e;
    return fetchBytes(log.http, joinUrl(log.url, req.fullPath), req.maxBytes);
  }
}

/** Fetches one hash tile, not authenticated; a tile of the wrong length is LogMisbehaviourError('bad-proof'). */
export async function fetchHashTile(log: LogContext, tile: TileId): Promise<Uint8Array> {
  checkTileId(tile);
  const data = await fetchWithFullFallback(log, {
    path: formatTilePath(tile),
    fullPath: formatTilePath({ ...tile, width: TILE_WIDTH }),
    width: tile.width,
    maxBytes: MAX_TILE_BYTES,
  });
  const want = tile.width * HASH_SIZE;
  const out = tile.width < TILE_WIDTH && data.length === MAX_TILE_BYTES ? data.subarray(0, want) : data;
  if (out.length !== want) {
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `hash tile ${formatTilePath(tile)} has ${out.length} bytes, expected ${want}`,
      evidence: { details: { tile: formatTilePath(tile) } },
    });
  }
  return out;
}

/** A TileHashReader over the log's tiles, authenticated against `at`, each tile fetched once per reader. */
export function tileReader(log: LogContext, at: VerifiedCheckpoint): TileHashReader {
  const cache = new Map<string, Promise<Uint8Array>>();
  const fetchTile = (tile: TileId): Promise<Uint8Array> => {
    const key = formatTilePath(tile);
    let p = cache.get(key);
    if (p === undefined) {
      p = fetchHashTile(log, tile);
      cache.set(key, p);
      // A failed fetch must not poison later reads.
      p.catch(() => cache.delete(key));
    }
    return p;
  };
  return new TileHashReader(at.checkpoint.size, at.checkpoint.root, fetchTile, log.hasher);
}

/** How {@link readTiles} reads. */
export interface TileReadOptions {
  /** The checkpoint the tiles are authenticated against. */
  readonly at: VerifiedCheckpoint;
  /** A reader for `at` to reuse (its tiles stay cached); a new one otherwise. */
  readonly reader?: TileHashReader;
  /** The trusted signed note, recorded in the evidence if a tile does not authenticate. */
  readonly trusted?: string;
}

/**
 * Runs `read` over tiles authenticated against `at`. A tile that does not authenticate is
 * LogMisbehaviourError('bad-proof'); fetch errors and our own misbehaviour errors pass unchanged.
 */
export async function readTiles<T>(log: LogContext, options: TileReadOptions, read: (reader: TileHashReader) => Promise<T>): Promise<T> {
  const { at } = options;
  try {
    return await read(options.reader ?? tileReader(log, at));
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `a hash tile does not authenticate against the checkpoint of size ${at.checkpoint.size}: ${errorMessage(e)}`,
      evidence: {
        ...(options.trusted === undefined ? {} : { trusted: options.trusted }),
        candidate: at.note,
        details: { source: 'tiles' },
      },
      cause: e,
    });
  }
}

/**
 * The hash tile `tile` of the tree of `at`, authenticated against `at`. Requires the tile's
 * hashes to exist in that tree: (index * 256 + width) * 256^level <= at's size (ArgumentError).
 */
export async function authenticatedHashTile(
  log: LogContext,
  tile: TileId,
  options: { readonly at: VerifiedCheckpoint; readonly reader?: TileHashReader },
): Promise<Uint8Array> {
  checkTileId(tile);
  const { at } = options;
  const first = tile.index * TILE_WIDTH;
  const end = (first + tile.width) * 2 ** (TILE_HEIGHT * tile.level);
  if (!(end <= at.checkpoint.size)) {
    throw new ArgumentError(`tile ${formatTilePath(tile)} covers entries up to ${end}, beyond the tree size ${at.checkpoint.size}`);
  }
  const ids = Array.from({ length: tile.width }, (_, i) => ({ level: TILE_HEIGHT * tile.level, index: first + i }));
  const hashes = await readTiles(log, options, (r) => r.readNodes(ids));
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((h, i) => {
    out.set(h, i * HASH_SIZE);
  });
  return out;
}
