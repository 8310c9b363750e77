import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEntryBundle } from '@tlog/merkle';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointFile } from './checkpoint-file.js';
import { entriesKey, leafKey, readU64, tileKey, writeU64 } from './keys.js';
import { LevelLogStore } from './level-store.js';
import { findLogFileDamage, LEVELDB_BLOCK_SIZE } from './leveldb-log-check.js';
import { StorageCorruptError } from './store.js';

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
const logFile = async (dir: string) => join(dir, (await readdir(dir)).find((n) => n.endsWith('.log'))!);
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
    await expect(LevelLogStore.open(dir)).rejects.toThrow(/another tlog server is using this --data-dir \(LevelDB: .*LOCK/);
    await store.close();
  });
});

describe('LevelLogStore integrity', () => {
  /** Commits a tile and entries, closes, and returns the directory. */
  async function seeded(tile: Uint8Array) {
    const { store, dir } = await openStore();
    const batch = store.newBatch();
    batch.putTile(0, 0, tile);
    batch.putEntries(0, 0, encodeEntryBundle([Uint8Array.of(1), Uint8Array.of(2)]));
    batch.putLeafIndex(h(1), 0);
    await store.commit(batch);
    await store.close();
    return dir;
  }

  it('refuses, untouched, a write-ahead log with a flipped byte instead of letting LevelDB drop the commit', async () => {
    const dir = await seeded(randomBytes(64));
    const path = await logFile(dir);
    const bytes = await readFile(path);
    bytes[bytes.length - 20]! ^= 0xff;
    await writeFile(path, bytes);
    await expect(LevelLogStore.open(dir)).rejects.toThrow(StorageCorruptError);
    await expect(LevelLogStore.open(dir)).rejects.toThrow(/write-ahead log .*\.log is damaged at byte [0-9]+ \(checksum mismatch\)/);
    expect(await readFile(path)).toEqual(bytes); // still there for the operator, byte for byte
  });

  it('detects a flipped byte in a stored value (LevelDB itself does not check) and names what it is', async () => {
    const tile = randomBytes(256 * 32);
    const dir = await seeded(tile);
    // Reopening moves the log into a table file; damage the tile's bytes there.
    await (await LevelLogStore.open(dir)).close();
    const table = (await readdir(dir)).find((n) => n.endsWith('.ldb'))!;
    const bytes = await readFile(join(dir, table));
    const at = bytes.indexOf(tile.subarray(100, 132));
    expect(at).toBeGreaterThan(0);
    bytes[at + 5]! ^= 0x01;
    await writeFile(join(dir, table), bytes);
    const store = await LevelLogStore.open(dir);
    await expect(store.readTiles([{ level: 0, index: 0 }])).rejects.toThrow(/storage is corrupt at tile 0\/0: its checksum does not match/);
    expect(await store.findLeafHashes([h(1)])).toEqual([0]); // the rest still reads
    await store.close();
  });

  it('never recreates a database over a directory without CURRENT', async () => {
    const dir = await seeded(randomBytes(64));
    await rm(join(dir, 'CURRENT'));
    const before = (await readdir(dir)).sort();
    await expect(LevelLogStore.open(dir)).rejects.toThrow(/not an intact LevelDB database: it has files but no CURRENT file/);
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('refuses a bundle whose runs are not contiguous (a lost commit would shift entries to wrong indexes)', async () => {
    const { store } = await openStore();
    const batch = store.newBatch();
    batch.putEntries(3, 0, encodeEntryBundle([Uint8Array.of(1), Uint8Array.of(2)]));
    batch.putEntries(3, 5, encodeEntryBundle([Uint8Array.of(6)]));
    await store.commit(batch);
    await expect(store.readBundle(3)).rejects.toThrow(/storage is corrupt at entry bundle 3: entries 2\.\.4 are missing/);
    await store.close();
  });

  it('refuses a database of the older format without checksums', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-store-'));
    dirs.push(dir);
    const raw = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await raw.put(Uint8Array.of(0x73), new TextEncoder().encode('{"size":0,"edge":[],"checkpoint":""}'));
    await raw.close();
    await expect(LevelLogStore.open(dir)).rejects.toThrow(/older tlog \(storage format 1, without checksums\)/);
  });
});

describe('findLogFileDamage', () => {
  it('passes a real log, spots a flipped byte anywhere, and ignores a record cut short at the end', async () => {
    const { store, dir } = await openStore();
    for (let i = 0; i < 40; i++) {
      const batch = store.newBatch();
      batch.putTile(0, i, randomBytes(32 * 100));
      await store.commit(batch);
    }
    await store.close();
    const path = await logFile(dir);
    const bytes = new Uint8Array(await readFile(path));
    expect(bytes.length).toBeGreaterThan(3 * LEVELDB_BLOCK_SIZE);
    expect(findLogFileDamage('x.log', bytes)).toBeUndefined();
    expect(findLogFileDamage('x.log', bytes.subarray(0, bytes.length - 1000))).toBeUndefined();
    for (const at of [10, LEVELDB_BLOCK_SIZE + 3, bytes.length - 50]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x10;
      expect(findLogFileDamage('x.log', bad), `flip at ${at}`).toMatchObject({ file: 'x.log' });
    }
  });
});

describe('CheckpointFile', () => {
  it('keeps the last note, survives a torn newest slot, and refuses a file with no intact slot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-cp-'));
    dirs.push(dir);
    const path = join(dir, 'checkpoint');
    const none = await CheckpointFile.open(path);
    expect(none.current).toBeUndefined();
    await none.record('first\n\n— sig\n');
    await none.record('second\n\n— sig\n');
    await none.record('third\n\n— sig\n');
    await none.close();
    expect((await CheckpointFile.open(path)).current).toBe('third\n\n— sig\n');
    // 'third' (write 3) is in slot 1; tear it: 'second' in slot 0 is what is left.
    const bytes = await readFile(path);
    bytes[4096 + 60]! ^= 0xff;
    await writeFile(path, bytes);
    const torn = await CheckpointFile.open(path);
    expect(torn.current).toBe('second\n\n— sig\n');
    await torn.record('fourth\n\n— sig\n');
    await torn.close();
    expect((await CheckpointFile.open(path)).current).toBe('fourth\n\n— sig\n');
    const both = await readFile(path);
    both[60]! ^= 0xff;
    both[4096 + 60]! ^= 0xff;
    await writeFile(path, both);
    await expect(CheckpointFile.open(path)).rejects.toThrow(/checkpoint record .* is damaged \(neither copy is intact\)/);
  });
});

describe('updateExtensions and compactExtensions', () => {
  /** Whether any file under `dir` holds `needle`. */
  async function anyFileHolds(dir: string, needle: Uint8Array): Promise<boolean> {
    for (const name of await readdir(dir)) {
      if ((await readFile(join(dir, name))).includes(Buffer.from(needle))) return true;
    }
    return false;
  }

  it('writes and deletes extension records atomically, and compaction removes deleted values from every file', async () => {
    const { store, dir } = await openStore();
    const secret = randomBytes(48);
    const keep = randomBytes(48);
    await store.updateExtensions(
      [
        { key: Uint8Array.of(0x51, 1), value: secret },
        { key: Uint8Array.of(0x51, 2), value: keep },
      ],
      [],
    );
    expect(await anyFileHolds(dir, secret)).toBe(true); // in the write-ahead log
    expect((await store.readExtensions([Uint8Array.of(0x51, 1)])).map(u8)).toEqual([new Uint8Array(secret)]);
    // A second store's data is flushed to a table before the delete, the harder case.
    await store.compactExtensions({ gte: Uint8Array.of(0x51), lt: Uint8Array.of(0x52) });
    expect(await anyFileHolds(dir, secret)).toBe(true);
    await store.updateExtensions([], [Uint8Array.of(0x51, 1)]);
    expect(await store.readExtensions([Uint8Array.of(0x51, 1), Uint8Array.of(0x51, 2)])).toEqual([undefined, expect.anything()]);
    await store.compactExtensions({ gte: Uint8Array.of(0x51), lt: Uint8Array.of(0x52) });
    expect(await anyFileHolds(dir, secret)).toBe(false);
    expect(await anyFileHolds(dir, keep)).toBe(true);
    await store.close();
    const again = await LevelLogStore.open(dir);
    expect((await again.readExtensions([Uint8Array.of(0x51, 1), Uint8Array.of(0x51, 2)])).map(u8)).toEqual([
      undefined,
      new Uint8Array(keep),
    ]);
    await again.close();
  });
});
