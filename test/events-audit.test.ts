/**
 * `tlog audit --events` against the real server whose stored events were altered on disk (the
 * immudb lesson: an auditor that never re-hashes stored values calls a hex-edited store
 * consistent). Three kinds of damage, each made by hand in a stopped server's LevelDB, following
 * the layout in docs/storage.md:
 * - an event re-encrypted with other content by someone holding the master key: the record
 *   decrypts, but no longer hashes to its leaf;
 * - a posting deleted (index drift): a search misses an event that matches it;
 * - a record's ciphertext with a flipped byte: the server refuses to serve it (503), and the
 *   audit does not pass.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { EventCipher, LevelLogStore, MASTER_KEY_FILE_NAME, openEventKeys } from '@tlog/server';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, tempDataDir } from './support/server.js';

const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');
const json = { 'content-type': 'application/json' };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function tlog(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** The store key of the event at `index` (without the store's 'x' namespace byte). */
function eventKey(index: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = 0x45; // 'E'
  new DataView(k.buffer).setBigUint64(1, BigInt(index));
  return k;
}

/** A log of 12 events (actors a0..a2) and its data dir, stopped. */
async function seeded(): Promise<string> {
  const dataDir = await tempDataDir();
  dirs.push(dataDir);
  const s = await spawnServer({ dataDir });
  const events = Array.from({ length: 12 }, (_, i) => ({
    action: i % 2 === 0 ? 'user.login' : 'doc.read',
    actor: { type: 'user', id: `a${i % 3}` },
    targets: [{ type: 'doc', id: `d${i % 4}` }],
    outcome: 'success',
    occurred_at: '2026-12-01T00:00:00Z',
    metadata: { i },
  }));
  expect(
    (await fetch(`${s.url}/v1/events/batch`, { method: 'POST', headers: { ...json, ...s.auth }, body: JSON.stringify(events) })).status,
  ).toBe(200);
  expect(await s.stop()).toBe(0);
  return dataDir;
}

async function audit(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const s = await spawnServer({ dataDir });
  try {
    const state = await mkdtemp(join(tmpdir(), 'tlog-audit-state-'));
    dirs.push(state);
    return await tlog(['audit', '--events', '--state', state, '--url', s.url, '--vkey', s.vkey, '--api-key', s.apiKey]);
  } finally {
    await s.stop();
  }
}

describe('tlog audit --events on a store altered by hand', () => {
  it('passes before, and exits 3 naming the event after it was re-encrypted with other content', async () => {
    const dataDir = await seeded();
    const honest = await audit(dataDir);
    expect(honest.code, honest.stderr).toBe(0);
    expect(honest.stdout).toContain('12 stored events re-hash to their entries');

    const store = await LevelLogStore.open(join(dataDir, 'db'));
    try {
      const keys = await openEventKeys(store, { path: join(dataDir, MASTER_KEY_FILE_NAME), explicit: true });
      expect(keys.cipher).toBeInstanceOf(EventCipher);
      const key = eventKey(5);
      const [sealed] = await store.readExtensions([key]);
      const plain = keys.cipher.open(sealed!, key, () => 'event 5');
      const text = new TextDecoder().decode(plain.subarray(32));
      expect(text).toContain('"outcome":"success"');
      const altered = new TextEncoder().encode(text.replace('"outcome":"success"', '"outcome":"failure"'));
      const out = new Uint8Array(32 + altered.length);
      out.set(plain.subarray(0, 32));
      out.set(altered, 32);
      const batch = store.newBatch();
      batch.putExtension(key, keys.cipher.seal(out, key));
      await store.commit(batch);
    } finally {
      await store.close();
    }
    const r = await audit(dataDir);
    expect(r.code, r.stdout).toBe(3);
    expect(r.stderr).toMatch(/bad-events/);
    expect(r.stderr).toMatch(/\b5\b/);
  });

  it('exits 3 when an index lost an event (a posting deleted)', async () => {
    const dataDir = await seeded();
    // Delete one posting of actor a1 (events 1, 4, 7, 10): its key is 'x' 'p' 'u' term(16) index.
    const db = new Level<Uint8Array, Uint8Array>(join(dataDir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    let deleted = 0;
    try {
      const postings = await db.keys({ gte: Uint8Array.of(0x78, 0x70, 0x75), lt: Uint8Array.of(0x78, 0x70, 0x76) }).all();
      expect(postings.length).toBe(12);
      const target = postings.find((k) => new DataView(k.buffer, k.byteOffset).getBigUint64(k.length - 8) === 4n)!;
      await db.del(target, { sync: true });
      deleted++;
    } finally {
      await db.close();
    }
    expect(deleted).toBe(1);
    const r = await audit(dataDir);
    expect(r.code, r.stdout).toBe(3);
    expect(r.stderr).toMatch(/bad-events.*index 4/);
  });

  it('does not pass when a stored event no longer decrypts: the server refuses to serve it', async () => {
    const dataDir = await seeded();
    const db = new Level<Uint8Array, Uint8Array>(join(dataDir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    try {
      const key = Uint8Array.of(0x78, ...eventKey(3));
      const v = (await db.get(key))!.slice();
      v[20]! ^= 0x01; // inside the ciphertext
      // A valid record checksum (CRC-32 of key and value, big-endian, after the value), so that
      // what fails is the decryption, not the checksum.
      const n = v.length - 4;
      new DataView(v.buffer).setUint32(n, crc32(v.subarray(0, n), crc32(key)));
      await db.put(key, v, { sync: true });
    } finally {
      await db.close();
    }
    const s = await spawnServer({ dataDir });
    try {
      expect((await fetch(`${s.url}/v1/events/3`, { headers: s.auth })).status).toBe(503);
      expect(s.stderr()).toMatch(/event 3: it does not decrypt/);
      expect((await fetch(`${s.url}/v1/events/2`, { headers: s.auth })).status).toBe(200);
    } finally {
      await s.stop();
    }
    const r = await audit(dataDir);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/audit OK/);
  });
});
