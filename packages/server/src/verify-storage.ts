import {
  bytesEqual,
  type Checkpoint,
  CompactTree,
  HASH_SIZE,
  type Hash,
  type Hasher,
  MerkleError,
  type NoteVerifier,
  openCheckpoint,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilesForSize,
  toBase64,
} from '@tlog/merkle';
import { type LogStore, StorageCorruptError } from './storage/store.js';
import { splitBundle } from './tree/entry-reader.js';
import { TILE_NODES, TileNodes } from './tree/tile-nodes.js';

/** What {@link verifyStorage} checks against. */
export interface StorageCheck {
  readonly hasher: Hasher;
  /** The log's key: the stored checkpoint (and the record) must verify under it. */
  readonly verifier: NoteVerifier;
  readonly origin: string;
  /** The checkpoint last recorded outside the store, if any: the store must extend it. */
  readonly recorded?: string;
  /** Told after each entry bundle. */
  readonly onProgress?: (entries: number, total: number) => void;
}

/** What a successful {@link verifyStorage} saw. */
export interface StorageReport {
  readonly size: number;
  readonly root: Hash;
  readonly bundles: number;
  readonly tiles: number;
  /** The size of the recorded checkpoint it was checked against (undefined: none). */
  readonly recordedSize?: number;
}

const corrupt = (where: string, what: string) => new StorageCorruptError(`storage is corrupt at ${where}: ${what}`);

function concat(hashes: readonly Hash[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  for (let i = 0; i < hashes.length; i++) out.set(hashes[i]!, i * HASH_SIZE);
  return out;
}

/** Opens a stored checkpoint under the log's key; StorageCorruptError naming `where` if it does not verify. */
function openStored(note: string, check: StorageCheck, where: string): Checkpoint {
  try {
    return openCheckpoint(note, check.verifier, check.origin).checkpoint;
  } catch (err) {
    if (err instanceof MerkleError)
      throw corrupt(where, `it is not a checkpoint of ${check.origin} signed by the log's key (${err.message})`);
    throw err;
  }
}

/**
 * Re-derives the whole tree from the stored entries and compares every stored derived fact
 * with it: each entry bundle (complete, contiguous, checksummed), the leaf-hash index, every
 * hash tile (inner levels of full tiles included), the tree state's right edge, and the root of
 * the signed checkpoint, plus the recorded checkpoint when given (the store must hold its tree).
 * Throws StorageCorruptError saying where the first difference is: damage the operator must
 * repair (from a backup), never something to blame clients or the log's honesty for.
 * O(size) reads and hashes, O(size / 256) memory.
 */
export async function verifyStorage(store: LogStore, check: StorageCheck): Promise<StorageReport> {
  const state = await store.readState();
  if (state === undefined) {
    if (check.recorded !== undefined) throw corrupt('the store', 'it is empty, but the checkpoint record names a signed tree');
    return { size: 0, root: check.hasher.emptyRoot(), bundles: 0, tiles: 0 };
  }
  const cp = openStored(state.checkpoint, check, 'the tree state');
  if (cp.size !== state.size) throw corrupt('the tree state', `its size ${state.size} differs from its checkpoint's ${cp.size}`);
  const recorded = check.recorded === undefined ? undefined : openStored(check.recorded, check, 'the checkpoint record');
  if (recorded !== undefined && recorded.size > state.size) {
    throw corrupt(
      'the store',
      `it holds ${state.size} entries, but the log signed a checkpoint of size ${recorded.size}: acknowledged entries are missing`,
    );
  }

  const size = state.size;
  const tree = new CompactTree(0, [], check.hasher);
  const upper = new Map<string, Hash[]>();
  const bundles = Math.ceil(size / TILE_WIDTH);
  let recordedRoot: Hash | undefined = recorded?.size === 0 ? check.hasher.emptyRoot() : undefined;
  const append = (hashes: readonly Hash[]) => {
    for (const node of tree.appendMany(hashes)) {
      if (node.level === 0 || node.level % TILE_HEIGHT !== 0) continue;
      const key = `${node.level / TILE_HEIGHT}/${Math.floor(node.index / TILE_WIDTH)}`;
      let list = upper.get(key);
      if (list === undefined) upper.set(key, (list = []));
      list.push(node.hash);
    }
  };
  let tiles = 0;
  for (let b = 0; b < bundles; b++) {
    const first = b * TILE_WIDTH;
    const width = Math.min(TILE_WIDTH, size - first);
    const entries = splitBundle(await store.readBundle(b));
    if (entries.length !== width)
      throw corrupt(`entry bundle ${b}`, `it holds ${entries.length} entries, the tree of size ${size} has ${width} there`);
    const leafHashes = check.hasher.hashLeaves(entries);

    const indexed = await store.findLeafHashes(leafHashes);
    for (let i = 0; i < width; i++) {
      if (indexed[i] !== first + i) {
        const got = indexed[i] === undefined ? 'no record' : `a record pointing to ${indexed[i]}`;
        throw corrupt(`the leaf index of entry ${first + i}`, `its leaf hash ${toBase64(leafHashes[i]!)} has ${got}`);
      }
    }

    const cut = recorded !== undefined && recorded.size > first && recorded.size <= first + width ? recorded.size - first : width;
    append(leafHashes.slice(0, cut));
    if (tree.size === recorded?.size) recordedRoot ??= tree.root();
    if (cut < width) append(leafHashes.slice(cut));

    await compareTile(store, check.hasher, 0, b, leafHashes);
    tiles++;
    check.onProgress?.(first + width, size);
  }
  for (const tile of tilesForSize(size)) {
    if (tile.level === 0) continue;
    const hashes = (upper.get(`${tile.level}/${tile.index}`) ?? []).slice(0, tile.width);
    await compareTile(store, check.hasher, tile.level, tile.index, hashes);
    tiles++;
  }

  const root = tree.root();
  if (!bytesEqual(root, cp.root)) {
    throw corrupt('the entries', `they hash to root ${toBase64(root)}, but the signed checkpoint of size ${size} has ${toBase64(cp.root)}`);
  }
  if (state.edge.length !== tree.edge.length || state.edge.some((h, i) => !bytesEqual(h, tree.edge[i]!))) {
    throw corrupt('the tree state', 'its right edge differs from the one recomputed from the entries');
  }
  if (recorded !== undefined && (recordedRoot === undefined || !bytesEqual(recordedRoot, recorded.root))) {
    throw corrupt('the store', `its tree of size ${recorded.size} has another root than the checkpoint the log signed at that size`);
  }
  let indexRecords = 0;
  await store.scanLeafHashes((hashes) => {
    indexRecords += hashes.length;
  });
  if (indexRecords !== size) throw corrupt('the leaf index', `it has ${indexRecords} records for ${size} entries`);
  return { size, root, bundles, tiles, ...(recorded === undefined ? {} : { recordedSize: recorded.size }) };
}

/** Compares stored tile (level, index) with the hashes recomputed for it (and, when full, its inner levels). */
async function compareTile(store: LogStore, hasher: Hasher, level: number, index: number, hashes: readonly Hash[]): Promise<void> {
  const where = `tile ${level}/${index}`;
  const [stored] = await store.readTiles([{ level, index }]);
  if (stored === undefined) throw corrupt(where, 'it is missing');
  const want = concat(hashes);
  if (stored.length < want.length || !bytesEqual(stored.subarray(0, want.length), want)) {
    throw corrupt(where, 'its hashes differ from the ones recomputed from the entries');
  }
  if (hashes.length === TILE_WIDTH) {
    const full = TileNodes.fromData(level, index, want, hasher).stored();
    if (stored.length !== TILE_NODES * HASH_SIZE || !bytesEqual(stored, full))
      throw corrupt(where, 'its stored inner levels differ from the recomputed ones');
  } else if (stored.length !== want.length) {
    throw corrupt(where, `it is ${stored.length} bytes for ${hashes.length} hashes`);
  }
}
