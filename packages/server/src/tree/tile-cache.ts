import { type Hash, type Hasher, type NodeId, type NodeReader, type NodeSink, TILE_HEIGHT, TILE_WIDTH } from '@tlog/merkle';
import { LRUCache } from 'lru-cache';
import { type LogStore, StorageError } from '../storage/store.js';
import { TileNodes } from './tile-nodes.js';

/** Tiles touched by one batch, before it is committed. */
export interface StagedTiles {
  /** Every tile that is new or wider, in tree order; each must be written with its data(). */
  readonly touched: readonly TileNodes[];
  /** The right edge (last tile of every tile level) after the batch. */
  readonly edge: ReadonlyMap<number, TileNodes>;
}

/**
 * The tree's hashes as the server reads them: the right edge (the last, possibly partial, tile
 * of every tile level) lives in memory and is replaced only after a commit, the last few tiles
 * that became full stay at hand, full tiles that were read come from an LRU cache (filled by
 * reads only, so a bulk ingest does not flush it), and misses are read from the store with one
 * getMany per call.
 *
 * Readers may only ask for nodes of trees no larger than the last committed size; nodes never
 * change once complete, so a reader racing with a commit still gets correct hashes.
 */
export class TileCache implements NodeReader {
  private edge: ReadonlyMap<number, TileNodes> = new Map();
  /** Full tiles that were read; the least recently used goes first beyond maxTiles. */
  private readonly lru: LRUCache<number, TileNodes>;
  /** The last tiles that became full, in completion order (see apply). */
  private readonly recent = new Map<number, TileNodes>();
  private readonly loading = new Map<number, Promise<TileNodes>>();
  /** For the last few committed sizes: the hash of [start, size) for each start on the right edge. */
  private readonly rightEdges = new Map<number, ReadonlyMap<number, Hash>>();

  /** @param maxTiles how many full tiles the read cache keeps (16 KiB each, inner levels included) */
  constructor(
    private readonly store: LogStore,
    private readonly hasher: Hasher,
    maxTiles: number,
  ) {
    this.lru = new LRUCache({ max: maxTiles });
  }

  /** Loads the right edge of a tree of `size` from the store (startup; one getMany). */
  async load(size: number): Promise<void> {
    const ids: { level: number; index: number }[] = [];
    for (let level = 0, nodes = size; nodes >= 1; level++, nodes = Math.floor(nodes / TILE_WIDTH)) {
      ids.push({ level, index: Math.floor((nodes - 1) / TILE_WIDTH) });
    }
    const data = await this.store.readTiles(ids);
    const edge = new Map<number, TileNodes>();
    ids.forEach((id, i) => {
      const d = data[i];
      if (d === undefined) throw new StorageError(`tile ${id.level}/${id.index} is missing from the store for tree size ${size}`);
      edge.set(id.level, TileNodes.fromData(id.level, id.index, d, this.hasher));
    });
    this.edge = edge;
  }

  /**
   * Remembers the incomplete right-edge subtrees of the committed tree of `size` leaves
   * (CompactTree.rightEdgeRanges) so that proofs at this size get them from
   * {@link TileCache.rangeHash} instead of hashing them again (about one hash per set bit of the
   * size, per proof). Keeps the last four sizes: the published tree may lag the committed one.
   */
  rememberRightEdge(size: number, ranges: ReadonlyMap<number, Hash>): void {
    this.rightEdges.delete(size);
    this.rightEdges.set(size, ranges);
    if (this.rightEdges.size > 4) this.rightEdges.delete(this.rightEdges.keys().next().value!);
  }

  /** NodeReader.rangeHash: the hash of [start, end) when end is a remembered size and start on its right edge. */
  rangeHash(start: number, end: number): Hash | undefined {
    return this.rightEdges.get(end)?.get(start);
  }

  /**
   * Computes the tiles a batch changes from the nodes its appends complete, without changing
   * what readers see: `append` appends the batch to a compact tree, giving every completed node
   * to the sink in append order (CompactTree.pushMany does). Apply with {@link TileCache.apply}
   * after the commit. `base`: the staged tiles of a batch not yet applied, that this one follows
   * (overlapped commits); its tiles are copied before they change. Default: the applied edge.
   */
  stage(append: (sink: NodeSink) => void, base?: StagedTiles): StagedTiles {
    const edge = new Map(base?.edge ?? this.edge);
    const mine = new Set<TileNodes>();
    const touched: TileNodes[] = [];
    append((nodeLevel, nodeIndex, hash) => {
      const level = Math.floor(nodeLevel / TILE_HEIGHT);
      const k = nodeLevel % TILE_HEIGHT;
      const span = TILE_WIDTH >> k;
      const index = Math.floor(nodeIndex / span);
      let t = edge.get(level);
      if (t === undefined || t.index < index) {
        t = TileNodes.empty(level, index);
      } else if (!mine.has(t)) {
        t = t.clone();
      }
      if (!mine.has(t)) {
        mine.add(t);
        touched.push(t);
        edge.set(level, t);
      }
      t.set(k, nodeIndex % span, hash);
    });
    return { touched, edge };
  }

  /** Makes a committed batch's tiles visible to readers. */
  apply(staged: StagedTiles): void {
    // Tiles that just became full leave the edge. Keep the last few at hand (the next receipts
    // and monitors read them) without letting a bulk ingest flush the read cache: they enter
    // the LRU only when read.
    for (const t of staged.touched) {
      if (!t.full) continue;
      this.recent.set(key(t.level, t.index), t);
      if (this.recent.size > RECENT_TILES) this.recent.delete(this.recent.keys().next().value!);
    }
    this.edge = staged.edge;
  }

  /** The last tile of tile level `level` (undefined when the tree has no node that high). */
  edgeTile(level: number): TileNodes | undefined {
    return this.edge.get(level);
  }

  /**
   * The bytes of hash tile (level, index) at width w, or undefined when the store has no such
   * tile that wide. Full tiles are served from the cache when there, else read without caching
   * (a crawler reading every tile once should not evict the hot ones).
   */
  async tileData(level: number, index: number, width: number): Promise<Uint8Array | undefined> {
    const e = this.edge.get(level);
    if (e === undefined || index > e.index) return undefined;
    if (index === e.index) return width <= e.width ? e.data(width) : undefined;
    const cached = this.lru.get(key(level, index)) ?? this.recent.get(key(level, index));
    if (cached !== undefined) return cached.data(width);
    const [d] = await this.store.readTiles([{ level, index }]);
    if (d === undefined || d.length < width * 32) return undefined;
    return d.subarray(0, width * 32);
  }

  /** NodeReader: the hashes of the complete subtrees asked for (synchronous when all are cached). */
  readNodes(ids: readonly NodeId[]): Hash[] | Promise<Hash[]> {
    const out = new Array<Hash>(ids.length);
    let missing: number[] | undefined;
    // Consecutive ids of a proof mostly share a tile: look each tile up (and refresh it) once.
    let lastKey = -1;
    let last: TileNodes | undefined;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const k = id.level % TILE_HEIGHT;
      const span = TILE_WIDTH >> k;
      const level = (id.level - k) / TILE_HEIGHT;
      const index = Math.floor(id.index / span);
      const tk = key(level, index);
      if (tk !== lastKey) {
        lastKey = tk;
        last = this.tileAt(level, index, tk);
      }
      const h = last?.node(k, id.index % span);
      if (h !== undefined) out[i] = h;
      else if (last === undefined) (missing ??= []).push(i);
      else throw new StorageError(`node ${id.level}/${id.index} is beyond the stored tree`);
    }
    if (missing === undefined) return out;
    return this.fill(ids, out, missing);
  }

  /** The edge tile or a cached full tile (refreshing its recency); undefined when not in memory. */
  private tileAt(level: number, index: number, tk: number): TileNodes | undefined {
    const e = this.edge.get(level);
    if (e === undefined || index > e.index) throw new StorageError(`tile ${level}/${index} is beyond the stored tree`);
    if (index === e.index) return e;
    let t = this.lru.get(tk); // refreshes its recency
    if (t === undefined) {
      t = this.recent.get(tk);
      if (t !== undefined) this.remember(t);
    }
    return t;
  }

  private async fill(ids: readonly NodeId[], out: Hash[], missing: number[]): Promise<Hash[]> {
    const want = new Map<number, { level: number; index: number }>();
    for (const i of missing) {
      const { level, index } = locate(ids[i]!);
      want.set(key(level, index), { level, index });
    }
    await this.loadFull([...want.values()]);
    for (const i of missing) {
      const h = this.cachedNode(ids[i]!);
      if (h === undefined) {
        const id = ids[i]!;
        throw new StorageError(`node ${id.level}/${id.index} is not in the stored tree`);
      }
      out[i] = h;
    }
    return out;
  }

  /** Loads full tiles into the LRU (one getMany for all misses; concurrent loads are shared). */
  private async loadFull(tiles: { level: number; index: number }[]): Promise<void> {
    const waits: Promise<TileNodes>[] = [];
    const fetch: { level: number; index: number }[] = [];
    for (const t of tiles) {
      const p = this.loading.get(key(t.level, t.index));
      if (p !== undefined) waits.push(p);
      else if (!this.lru.has(key(t.level, t.index)) && !this.recent.has(key(t.level, t.index))) fetch.push(t);
    }
    if (fetch.length > 0) {
      const read = this.store.readTiles(fetch);
      fetch.forEach((t, i) => {
        const k = key(t.level, t.index);
        const p = read.then((all) => {
          const d = all[i];
          const nodes = d === undefined ? undefined : TileNodes.fromData(t.level, t.index, d, this.hasher);
          if (nodes === undefined || !nodes.full) {
            throw new StorageError(`full tile ${t.level}/${t.index} is missing or short in the store`);
          }
          this.remember(nodes);
          return nodes;
        });
        p.then(
          () => this.loading.delete(k),
          () => this.loading.delete(k),
        );
        this.loading.set(k, p);
        waits.push(p);
      });
    }
    await Promise.all(waits);
  }

  private cachedNode(id: NodeId): Hash | undefined {
    const { level, index, k, pos } = locate(id);
    return this.tileAt(level, index, key(level, index))?.node(k, pos);
  }

  private remember(t: TileNodes): void {
    this.lru.set(key(t.level, t.index), t);
  }
}

/** A tile's cache key: unique for every level (< 8) and index (< 2^45) of a tree under 2^53 leaves. */
/** How many just-completed full tiles stay in memory before anyone reads them. */
const RECENT_TILES = 16;

function key(level: number, index: number): number {
  return index * 8 + level;
}

/** Where a tree node lives: tile (level, index) and the position at height k inside it. */
function locate(id: NodeId): { level: number; index: number; k: number; pos: number } {
  const k = id.level % TILE_HEIGHT;
  const span = TILE_WIDTH >> k;
  return { level: Math.floor(id.level / TILE_HEIGHT), index: Math.floor(id.index / span), k, pos: id.index % span };
}
