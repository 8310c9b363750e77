/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles) with tile height 8: a hash tile at level L,
 * index N holds the hashes of tree level 8L nodes [256N, 256N + W), W = 256 for a full tile.
 * The levels in between are recomputed from those hashes, so any node whose leaves lie in one
 * tile can be computed from it.
 */

import { CompactTree } from './compact.js';
import { checkIndex, EncodingError, MerkleArgumentError } from './errors.js';
import { defaultHasher, HASH_SIZE, type Hash, type Hasher } from './hash.js';
import { POW2, shiftRight } from './treemath.js';

/** Tree levels per tile level. */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile (2^TILE_HEIGHT); also entries in a full entry bundle. */
export const TILE_WIDTH = 256;

/** The highest tile level a path may name (C2SP: 0 to 63). */
const MAX_TILE_LEVEL = 63;

/** level: tile level (tree level 8*level); index: tile index; width: 1..256 (256 = full). */
export interface TileId {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** An entry bundle: entries [256*index, 256*index + width). */
export interface EntriesTileId {
  readonly index: number;
  readonly width: number;
}

/** What parseTilePath found: a hash tile or an entry bundle. */
export type ParsedTilePath = { kind: 'hash'; tile: TileId } | { kind: 'entries'; tile: EntriesTileId };

function checkWidth(width: number): void {
  if (!Number.isSafeInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new MerkleArgumentError(`tile width must be an integer in [1, ${TILE_WIDTH}], got ${String(width)}`);
  }
}

function checkTile(tile: TileId): void {
  if (!Number.isSafeInteger(tile.level) || tile.level < 0 || tile.level > MAX_TILE_LEVEL) {
    throw new MerkleArgumentError(`tile level must be an integer in [0, ${MAX_TILE_LEVEL}], got ${String(tile.level)}`);
  }
  checkIndex(tile.index, 'tile index');
  checkWidth(tile.width);
}

/**
 * The tile index in path form: zero-padded 3-digit groups, all but the last prefixed with
 * "x" (1234067 -> "x001/x234/067"). Requires a safe non-negative integer (MerkleArgumentError otherwise).
 */
export function formatTileIndex(n: number): string {
  checkIndex(n, 'tile index');
  let s = String(n % 1000).padStart(3, '0');
  n = Math.floor(n / 1000);
  while (n > 0) {
    s = `x${String(n % 1000).padStart(3, '0')}/${s}`;
    n = Math.floor(n / 1000);
  }
  return s;
}

function widthSuffix(width: number): string {
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** "tile/<L>/<N>[.p/<W>]" for a hash tile. Requires a valid TileId (level 0..63, width 1..256); MerkleArgumentError otherwise. */
export function formatTilePath(tile: TileId): string {
  checkTile(tile);
  return `tile/${tile.level}/${formatTileIndex(tile.index)}${widthSuffix(tile.width)}`;
}

/** "tile/entries/<N>[.p/<W>]" for an entry bundle. Requires width 1..256 and a safe index; MerkleArgumentError otherwise. */
export function formatEntriesPath(tile: EntriesTileId): string {
  checkIndex(tile.index, 'entry bundle index');
  checkWidth(tile.width);
  return `tile/entries/${formatTileIndex(tile.index)}${widthSuffix(tile.width)}`;
}

const LEVEL_RE = /^(0|[1-9][0-9]?)$/;
const WIDTH_RE = /^[1-9][0-9]{0,2}$/;
const GROUP_RE = /^x[0-9]{3}$/;
const LAST_RE = /^[0-9]{3}$/;

/**
 * Parses a tile or entry-bundle path ("tile/0/x001/234.p/5", "tile/entries/067"), without a
 * leading slash or URL prefix. Accepts only the canonical form: throws EncodingError on a level
 * outside 0..63 or with leading zeros, an index group that is not 3 digits, a missing or
 * stray "x", a leading all-zero group, a width outside 1..255 or with leading zeros, an index
 * beyond 2^53-1, or anything else extra.
 */
export function parseTilePath(path: string): ParsedTilePath {
  const bad = (why: string): EncodingError => new EncodingError(`invalid tile path ${JSON.stringify(path)}: ${why}`);
  if (typeof path !== 'string') throw new EncodingError(`tile path must be a string, got ${typeof path}`);
  const parts = path.split('/');
  if (parts.length < 3 || parts[0] !== 'tile') throw bad('expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]');
  const entries = parts[1] === 'entries';
  let level = 0;
  if (!entries) {
    if (!LEVEL_RE.test(parts[1]!)) throw bad('the level must be a decimal integer 0..63 without leading zeros');
    level = Number(parts[1]);
    if (level > MAX_TILE_LEVEL) throw bad(`the level ${level} is above ${MAX_TILE_LEVEL}`);
  }
  let groups = parts.slice(2);
  let width = TILE_WIDTH;
  const lastIdx = groups.length - 1;
  if (groups.length >= 2 && groups[lastIdx - 1]!.endsWith('.p')) {
    const w = groups[lastIdx]!;
    if (!WIDTH_RE.test(w)) throw bad('the partial width after .p/ must be a decimal integer 1..255 without leading zeros');
    width = Number(w);
    if (width >= TILE_WIDTH) throw bad(`a partial tile's width must be below ${TILE_WIDTH}, got ${width}; full tiles have no .p/ suffix`);
    groups = groups.slice(0, lastIdx);
    groups[groups.length - 1] = groups[groups.length - 1]!.slice(0, -2);
  }
  let index = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const last = i === groups.length - 1;
    if (last ? !LAST_RE.test(g) : !GROUP_RE.test(g)) {
      throw bad(
        last
          ? `the last index element must be exactly 3 digits, got ${JSON.stringify(g)}`
          : `index element ${JSON.stringify(g)} must be "x" and 3 digits`,
      );
    }
    if (i === 0 && !last && g === 'x000') throw bad('the index has a leading all-zero group (not canonical)');
    index = index * 1000 + Number(last ? g : g.slice(1));
  }
  if (!Number.isSafeInteger(index)) throw bad('the index is beyond 2^53-1');
  const parsed: ParsedTilePath = entries ? { kind: 'entries', tile: { index, width } } : { kind: 'hash', tile: { level, index, width } };
  // Belt and braces: the canonical form is the one we format.
  const again = parsed.kind === 'entries' ? formatEntriesPath(parsed.tile) : formatTilePath(parsed.tile);
  if (again !== path) throw bad(`not canonical; expected ${JSON.stringify(again)}`);
  return parsed;
}

/** Number of tree-level-8L hashes in a tree of `size` leaves. */
function hashesAtTileLevel(size: number, level: number): number {
  return level * TILE_HEIGHT >= 64 ? 0 : shiftRight(size, level * TILE_HEIGHT);
}

/**
 * Every hash tile of a tree of `size` leaves: for each level, the full tiles and then the
 * partial one if any, lowest level first. Empty for size 0. Requires a safe integer size.
 */
export function tilesForSize(size: number): TileId[] {
  return changedTiles(0, size);
}

/**
 * The hash tiles of newSize that do not exist, or are narrower, in oldSize: exactly what must
 * be written when the tree grows. Lowest level first, by index. Requires
 * 0 <= oldSize <= newSize, safe integers (MerkleArgumentError otherwise).
 */
export function changedTiles(oldSize: number, newSize: number): TileId[] {
  checkIndex(oldSize, 'old tree size');
  checkIndex(newSize, 'new tree size');
  if (oldSize > newSize) throw new MerkleArgumentError(`old tree size ${oldSize} is larger than new tree size ${newSize}`);
  const out: TileId[] = [];
  for (let level = 0; ; level++) {
    const n1 = hashesAtTileLevel(newSize, level);
    if (n1 === 0) break;
    const n0 = hashesAtTileLevel(oldSize, level);
    for (let index = Math.floor(n0 / TILE_WIDTH); index * TILE_WIDTH < n1; index++) {
      const start = index * TILE_WIDTH;
      const width = Math.min(TILE_WIDTH, n1 - start);
      const oldWidth = Math.max(0, Math.min(TILE_WIDTH, n0 - start));
      if (width > oldWidth) out.push({ level, index, width });
    }
  }
  return out;
}

/** Every entry bundle of a tree of `size` entries: full ones, then the partial one if any. */
export function entriesTilesForSize(size: number): EntriesTileId[] {
  checkIndex(size, 'tree size');
  const out: EntriesTileId[] = [];
  for (let index = 0; index * TILE_WIDTH < size; index++) {
    out.push({ index, width: Math.min(TILE_WIDTH, size - index * TILE_WIDTH) });
  }
  return out;
}

/**
 * The tile, at its widest for a tree of `size` leaves, that holds node (level, index) or the
 * tile-level hashes it is computed from: tile level floor(level / 8). Requires the node to be
 * a complete subtree of the tree: (index + 1) * 2^level <= size (MerkleArgumentError otherwise).
 */
export function tileForNode(level: number, index: number, size: number): TileId {
  checkIndex(level, 'node level');
  checkIndex(index, 'node index');
  checkIndex(size, 'tree size');
  if (level > 63 || (index + 1) * POW2[level]! > size) {
    throw new MerkleArgumentError(`node (level ${level}, index ${index}) is not a complete subtree of a tree of size ${size}`);
  }
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const first = index * POW2[level - tileLevel * TILE_HEIGHT]!; // first tile-level hash under the node
  const tileIndex = Math.floor(first / TILE_WIDTH);
  const width = Math.min(TILE_WIDTH, hashesAtTileLevel(size, tileLevel) - tileIndex * TILE_WIDTH);
  return { level: tileLevel, index: tileIndex, width };
}

function tileHashes(data: Uint8Array, from: number, count: number): Hash[] {
  const out = new Array<Hash>(count);
  for (let i = 0; i < count; i++) out[i] = data.subarray((from + i) * HASH_SIZE, (from + i + 1) * HASH_SIZE);
  return out;
}

/**
 * The hash of node (level, index), computed from the tile's data. The node's leaves must lie
 * in the tile: 8L <= level <= 8L + 8 and its tile-level hashes inside [256N, 256N + W). The data
 * must be exactly width * 32 bytes. Throws MerkleArgumentError for a bad tile or node, EncodingError
 * for data of the wrong length. Returns a fresh array.
 */
export function nodeFromTile(tile: TileId, data: Uint8Array, level: number, index: number, hasher: Hasher = defaultHasher): Hash {
  checkTile(tile);
  checkIndex(level, 'node level');
  checkIndex(index, 'node index');
  if (!(data instanceof Uint8Array) || data.length !== tile.width * HASH_SIZE) {
    throw new EncodingError(
      `tile ${formatTilePath(tile)} must be ${tile.width * HASH_SIZE} bytes, got ${data instanceof Uint8Array ? data.length : typeof data}`,
    );
  }
  const base = tile.level * TILE_HEIGHT;
  const rel = level - base;
  if (rel < 0 || rel > TILE_HEIGHT) {
    throw new MerkleArgumentError(
      `node (level ${level}, index ${index}) is not computable from tile ${formatTilePath(tile)}: its level must be in [${base}, ${base + TILE_HEIGHT}]`,
    );
  }
  const span = POW2[rel]!;
  const first = index * span - tile.index * TILE_WIDTH;
  if (first < 0 || first + span > tile.width) {
    throw new MerkleArgumentError(`node (level ${level}, index ${index}) is not inside tile ${formatTilePath(tile)}`);
  }
  if (span === 1) return Uint8Array.prototype.slice.call(data, first * HASH_SIZE, (first + 1) * HASH_SIZE);
  // span is a power of two: every row pairs up exactly, one batch call per row.
  let row = data.subarray(first * HASH_SIZE, (first + span) * HASH_SIZE);
  while (row.length > HASH_SIZE) row = hasher.hashNodes(row);
  return row;
}

/**
 * The Merkle tree hash of a tile's hashes taken as leaves: for a full tile, the hash of the
 * node one tile level up (what its parent tile stores). Requires 1..256 whole hashes (EncodingError otherwise).
 */
export function hashTileRoot(data: Uint8Array, hasher: Hasher = defaultHasher): Hash {
  const n = data instanceof Uint8Array ? data.length / HASH_SIZE : 0;
  if (!Number.isInteger(n) || n < 1 || n > TILE_WIDTH) {
    throw new EncodingError(
      `a tile holds 1 to ${TILE_WIDTH} hashes of ${HASH_SIZE} bytes, got ${data instanceof Uint8Array ? `${data.length} bytes` : typeof data}`,
    );
  }
  if (n === 1) return Uint8Array.prototype.slice.call(data, 0, HASH_SIZE);
  const tree = new CompactTree(0, [], hasher);
  tree.pushMany(tileHashes(data, 0, n));
  return tree.root();
}
