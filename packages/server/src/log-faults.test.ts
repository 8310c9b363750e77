import crypto from 'node:crypto';
import { generateEd25519Key, Hasher, openCheckpoint, parseSignerKey, parseVerifierKey, toBase64, verifyConsistency } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { Log, type LogOptions, LogStateError } from './log.js';
import { MemoryCheckpointRecord } from './storage/checkpoint-file.js';
import { MemoryLogStore } from './storage/memory-store.js';
import { type LogStore, StorageError } from './storage/store.js';

const hasher = new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
const ORIGIN = 'faults.example/log';
const key = generateEd25519Key(ORIGIN);
const verifier = parseVerifierKey(key.verifierKey);
const enc = (s: string) => new TextEncoder().encode(s);

interface Opened {
  readonly log: Log;
  readonly fatal: Error[];
  /** Every checkpoint the log published, by size (a fork would show two roots for one size). */
  readonly published: Map<number, string>;
}

async function open(store: LogStore, record: MemoryCheckpointRecord, extra: Partial<LogOptions> = {}): Promise<Opened> {
  const fatal: Error[] = [];
  const log = await Log.open(store, {
    origin: ORIGIN,
    signer: parseSignerKey(key.signerKey),
    verifierKey: key.verifierKey,
    hasher,
    sequencer: { batchMaxEntries: 100, batchIntervalMs: 0, poolMaxEntries: 10_000, poolMaxBytes: 1 << 24 },
    tileCacheTiles: 16,
    entryCacheBytes: 1 << 16,
    checkpointRecord: record,
    reopenStore: async () => (store instanceof MemoryLogStore ? store.reopen() : store),
    onFatal: (err) => fatal.push(err),
    ...extra,
  });
  return { log, fatal, published: new Map() };
}

/** Appends and records the published checkpoint, asserting no second root for any size. */
async function append(o: Opened, entries: string[]) {
  const r = await o.log.append(entries.map(enc), false);
  const cp = openCheckpoint(r.published.checkpoint, verifier).checkpoint;
  const seen = o.published.get(cp.size);
  expect(seen === undefined || seen === toBase64(cp.root), `two roots for size ${cp.size}`).toBe(true);
  o.published.set(cp.size, toBase64(cp.root));
  return r;
}

/** Waits (without a deadline of its own; the test timeout bounds it) until the log accepts entries again. */
async function recovered(log: Log): Promise<void> {
  while (!log.writable) await new Promise((r) => setTimeout(r, 10));
}

describe('a commit whose outcome is unknown', () => {
  it('nothing persisted: the writers get a retryable StorageError, the log reopens the store and reuses no acknowledged index', async () => {
    const store = new MemoryLogStore();
    const record = new MemoryCheckpointRecord();
    const o = await open(store, record);
    expect((await append(o, ['a', 'b', 'c'])).indexes).toEqual([0, 1, 2]);
    const before = o.log.published;

    store.failNextCommit('lost');
    await expect(o.log.append([enc('d')], false)).rejects.toThrow(StorageError);
    expect(o.log.published.size).toBe(3); // nothing was published for the failed commit
    await recovered(o.log);
    expect(record.current).toBe(before.checkpoint);

    const r = await append(o, ['d', 'e']);
    expect(r.indexes).toEqual([3, 4]);
    verifyConsistency(3, 5, await o.log.consistencyProof(3, 5), before.root, o.log.published.root, hasher);
    expect(o.fatal).toEqual([]);
    await o.log.close();
  });

  it('everything persisted: the log adopts the commit after reopening, and a retry gets the same index', async () => {
    const store = new MemoryLogStore();
    const record = new MemoryCheckpointRecord();
    const o = await open(store, record);
    await append(o, ['a', 'b']);

    store.failNextCommit('applied');
    await expect(o.log.append([enc('c')], false)).rejects.toThrow(/nothing of this request was acknowledged; retry/);
    await recovered(o.log);
    expect(o.log.published.size).toBe(3);
    expect(openCheckpoint(record.current!, verifier).checkpoint.size).toBe(3);
    expect((await append(o, ['c'])).indexes).toEqual([2]); // already in the log
    expect((await append(o, ['d'])).indexes).toEqual([3]);
    await o.log.close();
  });

  it('a failed write of the checkpoint record counts as a failed commit, and the record catches up after recovery', async () => {
    const store = new MemoryLogStore();
    const record = new MemoryCheckpointRecord();
    const o = await open(store, record);
    await append(o, ['a']);
    record.failNext = true;
    await expect(o.log.append([enc('b')], false)).rejects.toThrow(StorageError);
    await recovered(o.log);
    expect(o.log.published.size).toBe(2);
    expect(record.current).toBe(o.log.published.checkpoint);
    await o.log.close();
  });

  it('keeps retrying while the store cannot be reopened, refusing writes meanwhile, then goes on', async () => {
    const store = new MemoryLogStore();
    let refusals = 2;
    const o = await open(store, new MemoryCheckpointRecord(), {
      reopenStore: async () => {
        if (refusals > 0) {
          refusals--;
          throw new StorageError('No space left on device');
        }
        return store.reopen();
      },
    });
    await append(o, ['a']);
    store.failNextCommit('lost');
    await expect(o.log.append([enc('b')], false)).rejects.toThrow(StorageError);
    expect(o.log.writable).toBe(false);
    await expect(o.log.append([enc('b')], false)).rejects.toThrow(/recovering from a storage failure/);
    await recovered(o.log);
    expect(refusals).toBe(0);
    expect((await append(o, ['b'])).indexes).toEqual([1]);
    await o.log.close();
  });

  it('stops for good (onFatal) when the reopened store has lost what was committed, never signing over it', async () => {
    const store = new MemoryLogStore();
    const older = new MemoryLogStore();
    const record = new MemoryCheckpointRecord();
    const o = await open(store, record, { reopenStore: async () => older });
    await append(o, ['a', 'b']);
    store.failNextCommit('lost');
    await expect(o.log.append([enc('c')], false)).rejects.toThrow(StorageError);
    while (o.fatal.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(o.fatal[0]).toBeInstanceOf(LogStateError);
    expect(o.fatal[0]!.message).toMatch(/the store is empty, but this log has signed a checkpoint of size 2/);
    await expect(o.log.append([enc('c')], false)).rejects.toThrow(/the log has stopped/);
    expect(o.log.published.size).toBe(2);
    await o.log.close();
  });
});

describe('opening a store against the checkpoint record', () => {
  /** A store holding `entries`, and the record and checkpoints its log signed on the way. */
  async function build(entries: string[][]) {
    const store = new MemoryLogStore();
    const record = new MemoryCheckpointRecord();
    const o = await open(store, record);
    const notes: string[] = [];
    for (const e of entries) notes.push((await append(o, e)).published.checkpoint);
    await o.log.close();
    return { store: store.reopen(), record, notes };
  }

  it('refuses an empty store when the log has signed entries', async () => {
    const { record } = await build([['a', 'b', 'c']]);
    await expect(open(new MemoryLogStore(), record)).rejects.toThrow(/the store is empty, but this log has signed a checkpoint of size 3/);
  });

  it('refuses a store behind the record, and one that disagrees with it at its size', async () => {
    const a = await build([['a', 'b', 'c']]);
    const short = await build([['a', 'b']]);
    await expect(open(short.store, a.record)).rejects.toThrow(
      /the store is behind the last checkpoint this log signed: it holds 2 entries, but a checkpoint of size 3/,
    );
    const other = await build([['x', 'y', 'z']]);
    await expect(open(other.store, a.record)).rejects.toThrow(/the store disagrees with the last checkpoint this log signed/);
    const longer = await build([['x', 'y', 'z', 'w']]);
    await expect(open(longer.store, a.record)).rejects.toThrow(/disagrees/);
  });

  it('accepts a store one commit ahead of the record (a crash between the two) and brings the record up to date', async () => {
    const { store, record, notes } = await build([['a', 'b'], ['c']]);
    record.current = notes[0]; // the crash came before the second record
    const o = await open(store, record);
    expect(o.log.published.size).toBe(3);
    expect(record.current).toBe(notes[1]);
    await o.log.close();
  });

  it('refuses a store without a record once it holds a tree, and a record or store signed by another key', async () => {
    const { store, record } = await build([['a']]);
    await expect(open(store, new MemoryCheckpointRecord())).rejects.toThrow(/the checkpoint record is missing/);
    const stranger = generateEd25519Key(ORIGIN);
    const otherKey: Partial<LogOptions> = { signer: parseSignerKey(stranger.signerKey), verifierKey: stranger.verifierKey };
    await expect(open(store, record, otherKey)).rejects.toThrow(/not a checkpoint of faults\.example\/log signed by the key/);
  });
});
