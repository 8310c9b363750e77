import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeEntryBundle,
  generateEd25519Key,
  Hasher,
  openCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
  verifyTlogProof,
} from '@tlog/merkle';
import { afterEach, describe, expect, it } from 'vitest';
import { Log, LogStateError, NotFoundError } from './log.js';
import { CheckpointFile, MemoryCheckpointRecord } from './storage/checkpoint-file.js';
import { LevelLogStore } from './storage/level-store.js';

const hasher = new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
const ORIGIN = 'test.example/log';
const key = generateEd25519Key(ORIGIN);
const verifier = parseVerifierKey(key.verifierKey);
const enc = (s: string) => new TextEncoder().encode(s);

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function openLog(dir: string, origin = ORIGIN) {
  const store = await LevelLogStore.open(join(dir, 'db'));
  const checkpointRecord = await CheckpointFile.open(join(dir, 'checkpoint'));
  try {
    const log = await Log.open(store, {
      checkpointRecord,
      origin,
      signer: parseSignerKey(key.signerKey),
      verifierKey: key.verifierKey,
      hasher,
      sequencer: { batchMaxEntries: 100, batchIntervalMs: 0, poolMaxEntries: 10_000, poolMaxBytes: 1 << 24 },
      tileCacheTiles: 16,
      entryCacheBytes: 1 << 16,
    });
    return {
      log,
      store,
      close: async () => {
        await log.close();
        await store.close();
        await checkpointRecord.close();
      },
    };
  } catch (err) {
    await store.close();
    await checkpointRecord.close();
    throw err;
  }
}

describe('Log', () => {
  it('appends in batches across tile boundaries; receipts, proofs, tiles and bundles all agree', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-log-'));
    dirs.push(dir);
    const { log, close } = await openLog(dir);
    expect(log.published.size).toBe(0);
    const entries = Array.from({ length: 700 }, (_, i) => enc(`entry ${i}`));
    const sizes: { size: number; root: Uint8Array }[] = [];
    for (let i = 0; i < entries.length; ) {
      const n = [1, 7, 100, 255, 256, 81][sizes.length % 6]!;
      const chunk = entries.slice(i, i + n);
      const r = await log.append(chunk, true);
      expect(r.receipts).toHaveLength(chunk.length);
      r.indexes.forEach((index, j) => {
        expect(index).toBe(i + j);
        expect(new Uint8Array(r.leafHashes[j]!)).toEqual(new Uint8Array(hasher.hashLeaf(chunk[j]!)));
        const v = verifyTlogProof(r.receipts![j]!, chunk[j]!, { log: verifier });
        expect(v.index).toBe(i + j);
      });
      i += chunk.length;
      sizes.push({ size: log.published.size, root: log.published.root });
    }
    const leafHashes = entries.map((e) => hasher.hashLeaf(e));
    expect(new Uint8Array(log.published.root)).toEqual(new Uint8Array(rootFromLeafHashes(leafHashes, hasher)));
    openCheckpoint(log.published.checkpoint, verifier);

    for (const s of sizes) {
      for (const idx of [0, s.size - 1, Math.floor(s.size / 2)]) {
        verifyInclusion(idx, s.size, leafHashes[idx]!, await log.inclusionProof(idx, s.size), s.root, hasher);
      }
      verifyConsistency(s.size, 700, await log.consistencyProof(s.size, 700), s.root, log.published.root, hasher);
    }
    // Level-0 tile 1 is full; tile 2 partial (700 = 2*256 + 188); the level-1 tile has width 2.
    expect(new Uint8Array(await log.tile(0, 1, 256))).toEqual(new Uint8Array(Buffer.concat(leafHashes.slice(256, 512))));
    expect(new Uint8Array(await log.tile(0, 2, 10))).toEqual(new Uint8Array(Buffer.concat(leafHashes.slice(512, 522))));
    expect((await log.tile(1, 0, 2)).length).toBe(64);
    await expect(log.tile(0, 2, 189)).rejects.toThrow(NotFoundError);
    await expect(log.tile(1, 0, 3)).rejects.toThrow(NotFoundError);
    expect(decodeEntryBundle(await log.entryBundle(1, 256))).toEqual(entries.slice(256, 512));
    expect(decodeEntryBundle(await log.entryBundle(2, 188))).toEqual(entries.slice(512, 700));
    await expect(log.entryBundle(2, 189)).rejects.toThrow(NotFoundError);
    expect(await log.entries(250, 260)).toEqual(entries.slice(250, 260));
    expect(await log.findLeafHash(leafHashes[300]!)).toBe(300);
    await close();

    // Restart: state is read, not replayed; everything is still there and it keeps growing.
    const again = await openLog(dir);
    expect(again.log.published.size).toBe(700);
    expect(new Uint8Array(again.log.published.root)).toEqual(new Uint8Array(rootFromLeafHashes(leafHashes, hasher)));
    const more = await again.log.append([enc('after restart')], true);
    expect(more.indexes[0]).toBe(700);
    verifyTlogProof(more.receipts![0]!, enc('after restart'), { log: verifier });
    const dup = await again.log.append([entries[5]!], true);
    expect(dup.indexes[0]).toBe(5);
    verifyTlogProof(dup.receipts![0]!, entries[5]!, { log: verifier });
    await again.close();
  });

  it('finds old entries as duplicates with a saved leaf filter, a stale one after a crash, and while it is rebuilt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-log-'));
    dirs.push(dir);
    const entries = Array.from({ length: 300 }, (_, i) => enc(`old ${i}`));
    const first = await openLog(dir);
    await first.log.append(entries, false);
    await first.close(); // a clean shutdown saves the filter for size 300

    const clean = await openLog(dir);
    expect(clean.log.leafFilterReady).toBe(true);
    expect((await clean.log.append([entries[7]!], false)).indexes).toEqual([7]);
    expect((await clean.log.append([enc('new after a clean start')], false)).indexes).toEqual([300]);
    await clean.store.close(); // a crash: the log never closes, the saved filter now describes size 300, not 301

    const crashed = await openLog(dir);
    expect(crashed.log.leafFilterReady).toBe(false); // stale filter refused: rebuilding from the leaf index
    expect((await crashed.log.append([entries[8]!, enc('new after a clean start')], false)).indexes).toEqual([8, 300]);
    for (let i = 0; i < 500 && !crashed.log.leafFilterReady; i++) await new Promise((r) => setTimeout(r, 5));
    expect(crashed.log.leafFilterReady).toBe(true);
    expect((await crashed.log.append([entries[299]!, enc('new after the rebuild')], false)).indexes).toEqual([299, 301]);
    await crashed.close();
  });

  it('refuses a data dir that holds another origin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-log-'));
    dirs.push(dir);
    const { close } = await openLog(dir);
    await close();
    const other = generateEd25519Key('other.example/log');
    const store = await LevelLogStore.open(join(dir, 'db'));
    await expect(
      Log.open(store, {
        checkpointRecord: new MemoryCheckpointRecord(),
        origin: 'other.example/log',
        signer: parseSignerKey(other.signerKey),
        verifierKey: other.verifierKey,
        hasher,
        sequencer: { batchMaxEntries: 1, batchIntervalMs: 0, poolMaxEntries: 1, poolMaxBytes: 1 << 20 },
        tileCacheTiles: 16,
        entryCacheBytes: 0,
      }),
    ).rejects.toThrow(LogStateError);
    await store.close();
  });
});
