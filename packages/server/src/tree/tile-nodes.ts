import { HASH_SIZE, type Hash, type Hasher, TILE_HEIGHT, TILE_WIDTH } from '@tlog/merkle';

/** Hash offset of each height k (0..7) inside a tile's node buffer: 256, 128, ... 2 hashes. */
const OFFSET: readonly number[] = Array.from({ length: TILE_HEIGHT }, (_, k) => 2 * TILE_WIDTH - ((2 * TILE_WIDTH) >> k));
/** Hashes a full tile holds at heights 0..7 (256 + 128 + ... + 2). */
export const TILE_NODES = 2 * TILE_WIDTH - 2;

/**
 * One hash tile with every inner level computed: height k (0..7) holds the hashes of the
 * complete subtrees of height k inside the tile, so any node whose leaves lie in the tile is an
 * O(1) lookup. All heights live in one buffer, height 0 (the tile's own hashes) first, so the
 * tile's C2SP bytes are a prefix of it. A full tile is stored that way, inner levels included
 * ({@link TileNodes.stored}), and loads without hashing; a partial tile is stored as its
 * C2SP bytes only. Nodes are only ever appended (the tree grows left to right), which keeps the
 * prefix of every height stable.
 */
export class TileNodes {
  private constructor(
    /** Tile level (tree level 8 * level). */
    readonly level: number,
    /** Tile index at that level. */
    readonly index: number,
    private readonly nodes: Uint8Array,
    private readonly counts: number[],
  ) {}

  /** An empty tile (level, index), to be filled with {@link TileNodes.set}. */
  static empty(level: number, index: number): TileNodes {
    return new TileNodes(level, index, new Uint8Array(TILE_NODES * HASH_SIZE), new Array<number>(TILE_HEIGHT).fill(0));
  }

  /**
   * A tile from its stored bytes: either its C2SP bytes (width * 32, width 1..256), whose inner
   * levels are computed, or a full tile with its inner levels ({@link TILE_NODES} * 32 bytes,
   * taken over without copying). Throws a RangeError for any other length.
   */
  static fromData(level: number, index: number, data: Uint8Array, hasher: Hasher): TileNodes {
    if (data.length === TILE_NODES * HASH_SIZE) {
      return new TileNodes(
        level,
        index,
        data,
        Array.from({ length: TILE_HEIGHT }, (_, k) => TILE_WIDTH >> k),
      );
    }
    if (data.length === 0 || data.length % HASH_SIZE !== 0 || data.length > TILE_WIDTH * HASH_SIZE) {
      throw new RangeError(
        `tile ${level}/${index} has ${data.length} bytes, not 1..256 hashes of 32 bytes (or a full tile with inner levels)`,
      );
    }
    const t = TileNodes.empty(level, index);
    const nodes = t.nodes;
    nodes.set(data);
    t.counts[0] = data.length / HASH_SIZE;
    for (let k = 1; k < TILE_HEIGHT; k++) {
      const below = OFFSET[k - 1]! * HASH_SIZE;
      const out = OFFSET[k]! * HASH_SIZE;
      const n = t.counts[k - 1]! >> 1;
      // The children of height k's nodes lie pairwise in order at height k - 1: one batch call.
      if (n > 0) nodes.set(hasher.hashNodes(nodes.subarray(below, below + 2 * n * HASH_SIZE)), out);
      t.counts[k] = n;
    }
    return t;
  }

  /** Number of hashes at the tile's own level (its width, 0..256). */
  get width(): number {
    return this.counts[0]!;
  }

  /** True when the tile holds 256 hashes and can never change again. */
  get full(): boolean {
    return this.counts[0] === TILE_WIDTH;
  }

  /** A deep copy, so a staged batch can grow it without touching what readers see. */
  clone(): TileNodes {
    return new TileNodes(this.level, this.index, this.nodes.slice(), this.counts.slice());
  }

  /**
   * Appends the node at height k (0..7) inside the tile, at position pos; nodes arrive in tree
   * order, so pos must be the next free position of that height.
   */
  set(k: number, pos: number, hash: Hash): void {
    if (this.counts[k] !== pos) {
      throw new RangeError(
        `tile ${this.level}/${this.index}: node at height ${k} position ${pos} out of order (next is ${this.counts[k]})`,
      );
    }
    this.nodes.set(hash, (OFFSET[k]! + pos) * HASH_SIZE);
    this.counts[k] = pos + 1;
  }

  /** The node at height k, position pos inside the tile, or undefined when not complete yet. */
  node(k: number, pos: number): Hash | undefined {
    if (pos >= this.counts[k]!) return undefined;
    const o = (OFFSET[k]! + pos) * HASH_SIZE;
    return this.nodes.subarray(o, o + HASH_SIZE);
  }

  /** The tile's C2SP bytes at width w (default: its full current width); requires w <= width. */
  data(w: number = this.width): Uint8Array {
    if (w > this.width) throw new RangeError(`tile ${this.level}/${this.index} has width ${this.width}, asked ${w}`);
    return this.nodes.subarray(0, w * HASH_SIZE);
  }

  /** What the store keeps: the C2SP bytes, followed by the inner levels once the tile is full. */
  stored(): Uint8Array {
    return this.full ? this.nodes : this.data();
  }

  /** Memory held, for cache accounting. */
  get byteSize(): number {
    return this.nodes.byteLength;
  }
}
