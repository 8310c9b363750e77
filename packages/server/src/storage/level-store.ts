import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { fromBase64, type Hash, toBase64 } from '@tlog/merkle';
import CRC32 from 'crc-32';
import { Level } from 'level';
import {
  entriesKey,
  extensionKey,
  FILTER_KEY,
  FORMAT_KEY,
  LEAF_END,
  LEAF_FIRST,
  leafKey,
  readU64,
  STATE_KEY,
  tileKey,
  WITNESSED_KEY,
  writeU64,
} from './keys.js';
import { findLevelDbLogDamage } from './leveldb-log-check.js';
import {
  type CommitBatch,
  type ExtensionCursor,
  type ExtensionRange,
  type ExtensionRecord,
  type LogStore,
  StorageCorruptError,
  StorageError,
  type TreeState,
} from './store.js';

/**
 * The storage format this code writes and reads: 2 = every value carries a CRC-32 of its key
 * and value (format 1, before checksums, is not read).
 */
const FORMAT = 2;
const CHECKSUM_SIZE = 4;

interface PutOp {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** The value as stored: the value followed by the CRC-32 of key and value (big-endian). */
function seal(key: Uint8Array, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(value.length + CHECKSUM_SIZE);
  out.set(value);
  putChecksum(key, out, value.length);
  return out;
}

/**
 * Writes the CRC-32 of key and out[0, n) into out[n, n + 4), big-endian. Byte by byte: a
 * DataView would make V8 move a small on-heap array's bytes off-heap, on every record.
 */
function putChecksum(key: Uint8Array, out: Uint8Array, n: number): void {
  const c = checksum(key, out.subarray(0, n));
  out[n] = c >>> 24;
  out[n + 1] = c >>> 16;
  out[n + 2] = c >>> 8;
  out[n + 3] = c;
}

/** Below this many bytes of key and value, the JavaScript CRC beats a call into zlib's (about twice as fast for a leaf-index record). */
const SMALL_RECORD = 256;

/** The CRC-32 (IEEE, as zlib's) of key then value, unsigned. */
function checksum(key: Uint8Array, value: Uint8Array): number {
  if (key.length + value.length < SMALL_RECORD) return CRC32.buf(value, CRC32.buf(key)) >>> 0;
  return crc32(value, crc32(key));
}

/** The value of a stored record, after checking its checksum; StorageCorruptError naming `what` if it fails. */
function unseal(key: Uint8Array, stored: Uint8Array, what: () => string): Uint8Array {
  const n = stored.length - CHECKSUM_SIZE;
  if (n < 0)
    throw new StorageCorruptError(`storage is corrupt at ${what()}: the record is ${stored.length} bytes, too short for its checksum`);
  const value = stored.subarray(0, n);
  const want = ((stored[n]! << 24) | (stored[n + 1]! << 16) | (stored[n + 2]! << 8) | stored[n + 3]!) >>> 0;
  if (checksum(key, value) !== want) throw new StorageCorruptError(`storage is corrupt at ${what()}: its checksum does not match`);
  return value;
}

class LevelBatch implements CommitBatch {
  readonly ops: PutOp[] = [];
  get length(): number {
    return this.ops.length;
  }
  private put(key: Uint8Array, value: Uint8Array): void {
    this.ops.push({ key, value: seal(key, value) });
  }
  putTile(level: number, index: number, data: Uint8Array): void {
    this.put(tileKey(level, index), data);
  }
  putEntries(bundle: number, start: number, encoded: Uint8Array): void {
    this.put(entriesKey(bundle, start), encoded);
  }
  putLeafIndex(leafHash: Hash, index: number): void {
    // The index and its checksum in one 12-byte value, built in place (one per new entry).
    const key = leafKey(leafHash);
    const value = new Uint8Array(8 + CHECKSUM_SIZE);
    writeU64(value, 0, index);
    putChecksum(key, value, 8);
    this.ops.push({ key, value });
  }
  putState(state: TreeState): void {
    this.put(STATE_KEY, encodeState(state));
  }
  putExtension(key: Uint8Array, value: Uint8Array): void {
    this.put(extensionKey(key), value);
  }
}

const utf8 = new TextEncoder();

/** A key as hex, for messages. */
function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function encodeState(s: TreeState): Uint8Array {
  return utf8.encode(JSON.stringify({ size: s.size, edge: s.edge.map(toBase64), checkpoint: s.checkpoint }));
}

function decodeState(b: Uint8Array): TreeState {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Decoder.decode(b));
  } catch (err) {
    throw new StorageCorruptError(`storage is corrupt at the tree state: ${(err as Error).message}`);
  }
  const bad = (what: string) => new StorageCorruptError(`storage is corrupt at the tree state: ${what}`);
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  const o = raw as { size?: unknown; edge?: unknown; checkpoint?: unknown };
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw bad(`bad size ${String(o.size)}`);
  if (!Array.isArray(o.edge) || !o.edge.every((h) => typeof h === 'string')) throw bad('bad edge');
  if (typeof o.checkpoint !== 'string') throw bad('no checkpoint');
  try {
    return { size: o.size, edge: (o.edge as string[]).map(fromBase64), checkpoint: o.checkpoint };
  } catch (err) {
    throw bad(`bad edge hash (${(err as Error).message})`);
  }
}

/** Number of entries in an entry-bundle encoded run, or undefined when its length prefixes do not add up. */
function countRunEntries(run: Uint8Array): number | undefined {
  let off = 0;
  let n = 0;
  while (off < run.length) {
    if (off + 2 > run.length) return undefined;
    off += 2 + ((run[off]! << 8) | run[off + 1]!);
    n++;
  }
  return off === run.length ? n : undefined;
}

/** What LevelDB says, in one line, for our messages. */
function levelMessage(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown } };
  const cause = typeof e.cause?.message === 'string' ? `: ${e.cause.message}` : '';
  return `${typeof e.message === 'string' ? e.message : String(err)}${cause}`.replace(/\s*\n\s*/g, ' ');
}

/** Whether LevelDB's open failed because another process holds the database's lock. */
function isLockHeld(err: unknown): boolean {
  const m = levelMessage(err);
  return /LOCK: (Resource temporarily unavailable|already held by process)/i.test(m) || (err as { code?: unknown }).code === 'LEVEL_LOCKED';
}

/**
 * Lines of LevelDB's info log that report damage it worked around while opening ("dropping N
 * bytes; Corruption ..."): with paranoid checks off it logs them and carries on.
 */
async function damageReportedByLevelDb(dir: string): Promise<string | undefined> {
  let log: string;
  try {
    log = await readFile(join(dir, 'LOG'), 'utf8');
  } catch {
    return undefined;
  }
  return log.split('\n').find((l) => /\b(Corruption|ignoring error)\b/i.test(l));
}

/**
 * {@link LogStore} on LevelDB (the `level` package), one database directory per log.
 * Commits are single `batch(..., { sync: true })` calls: LevelDB applies a write batch
 * atomically through its log, and `sync` fsyncs that log before the call resolves.
 *
 * LevelDB as classic-level builds it checks no block checksums on reads and drops damaged log
 * records at open without failing, and the binding offers no option to change that. So this
 * store adds its own integrity checks: every value carries a CRC-32 of its key and value,
 * checked on every read; the write-ahead log is verified before LevelDB is allowed to replay it
 * (see leveldb-log-check.ts); entry runs of a bundle must be contiguous; and every LevelDB
 * failure becomes a StorageError that says what LevelDB said.
 */
export class LevelLogStore implements LogStore {
  private constructor(
    private readonly db: Level<Uint8Array, Uint8Array>,
    /** The database directory. */
    readonly dir: string,
  ) {}

  /**
   * Opens the database in directory `dir`, creating it only when the directory is missing or
   * empty. Refuses (StorageError; StorageCorruptError for damage) a non-empty directory that is
   * not an intact LevelDB database (no CURRENT file), a damaged write-ahead log, damage LevelDB
   * reports while opening, a database held by another process, and a database of another
   * storage format.
   */
  static async open(dir: string): Promise<LevelLogStore> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new StorageError(`cannot read the database directory ${dir}: ${(err as Error).message}`, { cause: err });
      names = [];
    }
    const fresh = names.length === 0;
    if (!fresh) {
      if (!names.includes('CURRENT')) {
        throw new StorageCorruptError(
          `${dir} is not an intact LevelDB database: it has files but no CURRENT file; restore it from a backup (it is never recreated over existing files)`,
        );
      }
      const damage = await findLevelDbLogDamage(dir);
      if (damage !== undefined) {
        throw new StorageCorruptError(
          `storage is corrupt: LevelDB's write-ahead log ${join(dir, damage.file)} is damaged at byte ${damage.offset} (${damage.reason}); ` +
            'opening it would silently drop committed entries, so the store was left untouched; restore it from a backup',
        );
      }
    } else {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw new StorageError(`cannot create the database directory ${dir}: ${(err as Error).message}`, { cause: err });
      }
    }
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: fresh });
    try {
      await db.open();
    } catch (err) {
      const why = levelMessage(err);
      if (isLockHeld(err))
        throw new StorageError(`cannot open ${dir}: another tlog server is using this --data-dir (LevelDB: ${why})`, { cause: err });
      throw new StorageError(`cannot open the LevelDB database in ${dir} (LevelDB: ${why})`, { cause: err });
    }
    const store = new LevelLogStore(db, dir);
    try {
      const reported = fresh ? undefined : await damageReportedByLevelDb(dir);
      if (reported !== undefined)
        throw new StorageCorruptError(`storage is corrupt: LevelDB reported damage while opening ${dir}: ${reported.trim()}`);
      await store.checkFormat(fresh);
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
    return store;
  }

  /** Writes the format record into a new database, or checks that an existing one has ours. */
  private async checkFormat(fresh: boolean): Promise<void> {
    const stored = await this.get(FORMAT_KEY);
    if (stored === undefined) {
      const hasState = (await this.get(STATE_KEY)) !== undefined;
      if (!fresh && hasState) {
        throw new StorageError(
          `the database in ${this.dir} was written by an older tlog (storage format 1, without checksums), which this version does not read`,
        );
      }
      try {
        await this.db.put(FORMAT_KEY, seal(FORMAT_KEY, Uint8Array.of(FORMAT)), { sync: true });
      } catch (err) {
        throw new StorageError(`cannot write to the database in ${this.dir} (LevelDB: ${levelMessage(err)})`, { cause: err });
      }
      return;
    }
    const format = unseal(FORMAT_KEY, stored, () => 'the format record');
    if (format.length !== 1 || format[0] !== FORMAT) {
      throw new StorageError(`the database in ${this.dir} has storage format ${format.join('.')}, but this tlog reads format ${FORMAT}`);
    }
  }

  /** One LevelDB get, its failures as StorageError. */
  private async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      return await this.db.get(key);
    } catch (err) {
      throw new StorageError(`reading from the store failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }

  /** One LevelDB getMany, its failures as StorageError. */
  private async getMany(keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    try {
      return await this.db.getMany(keys);
    } catch (err) {
      throw new StorageError(`reading from the store failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }

  async readState(): Promise<TreeState | undefined> {
    const v = await this.get(STATE_KEY);
    return v === undefined ? undefined : decodeState(unseal(STATE_KEY, v, () => 'the tree state'));
  }

  async readTiles(ids: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]> {
    if (ids.length === 0) return [];
    const keys = ids.map((t) => tileKey(t.level, t.index));
    const values = await this.getMany(keys);
    return values.map((v, i) => (v === undefined ? undefined : unseal(keys[i]!, v, () => `tile ${ids[i]!.level}/${ids[i]!.index}`)));
  }

  async readBundle(bundle: number): Promise<Uint8Array> {
    let runs: [Uint8Array, Uint8Array][];
    try {
      runs = await this.db.iterator({ gte: entriesKey(bundle, 0), lte: entriesKey(bundle, 255) }).all();
    } catch (err) {
      throw new StorageError(`reading entry bundle ${bundle} failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
    // Runs are stored apart and must follow each other exactly: a lost run would otherwise
    // shift every later entry of the bundle to a wrong index.
    const values: Uint8Array[] = [];
    let total = 0;
    let entries = 0;
    for (const [key, stored] of runs) {
      const start = key[key.length - 1]!;
      const value = unseal(key, stored, () => `entry bundle ${bundle} (run from ${start})`);
      const n = countRunEntries(value);
      if (n === undefined)
        throw new StorageCorruptError(`storage is corrupt at entry bundle ${bundle}: the run from ${start} is malformed`);
      if (start !== entries) {
        throw new StorageCorruptError(
          `storage is corrupt at entry bundle ${bundle}: entries ${entries}..${start - 1} are missing (the next stored run starts at ${start})`,
        );
      }
      entries += n;
      total += value.length;
      values.push(value);
    }
    if (values.length === 1) return values[0]!;
    const out = new Uint8Array(total);
    let off = 0;
    for (const v of values) {
      out.set(v, off);
      off += v.length;
    }
    return out;
  }

  async findLeafHashes(leafHashes: readonly Hash[]): Promise<(number | undefined)[]> {
    if (leafHashes.length === 0) return [];
    const keys = leafHashes.map(leafKey);
    const values = await this.getMany(keys);
    return values.map((v, i) => {
      if (v === undefined) return undefined;
      const value = unseal(keys[i]!, v, () => `the leaf index record of ${toBase64(leafHashes[i]!)}`);
      if (value.length !== 8)
        throw new StorageCorruptError(`storage is corrupt at the leaf index record of ${toBase64(leafHashes[i]!)}: ${value.length} bytes`);
      return readU64(value, 0);
    });
  }

  async readExtensions(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    const full = keys.map(extensionKey);
    const values = await this.getMany(full);
    return values.map((v, i) => (v === undefined ? undefined : unseal(full[i]!, v, () => `extension record ${hex(keys[i]!)}`)));
  }

  extensionCursor(range: ExtensionRange): ExtensionCursor {
    const it = this.db.iterator({
      gte: extensionKey(range.gte),
      lt: extensionKey(range.lt),
      reverse: range.reverse === true,
      ...(range.readAheadBytes !== undefined ? { highWaterMarkBytes: range.readAheadBytes } : {}),
    });
    return {
      seek: (key) => it.seek(extensionKey(key)),
      next: async (): Promise<ExtensionRecord | undefined> => {
        let kv: [Uint8Array, Uint8Array] | undefined;
        try {
          kv = await it.next();
        } catch (err) {
          throw new StorageError(`reading extension records failed (LevelDB: ${levelMessage(err)})`, { cause: err });
        }
        if (kv === undefined) return undefined;
        const [key, stored] = kv;
        return { key: key.subarray(1), value: unseal(key, stored, () => `extension record ${hex(key.subarray(1))}`) };
      },
      nextMany: async (max: number): Promise<ExtensionRecord[]> => {
        let kvs: [Uint8Array, Uint8Array][];
        try {
          kvs = await it.nextv(max);
        } catch (err) {
          throw new StorageError(`reading extension records failed (LevelDB: ${levelMessage(err)})`, { cause: err });
        }
        return kvs.map(([key, stored]) => ({
          key: key.subarray(1),
          value: unseal(key, stored, () => `extension record ${hex(key.subarray(1))}`),
        }));
      },
      close: () => it.close().catch(() => {}),
    };
  }

  async updateExtensions(puts: readonly ExtensionRecord[], deletes: readonly Uint8Array[]): Promise<void> {
    if (puts.length === 0 && deletes.length === 0) return;
    try {
      const chained = this.db.batch();
      for (const k of deletes) chained.del(extensionKey(k));
      for (const r of puts) {
        const key = extensionKey(r.key);
        chained.put(key, seal(key, r.value));
      }
      await chained.write({ sync: true });
    } catch (err) {
      throw new StorageError(`updating ${puts.length + deletes.length} records failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }

  async compactExtensions(range: ExtensionRange): Promise<void> {
    try {
      // `level` types the database as its browser-neutral interface; on Node it is a ClassicLevel.
      const db = this.db as unknown as { compactRange(start: Uint8Array, end: Uint8Array): Promise<void> };
      await db.compactRange(extensionKey(range.gte), extensionKey(range.lt));
    } catch (err) {
      throw new StorageError(`compacting the store failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }

  newBatch(): CommitBatch {
    return new LevelBatch();
  }

  async commit(batch: CommitBatch): Promise<void> {
    if (!(batch instanceof LevelBatch)) throw new TypeError('commit needs a batch made by this store’s newBatch()');
    if (batch.ops.length === 0) return;
    try {
      // A chained batch hands each op straight to the native batch: about twice as fast as the
      // array form, which clones and re-encodes every op in JS.
      const chained = this.db.batch();
      for (const op of batch.ops) chained.put(op.key, op.value);
      await chained.write({ sync: true });
    } catch (err) {
      throw new StorageError(`committing ${batch.ops.length} writes failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }

  async readWitnessed(): Promise<string | undefined> {
    const v = await this.get(WITNESSED_KEY);
    return v === undefined ? undefined : utf8Decoder.decode(unseal(WITNESSED_KEY, v, () => 'the cosigned checkpoint'));
  }

  async putWitnessed(checkpoint: string): Promise<void> {
    try {
      await this.db.put(WITNESSED_KEY, seal(WITNESSED_KEY, utf8.encode(checkpoint)));
    } catch (err) {
      throw new StorageError(`storing the cosigned checkpoint failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }

  async scanLeafHashes(onBatch: (leafHashes: Hash[]) => void): Promise<void> {
    const it = this.db.keys({ gte: LEAF_FIRST, lt: LEAF_END });
    try {
      for (;;) {
        const keys = await it.nextv(8192);
        if (keys.length === 0) break;
        onBatch(keys.map((k) => k.subarray(1)));
      }
    } catch (err) {
      throw new StorageError(`scanning the leaf index failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    } finally {
      await it.close().catch(() => {});
    }
  }

  async readLeafFilter(): Promise<Uint8Array | undefined> {
    const v = await this.get(FILTER_KEY);
    return v === undefined ? undefined : unseal(FILTER_KEY, v, () => 'the saved leaf filter');
  }

  async putLeafFilter(data: Uint8Array): Promise<void> {
    try {
      await this.db.put(FILTER_KEY, seal(FILTER_KEY, data), { sync: true });
    } catch (err) {
      throw new StorageError(`saving the leaf filter failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } catch (err) {
      throw new StorageError(`closing the store failed (LevelDB: ${levelMessage(err)})`, { cause: err });
    }
  }
}
