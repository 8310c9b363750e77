import { hash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '@tlog/files';
import { StorageCorruptError, StorageError } from './store.js';

/** Read-write, each write durable when it returns (O_DSYNC: fdatasync semantics, in the same call). */
const WRITE_DURABLY = constants.O_RDWR | constants.O_DSYNC;
/** Bytes per slot; the file holds two. A log-signed checkpoint note is a few hundred bytes. */
const SLOT_SIZE = 4096;
const MAGIC = 'tlog-checkpoint-record v1';
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** One decoded slot: its write sequence number and the note it holds. */
interface Slot {
  readonly seq: number;
  readonly note: string;
}

/**
 * Encodes a slot: a text header naming the sequence number and the note's SHA-256, the note,
 * and zero padding. Text, so that `cat` shows an operator what the log last signed.
 */
function encodeSlot(seq: number, note: string): Uint8Array {
  const body = utf8.encode(note);
  const header = utf8.encode(`${MAGIC}\nseq ${seq}\nsha256 ${hash('sha256', body, 'hex')}\nbytes ${body.length}\n\n`);
  if (header.length + body.length > SLOT_SIZE)
    throw new StorageError(`a checkpoint of ${body.length} bytes does not fit the checkpoint record`);
  const out = new Uint8Array(SLOT_SIZE);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** Decodes a slot; undefined when it is empty, torn or otherwise not intact. */
function decodeSlot(bytes: Uint8Array): Slot | undefined {
  let text: string;
  try {
    const used = bytes.indexOf(0);
    text = utf8Decoder.decode(used < 0 ? bytes : bytes.subarray(0, used));
  } catch {
    return undefined;
  }
  const m = /^tlog-checkpoint-record v1\nseq (0|[1-9][0-9]{0,15})\nsha256 ([0-9a-f]{64})\nbytes ([0-9]{1,4})\n\n/.exec(text);
  if (m === null) return undefined;
  const body = utf8.encode(text.slice(m[0].length));
  if (body.length !== Number(m[3])) return undefined;
  if (hash('sha256', body, 'hex') !== m[2]) return undefined;
  return { seq: Number(m[1]), note: utf8Decoder.decode(body) };
}

/**
 * The last log-signed checkpoint, recorded outside the store after every commit and before the
 * checkpoint is published, so that a store that lost acknowledged entries, or was replaced by an
 * older copy, is noticed at startup instead of being extended into a fork.
 *
 * The file has two slots written alternately in place, each with its own checksum, and is
 * written with O_DSYNC: a write torn by a crash spoils only the slot being written, and
 * the other still holds the previous checkpoint (which the store is then one commit ahead of).
 * One synchronous write per commit (O_DSYNC), no rename.
 */
export class CheckpointFile implements CheckpointRecord {
  private seq: number;

  private constructor(
    /** The file's path. */
    readonly path: string,
    private fh: FileHandle | undefined,
    private last: string | undefined,
    seq: number,
  ) {
    this.seq = seq;
  }

  /**
   * Reads the record at `path` (absent: nothing recorded yet; the file is created by the first
   * {@link record}). Throws StorageCorruptError when the file exists but neither slot is intact.
   */
  static async open(path: string): Promise<CheckpointFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, WRITE_DURABLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new CheckpointFile(path, undefined, undefined, 0);
      throw new StorageError(`cannot open the checkpoint record ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const bytes = new Uint8Array(2 * SLOT_SIZE);
      const { bytesRead } = await fh.read(bytes, 0, bytes.length, 0);
      const slots = [decodeSlot(bytes.subarray(0, Math.min(bytesRead, SLOT_SIZE))), decodeSlot(bytes.subarray(SLOT_SIZE, bytesRead))];
      const best = slots.reduce<Slot | undefined>((a, s) => (s !== undefined && (a === undefined || s.seq > a.seq) ? s : a), undefined);
      if (best === undefined) {
        throw new StorageCorruptError(
          `the checkpoint record ${path} is damaged (neither copy is intact), so the last checkpoint this log signed is unknown; restore it from a backup`,
        );
      }
      return new CheckpointFile(path, fh, best.note, best.seq);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The last recorded log-signed checkpoint note, or undefined when none was ever recorded. */
  get current(): string | undefined {
    return this.last;
  }

  /** Durably records `note` as the last signed checkpoint (resolves after fdatasync). */
  async record(note: string): Promise<void> {
    const seq = this.seq + 1;
    const slot = encodeSlot(seq, note);
    try {
      if (this.fh === undefined) {
        // First record: create the file with both slots, so a torn first write leaves the other slot empty, not missing.
        const created = await open(this.path, 'wx+', 0o644);
        try {
          await created.write(new Uint8Array(2 * SLOT_SIZE), 0, 2 * SLOT_SIZE, 0);
          await created.write(slot, 0, SLOT_SIZE, (seq % 2) * SLOT_SIZE);
          await created.sync();
        } finally {
          await created.close();
        }
        await syncDir(dirname(this.path));
        this.fh = await open(this.path, WRITE_DURABLY);
      } else {
        // O_DSYNC: the write returns once the slot is on stable storage (one call, not two).
        await this.fh.write(slot, 0, SLOT_SIZE, (seq % 2) * SLOT_SIZE);
      }
    } catch (err) {
      throw new StorageError(`recording the signed checkpoint in ${this.path} failed: ${(err as Error).message}`, { cause: err });
    }
    this.seq = seq;
    this.last = note;
  }

  /** Closes the file. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

/** Where a log records its last signed checkpoint outside its store (see {@link CheckpointFile}). */
export interface CheckpointRecord {
  /** The last recorded log-signed checkpoint note, or undefined when none was ever recorded. */
  readonly current: string | undefined;
  /** Durably records `note` as the last signed checkpoint. */
  record(note: string): Promise<void>;
}

/** A {@link CheckpointRecord} in memory (tests). */
export class MemoryCheckpointRecord implements CheckpointRecord {
  current: string | undefined;
  /** Set to make the next record() fail. */
  failNext = false;
  async record(note: string): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new StorageError('injected failure recording the checkpoint');
    }
    this.current = note;
  }
}
