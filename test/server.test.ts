import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import {
  type Checkpoint,
  decodeEntryBundle,
  defaultHasher,
  encodeEntryBundle,
  formatEntriesPath,
  formatTilePath,
  fromBase64,
  openCheckpoint,
  parseVerifierKey,
  proveInclusion,
  rootFromLeafHashes,
  TileHashReader,
  verifyConsistency,
  verifyInclusion,
  verifyTlogProof,
} from '@tlog/merkle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServer, type SpawnedServer, spawnServer } from './support/server.js';

const enc = (s: string) => new TextEncoder().encode(s);
const octet = { 'content-type': 'application/octet-stream' };

let s: SpawnedServer;
beforeAll(async () => {
  s = await spawnServer({ args: ['--origin', 'e2e.example/log', '--batch-interval-ms', '2'] });
});
afterAll(async () => {
  expect(await s?.stop()).toBe(0);
  if (s !== undefined) await rm(s.dataDir, { recursive: true, force: true });
});

async function postEntry(body: Uint8Array | string): Promise<{ index: number; leafHash: string; checkpoint: string; receipt: string }> {
  const res = await fetch(`${s.url}/v1/entries`, { method: 'POST', body: body as BodyInit, headers: octet });
  expect(res.status).toBe(200);
  return (await res.json()) as { index: number; leafHash: string; checkpoint: string; receipt: string };
}

async function checkpoint(): Promise<Checkpoint> {
  const res = await fetch(`${s.url}/checkpoint`);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  return openCheckpoint(await res.text(), parseVerifierKey(s.vkey)).checkpoint;
}

/** A raw HTTP request (fetch cannot send a lying Content-Length or a chunked upload easily). */
function rawPost(path: string, headers: Record<string, string | number>, chunks: Uint8Array[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(s.url + path);
    const req = request({ host: u.hostname, port: u.port, path, method: 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('log server over HTTP (real process)', () => {
  it('prints its origin, verifier key and URL, and /v1/log agrees', async () => {
    expect(s.origin).toBe('e2e.example/log');
    expect(s.vkey).toMatch(/^e2e\.example\/log\+[0-9a-f]{8}\+/);
    const info = (await (await fetch(`${s.url}/v1/log`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ origin: s.origin, verifierKey: s.vkey });
  });

  it('sequences concurrent writers; every receipt verifies offline; duplicates keep their index', async () => {
    const entries = Array.from({ length: 40 }, (_, i) => enc(`concurrent entry ${i}`));
    const acks = await Promise.all(entries.map((e) => postEntry(e)));
    const policy = { log: parseVerifierKey(s.vkey) };
    acks.forEach((a, i) => {
      const v = verifyTlogProof(a.receipt, entries[i]!, policy);
      expect(v.index).toBe(a.index);
    });
    expect(new Set(acks.map((a) => a.index)).size).toBe(40);
    const sizeBefore = (await checkpoint()).size;
    const dup = await postEntry(entries[7]!);
    expect(dup.index).toBe(acks[7]!.index);
    verifyTlogProof(dup.receipt, entries[7]!, policy);
    expect((await checkpoint()).size).toBe(sizeBefore);
  });

  it('batch endpoint: indexes in order, duplicates folded, receipts on request', async () => {
    const entries = Array.from({ length: 300 }, (_, i) => enc(`batch entry ${i}`));
    const res = await fetch(`${s.url}/v1/entries/batch?receipts=1`, {
      method: 'POST',
      body: encodeEntryBundle([...entries, entries[0]!]) as BodyInit,
      headers: octet,
    });
    expect(res.status).toBe(200);
    const r = (await res.json()) as { indexes: number[]; treeSize: number; checkpoint: string; receipts: string[] };
    expect(r.indexes).toHaveLength(301);
    expect(r.indexes[300]).toBe(r.indexes[0]);
    for (let i = 1; i < 300; i++) expect(r.indexes[i]).toBe(r.indexes[0]! + i);
    const policy = { log: parseVerifierKey(s.vkey) };
    r.receipts.forEach((rc, i) => {
      verifyTlogProof(rc, i === 300 ? entries[0]! : entries[i]!, policy);
    });
  });

  it('serves tiles and bundles that authenticate against the checkpoint, and proofs that verify', async () => {
    const cp = await checkpoint();
    expect(cp.size).toBeGreaterThan(256);
    const fetchTile = async (path: string) => {
      const res = await fetch(`${s.url}/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      return new Uint8Array(await res.arrayBuffer());
    };
    const reader = new TileHashReader(cp.size, cp.root, (t) => fetchTile(formatTilePath(t)));
    // Every entry bundle hashes to the authenticated level-0 hashes; the whole tree to the root.
    const leafHashes: Uint8Array[] = [];
    for (let b = 0; b * 256 < cp.size; b++) {
      const width = Math.min(256, cp.size - b * 256);
      const bundle = decodeEntryBundle(await fetchTile(formatEntriesPath({ index: b, width })), width);
      leafHashes.push(...bundle.map((e) => defaultHasher.hashLeaf(e)));
    }
    expect(rootFromLeafHashes(leafHashes)).toEqual(cp.root);
    const full = await fetch(`${s.url}/tile/0/000`);
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    for (const index of [0, 255, 256, cp.size - 1]) {
      const local = await proveInclusion(reader, index, cp.size);
      const res = (await (await fetch(`${s.url}/v1/proof/inclusion?index=${index}&treeSize=${cp.size}`)).json()) as {
        proof: string[];
        leafHash: string;
      };
      expect(res.proof.map(fromBase64)).toEqual(local);
      verifyInclusion(index, cp.size, fromBase64(res.leafHash), res.proof.map(fromBase64), cp.root);
    }
    const small = await postEntry('one more');
    const bigger = await checkpoint();
    const cons = (await (await fetch(`${s.url}/v1/proof/consistency?from=${cp.size}&to=${bigger.size}`)).json()) as { proof: string[] };
    verifyConsistency(cp.size, bigger.size, cons.proof.map(fromBase64), cp.root, bigger.root);
    const one = await fetch(`${s.url}/v1/entries/${small.index}`);
    expect(await one.text()).toBe('one more');
    const page = (await (await fetch(`${s.url}/v1/entries?start=0&end=5000`)).json()) as { end: number; entries: string[] };
    expect(page.end).toBe(Math.min(1000, bigger.size));
    expect(
      page.entries
        .slice(0, leafHashes.length)
        .map(fromBase64)
        .map((e) => defaultHasher.hashLeaf(e)),
    ).toEqual(leafHashes.slice(0, page.end));
  });

  it('answers every bad request with a 4xx JSON error', async () => {
    const cases: [string, RequestInit | undefined, number][] = [
      ['/v1/entries', { method: 'POST', body: new Uint8Array(65536), headers: octet }, 413],
      ['/v1/entries', { method: 'POST', body: 'x', headers: { 'content-type': 'multipart/form-data; boundary=b' } }, 415],
      ['/v1/entries', { method: 'POST', body: 'x', headers: { ...octet, 'content-encoding': 'gzip' } }, 415],
      ['/v1/entries/batch', { method: 'POST', body: Uint8Array.of(0, 9, 1), headers: octet }, 400],
      ['/v1/entries/batch', { method: 'POST', body: new Uint8Array(16 * 1024 * 1024 + 1), headers: octet }, 413],
      ['/tile/0/x1/000', undefined, 400],
      ['/tile/0/000.p/abc', undefined, 400],
      ['/tile/9/000', undefined, 404],
      ['/tile/entries/999', undefined, 404],
      ['/v1/proof/inclusion?index=abc', undefined, 400],
      ['/v1/proof/inclusion?index=999999', undefined, 404],
      ['/v1/proof/consistency?from=5&to=2', undefined, 400],
      ['/v1/entries/999999', undefined, 404],
      ['/v1/entries?start=-1', undefined, 400],
      ['/v2/anything', undefined, 404],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(s.url + path, init);
      expect(res.status, path).toBe(status);
      const body = (await res.json()) as { error?: unknown };
      expect(typeof body.error, path).toBe('string');
    }
    // A declared oversize body is refused before it is read; a chunked one while streaming.
    expect(
      (
        await rawPost('/v1/entries', { 'content-type': 'application/octet-stream', 'content-length': 1_000_000 }, [
          new Uint8Array(1_000_000),
        ])
      ).status,
    ).toBe(413);
    const chunk = new Uint8Array(16 * 1024);
    const chunked = await rawPost('/v1/entries', { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, [
      chunk,
      chunk,
      chunk,
      chunk,
      chunk,
    ]);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toHaveProperty('error');
  });
});

describe('log server process', () => {
  it('answers 503 + Retry-After when the pool is full, then drains on SIGTERM and exits 0', async () => {
    const t = await spawnServer({ args: ['--pool-max-entries', '1', '--batch-interval-ms', '60000'] });
    // The idle log commits the first entry at once; the next waits in the pool for the interval.
    const first = await fetch(`${t.url}/v1/entries`, { method: 'POST', body: 'committed at once', headers: octet });
    expect(((await first.json()) as { index: number }).index).toBe(0);
    const waiting = fetch(`${t.url}/v1/entries`, { method: 'POST', body: 'waits in the pool', headers: octet });
    let pool = { entries: 0 };
    for (let i = 0; i < 200 && pool.entries === 0; i++) {
      pool = ((await (await fetch(`${t.url}/v1/log`)).json()) as { pool: { entries: number } }).pool;
      if (pool.entries === 0) await new Promise((ok) => setTimeout(ok, 10));
    }
    expect(pool.entries).toBe(1);
    const refused = await fetch(`${t.url}/v1/entries`, { method: 'POST', body: 'no room', headers: octet });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: string }).error).toMatch(/pool is full/);
    const code = t.stop();
    const ack = await waiting;
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as { index: number }).index).toBe(1);
    expect(await code).toBe(0);
    // Restart on the same data: the two admitted entries (and only they) are there, key and origin unchanged.
    const again = await spawnServer({ dataDir: t.dataDir });
    expect(again.vkey).toBe(t.vkey);
    const cp = openCheckpoint(await (await fetch(`${again.url}/checkpoint`)).text(), parseVerifierKey(again.vkey)).checkpoint;
    expect(cp.size).toBe(2);
    expect(await again.stop()).toBe(0);
    await rm(t.dataDir, { recursive: true, force: true });
  });

  it('refuses invalid configuration with exit code 1 and a message naming it', async () => {
    const bad = await runServer(['--port', 'eighty']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--port \/ PORT/);
    expect(bad.stdout).toBe('');
    const env = await runServer([], { BATCH_INTERVAL_MS: '-5' });
    expect(env.code).toBe(1);
    expect(env.stderr).toMatch(/BATCH_INTERVAL_MS/);
    const key = await runServer(['--key', '/nonexistent/tlog.key', '--data-dir', '/nonexistent/data']);
    expect(key.code).toBe(1);
    expect(key.stderr).toMatch(/does not exist/);
  });
});
