/**
 * A NodeReader over hash tiles fetched from an untrusted source (a log's HTTP tiles, a mirror),
 * authenticated against a tree (size, root) the caller already trusts, e.g. from a verified
 * checkpoint. Like Go's tlog.TileHashReader: the tiles holding the root's subtrees are checked
 * against the root, and every other tile against the entry its parent tile holds for it, so a
 * tile is only ever used after it has been tied to the root.
 */
import { bytesEqual } from './encoding.js';
import { checkIndex, MerkleArgumentError, MerkleError, ProofError, RootMismatchError } from './errors.js';
import { defaultHasher, HASH_SIZE, type Hash, type Hasher } from './hash.js';
import type { NodeId, NodeReader } from './prove.js';
import { formatTilePath, hashTileRoot, nodeFromTile, TILE_WIDTH, type TileId, tileForNode } from './tile.js';
import { pushRange } from './treemath.js';

/** NodeReader over tiles fetched from an untrusted source, authenticated against a verified (size, root), like Go's tlog.TileHashReader. */
export class TileHashReader implements NodeReader {
  /** The trusted tree size. */
  readonly size: number;
  /** The trusted root of that tree. */
  readonly root: Hash;
  private readonly fetchTile: (tile: TileId) => Promise<Uint8Array>;
  private readonly hasher: Hasher;
  /** Tiles already authenticated, by path. */
  private readonly verified = new Map<string, Uint8Array>();
  private rootTiles: Promise<void> | undefined;

  /**
   * @param size trusted tree size (a safe integer), e.g. from a verified checkpoint.
   * @param root trusted 32-byte root of that tree.
   * @param fetchTile fetches a hash tile's bytes (tlog-tiles `tile/<L>/<N>[.p/<W>]`); may reject.
   * @param hasher hashing to use; defaults to defaultHasher.
   * Throws MerkleArgumentError for a bad size or root.
   */
  constructor(size: number, root: Hash, fetchTile: (tile: TileId) => Promise<Uint8Array>, hasher: Hasher = defaultHasher) {
    checkIndex(size, 'tree size');
    if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE) throw new MerkleArgumentError(`root must be a ${HASH_SIZE}-byte hash`);
    this.size = size;
    this.root = root;
    this.fetchTile = fetchTile;
    this.hasher = hasher;
  }

  /**
   * Hashes of complete subtrees of the trusted tree, in the order asked. Each id must be a
   * complete subtree of the tree (MerkleArgumentError otherwise). Throws ProofError (or its subclass
   * RootMismatchError) naming the tile path if a fetched tile has the wrong length or does not
   * authenticate; fetch errors propagate unchanged.
   */
  async readNodes(ids: readonly NodeId[]): Promise<Hash[]> {
    const tiles = ids.map((id) => tileForNode(id.level, id.index, this.size));
    await this.authenticateRootTiles();

    // Walk up from each tile until an authenticated one; collect what must be fetched.
    const missing = new Map<string, TileId>();
    for (let tile of tiles) {
      for (;;) {
        const path = formatTilePath(tile);
        if (this.verified.has(path) || missing.has(path)) break;
        if (tile.width !== TILE_WIDTH) {
          // Every partial tile holds part of the root and was authenticated above: reaching here is
          // a bug in this package, neither the caller's nor the tiles' fault.
          throw new MerkleError(`internal error: partial tile ${path} for tree size ${this.size} is not among the root tiles`);
        }
        missing.set(path, tile);
        tile = tileForNode((tile.level + 1) * 8, tile.index, this.size);
      }
    }
    if (missing.size > 0) {
      const list = [...missing.values()];
      const data = await Promise.all(list.map((t) => this.fetchTile(t)));
      // Parents first, so each tile is checked against an already authenticated one.
      const order = list.map((_, i) => i).sort((a, b) => list[b]!.level - list[a]!.level);
      for (const i of order) {
        const tile = list[i]!;
        const bytes = this.checkLength(tile, data[i]!);
        const parent = tileForNode((tile.level + 1) * 8, tile.index, this.size);
        const parentData = this.verified.get(formatTilePath(parent))!;
        const want = nodeFromTile(parent, parentData, (tile.level + 1) * 8, tile.index, this.hasher);
        const got = hashTileRoot(bytes, this.hasher);
        if (!bytesEqual(got, want)) {
          throw new RootMismatchError(
            want,
            got,
            `tile ${formatTilePath(tile)} (checked against ${formatTilePath(parent)} for tree size ${this.size})`,
          );
        }
        this.verified.set(formatTilePath(tile), bytes);
      }
    }
    return ids.map((id, i) => nodeFromTile(tiles[i]!, this.verified.get(formatTilePath(tiles[i]!))!, id.level, id.index, this.hasher));
  }

  private checkLength(tile: TileId, data: Uint8Array): Uint8Array {
    if (!(data instanceof Uint8Array) || data.length !== tile.width * HASH_SIZE) {
      throw new ProofError(
        `tile ${formatTilePath(tile)} must be ${tile.width * HASH_SIZE} bytes, got ${data instanceof Uint8Array ? data.length : typeof data}`,
      );
    }
    return data;
  }

  /** Fetches the tiles holding the root's subtrees and checks them against the root, once. */
  private authenticateRootTiles(): Promise<void> {
    this.rootTiles ??= this.fetchRootTiles().catch((e: unknown) => {
      this.rootTiles = undefined; // let a later call retry (e.g. after a network error)
      throw e;
    });
    return this.rootTiles;
  }

  private async fetchRootTiles(): Promise<void> {
    const ids: NodeId[] = [];
    pushRange(0, this.size, ids);
    if (ids.length === 0) return;
    const tiles = new Map<string, TileId>();
    const idTiles = ids.map((id) => {
      const t = tileForNode(id.level, id.index, this.size);
      tiles.set(formatTilePath(t), t);
      return t;
    });
    const list = [...tiles.entries()];
    const data = await Promise.all(list.map(([, t]) => this.fetchTile(t)));
    const got = new Map<string, Uint8Array>();
    list.forEach(([path, t], i) => {
      got.set(path, this.checkLength(t, data[i]!));
    });
    const hashes = ids.map((id, i) => nodeFromTile(idTiles[i]!, got.get(formatTilePath(idTiles[i]!))!, id.level, id.index, this.hasher));
    let h = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i--) h = this.hasher.hashChildren(hashes[i]!, h);
    if (!bytesEqual(h, this.root)) {
      throw new RootMismatchError(this.root, h, `tiles ${list.map(([p]) => p).join(', ')} (for tree size ${this.size})`);
    }
    for (const [path, bytes] of got) this.verified.set(path, bytes);
  }
}
