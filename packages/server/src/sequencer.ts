import {
  CompactTree,
  MAX_ENTRY_SIZE,
  TILE_WIDTH,
  encodeEntryBundle,
  formatCheckpoint,
  signNote,
  type Hash,
  type Hasher,
  type NoteSigner,
} from '@tlog/merkle';
import { StorageError, type CommitBatch, type LogStore } from './storage/store.js';
import type { TileCache } from './tree/tile-cache.js';

/** Tuning of the write path. */
export interface SequencerOptions {
  /** Most new entries per commit (a single submission larger than this is committed alone). */
  readonly batchMaxEntries: number;
  /** How long the first entry of an idle pool waits for company before a commit starts. */
  readonly batchIntervalMs: number;
  /** Most entries waiting in the pool; beyond it submissions are refused with {@link PoolFullError}. */
  readonly poolMaxEntries: number;
  /** Most entry bytes waiting in the pool. */
  readonly poolMaxBytes: number;
}

/** A commit that grew the tree: the new size, root and log-signed checkpoint. */
export interface Commit {
  readonly size: number;
  readonly root: Hash;
  readonly checkpoint: string;
}

/** Called inside each commit, before it is written: add extension records to `batch`. */
export type BatchExtension = (batch: CommitBatch, entries: readonly { readonly index: number; readonly entry: Uint8Array; readonly leafHash: Hash }[]) => void;

/** The pool cannot take the submission now; nothing was written. Retry after `retryAfterSeconds`. */
export class PoolFullError extends Error {
  /** @param retryAfterSeconds suggested wait before retrying */
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'PoolFullError';
  }
}

/** The sequencer is shutting down (or broken) and accepts no new entries. */
export class SequencerClosedError extends Error {
  /** @param message why */
  constructor(message: string) {
    super(message);
    this.name = 'SequencerClosedError';
  }
}

/** An entry waiting for its index: in the pool or in the batch being committed. */
interface Slot {
  readonly key: string;
  readonly leafHash: Hash;
  readonly entry: Uint8Array;
  readonly promise: Promise<number>;
  resolve(index: number): void;
  reject(err: unknown): void;
}

/**
 * Turns submissions into durable, sequenced entries (Sunlight style).
 *
 * Submissions join a pool; a single commit loop drains it when a timer fires or a batch is
 * full. Each commit looks up the batch's leaf hashes in the store with one getMany (entries
 * already in the log keep their index), appends the new ones to the compact tree, and writes
 * entries, changed tiles, leaf-hash index records, the tree state and the new signed checkpoint
 * in ONE atomic, fsync'd store batch. Only after that commit are waiters told their index, so
 * every acknowledged index survives a crash. Identical entries waiting at the same time share
 * one slot, so the log never holds the same bytes twice. Submission is all-or-nothing: a
 * submission's new entries are admitted together and committed in the same batch.
 */
export class Sequencer {
  private readonly pool: Slot[][] = [];
  private readonly pending = new Map<string, Slot>();
  private poolEntries = 0;
  private poolBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly extensions: BatchExtension[] = [];

  /**
   * @param tree the compact tree of the last committed state (the sequencer owns it from now on)
   * @param onCommit told of every commit that grew the tree, after it is durable and before waiters resume
   */
  constructor(
    private readonly store: LogStore,
    private readonly tiles: TileCache,
    private tree: CompactTree,
    private readonly signer: NoteSigner,
    private readonly origin: string,
    private readonly hasher: Hasher,
    private readonly options: SequencerOptions,
    private readonly onCommit: (c: Commit) => void,
  ) {}

  /** The size of the last committed tree. */
  get size(): number {
    return this.tree.size;
  }

  /** Registers a hook that adds records (e.g. secondary indexes) to every commit. */
  addExtension(ext: BatchExtension): void {
    this.extensions.push(ext);
  }

  /**
   * Submits entries (each 0..65535 bytes) and resolves with their indexes once they are durably
   * committed, in the order given (an entry already in the log, or repeated, gets the one index).
   * Throws PoolFullError when the pool cannot take all of them (nothing is admitted), and
   * SequencerClosedError after close().
   */
  submit(entries: readonly Uint8Array[]): Promise<number[]> {
    if (this.closed) throw new SequencerClosedError('the log is shutting down; retry against the restarted server');
    const slots: Slot[] = [];
    const fresh: Slot[] = [];
    const mine = new Map<string, Slot>();
    let bytes = 0;
    for (const entry of entries) {
      if (entry.length > MAX_ENTRY_SIZE) {
        throw new RangeError(`an entry has ${entry.length} bytes; the most is ${MAX_ENTRY_SIZE}`);
      }
      const leafHash = this.hasher.hashLeaf(entry);
      const key = Buffer.from(leafHash.buffer, leafHash.byteOffset, leafHash.length).toString('base64');
      let slot = this.pending.get(key) ?? mine.get(key);
      if (slot === undefined) {
        slot = newSlot(key, leafHash, entry);
        mine.set(key, slot);
        fresh.push(slot);
        bytes += entry.length;
      }
      slots.push(slot);
    }
    if (fresh.length > 0) {
      if (this.poolEntries + fresh.length > this.options.poolMaxEntries || this.poolBytes + bytes > this.options.poolMaxBytes) {
        throw new PoolFullError(
          `the log's pool is full (${this.poolEntries} entries, ${this.poolBytes} bytes waiting); retry shortly`,
          1,
        );
      }
      for (const s of fresh) this.pending.set(s.key, s);
      this.pool.push(fresh);
      this.poolEntries += fresh.length;
      this.poolBytes += bytes;
      this.kick();
    }
    return Promise.all(slots.map((s) => s.promise));
  }

  /** Stops accepting submissions, commits everything already admitted, and resolves when done. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.running !== undefined || this.pool.length > 0) {
      if (this.running === undefined) this.running = this.drain();
      await this.running;
    }
  }

  private kick(): void {
    if (this.running !== undefined) return; // the loop picks new entries up when its commit ends
    if (this.poolEntries >= this.options.batchMaxEntries || this.options.batchIntervalMs === 0) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.running = this.drain();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.running === undefined) this.running = this.drain();
      }, this.options.batchIntervalMs);
    }
  }

  /** Commits batches until the pool is empty; entries arriving during a commit form the next batch. */
  private async drain(): Promise<void> {
    try {
      while (this.pool.length > 0) {
        const batch: Slot[] = [];
        while (this.pool.length > 0) {
          const next = this.pool[0]!;
          if (batch.length > 0 && batch.length + next.length > this.options.batchMaxEntries) break;
          this.pool.shift();
          for (const s of next) {
            batch.push(s);
            this.poolBytes -= s.entry.length;
          }
          this.poolEntries -= next.length;
        }
        await this.commitBatch(batch);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async commitBatch(slots: Slot[]): Promise<void> {
    let indexes: number[];
    try {
      indexes = await this.writeBatch(slots);
    } catch (err) {
      const failure =
        err instanceof StorageError ? err : new StorageError(`committing a batch failed: ${(err as Error).message}`, { cause: err });
      for (const s of slots) {
        this.pending.delete(s.key);
        s.reject(failure);
      }
      await this.recover();
      return;
    }
    slots.forEach((s, i) => {
      this.pending.delete(s.key);
      s.resolve(indexes[i]!);
    });
  }

  /** Writes one batch; returns each slot's index. Memory state changes only after the commit. */
  private async writeBatch(slots: Slot[]): Promise<number[]> {
    const found = await this.store.findLeafHashes(slots.map((s) => s.leafHash));
    const tree = this.tree.clone();
    const base = tree.size;
    const indexes: number[] = [];
    const added: { index: number; entry: Uint8Array; leafHash: Hash }[] = [];
    slots.forEach((s, i) => {
      const known = found[i];
      if (known !== undefined) {
        indexes.push(known);
      } else {
        const index = base + added.length;
        indexes.push(index);
        added.push({ index, entry: s.entry, leafHash: s.leafHash });
      }
    });
    if (added.length === 0) return indexes;

    const completed = tree.appendMany(added.map((a) => a.leafHash));
    const staged = this.tiles.stage(completed);
    const batch = this.store.newBatch();
    for (const t of staged.touched) batch.putTile(t.level, t.index, t.data());
    // One run of entries per bundle touched: a growing bundle is never rewritten.
    for (let i = 0; i < added.length; ) {
      const first = added[i]!.index;
      const bundle = Math.floor(first / TILE_WIDTH);
      const n = Math.min(added.length - i, (bundle + 1) * TILE_WIDTH - first);
      batch.putEntries(bundle, first % TILE_WIDTH, encodeEntryBundle(added.slice(i, i + n).map((a) => a.entry)));
      i += n;
    }
    for (const a of added) batch.putLeafIndex(a.leafHash, a.index);
    for (const ext of this.extensions) ext(batch, added);
    const root = tree.root();
    const checkpoint = signNote(formatCheckpoint({ origin: this.origin, size: tree.size, root, extensions: [] }), [this.signer]);
    batch.putState({ size: tree.size, edge: tree.edge, checkpoint });
    await this.store.commit(batch);

    this.tree = tree;
    this.tiles.apply(staged);
    this.onCommit({ size: tree.size, root, checkpoint });
    return indexes;
  }

  /**
   * After a failed commit the store may or may not hold the batch (an fsync error can follow a
   * write). Re-read the committed state so memory never runs behind the disk; if even that
   * fails, refuse further writes rather than risk reusing indexes.
   */
  private async recover(): Promise<void> {
    try {
      const state = await this.store.readState();
      if (state !== undefined && state.size !== this.tree.size) {
        const tree = new CompactTree(state.size, state.edge, this.hasher);
        await this.tiles.load(state.size);
        this.tree = tree;
        this.onCommit({ size: tree.size, root: tree.root(), checkpoint: state.checkpoint });
      }
    } catch {
      this.closed = true;
      for (const group of this.pool.splice(0)) {
        for (const s of group) {
          this.pending.delete(s.key);
          s.reject(new StorageError('the store failed and the log stopped accepting entries; restart the server'));
        }
      }
      this.poolEntries = 0;
      this.poolBytes = 0;
    }
  }
}

function newSlot(key: string, leafHash: Hash, entry: Uint8Array): Slot {
  let resolve!: (i: number) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejected slot may have no listener yet (its submission is still being admitted).
  promise.catch(() => {});
  return { key, leafHash, entry, promise, resolve, reject };
}
