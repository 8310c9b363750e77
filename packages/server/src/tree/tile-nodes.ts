import { HASH_SIZE, TILE_HEIGHT, TILE_WIDTH, type Hash, type Hasher } from '@tlog/merkle';

/**
 * One hash tile with every inner level computed: level k (0..7) holds the hashes of the
 * complete subtrees of height k inside the tile, so any node whose leaves lie in the tile is an
 * O(1) lookup. A full tile costs 511 * 32 bytes. Nodes are only ever appended (the tree grows
 * left to right), which keeps the prefix of every level stable.
 */
export class TileNodes {
  private constructor(
    /** Tile level (tree level 8 * level). */
    readonly level: number,
    /** Tile index at that level. */
    readonly index: number,
    private readonly levels: Uint8Array[],
    private readonly counts: number[],
  ) {}

  /** An empty tile (level, index), to be filled with {@link TileNodes.set}. */
  static empty(level: number, index: number): TileNodes {
    const levels: Uint8Array[] = [];
    for (let k = 0; k < TILE_HEIGHT; k++) levels.push(new Uint8Array((TILE_WIDTH >> k) * HASH_SIZE));
    return new TileNodes(level, index, levels, new Array<number>(TILE_HEIGHT).fill(0));
  }

  /**
   * A tile from its stored bytes (width * 32 bytes, width 1..256), computing the inner levels.
   * Throws a RangeError when the length is not a positive multiple of 32 up to 256 hashes.
   */
  static fromData(level: number, index: number, data: Uint8Array, hasher: Hasher): TileNodes {
    if (data.length === 0 || data.length % HASH_SIZE !== 0 || data.length > TILE_WIDTH * HASH_SIZE) {
      throw new RangeError(`tile ${level}/${index} has ${data.length} bytes, not 1..256 hashes of 32 bytes`);
    }
    const t = TileNodes.empty(level, index);
    const width = data.length / HASH_SIZE;
    t.levels[0]!.set(data);
    t.counts[0] = width;
    for (let k = 1; k < TILE_HEIGHT; k++) {
      const below = t.levels[k - 1]!;
      const n = t.counts[k - 1]! >> 1;
      const out = t.levels[k]!;
      for (let i = 0; i < n; i++) {
        const l = below.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE);
        const r = below.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE);
        out.set(hasher.hashChildren(l, r), i * HASH_SIZE);
      }
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
    return new TileNodes(
      this.level,
      this.index,
      this.levels.map((l) => l.slice()),
      this.counts.slice(),
    );
  }

  /**
   * Appends the node at height k (0..7) inside the tile, at position pos; nodes arrive in tree
   * order, so pos must be the next free position of that height.
   */
  set(k: number, pos: number, hash: Hash): void {
    if (this.counts[k] !== pos) {
      throw new RangeError(`tile ${this.level}/${this.index}: node at height ${k} position ${pos} out of order (next is ${this.counts[k]})`);
    }
    this.levels[k]!.set(hash, pos * HASH_SIZE);
    this.counts[k] = pos + 1;
  }

  /** The node at height k, position pos inside the tile, or undefined when not complete yet. */
  node(k: number, pos: number): Hash | undefined {
    if (pos >= this.counts[k]!) return undefined;
    return this.levels[k]!.subarray(pos * HASH_SIZE, (pos + 1) * HASH_SIZE);
  }

  /** The tile's bytes at width w (default: its full current width); requires w <= width. */
  data(w: number = this.width): Uint8Array {
    if (w > this.width) throw new RangeError(`tile ${this.level}/${this.index} has width ${this.width}, asked ${w}`);
    return this.levels[0]!.subarray(0, w * HASH_SIZE);
  }

  /** Approximate memory held, for cache accounting. */
  get byteSize(): number {
    return (2 * TILE_WIDTH - 1) * HASH_SIZE;
  }
}
