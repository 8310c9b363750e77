import {
  CompactTree,
  formatCheckpoint,
  type Hash,
  type Hasher,
  MerkleError,
  type NoteSigner,
  type NoteVerifier,
  openCheckpoint,
  parseVerifierKey,
  proveConsistency,
  proveInclusion,
  signNote,
  TILE_WIDTH,
  tlogProofFormatter,
  toBase64,
  treeRoot,
} from '@tlog/merkle';
import type { Logger } from 'pino';
import { ImmediatePublisher, type Published, type Publisher } from './publisher.js';
import { type BatchExtension, type Commit, type CommitStats, Sequencer, SequencerClosedError, type SequencerOptions } from './sequencer.js';
import type { CheckpointRecord } from './storage/checkpoint-file.js';
import { type LogStore, StorageCorruptError, StorageError } from './storage/store.js';
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
  /**
   * Where the last log-signed checkpoint is recorded outside the store. Every commit is recorded
   * here before it is published; at open the store must not be behind it or disagree with it.
   */
  readonly checkpointRecord: CheckpointRecord;
  /**
   * Opens the store again after a commit failed (the failed store has been closed). Without it
   * a failed commit is fatal.
   */
  readonly reopenStore?: () => Promise<LogStore>;
  /**
   * Told when the log cannot go on: its storage disagrees with what it signed, or a commit failed
   * and the store cannot be reopened. The log has stopped accepting entries; the process should
   * exit non-zero so a supervisor restarts it (and the startup checks say what is wrong).
   */
  readonly onFatal?: (err: Error) => void;
  /** Where recovery is reported. */
  readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Builds the publisher (e.g. a witness policy); default publishes every commit at once. */
  readonly publisher?: (initial: Published, log: Log) => Publisher;
  /** Hooks adding records (e.g. audit events and their indexes) to every commit, atomically with its entries. */
  readonly extensions?: readonly BatchExtension[];
  /**
   * Told of every commit that grew the tree, once it is durable (its new entries and how long it
   * took; for metrics). Runs on the commit path, before the commit's waiters resume: it must be
   * synchronous, cheap, and must not throw.
   */
  readonly onCommitted?: (c: CommitStats) => void;
}

/** The answer for a group of appended entries: one index and leaf hash per entry, in order. */
export interface Appended {
  readonly indexes: readonly number[];
  readonly leafHashes: readonly Hash[];
  /** When asked for: c2sp.org/tlog-proof@v1 receipts of inclusion in `published.checkpoint`. */
  readonly receipts?: readonly string[];
  readonly published: Published;
}

/** The stored state does not belong to this log (other origin or key) or does not add up; the log refuses to serve it. */
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

/** Everything that works on one opened store; replaced as a whole when the store is reopened. */
interface Core {
  readonly store: LogStore;
  readonly tiles: TileCache;
  readonly entryReader: EntryReader;
  readonly filter: LeafFilter;
  readonly sequencer: Sequencer;
  /** The committed tree when the core was loaded (size, root and log-signed checkpoint). */
  readonly loaded: Commit;
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

/** The checkpoint `note` after checking it is this log's (origin, signature under `verifierKey`); LogStateError naming `what` otherwise. */
function openOwnCheckpoint(note: string, verifierKey: string, verifier: NoteVerifier, origin: string, what: string) {
  try {
    return openCheckpoint(note, verifier, origin).checkpoint;
  } catch (err) {
    if (!(err instanceof MerkleError)) throw err;
    throw new LogStateError(
      `${what} is not a checkpoint of ${origin} signed by the key ${verifierKey} (${err.message}); ` +
        'the data dir belongs to another log or key: start with the signing key this log was created with',
    );
  }
}

/**
 * One transparency log: the domain API the HTTP routes call. Writes go through the Sequencer;
 * reads only see the published tree (never an entry or tile beyond the published checkpoint).
 *
 * Storage faults fail closed. At open, the store must agree with the last checkpoint recorded
 * outside it (not behind, same root at that size) and with the log's key. When a commit fails,
 * its outcome is unknown: the sequencer stops, every waiting writer gets a 503, and the log
 * reopens the store and continues from what it durably holds (after the same checks), retrying
 * while the store cannot be opened. If the store turns out to have lost what was signed, the
 * log stops for good and says so (onFatal) rather than sign a second tree of that size.
 */
export class Log {
  private core: Core;
  private publisher: Publisher;
  private inflight = 0;
  private onIdle: (() => void) | undefined;
  private recovering: Promise<void> | undefined;
  /** Ends the recovery's backoff wait at once (set while it waits). */
  private wakeRecovery: (() => void) | undefined;
  private stopped: Error | undefined;
  private closing = false;
  private receipts: { readonly checkpoint: string; readonly format: ReturnType<typeof tlogProofFormatter> } | undefined;
  /** Settles at the next commit (then replaced): what {@link Log.waitBeyond} waits on. */
  private nextCommit = commitSignal();
  /** The size of the last commit told to the publisher (it may publish it later, never refuse to wait for it). */
  private toldSize: number;

  private constructor(
    private readonly opts: LogOptions,
    private readonly verifier: NoteVerifier,
    core: Core,
  ) {
    this.core = core;
    this.toldSize = core.loaded.size;
    this.publisher = new ImmediatePublisher({ size: core.loaded.size, root: core.loaded.root, checkpoint: core.loaded.checkpoint });
  }

  /** The log's origin (checkpoint origin line and key name). */
  get origin(): string {
    return this.opts.origin;
  }

  /** The verifier key string clients pin. */
  get verifierKey(): string {
    return this.opts.verifierKey;
  }

  /**
   * Opens the log in `store`: reads the state record (never replays the log) and checks it
   * against the origin, the key and the checkpoint record, then loads the right edge of the
   * tree. A fresh store gets the empty tree's signed checkpoint committed first. Throws
   * LogStateError (or StorageCorruptError) when the store must not be served.
   */
  static async open(store: LogStore, opts: LogOptions): Promise<Log> {
    if (opts.signer.name !== opts.origin) {
      throw new LogStateError(`the signing key is named "${opts.signer.name}" but the origin is "${opts.origin}"`);
    }
    const verifier = parseVerifierKey(opts.verifierKey);
    // The sequencer reports to the log, which exists only once its core is loaded.
    let log: Log | undefined;
    const core = await loadCore(store, opts, verifier, {
      onCommit: (c, stats) => log?.committed(c, stats),
      onFailure: (err) => log?.commitFailed(err),
    });
    log = new Log(opts, verifier, core);
    if (opts.publisher !== undefined) {
      let initial: Published = { size: core.loaded.size, root: core.loaded.root, checkpoint: core.loaded.checkpoint };
      const witnessed = await store.readWitnessed();
      const text = formatCheckpoint({ origin: opts.origin, size: core.loaded.size, root: core.loaded.root, extensions: [] });
      if (witnessed?.startsWith(text)) initial = { ...initial, checkpoint: witnessed };
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
    return this.core.sequencer.size;
  }

  /** Entries and bytes admitted and waiting for a commit (what backpressure is measured on). */
  get pool(): { readonly entries: number; readonly bytes: number } {
    return this.core.sequencer.pool;
  }

  /** Whether deduplication can rule entries out in memory (false while the leaf filter is rebuilt after a crash). */
  get leafFilterReady(): boolean {
    return this.core.filter.ready;
  }

  /** Whether the log accepts entries now (false while it recovers from a storage failure, and after a fatal one). */
  get writable(): boolean {
    return this.recovering === undefined && this.stopped === undefined && !this.closing;
  }

  /** The store, for publishers that persist cosigned checkpoints. */
  get storage(): LogStore {
    return this.core.store;
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
    if (this.stopped !== undefined) throw new SequencerClosedError(`the log has stopped: ${this.stopped.message}`);
    const { indexes, leafHashes } = await this.core.sequencer.submit(entries);
    let need = 0;
    for (const i of indexes) if (i >= need) need = i + 1;
    const published = await this.publisher.waitFor(need);
    if (!withReceipts) return { indexes, leafHashes, published };
    const format = this.receiptFormatter(published.checkpoint);
    const receipts = new Array<string>(indexes.length);
    for (let i = 0; i < indexes.length; i++) {
      const index = indexes[i]!;
      receipts[i] = format(index, await proveInclusion(this.core.tiles, index, published.size, this.opts.hasher));
    }
    return { indexes, leafHashes, receipts, published };
  }

  /** The first published checkpoint of a tree of at least `size` leaves (size <= committed size). */
  waitPublished(size: number): Promise<Published> {
    return this.publisher.waitFor(size);
  }

  /**
   * Resolves with the published checkpoint once its size is beyond `size` (waiting for commits
   * and for their publication). Rejects with the signal's reason when `signal` aborts.
   */
  async waitBeyond(size: number, signal: AbortSignal): Promise<Published> {
    for (;;) {
      signal.throwIfAborted();
      if (this.published.size > size) return this.published;
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        this.nextCommit.promise.then(() => signal.removeEventListener('abort', onAbort));
      });
      aborted.catch(() => {});
      // The sequencer's size grows before its commit reaches the publisher: wait for what the publisher was told.
      if (this.toldSize > size) await Promise.race([this.publisher.waitFor(size + 1), aborted]);
      else await Promise.race([this.nextCommit.promise, aborted]);
    }
  }

  /** A c2sp.org/tlog-proof@v1 receipt of the entry at `index` in `published` (which must hold it). */
  async receipt(index: number, published: Published): Promise<string> {
    if (index >= published.size) throw new NotFoundError(`index ${index} is not in the tree of size ${published.size}`);
    const proof = await proveInclusion(this.core.tiles, index, published.size, this.opts.hasher);
    return this.receiptFormatter(published.checkpoint)(index, proof);
  }

  /** The leaf hashes at these indexes (each < published size), in the order asked. */
  async leafHashes(indexes: readonly number[]): Promise<Hash[]> {
    for (const i of indexes) this.checkIndex(i);
    return this.core.tiles.readNodes(indexes.map((index) => ({ level: 0, index })));
  }

  /** Receipts against `checkpoint` (the note is checked once per checkpoint, not per receipt). */
  private receiptFormatter(checkpoint: string): ReturnType<typeof tlogProofFormatter> {
    if (this.receipts?.checkpoint !== checkpoint) this.receipts = { checkpoint, format: tlogProofFormatter(checkpoint) };
    return this.receipts.format;
  }

  /** Inclusion proof of `index` in the tree of size `treeSize` (index < treeSize <= published size). */
  async inclusionProof(index: number, treeSize: number): Promise<Hash[]> {
    this.checkTreeSize(treeSize);
    if (index >= treeSize) throw new NotFoundError(`index ${index} is not in a tree of size ${treeSize}`);
    return proveInclusion(this.core.tiles, index, treeSize, this.opts.hasher);
  }

  /** Consistency proof between trees of sizes from <= to <= published size. */
  async consistencyProof(from: number, to: number): Promise<Hash[]> {
    this.checkTreeSize(to);
    return proveConsistency(this.core.tiles, from, to, this.opts.hasher);
  }

  /** Consistency proof between committed trees (for witnesses: the published size may lag). */
  async committedConsistencyProof(from: number, to: number): Promise<Hash[]> {
    const size = this.core.sequencer.size;
    if (to > size) throw new NotFoundError(`tree size ${to} is beyond the committed size ${size}`);
    return proveConsistency(this.core.tiles, from, to, this.opts.hasher);
  }

  /** The leaf hash at `index` (< published size). */
  async leafHash(index: number): Promise<Hash> {
    this.checkIndex(index);
    const [h] = await this.core.tiles.readNodes([{ level: 0, index }]);
    return h!;
  }

  /** The index of the entry with this leaf hash in the published tree, or undefined. */
  async findLeafHash(leafHash: Hash): Promise<number | undefined> {
    const [i] = await this.core.store.findLeafHashes([leafHash]);
    return i !== undefined && i < this.published.size ? i : undefined;
  }

  /** Hash tile bytes, or NotFoundError when the published tree does not have that tile that wide. */
  async tile(level: number, index: number, width: number): Promise<Uint8Array> {
    const nodes = Math.floor(this.published.size / 2 ** (8 * level));
    if (index * TILE_WIDTH + width > nodes) {
      throw new NotFoundError(`the tree of size ${this.published.size} has no tile ${level}/${index} of width ${width}`);
    }
    const data = await this.core.tiles.tileData(level, index, width);
    // The published tree has it, so the store must: a missing tile is damage, not a 404.
    if (data === undefined)
      throw new StorageCorruptError(`storage is corrupt at tile ${level}/${index}: it is missing or narrower than ${width}`);
    return data;
  }

  /** Entry bundle bytes, or NotFoundError when the published tree does not have it that wide. */
  async entryBundle(index: number, width: number): Promise<Uint8Array> {
    if (index * TILE_WIDTH + width > this.published.size) {
      throw new NotFoundError(`the tree of size ${this.published.size} has no entry bundle ${index} of width ${width}`);
    }
    const data = await this.core.entryReader.bundle(index, width);
    if (data === undefined)
      throw new StorageCorruptError(`storage is corrupt at entry bundle ${index}: it holds fewer than ${width} entries`);
    return data;
  }

  /** Entries [start, end) of the published tree (start < end <= published size). */
  async entries(start: number, end: number): Promise<Uint8Array[]> {
    if (end > this.published.size || start >= end) {
      throw new NotFoundError(`entries [${start}, ${end}) are not in the tree of size ${this.published.size}`);
    }
    const out = await this.core.entryReader.entries(start, end);
    if (out === undefined) throw new StorageCorruptError(`storage is corrupt at entries [${start}, ${end}): the store holds fewer`);
    return out;
  }

  /**
   * Stops accepting entries, commits and publishes what was admitted, stops the publisher and
   * saves the leaf filter (best effort). Stops a recovery in progress.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.wakeRecovery?.();
    await this.recovering;
    await this.core.sequencer.close();
    // Waiters whose entries were committed still build receipts from the store: let them finish.
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    await this.publisher.close();
    // Saved so the next start need not rebuild it; tagged with the size it covers, so a start
    // after a crash (which commits past this size first) sees a stale tag and rebuilds instead.
    if (this.core.filter.ready && this.stopped === undefined) {
      await this.core.store.putLeafFilter(this.core.filter.serialize(this.core.sequencer.size)).catch((err: unknown) => {
        this.opts.logger?.warn({ err }, 'saving the leaf filter failed; the next start rebuilds it');
      });
    }
  }

  /** The store the log works on now (it changes when the store is reopened after a failure). */
  get currentStore(): LogStore {
    return this.core.store;
  }

  /** Called by the sequencer when a commit failed: reload from durable state, off the request path. */
  private commitFailed(err: StorageError): void {
    if (this.recovering !== undefined || this.stopped !== undefined) return;
    this.recovering = this.recover(err).finally(() => {
      this.recovering = undefined;
    });
  }

  /**
   * Reopens the store and continues from what it durably holds, which must extend the tree the
   * log last committed (the failed batch may or may not be in it). Retries, backing off up to
   * 30 s, while the store cannot be opened (a full disk, say); stops the log for good when the
   * store contradicts what was signed.
   */
  private async recover(cause: StorageError): Promise<void> {
    const logger = this.opts.logger;
    const committed = await this.committedTree();
    logger?.error({ err: cause }, 'a commit failed and its outcome is unknown; writes stop until the store is reopened');
    let delay = 250;
    for (;;) {
      if (this.closing) return;
      await this.core.store.close().catch(() => {});
      if (this.opts.reopenStore === undefined) {
        this.stop(new StorageError(`a commit failed and the store cannot be reopened: ${cause.message}`, { cause }));
        return;
      }
      let store: LogStore | undefined;
      try {
        store = await this.opts.reopenStore();
        this.core = await loadCore(store, this.opts, this.verifier, {
          mustExtend: committed,
          // Still exact when the failed batch did not land; otherwise it lacks that batch's leaves.
          filter: { filter: this.core.filter, size: committed.size },
          onCommit: (c, stats) => this.committed(c, stats),
          onFailure: (e) => this.commitFailed(e),
        });
        const { loaded } = this.core;
        if (loaded.size > this.publisher.current.size) {
          this.publisher.committed(loaded);
          this.told(loaded.size);
        }
        logger?.info({ size: loaded.size }, 'the store was reopened; accepting entries again');
        return;
      } catch (err) {
        await store?.close().catch(() => {});
        if (err instanceof LogStateError || err instanceof StorageCorruptError) {
          this.stop(err);
          return;
        }
        if (this.closing) return;
        logger?.warn({ err, retryInMs: delay }, 'reopening the store failed; retrying');
        // close() cuts the wait short: a shutdown need not sit out a 30 s backoff.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.wakeRecovery = undefined;
            resolve();
          }, delay);
          this.wakeRecovery = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /** The tree of the last successful commit, as memory knows it (what the reopened store must extend). */
  private async committedTree(): Promise<{ size: number; root: Hash }> {
    const size = this.core.sequencer.size;
    return { size, root: await treeRoot(this.core.tiles, size, this.opts.hasher) };
  }

  private stop(err: Error): void {
    this.stopped = err;
    this.opts.logger?.error({ err }, 'the log stopped');
    this.opts.onFatal?.(err);
  }

  private checkTreeSize(size: number): void {
    if (size > this.published.size) throw new NotFoundError(`tree size ${size} is beyond the published size ${this.published.size}`);
  }

  private checkIndex(index: number): void {
    if (index >= this.published.size) throw new NotFoundError(`index ${index} is beyond the published size ${this.published.size}`);
  }

  /** Routes a commit of the current sequencer to the publisher. */
  private committed(c: Commit, stats: CommitStats): void {
    this.opts.onCommitted?.(stats);
    this.publisher.committed(c);
    this.told(c.size);
  }

  /** Notes that the publisher was told of a tree of `size`, and wakes {@link Log.waitBeyond}. */
  private told(size: number): void {
    this.toldSize = Math.max(this.toldSize, size);
    const reached = this.nextCommit;
    this.nextCommit = commitSignal();
    reached.resolve();
  }
}

/** A promise and what settles it. */
function commitSignal(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** How {@link loadCore} is to load a core. */
interface LoadHow {
  /** When reloading after a failure: the tree the log last committed, which the store must extend. */
  readonly mustExtend?: { readonly size: number; readonly root: Hash };
  /** A leaf filter to keep when the store holds exactly `size` leaves (else one is loaded or rebuilt). */
  readonly filter?: { readonly filter: LeafFilter; readonly size: number };
  readonly onCommit: (c: Commit, stats: CommitStats) => void;
  readonly onFailure: (err: StorageError) => void;
}

/**
 * Loads everything a log needs from `store` after checking that the store may be served: the
 * state's checkpoint is this log's (origin and key), the tree it describes has that root, and it
 * neither is behind nor disagrees with the checkpoint last recorded outside the store (nor, when
 * reloading after a failure, with the tree the log last committed). A store ahead of the record
 * (a crash between commit and record) is recorded before anything is served.
 */
async function loadCore(store: LogStore, opts: LogOptions, verifier: NoteVerifier, how: LoadHow): Promise<Core> {
  const { mustExtend } = how;
  const record = opts.checkpointRecord;
  let state = await store.readState();
  if (state === undefined) {
    if (record.current !== undefined) {
      const rc = openOwnCheckpoint(record.current, opts.verifierKey, verifier, opts.origin, 'the checkpoint record');
      throw new LogStateError(
        `the store is empty, but this log has signed a checkpoint of size ${rc.size}: its entries are gone; restore the data dir's db from a backup`,
      );
    }
    const root = opts.hasher.emptyRoot();
    const checkpoint = signNote(formatCheckpoint({ origin: opts.origin, size: 0, root, extensions: [] }), [opts.signer]);
    const batch = store.newBatch();
    state = { size: 0, edge: [], checkpoint };
    batch.putState(state);
    await store.commit(batch);
  }
  const cp = openOwnCheckpoint(state.checkpoint, opts.verifierKey, verifier, opts.origin, 'the checkpoint in the store');
  const tree = new CompactTree(state.size, state.edge, opts.hasher);
  const root = tree.root();
  if (cp.size !== state.size || toBase64(cp.root) !== toBase64(root)) {
    throw new StorageCorruptError(
      `storage is corrupt at the tree state: its tree (size ${state.size}) does not match its checkpoint (size ${cp.size})`,
    );
  }
  const tiles = new TileCache(store, opts.hasher, opts.tileCacheTiles);
  await tiles.load(state.size);
  tiles.rememberRightEdge(state.size, tree.rightEdgeRanges());
  const rootAt = async (size: number) => toBase64(await treeRoot(tiles, size, opts.hasher));

  const checkAgainst = async (size: number, expected: Hash, what: string) => {
    if (size > state.size) {
      throw new LogStateError(
        `the store is behind ${what}: it holds ${state.size} entries, but a checkpoint of size ${size} was signed; acknowledged entries are missing. ` +
          'Serving it would sign a fork; restore the data dir from a backup that holds them',
      );
    }
    if ((await rootAt(size)) !== toBase64(expected)) {
      throw new LogStateError(
        `the store disagrees with ${what}: its tree of size ${size} has another root than the signed checkpoint of that size. ` +
          'Serving it would sign a fork; restore the data dir from a backup',
      );
    }
  };
  if (record.current !== undefined) {
    const rc = openOwnCheckpoint(record.current, opts.verifierKey, verifier, opts.origin, 'the checkpoint record');
    await checkAgainst(rc.size, rc.root, 'the last checkpoint this log signed');
  } else if (state.size > 0) {
    throw new LogStateError(
      `the store holds a tree of size ${state.size} but the checkpoint record is missing, so what this log last signed is unknown; ` +
        'restore the checkpoint file from a backup, or run `tlog-server verify --write-checkpoint` if you are sure no larger checkpoint was ever published',
    );
  }
  if (mustExtend !== undefined) await checkAgainst(mustExtend.size, mustExtend.root, 'the tree this server last committed');
  if (record.current === undefined || record.current !== state.checkpoint) await record.record(state.checkpoint);

  const kept = how.filter;
  const filter =
    kept !== undefined && kept.size === state.size && kept.filter.ready ? kept.filter : await openLeafFilter(store, state.size);
  const loaded: Commit = { size: state.size, root, checkpoint: state.checkpoint };
  const sequencer = new Sequencer({
    store,
    tiles,
    tree,
    signer: opts.signer,
    origin: opts.origin,
    hasher: opts.hasher,
    options: opts.sequencer,
    filter,
    seal: (c) => record.record(c.checkpoint),
    onCommit: how.onCommit,
    onFailure: how.onFailure,
    extensions: opts.extensions ?? [],
  });
  return { store, tiles, entryReader: new EntryReader(store, opts.entryCacheBytes), filter, sequencer, loaded };
}
