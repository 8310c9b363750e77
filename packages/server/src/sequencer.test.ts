import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CompactTree, Hasher, generateEd25519Key, parseSignerKey } from '@tlog/merkle';
import { PoolFullError, Sequencer, SequencerClosedError, type Commit, type SequencerOptions } from './sequencer.js';
import { LevelLogStore } from './storage/level-store.js';
import { TileCache } from './tree/tile-cache.js';

const hasher = new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
const ORIGIN = 'test.example/seq';
const signer = parseSignerKey(generateEd25519Key(ORIGIN).signerKey);
const enc = (s: string) => new TextEncoder().encode(s);

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(opts: Partial<SequencerOptions>) {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-seq-'));
  const store = await LevelLogStore.open(dir);
  cleanup.push(() => rm(dir, { recursive: true, force: true }), () => store.close());
  const commits: Commit[] = [];
  const tiles = new TileCache(store, hasher, 64);
  const seq = new Sequencer(
    store,
    tiles,
    new CompactTree(0, [], hasher),
    signer,
    ORIGIN,
    hasher,
    { batchMaxEntries: 4, batchIntervalMs: 10_000, poolMaxEntries: 100, poolMaxBytes: 1 << 20, ...opts },
    (c) => commits.push(c),
  );
  cleanup.push(() => seq.close());
  return { seq, commits, store };
}

describe('Sequencer', () => {
  it('commits a full batch at once and entries arriving during a commit in the next batch', async () => {
    const { seq, commits } = await setup({ batchMaxEntries: 4 });
    const all = Array.from({ length: 10 }, (_, i) => seq.submit([enc(`e${i}`)]));
    const indexes = (await Promise.all(all)).map((r) => r[0]);
    expect(indexes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(commits.map((c) => c.size)).toEqual([4, 8, 10]);
  });

  it('commits a lone entry when the interval passes', async () => {
    const { seq, commits } = await setup({ batchIntervalMs: 1 });
    expect(await seq.submit([enc('alone')])).toEqual([0]);
    expect(commits).toHaveLength(1);
  });

  it('deduplicates identical entries in the pool, in one submission and in the store', async () => {
    const { seq, commits, store } = await setup({ batchIntervalMs: 1 });
    const [a, b, c] = await Promise.all([seq.submit([enc('x')]), seq.submit([enc('x'), enc('y'), enc('x')]), seq.submit([enc('y')])]);
    expect(a).toEqual([0]);
    expect(b).toEqual([0, 1, 0]);
    expect(c).toEqual([1]);
    expect(commits.map((k) => k.size)).toEqual([2]);
    // Already in the store: same index, no new commit, the tree does not grow.
    expect(await seq.submit([enc('y'), enc('x')])).toEqual([1, 0]);
    expect(commits).toHaveLength(1);
    expect(seq.size).toBe(2);
    expect((await store.readState())!.size).toBe(2);
    // A mix of known and new entries grows the tree by the new ones only.
    expect(await seq.submit([enc('x'), enc('z')])).toEqual([0, 2]);
    expect(seq.size).toBe(3);
  });

  it('commits a multi-entry submission in one batch even when larger than batchMaxEntries', async () => {
    const { seq, commits } = await setup({ batchMaxEntries: 2, batchIntervalMs: 1 });
    const r = await seq.submit(['a', 'b', 'c', 'd', 'e'].map(enc));
    expect(r).toEqual([0, 1, 2, 3, 4]);
    expect(commits.map((c) => c.size)).toEqual([5]);
  });

  it('refuses a submission the pool cannot take, admitting none of it', async () => {
    const { seq, commits } = await setup({ poolMaxEntries: 3, batchMaxEntries: 100 });
    const admitted = [seq.submit([enc('1')]), seq.submit([enc('2')])];
    expect(() => seq.submit([enc('3'), enc('4')])).toThrow(PoolFullError);
    // A duplicate of a waiting entry needs no room.
    const dup = seq.submit([enc('1')]);
    const third = seq.submit([enc('3')]);
    expect(() => seq.submit([enc('4')])).toThrow(/pool is full/);
    await seq.close(); // drains what was admitted
    expect(await Promise.all([...admitted, dup, third])).toEqual([[0], [1], [0], [2]]);
    expect(commits.map((c) => c.size)).toEqual([3]);
  });

  it('refuses entries over 65535 bytes and submissions after close', async () => {
    const { seq } = await setup({});
    expect(() => seq.submit([new Uint8Array(65536)])).toThrow(/65536 bytes/);
    await seq.close();
    expect(() => seq.submit([enc('late')])).toThrow(SequencerClosedError);
  });

  it('runs extensions inside the commit', async () => {
    const { seq, store } = await setup({ batchIntervalMs: 1 });
    const seen: number[] = [];
    seq.addExtension((batch, entries) => {
      for (const e of entries) {
        seen.push(e.index);
        batch.putExtension(e.leafHash, Uint8Array.of(e.index));
      }
    });
    await seq.submit([enc('p'), enc('q')]);
    expect(seen).toEqual([0, 1]);
    expect(await store.findLeafHashes([hasher.hashLeaf(enc('q'))])).toEqual([1]);
  });
});
