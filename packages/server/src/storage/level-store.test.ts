import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEntryBundle } from '@tlog/merkle';
import { afterEach, describe, expect, it } from 'vitest';
import { entriesKey, leafKey, readU64, tileKey, writeU64 } from './keys.js';
import { LevelLogStore } from './level-store.js';

const dirs: string[] = [];
async function openStore(): Promise<{ store: LevelLogStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-store-'));
  dirs.push(dir);
  return { store: await LevelLogStore.open(dir), dir };
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const h = (b: number) => new Uint8Array(32).fill(b);
const u8 = (x: Uint8Array | undefined) => (x === undefined ? x : new Uint8Array(x));

describe('key layout', () => {
  it('round-trips 8-byte numbers up to 2^53-1 and sorts tiles and bundles in tree order', () => {
    for (const n of [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      const b = new Uint8Array(8);
      writeU64(b, 0, n);
      expect(readU64(b, 0)).toBe(n);
    }
    const cmp = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    expect(cmp(tileKey(0, 255), tileKey(0, 256))).toBeLessThan(0);
    expect(cmp(tileKey(0, 2 ** 40), tileKey(1, 0))).toBeLessThan(0);
    expect(cmp(entriesKey(1, 255), entriesKey(2, 0))).toBeLessThan(0);
    expect(leafKey(h(1))).toHaveLength(33);
  });
});

describe('LevelLogStore', () => {
  it('starts empty and commits state, tiles, entry runs and the leaf index atomically', async () => {
    const { store, dir } = await openStore();
    expect(await store.readState()).toBeUndefined();
    const batch = store.newBatch();
    batch.putTile(0, 0, h(7).subarray(0, 32));
    batch.putEntries(0, 0, encodeEntryBundle([Uint8Array.of(1), Uint8Array.of(2, 3)]));
    batch.putEntries(0, 2, encodeEntryBundle([Uint8Array.of(4)]));
    batch.putLeafIndex(h(9), 5);
    batch.putState({ size: 3, edge: [h(1), h(2)], checkpoint: 'cp\n' });
    batch.putExtension(Uint8Array.of(1, 2), Uint8Array.of(3));
    expect(batch.length).toBe(6);
    await store.commit(batch);
    await store.close();

    const again = await LevelLogStore.open(dir);
    const state = await again.readState();
    expect({ ...state!, edge: state!.edge.map(u8) }).toEqual({ size: 3, edge: [h(1), h(2)], checkpoint: 'cp\n' });
    expect(
      (
        await again.readTiles([
          { level: 0, index: 0 },
          { level: 0, index: 1 },
        ])
      ).map(u8),
    ).toEqual([h(7), undefined]);
    // Runs of one bundle are concatenated: a valid bundle of all three entries.
    expect(u8(await again.readBundle(0))).toEqual(encodeEntryBundle([Uint8Array.of(1), Uint8Array.of(2, 3), Uint8Array.of(4)]));
    expect(await again.readBundle(1)).toHaveLength(0);
    expect(await again.findLeafHashes([h(9), h(8)])).toEqual([5, undefined]);
    await again.putWitnessed('cosigned\n');
    expect(await again.readWitnessed()).toBe('cosigned\n');
    await again.close();
  });

  it('refuses a second open of the same directory with a message naming it', async () => {
    const { store, dir } = await openStore();
    await expect(LevelLogStore.open(dir)).rejects.toThrow(/another server/);
    await store.close();
  });
});
