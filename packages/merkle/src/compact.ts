/**
 * The right edge of a growing Merkle tree ("compact range" [0, size)): one hash per set bit of
 * size, the roots of the perfect subtrees the tree decomposes into. Appending a leaf merges
 * equal-sized subtrees like a binary counter carries, so each append costs O(log n) hashes and
 * reports every node it completed, which is exactly what a log must store.
 */
import { checkIndex, MerkleArgumentError } from './errors.js';
import { defaultHasher, HASH_SIZE, type Hash, type Hasher } from './hash.js';
import type { NodeId, NodeReader } from './prove.js';
import { POW2, popcount, pushRange } from './treemath.js';

/** Below this many leaves, pushMany appends one by one (a level call costs more than it saves). */
const BATCH_MIN = 4;

/** A node completed by an append: the hash of the perfect subtree (level, index). */
export interface CompletedNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Hash;
}

/** Receives each node an append completes: the hash of the perfect subtree (level, index). */
export type NodeSink = (level: number, index: number, hash: Hash) => void;

/** The right edge of a growing tree: one hash per set bit of size, O(log n) per append. */
export class CompactTree {
  private _size: number;
  private readonly _edge: Hash[];
  private readonly hasher: Hasher;

  /**
   * @param size number of leaves already in the tree (default 0); a safe integer.
   * @param edge hashes of the perfect subtrees of [0, size), largest (leftmost) first: exactly
   *   one 32-byte hash per set bit of size. Copied (the array, not the hashes).
   * @param hasher hashing to use; defaults to defaultHasher.
   * Throws MerkleArgumentError for a bad size or an edge that does not match it.
   */
  constructor(size = 0, edge: readonly Hash[] = [], hasher: Hasher = defaultHasher) {
    checkIndex(size, 'tree size');
    const want = popcount(size);
    if (edge.length !== want) {
      throw new MerkleArgumentError(
        `a compact tree of size ${size} has ${want} edge hashes (one per set bit of the size), got ${edge.length}`,
      );
    }
    for (let i = 0; i < edge.length; i++) {
      const h = edge[i]!;
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
        throw new MerkleArgumentError(`edge hash ${i} must be ${HASH_SIZE} bytes, got ${h instanceof Uint8Array ? h.length : typeof h}`);
      }
    }
    this._size = size;
    this._edge = edge.slice();
    this.hasher = hasher;
  }

  /**
   * Loads the right edge of the tree of `size` leaves from stored complete subtrees, in one
   * readNodes call. Requires the reader to hold every complete subtree of that tree and to
   * return one hash per id (MerkleArgumentError otherwise, as for a bad size).
   */
  static async fromReader(reader: NodeReader, size: number, hasher: Hasher = defaultHasher): Promise<CompactTree> {
    checkIndex(size, 'tree size');
    const ids: NodeId[] = [];
    pushRange(0, size, ids);
    if (ids.length === 0) return new CompactTree(0, [], hasher);
    const hashes = await reader.readNodes(ids);
    if (hashes.length !== ids.length) {
      throw new MerkleArgumentError(
        `NodeReader returned ${hashes.length} hashes for ${ids.length} node ids; it must return one per id, in order`,
      );
    }
    return new CompactTree(size, hashes, hasher);
  }

  /** Number of leaves appended so far. */
  get size(): number {
    return this._size;
  }

  /** Roots of the perfect subtrees of [0, size), largest (leftmost) first. Do not mutate. */
  get edge(): readonly Hash[] {
    return this._edge;
  }

  /** The Merkle tree hash of the tree: SHA-256("") for size 0. */
  root(): Hash {
    const edge = this._edge;
    if (edge.length === 0) return this.hasher.emptyRoot();
    let h = edge[edge.length - 1]!;
    for (let i = edge.length - 2; i >= 0; i--) h = this.hasher.hashChildren(edge[i]!, h);
    return h;
  }

  /**
   * Appends one leaf (its 32-byte leaf hash, i.e. hasher.hashLeaf(entry)). Returns the nodes
   * this completed: the leaf itself (level 0) first, then each newly completed parent, upward.
   * Refuses (MerkleArgumentError) a leaf hash that is not 32 bytes, or to grow past 2^53 - 1 leaves.
   */
  append(leafHash: Hash): CompletedNode[] {
    const out: CompletedNode[] = [];
    this.push(leafHash, (level, index, hash) => out.push({ level, index, hash }));
    return out;
  }

  /**
   * {@link CompactTree.append} without building a list: `sink` (if any) is called with each
   * completed node, the leaf first, then each new parent upward. For bulk appends.
   */
  push(leafHash: Hash, sink?: NodeSink): void {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) {
      throw new MerkleArgumentError(
        `leaf hash must be ${HASH_SIZE} bytes, got ${leafHash instanceof Uint8Array ? leafHash.length : typeof leafHash}`,
      );
    }
    const size = this._size;
    if (size >= Number.MAX_SAFE_INTEGER) throw new MerkleArgumentError(`tree size ${size} cannot grow: sizes are limited to 2^53-1`);
    sink?.(0, size, leafHash);
    let h = leafHash;
    let level = 0;
    let index = size;
    // Each trailing 1 bit of size is a left sibling waiting on the edge: merge with it.
    while (index % 2 === 1) {
      h = this.hasher.hashChildren(this._edge.pop()!, h);
      level++;
      index = (index - 1) / 2;
      sink?.(level, index, h);
    }
    this._edge.push(h);
    this._size = size + 1;
  }

  /** Appends leaf hashes in order; returns all completed nodes, in the order append gives them. */
  appendMany(leafHashes: readonly Hash[]): CompletedNode[] {
    const out: CompletedNode[] = [];
    this.pushMany(leafHashes, (level, index, hash) => out.push({ level, index, hash }));
    return out;
  }

  /**
   * Appends leaf hashes in order, as {@link CompactTree.push} does one by one (same nodes, same
   * order to `sink`), but hashes each tree level of the batch in one {@link Hasher.hashNodes}
   * call, which is where a batch kernel saves the per-hash cost. The hashes given to `sink` are
   * 32-byte views into one buffer per level. All-or-nothing: a bad leaf hash (MerkleArgumentError)
   * leaves the tree unchanged.
   */
  pushMany(leafHashes: readonly Hash[], sink?: NodeSink): void {
    const k = leafHashes.length;
    for (let i = 0; i < k; i++) {
      const h = leafHashes[i];
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
        throw new MerkleArgumentError(`leaf hash ${i} must be ${HASH_SIZE} bytes, got ${h instanceof Uint8Array ? h.length : typeof h}`);
      }
    }
    const start = this._size;
    if (k > Number.MAX_SAFE_INTEGER - start) {
      throw new MerkleArgumentError(`tree size ${start} cannot grow by ${k}: sizes are limited to 2^53-1`);
    }
    if (k < BATCH_MIN) {
      for (let i = 0; i < k; i++) this.push(leafHashes[i]!, sink);
      return;
    }
    const end = start + k;
    // The old edge by level: bit l of start set means a perfect subtree of height l, largest first.
    const oldEdge = new Map<number, Hash>();
    for (let l = 52, j = 0; l >= 0; l--) if (Math.floor(start / POW2[l]!) % 2 === 1) oldEdge.set(l, this._edge[j++]!);
    // levels[l] holds the nodes of level l this batch completes: indexes [floor(start/2^l), floor(end/2^l)).
    const leaves = new Uint8Array(k * HASH_SIZE);
    for (let i = 0; i < k; i++) leaves.set(leafHashes[i]!, i * HASH_SIZE);
    const levels: Uint8Array[] = [leaves];
    for (let l = 1; ; l++) {
      const lo = Math.floor(start / POW2[l]!);
      const count = Math.floor(end / POW2[l]!) - lo;
      if (count === 0) break;
      const below = levels[l - 1]!;
      // A level below starting at an odd index begins with a right child whose left sibling was
      // complete before the batch: on the old edge.
      let pairs: Uint8Array;
      if (Math.floor(start / POW2[l - 1]!) % 2 === 1) {
        pairs = new Uint8Array(count * 2 * HASH_SIZE);
        pairs.set(oldEdge.get(l - 1)!);
        pairs.set(below.subarray(0, (count * 2 - 1) * HASH_SIZE), HASH_SIZE);
      } else {
        pairs = below.subarray(0, count * 2 * HASH_SIZE);
      }
      levels.push(this.hasher.hashNodes(pairs));
    }
    const node = (l: number, index: number): Hash => {
      const o = (index - Math.floor(start / POW2[l]!)) * HASH_SIZE;
      return levels[l]!.subarray(o, o + HASH_SIZE);
    };
    const edge: Hash[] = [];
    for (let l = 52; l >= 0; l--) {
      const n = Math.floor(end / POW2[l]!);
      if (n % 2 === 0) continue;
      edge.push(n - 1 < Math.floor(start / POW2[l]!) ? oldEdge.get(l)! : node(l, n - 1));
    }
    this._edge.length = 0;
    for (const h of edge) this._edge.push(h);
    this._size = end;
    if (sink === undefined) return;
    // In append order: each leaf, then the parents it completes, upward.
    for (let x = start; x < end; x++) {
      sink(0, x, node(0, x));
      for (let l = 1, m = 2; (x + 1) % m === 0; l++, m *= 2) {
        const index = (x + 1) / m - 1;
        sink(l, index, node(l, index));
      }
    }
  }

  /**
   * The hashes of the incomplete subtrees [start, size) on the tree's right edge, keyed by start:
   * one per set bit of the size but the lowest, what {@link NodeReader.rangeHash} needs to make
   * proofs at this size without hashing (popcount(size) - 1 hashes to compute).
   */
  rightEdgeRanges(): Map<number, Hash> {
    const edge = this._edge;
    const ranges = new Map<number, Hash>();
    if (edge.length < 2) return ranges;
    // edge[j] is the j-th largest perfect subtree: it starts where the larger ones before it end.
    const starts: number[] = [];
    for (let bit = 52, start = 0; bit >= 0; bit--) {
      const width = POW2[bit]!;
      if (Math.floor(this._size / width) % 2 === 1) {
        starts.push(start);
        start += width;
      }
    }
    let acc = edge[edge.length - 1]!;
    for (let j = edge.length - 2; j >= 0; j--) {
      acc = this.hasher.hashChildren(edge[j]!, acc);
      ranges.set(starts[j]!, acc);
    }
    return ranges;
  }

  /** An independent copy (sharing the immutable hashes). */
  clone(): CompactTree {
    return new CompactTree(this._size, this._edge, this.hasher);
  }
}
