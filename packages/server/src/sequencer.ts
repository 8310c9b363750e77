import {
  type CompactTree,
  encodeEntryBundle,
  formatCheckpoint,
  type Hash,
  type Hasher,
  MAX_ENTRY_SIZE,
  type NoteSigner,
  signNote,
  TILE_WIDTH,
} from '@tlog/merkle';
import { type CommitBatch, type LogStore, StorageError } from './storage/store.js';
import { LeafFilter } from './tree/leaf-filter.js';
import type { StagedTiles, TileCache } from './tree/tile-cache.js';

/** Tuning of the write path. */
export interface SequencerOptions {
  /** Most new entries per commit (a single submission larger than this is committed alone). */
  readonly batchMaxEntries: number;
  /**
   * Most new entry bytes per commit (a single submission larger than this is committed alone).
   * Bounds what one commit holds in memory at once, in JavaScript and in LevelDB's write batch
   * and memtable. Default: no bound beyond batchMaxEntries.
   */
  readonly batchMaxBytes?: number;
  /**
   * 0 (the default): group commit, a commit starts as soon as entries wait and no commit is in
   * flight, so batches grow with the load and an idle log answers at once. A positive value is
   * the least time between the starts of two commits (a Sunlight-style timer): fewer, larger
   * commits at the price of latency. A full batch never waits.
   */
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

/** How a commit went: what the owner's metrics observe (see {@link SequencerParts.onCommit}). */
export interface CommitStats {
  /** New entries the commit added to the tree. */
  readonly entries: number;
  /** From taking the batch off the pool to the commit being durable and sealed. */
  readonly seconds: number;
}

/** An entry a commit adds to the log. */
export interface AddedEntry {
  readonly index: number;
  readonly entry: Uint8Array;
  readonly leafHash: Hash;
}

/** Called inside each commit, before it is written: add extension records to `batch`. */
export type BatchExtension = (batch: CommitBatch, entries: readonly AddedEntry[]) => void;

/** What a {@link Sequencer} works with. */
export interface SequencerParts {
  readonly store: LogStore;
  readonly tiles: TileCache;
  /** The compact tree of the last committed state. */
  readonly tree: CompactTree;
  /** Signs each new checkpoint; its name is `origin`. */
  readonly signer: NoteSigner;
  readonly origin: string;
  readonly hasher: Hasher;
  readonly options: SequencerOptions;
  /** Told of every commit that grew the tree, once it is durable and sealed, before its waiters resume. */
  readonly onCommit: (c: Commit, stats: CommitStats) => void;
  /**
   * Runs after each commit is durable and before it is published (the log records the new
   * checkpoint outside the store here). A rejection counts as a failed commit.
   */
  readonly seal?: (c: Commit) => Promise<void>;
  /**
   * Told, once, that a commit failed with an unknown outcome. The sequencer has stopped and
   * failed every waiting submission (nothing of theirs was acknowledged); the owner must reopen
   * the store and continue from what it holds, with a new Sequencer.
   */
  readonly onFailure?: (err: StorageError) => void;
  /** The leaf filter: own entries it rules out skip the store lookup; every commit adds its leaves. */
  readonly filter?: LeafFilter;
  /** Hooks that add records (e.g. secondary indexes) to every commit. */
  readonly extensions?: readonly BatchExtension[];
}

/** Where a submission's entries ended up: one index and leaf hash per entry, in order. */
export interface Sequenced {
  readonly indexes: readonly number[];
  readonly leafHashes: readonly Hash[];
}

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

/** An earlier entry of the pool with the same bytes: the alias gets its index. */
interface Ref {
  readonly sub: Submission;
  readonly pos: number;
}

/**
 * One call to submit(): its entries travel together, so the pool holds one object (and one
 * promise) per request, not per entry, which keeps a 2,000-entry batch request cheap.
 */
interface Submission {
  readonly entries: readonly Uint8Array[];
  readonly leafHashes: Hash[];
  readonly keys: string[];
  /** undefined where the entry is its own (first in the pool), else the entry it repeats. */
  readonly refs: (Ref | undefined)[];
  /**
   * The store's answer for the submission's own entries (their indexes if already in the log),
   * asked at admission so the lookup overlaps the commit in flight instead of delaying the next.
   */
  found: Promise<(number | undefined)[]>;
  /** Filled in by the commit that sequences the submission. */
  readonly indexes: number[];
  /** How many entries this submission added to the pool (not repeats of waiting ones), and their bytes. */
  own: number;
  bytes: number;
  resolve(s: Sequenced): void;
  reject(err: unknown): void;
}

/**
 * Turns submissions into durable, sequenced entries (Sunlight style).
 *
 * Submissions join a pool; a single loop takes batches from it (see
 * {@link SequencerOptions.batchIntervalMs}). Each commit looks up the batch's leaf hashes in the
 * store with one getMany (entries already in the log keep their index), appends the new ones to
 * the compact tree, and writes entries, changed tiles, leaf-hash index records, extension
 * records, the tree state and the new signed checkpoint in ONE atomic, fsync'd store batch. Only
 * after that commit, and after the checkpoint is sealed outside the store, are waiters told their
 * indexes, so every acknowledged index survives a crash. Neighbouring commits overlap (the next
 * batch is prepared during a write and written during a seal), but writes, seals and
 * acknowledgements each happen one at a time, in commit order. Identical entries waiting at the same time share one index, so the log never holds the
 * same bytes twice. Submission is all-or-nothing: a submission's entries are admitted together
 * and committed in the same batch.
 */
export class Sequencer {
  private waiting: Submission[] = [];
  private readonly pending = new Map<string, Ref>();
  private poolEntries = 0;
  private poolBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The loop taking batches from the pool, while it runs. */
  private running: Promise<void> | undefined;
  /** Commits started and not yet done (sealed and acknowledged, or failed), oldest first; never reject. */
  private readonly unfinished: Promise<void>[] = [];
  /** Whether the last store write issued succeeded (true before any). */
  private lastWrite: Promise<boolean> = Promise.resolve(true);
  /** The tree and tiles as the last prepared commit leaves them: where the next batch is sequenced. */
  private head: { readonly tree: CompactTree; readonly staged?: StagedTiles };
  private lastStart = -Infinity;
  private closed = false;
  private readonly extensions: BatchExtension[] = [];
  private lookupRound: { readonly hashes: Hash[]; readonly result: Promise<(number | undefined)[]> } | undefined;

  private readonly store: LogStore;
  private readonly tiles: TileCache;
  private tree: CompactTree;
  private readonly signer: NoteSigner;
  private readonly origin: string;
  private readonly hasher: Hasher;
  private readonly options: SequencerOptions;
  private readonly onCommit: (c: Commit, stats: CommitStats) => void;
  private readonly seal: (c: Commit) => Promise<void>;
  private readonly onFailure: (err: StorageError) => void;
  private readonly filter: LeafFilter;
  /** Set once a commit failed: the sequencer refuses everything from then on. */
  private failed: StorageError | undefined;

  /** See {@link SequencerParts}; the sequencer owns `tree` from now on. */
  constructor(parts: SequencerParts) {
    this.store = parts.store;
    this.tiles = parts.tiles;
    this.tree = parts.tree;
    this.head = { tree: parts.tree };
    this.signer = parts.signer;
    this.origin = parts.origin;
    this.hasher = parts.hasher;
    this.options = parts.options;
    this.onCommit = parts.onCommit;
    this.seal = parts.seal ?? (() => Promise.resolve());
    this.onFailure = parts.onFailure ?? (() => {});
    this.filter = parts.filter ?? new LeafFilter(false);
    for (const ext of parts.extensions ?? []) this.extensions.push(ext);
  }

  /** The size of the last committed tree. */
  get size(): number {
    return this.tree.size;
  }

  /** What waits in the pool now (admitted, not yet being committed). */
  get pool(): { readonly entries: number; readonly bytes: number } {
    return { entries: this.poolEntries, bytes: this.poolBytes };
  }

  /** Registers a hook that adds records (e.g. secondary indexes) to every commit. */
  addExtension(ext: BatchExtension): void {
    this.extensions.push(ext);
  }

  /**
   * Submits entries (each 0..65535 bytes) and resolves with their indexes and leaf hashes once
   * they are durably committed, in the order given (an entry already in the log, or repeated,
   * gets the one index). Throws RangeError for an oversized entry, PoolFullError when the pool
   * cannot take all of them (nothing is admitted), and SequencerClosedError after close().
   */
  submit(entries: readonly Uint8Array[]): Promise<Sequenced> {
    if (this.failed !== undefined) {
      throw new SequencerClosedError('the log is recovering from a storage failure and accepts no entries for now; retry shortly');
    }
    if (this.closed) throw new SequencerClosedError('the log is shutting down; retry against the restarted server');
    for (const entry of entries) {
      if (entry.length > MAX_ENTRY_SIZE) throw new RangeError(`an entry has ${entry.length} bytes; the most is ${MAX_ENTRY_SIZE}`);
    }
    const n = entries.length;
    const leafHashes = this.hasher.hashLeaves(entries);
    const sub: Submission = {
      entries,
      leafHashes,
      keys: new Array<string>(n),
      refs: new Array<Ref | undefined>(n),
      found: NOTHING_FOUND,
      indexes: new Array<number>(n),
      own: 0,
      bytes: 0,
      resolve: () => {},
      reject: () => {},
    };
    const lookup: Hash[] = []; // leaf hashes of own entries that might be in the log already
    const lookupAt: number[] = []; // and which own entry each is
    for (let i = 0; i < n; i++) {
      const entry = entries[i]!;
      const leafHash = leafHashes[i]!;
      const key = hashKey(leafHash);
      sub.keys[i] = key;
      // A repeat of an entry waiting in the pool, or of an earlier entry of this submission.
      const waiting = this.pending.get(key);
      if (waiting !== undefined) {
        sub.refs[i] = waiting;
        continue;
      }
      this.pending.set(key, { sub, pos: i });
      if (this.filter.mightContain(leafHash)) {
        lookup.push(leafHash);
        lookupAt.push(sub.own);
      }
      sub.own++;
      sub.bytes += entry.length;
    }
    if (
      sub.own > 0 &&
      (this.poolEntries + sub.own > this.options.poolMaxEntries || this.poolBytes + sub.bytes > this.options.poolMaxBytes)
    ) {
      this.forget(sub);
      throw new PoolFullError(`the log's pool is full (${this.poolEntries} entries, ${this.poolBytes} bytes waiting); retry shortly`, 1);
    }
    const promise = new Promise<Sequenced>((resolve, reject) => {
      sub.resolve = resolve;
      sub.reject = reject;
    });
    // An entry of this submission that is neither waiting (pending) nor in the store now cannot
    // be committed by anyone else before this one: later submitters find it pending and repeat it.
    // Commits remove their entries from `pending` only once the store shows them, so the lookup
    // made here, after the pending check, cannot miss a committed copy.
    if (lookup.length > 0) {
      const own = sub.own;
      sub.found = this.lookup(lookup).then((indexes) => {
        const byOwn = new Array<number | undefined>(own);
        for (let j = 0; j < indexes.length; j++) byOwn[lookupAt[j]!] = indexes[j];
        return byOwn;
      });
      sub.found.catch(() => {}); // a failed lookup fails the commit that awaits it
    }
    this.waiting.push(sub);
    this.poolEntries += sub.own;
    this.poolBytes += sub.bytes;
    this.kick();
    return promise;
  }

  /**
   * Looks leaf hashes up in the store. Lookups asked for in the same turn of the event loop
   * share one getMany: under load that turns a store round trip per request into one per turn.
   * Deferring is safe: an entry that was neither pending nor stored when its submission was
   * admitted can only be committed by that submission's own commit, which awaits this lookup.
   */
  private lookup(hashes: Hash[]): Promise<(number | undefined)[]> {
    if (hashes.length === 0) return Promise.resolve([]);
    let round = this.lookupRound;
    if (round === undefined) {
      const hashesOfRound: Hash[] = [];
      const result = new Promise<(number | undefined)[]>((resolve, reject) => {
        setImmediate(() => {
          this.lookupRound = undefined;
          this.store.findLeafHashes(hashesOfRound).then(resolve, reject);
        });
      });
      round = this.lookupRound = { hashes: hashesOfRound, result };
    }
    const from = round.hashes.length;
    for (const h of hashes) round.hashes.push(h);
    return round.result.then((all) => all.slice(from, from + hashes.length));
  }

  /** Stops accepting submissions, commits everything already admitted, and resolves when done. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.running !== undefined || (this.waiting.length > 0 && this.failed === undefined) || this.unfinished.length > 0) {
      if (this.running === undefined && this.waiting.length > 0 && this.failed === undefined) this.running = this.drain();
      await (this.running ?? this.unfinished[this.unfinished.length - 1]);
    }
  }

  private kick(): void {
    if (this.running !== undefined) return; // the commit loop picks new entries up when it takes its next batch
    const wait = this.lastStart + this.options.batchIntervalMs - performance.now();
    if (
      wait <= 0 ||
      this.poolEntries >= this.options.batchMaxEntries ||
      this.poolBytes >= (this.options.batchMaxBytes ?? Number.POSITIVE_INFINITY)
    ) {
      this.running = this.drain();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (this.running === undefined) this.running = this.drain();
      }, wait);
    }
  }

  /**
   * Takes batches from the pool until it is empty and starts their commits, overlapped: a batch
   * is prepared while the commit before it is written, and written while that one is sealed (see
   * {@link Sequencer.start}). Entries arriving meanwhile form the next batch.
   */
  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0 && this.failed === undefined) {
        // At most one commit being sealed and one being written while this one is prepared.
        while (this.unfinished.length >= 2) await this.unfinished[0];
        if (this.failed !== undefined || this.waiting.length === 0) break;
        if (this.timer !== undefined) {
          clearTimeout(this.timer);
          this.timer = undefined;
        }
        this.lastStart = performance.now();
        let take = 0;
        let entries = 0;
        let bytes = 0;
        const maxBytes = this.options.batchMaxBytes ?? Number.POSITIVE_INFINITY;
        while (take < this.waiting.length) {
          const next = this.waiting[take]!;
          if (take > 0 && (entries + next.own > this.options.batchMaxEntries || bytes + next.bytes > maxBytes)) break;
          entries += next.own;
          bytes += next.bytes;
          take++;
        }
        const batch = this.waiting.slice(0, take);
        this.waiting = take === this.waiting.length ? [] : this.waiting.slice(take);
        for (const s of batch) {
          this.poolEntries -= s.own;
          this.poolBytes -= s.bytes;
        }
        await this.start(batch);
        if (
          this.options.batchIntervalMs > 0 &&
          this.waiting.length > 0 &&
          this.poolEntries < this.options.batchMaxEntries &&
          !this.closed
        ) {
          // Leave the rest to the timer, so commits start at most every batchIntervalMs.
          break;
        }
      }
    } finally {
      this.running = undefined;
    }
    if (this.waiting.length > 0 && !this.closed && this.failed === undefined) this.kick();
  }

  /**
   * Starts the commit of one batch; resolves once its store write is issued (or the batch failed).
   *
   * A commit goes through three steps, each in commit order: prepare (sequence the batch on the
   * tree as the previous commit leaves it: its tiles, records and signed checkpoint), write (one
   * atomic, fsync'd store batch), seal (the checkpoint recorded outside the store), and only then
   * are its waiters told their indexes. Steps of neighbouring commits overlap: batch N+1 is
   * prepared while N is written, and written while N is sealed. A write is issued only after the
   * previous one succeeded, never beside it: a store that failed a write (a full disk, say) may
   * take the next one, which would then hold a tree whose earlier entries are missing. When any
   * step fails, every later commit fails too, unacknowledged.
   */
  private async start(subs: Submission[]): Promise<void> {
    const started = performance.now();
    let prepared: Prepared | undefined;
    try {
      const found = await Promise.all(subs.map((s) => s.found));
      if (this.failed === undefined) prepared = this.prepare(subs, found);
    } catch (err) {
      this.fail(asStorageError(err));
    }
    // The previous write must have succeeded before this one is issued (a failed one has failed the sequencer).
    if (this.failed === undefined) await this.lastWrite;
    if (this.failed !== undefined) {
      for (const s of subs) this.drop(s, this.failed);
      return;
    }
    let durable: Promise<boolean> = this.lastWrite;
    if (prepared !== undefined) {
      durable = this.store.commit(prepared.batch).then(
        () => true,
        (err: unknown) => {
          this.fail(asStorageError(err));
          return false;
        },
      );
      this.lastWrite = durable;
    }
    const before = this.unfinished[this.unfinished.length - 1];
    const done = this.finish(subs, prepared, durable, started, before).finally(() => {
      this.unfinished.splice(this.unfinished.indexOf(done), 1);
    });
    this.unfinished.push(done);
  }

  /** The rest of a commit: after the commit before it is done and its own write is durable, seal, publish, acknowledge. Never rejects. */
  private async finish(
    subs: Submission[],
    prepared: Prepared | undefined,
    durable: Promise<boolean>,
    started: number,
    before?: Promise<void>,
  ): Promise<void> {
    await before;
    const ok = await durable;
    if (ok && this.failed === undefined && prepared !== undefined) {
      // Memory follows the store at once (the commit is durable), but nothing is published or
      // acknowledged before the checkpoint is sealed.
      for (const a of prepared.added) this.filter.add(a.leafHash);
      this.tree = prepared.tree;
      this.tiles.apply(prepared.staged);
      this.tiles.rememberRightEdge(prepared.commit.size, prepared.rightEdge);
      try {
        await this.seal(prepared.commit);
      } catch (err) {
        this.fail(asStorageError(err));
      }
      if (this.failed === undefined) {
        this.onCommit(prepared.commit, { entries: prepared.added.length, seconds: (performance.now() - started) / 1000 });
      }
    }
    if (this.failed !== undefined) {
      for (const s of subs) this.drop(s, this.failed);
      return;
    }
    for (const s of subs) {
      this.forget(s);
      s.resolve({ indexes: s.indexes, leafHashes: s.leafHashes });
    }
  }

  /**
   * A commit failed (Sunlight's errFatal): whether the store applied it is unknown, and so is
   * every later step, so the sequencer stops for good. Every submission in flight or waiting
   * is failed with a retryable error (none was acknowledged), and once no write is in flight the
   * owner is told to reload from durable state. Guessing instead (re-reading the state through
   * the same store, which may keep failing, or carrying on from memory) is how a log ends up
   * reusing indexes or answering 503 forever.
   */
  private fail(cause: StorageError): void {
    if (this.failed !== undefined) return;
    this.failed = new StorageError(`the log could not commit (${cause.message}); nothing of this request was acknowledged; retry shortly`, {
      cause,
    });
    for (const s of this.waiting) this.drop(s, this.failed);
    this.waiting = [];
    this.poolEntries = 0;
    this.poolBytes = 0;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    void this.lastWrite.then(() => this.onFailure(cause));
  }

  /** Removes a submission's own entries from the pending map (they are in the log or failed). */
  private forget(s: Submission): void {
    for (let i = 0; i < s.keys.length; i++) {
      if (s.refs[i] === undefined && this.pending.get(s.keys[i]!)?.sub === s) this.pending.delete(s.keys[i]!);
    }
  }

  /** Frees a failed submission's pending entries and rejects its waiter. */
  private drop(s: Submission, failure: StorageError): void {
    this.forget(s);
    s.reject(failure);
  }

  /**
   * Sequences one batch on the tree the previous prepared commit leaves (the head) and builds its
   * store batch; fills each submission's indexes and moves the head. Undefined when the batch adds
   * no entry (all were in the log or repeats). What readers see changes only after the write.
   */
  private prepare(subs: Submission[], found: (number | undefined)[][]): Prepared | undefined {
    const tree = this.head.tree.clone();
    const base = tree.size;
    const added: AddedEntry[] = [];
    for (let j = 0; j < subs.length; j++) {
      const s = subs[j]!;
      const inStore = found[j]!;
      let k = 0;
      for (let i = 0; i < s.refs.length; i++) {
        const ref = s.refs[i];
        if (ref !== undefined) {
          // The entry it repeats is earlier in the pool: sequenced by an earlier or this batch.
          s.indexes[i] = ref.sub.indexes[ref.pos]!;
          continue;
        }
        const known = inStore[k++];
        if (known !== undefined) {
          s.indexes[i] = known;
        } else {
          const index = base + added.length;
          s.indexes[i] = index;
          added.push({ index, entry: s.entries[i]!, leafHash: s.leafHashes[i]! });
        }
      }
    }
    if (added.length === 0) return undefined;

    const leafHashes = added.map((a) => a.leafHash);
    const staged = this.tiles.stage((sink) => tree.pushMany(leafHashes, sink), this.head.staged);
    const batch = this.store.newBatch();
    for (const t of staged.touched) batch.putTile(t.level, t.index, t.stored());
    // One run of entries per bundle touched: a growing bundle is never rewritten.
    for (let i = 0; i < added.length; ) {
      const first = added[i]!.index;
      const bundle = Math.floor(first / TILE_WIDTH);
      const n = Math.min(added.length - i, (bundle + 1) * TILE_WIDTH - first);
      const run = new Array<Uint8Array>(n);
      for (let j = 0; j < n; j++) run[j] = added[i + j]!.entry;
      batch.putEntries(bundle, first % TILE_WIDTH, encodeEntryBundle(run));
      i += n;
    }
    for (const a of added) batch.putLeafIndex(a.leafHash, a.index);
    for (const ext of this.extensions) ext(batch, added);
    const root = tree.root();
    const checkpoint = signNote(formatCheckpoint({ origin: this.origin, size: tree.size, root, extensions: [] }), [this.signer]);
    batch.putState({ size: tree.size, edge: tree.edge, checkpoint });
    this.head = { tree, staged };
    return { added, tree, staged, batch, rightEdge: tree.rightEdgeRanges(), commit: { size: tree.size, root, checkpoint } };
  }
}

/** A batch sequenced and ready to write, with what memory takes on once it is durable. */
interface Prepared {
  readonly added: readonly AddedEntry[];
  readonly tree: CompactTree;
  readonly staged: StagedTiles;
  readonly batch: CommitBatch;
  readonly rightEdge: ReadonlyMap<number, Hash>;
  readonly commit: Commit;
}

/** A failure as the StorageError a failed commit is reported with. */
function asStorageError(err: unknown): StorageError {
  return err instanceof StorageError ? err : new StorageError(`committing a batch failed: ${(err as Error).message}`, { cause: err });
}

/** What the store lookup gives a submission whose entries the leaf filter all ruled out. */
const NOTHING_FOUND: Promise<(number | undefined)[]> = Promise.resolve([]);

/** Decodes a hash's 32 bytes to a 32-character string: one native call, no Buffer object. */
const LATIN1 = new TextDecoder('latin1');

/** The pool's key for a leaf hash: its 32 bytes as a one-byte-per-char string (cheap to make and hash; latin1 is one-to-one). */
function hashKey(h: Hash): string {
  return LATIN1.decode(h);
}
