import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactTree, generateEd25519Key, Hasher, parseSignerKey } from '@tlog/merkle';
import { afterEach, describe, expect, it } from 'vitest';
import { type Commit, PoolFullError, type Sequenced, Sequencer, SequencerClosedError, type SequencerOptions } from './sequencer.js';
import { LevelLogStore } from './storage/level-store.js';
import { MemoryLogStore } from './storage/memory-store.js';
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
  cleanup.push(
    () => rm(dir, { recursive: true, force: true }),
    () => store.close(),
  );
  const commits: Commit[] = [];
  const tiles = new TileCache(store, hasher, 64);
  const seq = new Sequencer({
    store,
    tiles,
    tree: new CompactTree(0, [], hasher),
    signer,
    origin: ORIGIN,
    hasher,
    options: { batchMaxEntries: 4, batchIntervalMs: 10_000, poolMaxEntries: 100, poolMaxBytes: 1 << 20, ...opts },
    onCommit: (c) => commits.push(c),
  });
  cleanup.push(() => seq.close());
  return { seq, commits, store };
}

const ids = (p: Promise<Sequenced>) => p.then((r) => r.indexes);

describe('Sequencer', () => {
  it('group commit: an idle log commits at once, entries arriving during a commit form the next batch', async () => {
    const { seq, commits } = await setup({ batchMaxEntries: 4, batchIntervalMs: 0 });
    const all = Array.from({ length: 10 }, (_, i) => ids(seq.submit([enc(`e${i}`)])));
    expect((await Promise.all(all)).map((r) => r[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // e0 starts a commit alone; e1..e9 wait for it and then go in batches of at most 4.
    expect(commits.map((c) => c.size)).toEqual([1, 5, 9, 10]);
  });

  it('with an interval, entries arriving within it of the last commit start share one commit', async () => {
    const { seq, commits } = await setup({ batchIntervalMs: 30 });
    expect(await ids(seq.submit([enc('a')]))).toEqual([0]);
    const rest = await Promise.all(['b', 'c', 'd'].map((x) => ids(seq.submit([enc(x)]))));
    expect(rest).toEqual([[1], [2], [3]]);
    expect(commits.map((c) => c.size)).toEqual([1, 4]);
  });

  it('without an interval the same arrivals commit as soon as the log is idle', async () => {
    const { seq, commits } = await setup({ batchIntervalMs: 0 });
    expect(await ids(seq.submit([enc('a')]))).toEqual([0]);
    await Promise.all(['b', 'c', 'd'].map((x) => seq.submit([enc(x)])));
    expect(commits.map((c) => c.size)).toEqual([1, 2, 4]);
  });

  it('deduplicates identical entries in the pool, in one submission and in the store', async () => {
    const { seq, commits, store } = await setup({ batchIntervalMs: 0 });
    const [a, b, c] = await Promise.all([
      ids(seq.submit([enc('x')])),
      ids(seq.submit([enc('x'), enc('y'), enc('x')])),
      ids(seq.submit([enc('y')])),
    ]);
    expect(a).toEqual([0]);
    expect(b).toEqual([0, 1, 0]);
    expect(c).toEqual([1]);
    // 'x' was committed alone (the log was idle); the repeats waited for it and added only 'y'.
    expect(commits.map((k) => k.size)).toEqual([1, 2]);
    // Already in the store: same index, no new commit, the tree does not grow.
    const again = await seq.submit([enc('y'), enc('x')]);
    expect(again.indexes).toEqual([1, 0]);
    expect(Buffer.from(again.leafHashes[0]!).equals(Buffer.from(hasher.hashLeaf(enc('y'))))).toBe(true);
    expect(commits).toHaveLength(2);
    expect(seq.size).toBe(2);
    expect((await store.readState())!.size).toBe(2);
    // A mix of known and new entries grows the tree by the new ones only.
    expect(await ids(seq.submit([enc('x'), enc('z')]))).toEqual([0, 2]);
    expect(seq.size).toBe(3);
  });

  it('bounds a commit by entry bytes too: waiting submissions that would pass batchMaxBytes go in the next commit', async () => {
    const { seq, commits } = await setup({ batchMaxEntries: 100, batchMaxBytes: 130, batchIntervalMs: 0 });
    const big = (i: number) => enc(`${i}`.padEnd(60, '.'));
    expect((await Promise.all(Array.from({ length: 5 }, (_, i) => ids(seq.submit([big(i)]))))).map((r) => r[0])).toEqual([0, 1, 2, 3, 4]);
    // e0 commits alone (the log was idle); e1..e4 (60 bytes each) go two by two.
    expect(commits.map((c) => c.size)).toEqual([1, 3, 5]);
    // One submission larger than the bound still commits, alone.
    expect(await ids(seq.submit([big(5), big(6), big(7)]))).toEqual([5, 6, 7]);
    expect(commits.map((c) => c.size)).toEqual([1, 3, 5, 8]);
  });

  it('commits a multi-entry submission in one batch even when larger than batchMaxEntries', async () => {
    const { seq, commits } = await setup({ batchMaxEntries: 2, batchIntervalMs: 0 });
    expect(await ids(seq.submit(['a', 'b', 'c', 'd', 'e'].map(enc)))).toEqual([0, 1, 2, 3, 4]);
    expect(commits.map((c) => c.size)).toEqual([5]);
  });

  it('refuses a submission the pool cannot take, admitting none of it', async () => {
    const { seq, commits } = await setup({ poolMaxEntries: 3, batchMaxEntries: 100, batchIntervalMs: 60_000 });
    const first = ids(seq.submit([enc('0')])); // the idle log commits it at once; the rest wait for the interval
    const admitted = [ids(seq.submit([enc('1')])), ids(seq.submit([enc('2')]))];
    expect(() => seq.submit([enc('3'), enc('4')])).toThrow(PoolFullError);
    // A repeat of a waiting entry needs no room.
    const dup = ids(seq.submit([enc('1')]));
    const third = ids(seq.submit([enc('3')]));
    expect(() => seq.submit([enc('4')])).toThrow(/pool is full/);
    await seq.close(); // drains what was admitted
    expect(await Promise.all([first, ...admitted, dup, third])).toEqual([[0], [1], [2], [1], [3]]);
    expect(commits.map((c) => c.size)).toEqual([1, 4]);
  });

  it('refuses entries over 65535 bytes and submissions after close', async () => {
    const { seq } = await setup({});
    expect(() => seq.submit([new Uint8Array(65536)])).toThrow(/65536 bytes/);
    await seq.close();
    expect(() => seq.submit([enc('late')])).toThrow(SequencerClosedError);
  });

  it('runs extensions inside the commit', async () => {
    const { seq, store } = await setup({ batchIntervalMs: 0 });
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

/** A promise with its resolve and reject at hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/**
 * A sequencer over a memory store whose writes and seals wait for the test to let them finish,
 * recording what started and ended when.
 */
function gated() {
  const store = new MemoryLogStore();
  const events: string[] = [];
  const writes: ReturnType<typeof deferred<void>>[] = [];
  const seals: ReturnType<typeof deferred<void>>[] = [];
  const failures: string[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (batch) => {
    const gate = deferred();
    writes.push(gate);
    const n = writes.length;
    events.push(`write ${n}`);
    await gate.promise;
    try {
      await commit(batch);
    } finally {
      events.push(`written ${n}`);
    }
  };
  const seq = new Sequencer({
    store,
    tiles: new TileCache(store, hasher, 64),
    tree: new CompactTree(0, [], hasher),
    signer,
    origin: ORIGIN,
    hasher,
    options: { batchMaxEntries: 100, batchIntervalMs: 0, poolMaxEntries: 100, poolMaxBytes: 1 << 20 },
    onCommit: (c) => events.push(`published ${c.size}`),
    seal: async (c) => {
      const gate = deferred();
      seals.push(gate);
      events.push(`seal ${c.size}`);
      await gate.promise;
      events.push(`sealed ${c.size}`);
    },
    onFailure: (err) => {
      events.push('failed');
      failures.push(err.message);
    },
  });
  return { store, seq, events, writes, seals, failures };
}

/** Submits 'a' (its write starts) and then 'b' (prepared behind it); failures are awaited by the test. */
async function twoInFlight(seq: Sequencer): Promise<[Promise<Sequenced>, Promise<Sequenced>]> {
  const a = seq.submit([enc('a')]);
  a.catch(() => {});
  await settle();
  const b = seq.submit([enc('b')]);
  b.catch(() => {});
  await settle();
  return [a, b];
}

describe('Sequencer: overlapped commits', () => {
  it('writes the next batch while the previous one is sealed, never beside a write in flight, and acknowledges in order', async () => {
    const { seq, events, writes, seals } = gated();
    const acks: string[] = [];
    const a = seq.submit([enc('a')]).then((r) => acks.push(`a ${r.indexes}`));
    await settle();
    const b = seq.submit([enc('b'), enc('a')]).then((r) => acks.push(`b ${r.indexes}`));
    await settle();
    // b is prepared, but its write waits for a's.
    expect(events).toEqual(['write 1']);
    writes[0]!.resolve();
    await settle();
    // a is durable and being sealed; b's write is issued meanwhile.
    expect(events).toEqual(['write 1', 'written 1', 'seal 1', 'write 2']);
    writes[1]!.resolve();
    await settle();
    // b is durable, but is not sealed, published or acknowledged before a.
    expect(events.slice(4)).toEqual(['written 2']);
    expect(acks).toEqual([]);
    seals[0]!.resolve();
    await settle();
    expect(events.slice(5)).toEqual(['sealed 1', 'published 1', 'seal 2']);
    expect(acks).toEqual(['a 0']);
    expect(seq.size).toBe(2);
    seals[1]!.resolve();
    await Promise.all([a, b]);
    // b's repeat of a gets a's index.
    expect(acks).toEqual(['a 0', 'b 1,0']);
    expect(events.slice(8)).toEqual(['sealed 2', 'published 2']);
    await seq.close();
  });

  it('a failed seal fails the batch written after it too, and the owner hears of it only once that write has settled', async () => {
    const { seq, events, writes, seals, failures } = gated();
    const [a, b] = await twoInFlight(seq);
    writes[0]!.resolve();
    await settle();
    expect(events).toEqual(['write 1', 'written 1', 'seal 1', 'write 2']);
    seals[0]!.reject(new Error('disk full'));
    await settle();
    // b's write is still in flight: nothing is reported yet, and nothing was acknowledged.
    expect(failures).toEqual([]);
    await expect(a).rejects.toThrow(/nothing of this request was acknowledged/);
    writes[1]!.resolve();
    await expect(b).rejects.toThrow(/nothing of this request was acknowledged/);
    await settle();
    expect(failures).toEqual(['committing a batch failed: disk full']);
    expect(events).not.toContain('published 1');
    expect(events).not.toContain('seal 2');
    expect(() => seq.submit([enc('c')])).toThrow(SequencerClosedError);
  });

  it('a failed write fails the batch prepared behind it, which is never written', async () => {
    const { store, seq, events, writes, failures } = gated();
    const [a, b] = await twoInFlight(seq);
    store.failNextCommit('lost');
    writes[0]!.resolve();
    await expect(a).rejects.toThrow(/injected commit failure/);
    await expect(b).rejects.toThrow(/nothing of this request was acknowledged/);
    await settle();
    expect(events).toEqual(['write 1', 'written 1', 'failed']);
    expect(failures).toHaveLength(1);
    expect(store.commits).toBe(0);
    expect(seq.size).toBe(0);
  });
});
