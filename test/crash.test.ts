import { cp as copyDir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Checkpoint,
  CompactTree,
  decodeEntryBundle,
  defaultHasher,
  formatEntriesPath,
  fromBase64,
  openCheckpoint,
  parseVerifierKey,
  verifyConsistency,
  verifyTlogProof,
} from '@tlog/merkle';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, tempDataDir } from './support/server.js';

const ROUNDS = 4;
const WRITERS = 12;
const octet = { 'content-type': 'application/octet-stream' };

interface Ack {
  readonly index: number;
  readonly entry: Uint8Array;
  readonly checkpoint: string;
}

let dataDir: string | undefined;
afterAll(async () => {
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

/** Posts unique entries (single and batched) until the server dies; returns what was acknowledged. */
async function writer(url: string, round: number, w: number, acks: Ack[]): Promise<void> {
  for (let i = 0; ; i++) {
    const entry = new TextEncoder().encode(`round ${round} writer ${w} entry ${i} ${'x'.repeat(i % 50)}`);
    try {
      if (w % 4 === 0) {
        // Batch writers: several entries per request, acknowledged together.
        const entries = [entry, new TextEncoder().encode(`round ${round} writer ${w} entry ${i} b`)];
        const body = new Uint8Array(entries.reduce((n, e) => n + 2 + e.length, 0));
        let off = 0;
        for (const e of entries) {
          body[off] = e.length >> 8;
          body[off + 1] = e.length & 255;
          body.set(e, off + 2);
          off += 2 + e.length;
        }
        const res = await fetch(`${url}/v1/entries/batch`, { method: 'POST', body, headers: octet });
        if (res.status !== 200) continue;
        const r = (await res.json()) as { indexes: number[]; checkpoint: string };
        r.indexes.forEach((index, j) => {
          acks.push({ index, entry: entries[j]!, checkpoint: r.checkpoint });
        });
      } else {
        const res = await fetch(`${url}/v1/entries`, { method: 'POST', body: entry, headers: octet });
        if (res.status !== 200) continue;
        const r = (await res.json()) as { index: number; checkpoint: string; receipt: string };
        acks.push({ index: r.index, entry, checkpoint: r.checkpoint });
      }
    } catch {
      return; // connection refused / reset: the server is gone
    }
  }
}

/**
 * Flips 8 bytes near the end of LevelDB's newest write-ahead log (as a disk might after a
 * crash) and starts the server on it: it must either refuse, in one line naming the damage, or
 * start on a store that still holds every acknowledged entry (the checks of the next round).
 * Returns whether it refused; the caller then restores the undamaged copy.
 */
async function startOnDamagedLog(dir: string): Promise<boolean> {
  const db = join(dir, 'db');
  const newest = (await readdir(db))
    .filter((n) => n.endsWith('.log'))
    .sort()
    .at(-1);
  if (newest === undefined) return false;
  const bytes = await readFile(join(db, newest));
  if (bytes.length < 64) return false;
  const at = bytes.length - 16 - Math.floor(Math.random() * Math.min(4000, bytes.length - 32));
  for (let i = 0; i < 8; i++) bytes[at + i]! ^= 0xa5;
  await writeFile(join(db, newest), bytes);
  const started = await spawnServer({ dataDir: dir }).catch((e: unknown) => e as Error);
  if (started instanceof Error) {
    expect(started.message).toMatch(/tlog: (storage is corrupt|the store is behind|the store disagrees)/);
    return true;
  }
  expect(await started.stop()).toBe(0);
  return false;
}

describe('crash safety (SIGKILL at random moments)', () => {
  it(`keeps every acknowledged entry and never signs two trees of one size over ${ROUNDS} crashes, with and without a damaged log`, async () => {
    dataDir = await tempDataDir();
    const acks: Ack[] = [];
    /** Every checkpoint the log ever handed out or served, by size: a second root for a size is a fork. */
    const signed = new Map<number, string>();
    const remember = (c: Checkpoint) => {
      const root = Buffer.from(c.root).toString('base64');
      expect(signed.get(c.size) ?? root, `two signed trees of size ${c.size}`).toBe(root);
      signed.set(c.size, root);
    };
    let vkey: string | undefined;
    let refusals = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      const s = await spawnServer({ dataDir, args: ['--batch-interval-ms', '2'] });
      vkey ??= s.vkey;
      expect(s.vkey).toBe(vkey);
      const verifier = parseVerifierKey(s.vkey);

      // After a restart: the tree recomputed from the entry bundles matches the new checkpoint...
      const cp: Checkpoint = openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), verifier).checkpoint;
      remember(cp);
      const tree = new CompactTree(0, [], defaultHasher);
      const stored: Uint8Array[] = [];
      for (let b = 0; b * 256 < cp.size; b++) {
        const width = Math.min(256, cp.size - b * 256);
        const res = await fetch(`${s.url}/${formatEntriesPath({ index: b, width })}`);
        expect(res.status).toBe(200);
        for (const e of decodeEntryBundle(new Uint8Array(await res.arrayBuffer()), width)) {
          stored.push(e);
          tree.append(defaultHasher.hashLeaf(e));
        }
      }
      expect(tree.root()).toEqual(cp.root);
      // ...every acknowledged entry is at its acknowledged index with its bytes...
      for (const a of acks) expect(stored[a.index], `ack at ${a.index}`).toEqual(a.entry);
      // ...and the new checkpoint is consistent with every checkpoint handed out before.
      const seen = new Map<number, Checkpoint>();
      for (const a of acks) {
        const old = openCheckpoint(a.checkpoint, verifier).checkpoint;
        seen.set(old.size, old);
        remember(old);
      }
      // A sample of acknowledgements still proves inclusion in the checkpoint it came with.
      for (let i = 0; i < Math.min(50, acks.length); i++) {
        const a = acks[Math.floor(Math.random() * acks.length)]!;
        const old = openCheckpoint(a.checkpoint, verifier).checkpoint;
        verifyTlogProof(await receiptFor(s.url, a, old.size), a.entry, { log: verifier });
      }
      for (const old of seen.values()) {
        expect(old.size).toBeLessThanOrEqual(cp.size);
        if (old.size === 0) continue;
        const r = (await (await fetch(`${s.url}/v1/proof/consistency?from=${old.size}&to=${cp.size}`)).json()) as { proof: string[] };
        verifyConsistency(old.size, cp.size, r.proof.map(fromBase64), old.root, cp.root);
      }
      if (round === ROUNDS) {
        expect(await s.stop()).toBe(0);
        console.log(`crash test: ${signed.size} distinct signed sizes, ${refusals} starts refused on a damaged log`);
        break;
      }

      // Load, then crash at a random moment.
      const before = acks.length;
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(s.url, round, w, acks));
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 450));
      await s.kill();
      await Promise.all(writers);
      expect(acks.length, `round ${round} acknowledged something before the crash`).toBeGreaterThan(before);
      console.log(`crash round ${round}: ${acks.length - before} acknowledgements before SIGKILL`);
      if (round % 2 === 1) {
        // Damage the crashed store's log; whatever the server does, restore the copy afterwards.
        const copy = `${dataDir}-copy`;
        await copyDir(dataDir, copy, { recursive: true });
        if (await startOnDamagedLog(dataDir)) refusals++;
        else {
          // It started: every check of the next round applies to the store as it now is.
          await rm(copy, { recursive: true, force: true });
          continue;
        }
        await rm(dataDir, { recursive: true, force: true });
        await copyDir(copy, dataDir, { recursive: true });
        await rm(copy, { recursive: true, force: true });
      }
    }
  });
});

/** An inclusion proof for an acknowledged entry in the tree of its acknowledged checkpoint, as a receipt. */
async function receiptFor(url: string, a: Ack, size: number): Promise<string> {
  const r = (await (await fetch(`${url}/v1/proof/inclusion?index=${a.index}&treeSize=${size}`)).json()) as { proof: string[] };
  return `c2sp.org/tlog-proof@v1\nindex ${a.index}\n${r.proof.map((p) => p + '\n').join('')}\n${a.checkpoint}`;
}
