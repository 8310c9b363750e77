import type { Hash, TileId } from '@tlog/merkle';
import {
  bytesEqual,
  CompactTree,
  formatEntriesPath,
  formatTilePath,
  HASH_SIZE,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilesForSize,
  toBase64,
} from '@tlog/merkle';
import type { VerifiedCheckpoint } from './checkpoint.js';
import type { LogClient } from './log-client.js';
import { misbehaviour } from './misbehaviour.js';

/** Progress of an audit, reported after each entry bundle. */
export interface AuditProgress {
  /** Entries read and hashed so far. */
  readonly entries: number;
  /** Entries in the audited tree. */
  readonly total: number;
}

/** Options of {@link auditLog}. */
export interface AuditOptions {
  /** Called after each entry bundle. */
  readonly onProgress?: (p: AuditProgress) => void;
  /** How many entry bundles (each with its level-0 tile) to fetch ahead (default 8). */
  readonly prefetch?: number;
  /**
   * Called with each entry bundle's entries, in order, once they hash to the level-0 tile the log
   * serves (`first` is the index of the first); the audit waits for it. The root is checked only
   * after the last bundle, so the entries are authentic once auditLog returns.
   */
  readonly onBundle?: (first: number, entries: readonly Uint8Array[]) => void | Promise<void>;
}

/** What a successful audit checked. */
export interface AuditResult {
  /** The tree size audited. */
  readonly size: number;
  /** The root recomputed from the entries (equal to the checkpoint's). */
  readonly root: Hash;
  /** Number of entry bundles read. */
  readonly bundles: number;
  /** Number of hash tiles fetched and compared. */
  readonly tiles: number;
}

/**
 * Full audit of a log against a verified checkpoint: downloads every entry bundle, recomputes
 * every hash tile and the root from the entries alone, and compares them with the tiles the log
 * serves and with the checkpoint's root. Any difference throws LogMisbehaviourError:
 * 'bad-entries' when the entries do not give the checkpoint's root or the authenticated leaf
 * hashes, 'bad-proof' when a served tile is wrong. O(size) work, O(size/256) memory.
 */
export async function auditLog(client: LogClient, at: VerifiedCheckpoint, options: AuditOptions = {}): Promise<AuditResult> {
  const size = at.checkpoint.size;
  const tree = new CompactTree(0, [], client.hasher);
  // Hashes of tile levels >= 1, recomputed from the entries: key "L/N" -> hashes in order.
  const upper = new Map<string, Hash[]>();
  const bundleCount = Math.ceil(size / TILE_WIDTH);
  const prefetch = Math.max(1, options.prefetch ?? 8);
  const widthOf = (n: number) => Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
  // Each bundle travels with its level-0 tile: both are fetched ahead, together.
  const inflight: Promise<[Uint8Array[], Uint8Array]>[] = [];
  let next = 0;
  const launch = () => {
    while (next < bundleCount && inflight.length < prefetch) {
      const width = widthOf(next);
      const p = Promise.all([client.fetchEntryBundle(next, width), client.fetchHashTile({ level: 0, index: next, width })]);
      // Handled when awaited in order; avoid an unhandled rejection while it waits in the queue.
      p.catch(() => undefined);
      inflight.push(p);
      next++;
    }
  };
  // Nodes at tile-level boundaries (level 8, 16, ...) are the hashes of the upper tiles.
  const sink = (level: number, index: number, hash: Hash) => {
    if (level === 0 || level % TILE_HEIGHT !== 0) return;
    const key = `${level / TILE_HEIGHT}/${Math.floor(index / TILE_WIDTH)}`;
    let list = upper.get(key);
    if (list === undefined) upper.set(key, (list = []));
    list.push(hash);
  };
  let tiles = 0;
  for (let n = 0; n < bundleCount; n++) {
    launch();
    const [entries, tileData] = await inflight.shift()!;
    const width = widthOf(n);
    const leafHashes = client.hasher.hashLeaves(entries);
    tree.pushMany(leafHashes, sink);
    await compareTile(client, at, { level: 0, index: n, width }, leafHashes, tileData);
    tiles++;
    await options.onBundle?.(n * TILE_WIDTH, entries);
    options.onProgress?.({ entries: n * TILE_WIDTH + width, total: size });
  }
  const root = tree.root();
  if (!bytesEqual(root, at.checkpoint.root)) {
    throw misbehaviour(client, {
      kind: 'bad-entries',
      message: `the entries of the log hash to root ${toBase64(root)}, but the checkpoint of size ${size} says ${toBase64(at.checkpoint.root)}`,
      evidence: {
        candidate: at.note,
        details: { computedRoot: toBase64(root), checkpointRoot: toBase64(at.checkpoint.root), size },
      },
    });
  }
  for (const tile of tilesForSize(size)) {
    if (tile.level === 0) continue;
    const hashes = (upper.get(`${tile.level}/${tile.index}`) ?? []).slice(0, tile.width);
    await compareTile(client, at, tile, hashes);
    tiles++;
  }
  if (size === 0) options.onProgress?.({ entries: 0, total: 0 });
  return { size, root, bundles: bundleCount, tiles };
}

async function compareTile(
  client: LogClient,
  at: VerifiedCheckpoint,
  tile: TileId,
  expected: readonly Hash[],
  served?: Uint8Array,
): Promise<void> {
  const data = served ?? (await client.fetchHashTile(tile));
  const want = new Uint8Array(expected.length * HASH_SIZE);
  expected.forEach((h, i) => {
    want.set(h, i * HASH_SIZE);
  });
  if (bytesEqual(data, want)) return;
  const path = formatTilePath(tile);
  const evidence = { candidate: at.note, details: { tile: path, served: toBase64(data), recomputed: toBase64(want) } };
  if (tile.level > 0) {
    // Upper tiles are compared after the root computed from the entries matched the checkpoint,
    // so the entries are authentic and the tile is wrong.
    throw misbehaviour(client, {
      kind: 'bad-proof',
      message: `hash tile ${path} served by the log differs from the one recomputed from its entries`,
      evidence,
    });
  }
  // A level-0 tile holds the leaf hashes: either the tile or the bundle is wrong. The tile
  // authenticated against the checkpoint says which (hashTile throws 'bad-proof' if the tile is).
  await client.hashTile(tile, at);
  throw misbehaviour(client, {
    kind: 'bad-entries',
    message: `entry bundle ${formatEntriesPath(tile)} does not hash to the authenticated leaf hashes in tile ${path}`,
    evidence,
  });
}
