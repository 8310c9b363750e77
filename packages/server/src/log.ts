import {
  CompactTree,
  formatCheckpoint,
  formatTlogProof,
  type Hash,
  type Hasher,
  type NoteSigner,
  parseCheckpoint,
  parseNote,
  proveConsistency,
  proveInclusion,
  signNote,
  TILE_WIDTH,
  toBase64,
} from '@tlog/merkle';
import { ImmediatePublisher, type Published, type Publisher } from './publisher.js';
import { Sequencer, type SequencerOptions } from './sequencer.js';
import type { LogStore } from './storage/store.js';
import { EntryReader } from './tree/entry-reader.js';
import { LeafFilter } from './tree/leaf-filter.js';
import { TileCache } from './tree/tile-cache.js';

/** What a Log needs besides its store. */
export interface LogOptions {
  /** Checkpoint origin; must be the signer's key name. */
  readonly origin: string;
  readonly signer: NoteSigner;
  /** The verifier key string matching `signer`. */
  readonly verifierKey: string;
  readonly hasher: Hasher;
  readonly sequencer: SequencerOptions;
  /** Full hash tiles kept in memory. */
  readonly tileCacheTiles: number;
  /** Bytes of full entry bundles kept in memory. */
  readonly entryCacheBytes: number;
  /** Builds the publisher (e.g. a witness policy); default publishes every commit at once. */
  readonly publisher?: (initial: Published, log: Log) => Publisher;
}

/** The answer for a group of appended entries: one index and leaf hash per entry, in order. */
export interface Appended {
  readonly indexes: readonly number[];
  readonly leafHashes: readonly Hash[];
  /** When asked for: c2sp.org/tlog-proof@v1 receipts of inclusion in `published.checkpoint`. */
  readonly receipts?: readonly string[];
  readonly published: Published;
}

/**
 * The leaf filter for a tree of `size` leaves: the one saved at the last clean shutdown when it
 * describes exactly this tree, else an empty one rebuilt from the leaf-hash index in the
 * background (until then every dedup lookup goes to the store).
 */
async function openLeafFilter(store: LogStore, size: number): Promise<LeafFilter> {
  const saved = await store.readLeafFilter();
  const loaded = saved === undefined ? undefined : LeafFilter.deserialize(saved, size);
  if (loaded !== undefined) return loaded;
  const filter = new LeafFilter(size === 0);
  if (size > 0) void filter.rebuild(store).catch(() => {});
  return filter;
}

/** The stored state does not belong to this log (other origin) or does not add up. */
export class LogStateError extends Error {
  /** @param message what does not match and what to do */
  constructor(message: string) {
    super(message);
    this.name = 'LogStateError';
  }
}

/** A request names something the published tree does not have (maps to 404). */
export class NotFoundError extends Error {
  /** @param message what was asked and how big the tree is */
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/**
 * One transparency log: the domain API the HTTP routes call. Writes go through the Sequencer;
 * reads only see the published tree (never an entry or tile beyond the published checkpoint).
 */
export class Log {
  private constructor(
    readonly origin: string,
    readonly verifierKey: string,
    private readonly hasher: Hasher,
    private readonly store: LogStore,
    private readonly tiles: TileCache,
    private readonly entryReader: EntryReader,
    private readonly sequencer: Sequencer,
    private readonly filter: LeafFilter,
    private publisher: Publisher,
  ) {}

  private inflight = 0;
  private onIdle: (() => void) | undefined;

  /**
   * Opens the log in `store`: reads the state record (never replays the log), checks it against
   * the origin, and loads the right edge of the tree. A fresh store gets the empty tree's
   * signed checkpoint committed first.
   */
  static async open(store: LogStore, opts: LogOptions): Promise<Log> {
    if (opts.signer.name !== opts.origin) {
      throw new LogStateError(`the signing key is named "${opts.signer.name}" but the origin is "${opts.origin}"`);
    }
    let state = await store.readState();
    if (state === undefined) {
      const root = opts.hasher.emptyRoot();
      const checkpoint = signNote(formatCheckpoint({ origin: opts.origin, size: 0, root, extensions: [] }), [opts.signer]);
      const batch = store.newBatch();
      state = { size: 0, edge: [], checkpoint };
      batch.putState(state);
      await store.commit(batch);
    }
    const cp = parseCheckpoint(parseNote(state.checkpoint).text);
    if (cp.origin !== opts.origin) {
      throw new LogStateError(
        `the data dir holds the log "${cp.origin}", not "${opts.origin}"; start with --origin ${cp.origin} or use another --data-dir`,
      );
    }
    const tree = new CompactTree(state.size, state.edge, opts.hasher);
    const root = tree.root();
    if (cp.size !== state.size || toBase64(cp.root) !== toBase64(root)) {
      throw new LogStateError(
        `the stored tree state (size ${state.size}) does not match its checkpoint (size ${cp.size}); the store is corrupt`,
      );
    }
    const tiles = new TileCache(store, opts.hasher, opts.tileCacheTiles);
    await tiles.load(state.size);
    tiles.rememberRightEdge(state.size, tree.rightEdgeRanges());
    const entryReader = new EntryReader(store, opts.entryCacheBytes);
    const filter = await openLeafFilter(store, state.size);
    let initial: Published = { size: state.size, root, checkpoint: state.checkpoint };
    // The sequencer reports commits to whichever publisher the log ends up with.
    const sequencer = new Sequencer(
      store,
      tiles,
      tree,
      opts.signer,
      opts.origin,
      opts.hasher,
      opts.sequencer,
      (c) => log.publisher.committed(c),
      filter,
    );
    const log: Log = new Log(
      opts.origin,
      opts.verifierKey,
      opts.hasher,
      store,
      tiles,
      entryReader,
      sequencer,
      filter,
      new ImmediatePublisher(initial),
    );
    if (opts.publisher !== undefined) {
      const witnessed = await store.readWitnessed();
      if (witnessed?.startsWith(formatCheckpoint({ origin: opts.origin, size: state.size, root, extensions: [] }))) {
        initial = { ...initial, checkpoint: witnessed };
      }
      log.publisher = opts.publisher(initial, log);
    }
    return log;
  }

  /** The published checkpoint (what /checkpoint serves). */
  get published(): Published {
    return this.publisher.current;
  }

  /** The size of the last committed tree (>= published size). */
  get committedSize(): number {
    return this.sequencer.size;
  }

  /** Entries and bytes admitted and waiting for a commit (what backpressure is measured on). */
  get pool(): { readonly entries: number; readonly bytes: number } {
    return this.sequencer.pool;
  }

  /** Whether deduplication can rule entries out in memory (false while the leaf filter is rebuilt after a crash). */
  get leafFilterReady(): boolean {
    return this.filter.ready;
  }

  /** The store, for publishers that persist cosigned checkpoints. */
  get storage(): LogStore {
    return this.store;
  }

  /**
   * Appends entries (0..65535 bytes each) durably; resolves once they are in a published
   * checkpoint, with receipts when asked. Throws PoolFullError / SequencerClosedError /
   * StorageError (nothing acknowledged).
   */
  async append(entries: readonly Uint8Array[], withReceipts: boolean): Promise<Appended> {
    this.inflight++;
    try {
      return await this.appendNow(entries, withReceipts);
    } finally {
      if (--this.inflight === 0) this.onIdle?.();
    }
  }

  private async appendNow(entries: readonly Uint8Array[], withReceipts: boolean): Promise<Appended> {
    const { indexes, leafHashes } = await this.sequencer.submit(entries);
    let need = 0;
    for (const i of indexes) if (i >= need) need = i + 1;
    const published = await this.publisher.waitFor(need);
    if (!withReceipts) return { indexes, leafHashes, published };
    const receipts = new Array<string>(indexes.length);
    for (let i = 0; i < indexes.length; i++) {
      const index = indexes[i]!;
      const proof = await proveInclusion(this.tiles, index, published.size, this.hasher);
      receipts[i] = formatTlogProof({ index, proof, checkpoint: published.checkpoint });
    }
    return { indexes, leafHashes, receipts, published };
  }

  /** Inclusion proof of `index` in the tree of size `treeSize` (index < treeSize <= published size). */
  async inclusionProof(index: number, treeSize: number): Promise<Hash[]> {
    this.checkTreeSize(treeSize);
    if (index >= treeSize) throw new NotFoundError(`index ${index} is not in a tree of size ${treeSize}`);
    return proveInclusion(this.tiles, index, treeSize, this.hasher);
  }

  /** Consistency proof between trees of sizes from <= to <= published size. */
  async consistencyProof(from: number, to: number): Promise<Hash[]> {
    this.checkTreeSize(to);
    return proveConsistency(this.tiles, from, to, this.hasher);
  }

  /** Consistency proof between committed trees (for witnesses: the published size may lag). */
  async committedConsistencyProof(from: number, to: number): Promise<Hash[]> {
    if (to > this.sequencer.size) throw new NotFoundError(`tree size ${to} is beyond the committed size ${this.sequencer.size}`);
    return proveConsistency(this.tiles, from, to, this.hasher);
  }

  /** The leaf hash at `index` (< published size). */
  async leafHash(index: number): Promise<Hash> {
    this.checkIndex(index);
    const [h] = await this.tiles.readNodes([{ level: 0, index }]);
    return h!;
  }

  /** The index of the entry with this leaf hash in the published tree, or undefined. */
  async findLeafHash(leafHash: Hash): Promise<number | undefined> {
    const [i] = await this.store.findLeafHashes([leafHash]);
    return i !== undefined && i < this.published.size ? i : undefined;
  }

  /** Hash tile bytes, or NotFoundError when the published tree does not have that tile that wide. */
  async tile(level: number, index: number, width: number): Promise<Uint8Array> {
    const nodes = Math.floor(this.published.size / 2 ** (8 * level));
    if (index * TILE_WIDTH + width > nodes)
      throw new NotFoundError(`the tree of size ${this.published.size} has no tile ${level}/${index} of width ${width}`);
    const data = await this.tiles.tileData(level, index, width);
    if (data === undefined) throw new NotFoundError(`tile ${level}/${index} width ${width} is not stored`);
    return data;
  }

  /** Entry bundle bytes, or NotFoundError when the published tree does not have it that wide. */
  async entryBundle(index: number, width: number): Promise<Uint8Array> {
    if (index * TILE_WIDTH + width > this.published.size) {
      throw new NotFoundError(`the tree of size ${this.published.size} has no entry bundle ${index} of width ${width}`);
    }
    const data = await this.entryReader.bundle(index, width);
    if (data === undefined) throw new NotFoundError(`entry bundle ${index} width ${width} is not stored`);
    return data;
  }

  /** Entries [start, end) of the published tree (start < end <= published size). */
  async entries(start: number, end: number): Promise<Uint8Array[]> {
    if (end > this.published.size || start >= end) {
      throw new NotFoundError(`entries [${start}, ${end}) are not in the tree of size ${this.published.size}`);
    }
    const out = await this.entryReader.entries(start, end);
    if (out === undefined) throw new NotFoundError(`entries [${start}, ${end}) are not stored`);
    return out;
  }

  /** Stops accepting entries, commits and publishes what was admitted, stops the publisher. */
  async close(): Promise<void> {
    await this.sequencer.close();
    // Waiters whose entries were committed still build receipts from the store: let them finish.
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    await this.publisher.close();
    // Saved so the next start need not rebuild it; tagged with the size it covers, so a start
    // after a crash (which commits past this size first) sees a stale tag and rebuilds instead.
    if (this.filter.ready) await this.store.putLeafFilter(this.filter.serialize(this.sequencer.size));
  }

  private checkTreeSize(size: number): void {
    if (size > this.published.size) throw new NotFoundError(`tree size ${size} is beyond the published size ${this.published.size}`);
  }

  private checkIndex(index: number): void {
    if (index >= this.published.size) throw new NotFoundError(`index ${index} is beyond the published size ${this.published.size}`);
  }
}
