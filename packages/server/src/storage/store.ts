import type { Hash } from '@tlog/merkle';

/**
 * The committed state of the tree: everything a restart needs to continue appending without
 * replaying the log. `edge` is the compact right edge (one hash per set bit of `size`, largest
 * subtree first) and `checkpoint` the log-signed checkpoint note for (size, root).
 */
export interface TreeState {
  readonly size: number;
  readonly edge: readonly Hash[];
  readonly checkpoint: string;
}

/**
 * The writes of one commit, collected before anything touches the disk. A batch is applied
 * all at once by {@link LogStore.commit} or not at all. Callers may add their own keys
 * (secondary indexes, payload references...) with {@link CommitBatch.putExtension} so they are
 * committed atomically with the entries they describe.
 */
export interface CommitBatch {
  /**
   * A hash tile at its current width: `data` starts with the tile's width * 32 bytes
   * (1 <= width <= 256) and may be followed by derived data (the inner levels of a full tile).
   */
  putTile(level: number, index: number, data: Uint8Array): void;
  /**
   * A run of entries of entry bundle `bundle`, starting at position `start` (0..255) inside it,
   * encoded as an entry bundle (uint16 BE length + bytes each). Runs of one bundle are stored
   * apart and concatenated on read, so a growing bundle is never rewritten.
   */
  putEntries(bundle: number, start: number, encoded: Uint8Array): void;
  /** The leaf-hash index: `leafHash` is the hash of the entry at `index`. */
  putLeafIndex(leafHash: Hash, index: number): void;
  /** The new tree state (exactly one per commit that grows the tree). */
  putState(state: TreeState): void;
  /** An extension record under the extension namespace (`key` is the caller's own key space). */
  putExtension(key: Uint8Array, value: Uint8Array): void;
  /** Number of operations so far. */
  readonly length: number;
}

/** A record of the extension namespace: its key (without the namespace) and value. */
export interface ExtensionRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * A reader over the extension records of a key range, in key order (descending when reverse).
 * It reads one snapshot of the store, taken when it was opened. Close it when done.
 */
export interface ExtensionCursor {
  /**
   * Moves to `key`: the next record is the first one >= key (reverse: the last one <= key)
   * within the range.
   */
  seek(key: Uint8Array): void;
  /** The next record, or undefined past the end of the range. */
  next(): Promise<ExtensionRecord | undefined>;
  /** The next records, at most `max` (at least one unless past the end of the range): fewer round trips than next(). */
  nextMany(max: number): Promise<ExtensionRecord[]>;
  /** Releases the snapshot. */
  close(): Promise<void>;
}

/** A key range of the extension namespace: [gte, lt), read backwards when reverse. */
export interface ExtensionRange {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
  readonly reverse?: boolean;
  /** How many bytes of records a read may fetch ahead at once (LevelDB's highWaterMarkBytes; default 16 KiB): more for long scans. */
  readonly readAheadBytes?: number;
}

/**
 * Persistent storage of one log.
 *
 * Contract (what the sequencer and the read path rely on):
 * - Durability: when `commit` resolves, every write of the batch is on stable storage
 *   (fsync'd); after a crash at any moment either the whole batch is visible or none of it.
 *   Nothing else writes the log's keys, so a tree state read at startup is always consistent
 *   with the tiles, entries and leaf index stored beside it.
 * - Concurrency: at most one `commit` runs at a time (the Sequencer serializes them). Reads
 *   may run at any time, concurrently with a commit and with each other; a read observes the
 *   store either before or after a concurrent commit, never a part of it.
 * - Monotonicity: tiles and entry runs only grow. A tile read after a commit is at least as
 *   wide as it was in any earlier commit, and its first bytes never change, so a tile that is
 *   full (256 hashes) or an entry bundle with 256 entries is immutable and may be cached forever.
 * - Integrity: every read checks what it returns (checksums, contiguous entry runs) and throws
 *   StorageCorruptError rather than return damaged data; any other read failure is a
 *   StorageError. Neither is ever the client's fault.
 * - Failure: when `commit` rejects, whether the batch was applied is unknown. The caller must
 *   stop using this store, close it and open it again, and find out from the state it reads.
 * - `putWitnessed` is best-effort metadata (a cosigned copy of a committed checkpoint); it need
 *   not be synchronous and may be lost in a crash.
 */
export interface LogStore {
  /** The last committed tree state, or undefined for an empty (never committed) store. */
  readState(): Promise<TreeState | undefined>;
  /** Hash tiles as last put (latest width, with any derived data after), in the order asked; undefined when absent. */
  readTiles(ids: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]>;
  /** The concatenated entry runs of bundle `bundle` (empty when none): an entry bundle of its stored width. */
  readBundle(bundle: number): Promise<Uint8Array>;
  /** The indexes of these leaf hashes, undefined for unknown ones, in the order asked (one getMany). */
  findLeafHashes(leafHashes: readonly Hash[]): Promise<(number | undefined)[]>;
  /** Extension records by key (as given to {@link CommitBatch.putExtension}), undefined when absent, in the order asked (one getMany). */
  readExtensions(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** A cursor over the extension records in `range` (checked like every read). */
  extensionCursor(range: ExtensionRange): ExtensionCursor;
  /**
   * Writes and deletes extension records outside a commit (governance records, erasure), in one
   * atomic, durable (fsync'd) write: when it resolves all of it is on stable storage, after a
   * crash all or none of it is. It touches only the extension namespace, so it may run at any
   * time, concurrently with a commit. Callers serialize their own updates of the same keys.
   */
  updateExtensions(puts: readonly ExtensionRecord[], deletes: readonly Uint8Array[]): Promise<void>;
  /**
   * Rewrites the storage of the extension records in `range` (LevelDB: flushes the write-ahead
   * log and compacts every level), so deleted records are gone from the files, not only hidden.
   */
  compactExtensions(range: ExtensionRange): Promise<void>;
  /** A new, empty batch for {@link LogStore.commit}. */
  newBatch(): CommitBatch;
  /** Applies the batch atomically and durably; see the contract above. */
  commit(batch: CommitBatch): Promise<void>;
  /** The last cosigned checkpoint stored with {@link LogStore.putWitnessed}, if any. */
  readWitnessed(): Promise<string | undefined>;
  /** Stores a cosigned copy of a committed checkpoint (best effort, not synced). */
  putWitnessed(checkpoint: string): Promise<void>;
  /** Calls `onBatch` with every leaf hash of the leaf-hash index, in batches, from one snapshot. */
  scanLeafHashes(onBatch: (leafHashes: Hash[]) => void): Promise<void>;
  /** The leaf filter saved by {@link LogStore.putLeafFilter}, if any. */
  readLeafFilter(): Promise<Uint8Array | undefined>;
  /** Saves the leaf filter (derived data, written durably at a clean shutdown). */
  putLeafFilter(data: Uint8Array): Promise<void>;
  /** Closes the store; pending commits must have resolved first. */
  close(): Promise<void>;
}

/** A storage operation failed (disk full, I/O error, closed store). The client may retry later. */
export class StorageError extends Error {
  /** @param message what failed; @param cause the underlying error */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/**
 * Stored data is damaged (a checksum fails, a record is missing or does not add up). Never served:
 * readers answer 503, and at startup the server refuses to open the store. The message says where
 * (run `tlog-server verify` for the whole picture); the fix is restoring from a backup.
 */
export class StorageCorruptError extends StorageError {
  /** @param message what is damaged, and where */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageCorruptError';
  }
}
