/**
 * The C2SP tiles and entry bundles of ../shared/vectors/tlog-reference.json (computed with Go's
 * sumdb/tlog), served by a static file server, must be readable and verifiable by the SDK.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { VerifiedCheckpoint } from '@tlog/client';
import { LogClient } from '@tlog/client';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  formatEntriesPath,
  formatTilePath,
  fromHex,
  type ParsedTilePath,
  parseTilePath,
  TILE_WIDTH,
  toHex,
} from '@tlog/merkle';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeVectors, type TlogReference, tlogReference } from './support/vectors.js';

describeVectors('SDK reads the reference tiles', () => {
  let ref: TlogReference;
  let url: string;
  /** The size of the signed checkpoint served at /checkpoint (the vectors sign 0, 1, 256 and 1100). */
  let servedSize = 1100;
  const requested: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').slice(1);
    requested.push(path);
    const body = serve(path);
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': path === 'checkpoint' ? 'text/plain; charset=utf-8' : 'application/octet-stream' }).end(body);
  });

  // A static server of the vector files. A partial tile of a smaller tree is the prefix of the
  // widest tile stored (tiles only grow by appending), as a log that keeps every partial tile would serve.
  function serve(path: string): string | Uint8Array | undefined {
    if (path === 'checkpoint') return ref.signedNote.checkpoints.find((c) => c.treeSize === servedSize)!.note;
    let parsed: ParsedTilePath;
    try {
      parsed = parseTilePath(path);
    } catch {
      return undefined;
    }
    if (parsed.kind === 'hash') {
      const { level, index, width } = parsed.tile;
      const stored = ref.tiles.find((t) => {
        const p = parseTilePath(t.path);
        return p.kind === 'hash' && p.tile.level === level && p.tile.index === index && p.tile.width >= width;
      });
      return stored === undefined ? undefined : fromHex(stored.hex).subarray(0, width * 32);
    }
    const { index, width } = parsed.tile;
    const stored = ref.entryBundles.find((b) => {
      const p = parseTilePath(b.path);
      return p.kind === 'entries' && p.tile.index === index && p.tile.width >= width;
    });
    return stored === undefined ? undefined : encodeEntryBundle(decodeEntryBundle(fromHex(stored.hex)).slice(0, width));
  }

  beforeAll(async () => {
    ref = tlogReference();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const client = () => new LogClient({ url, vkey: ref.signedNote.verifierKey });
  // The vectors give trusted roots for every size; a checkpoint of that size needs no signature here.
  const at = (size: number): VerifiedCheckpoint => ({
    checkpoint: { origin: ref.signedNote.origin, size, root: fromHex(ref.roots[String(size)]!), extensions: [] },
    note: '',
  });

  it('verifies the signed checkpoint of size 1100', async () => {
    const { checkpoint } = await client().latestCheckpoint();
    expect(checkpoint.size).toBe(1100);
    expect(toHex(checkpoint.root)).toBe(ref.roots['1100']);
  });

  it('streams entries(0, 1100) equal to the leaves, via the stored tile paths', async () => {
    const c = client();
    const cp = await c.latestCheckpoint();
    requested.length = 0;
    let i = 0;
    for await (const e of c.entries(0, 1100, cp)) {
      expect(e.index).toBe(i);
      expect(toHex(e.entry)).toBe(ref.leaves[i]);
      expect(toHex(e.leafHash)).toBe(ref.leafHashes[i]);
      i++;
    }
    expect(i).toBe(1100);
    for (const b of ref.entryBundles) expect(requested).toContain(b.path);
    expect(requested).toContain(formatTilePath({ level: 0, index: 4, width: 76 }));
    expect(requested).toContain(formatEntriesPath({ index: 4, width: 76 }));
    expect(TILE_WIDTH).toBe(256);
  });

  it('computes every vector inclusion proof locally from tiles', async () => {
    const c = client();
    for (const v of ref.inclusion) {
      const p = await c.inclusionProof(v.index, at(v.treeSize), { source: 'tiles' });
      expect(p.proof.map(toHex), `inclusion ${v.index} in ${v.treeSize}`).toEqual(v.proof);
      expect(toHex(p.leafHash)).toBe(v.leafHash);
    }
  });

  it('computes every vector consistency proof locally from tiles', async () => {
    const c = client();
    for (const v of ref.consistency) {
      const proof = await c.consistencyProof(at(v.from), at(v.to), { source: 'tiles' });
      expect(proof.map(toHex), `consistency ${v.from} -> ${v.to}`).toEqual(v.proof);
    }
  });

  it('hashTile and entryBundle give every stored tile and bundle, authenticated against the checkpoint', async () => {
    const c = client();
    const cp = await c.latestCheckpoint();
    for (const t of ref.tiles) {
      const p = parseTilePath(t.path);
      if (p.kind !== 'hash') throw new Error(`${t.path} is not a hash tile`);
      expect(toHex(await c.hashTile(p.tile, cp)), t.path).toBe(t.hex);
    }
    for (const b of ref.entryBundles) {
      const p = parseTilePath(b.path);
      if (p.kind !== 'entries') throw new Error(`${b.path} is not an entry bundle`);
      const entries = await c.entryBundle(p.tile.index, cp);
      expect(
        entries.map((e) => toHex(e.entry)),
        b.path,
      ).toEqual(ref.leaves.slice(p.tile.index * 256, p.tile.index * 256 + p.tile.width));
    }
  });

  const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');
  const tlog = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });

  it('`tlog monitor` follows the static log 1 -> 256 -> 1100 from tiles, and `tlog audit` recomputes its root', async () => {
    expect(existsSync(CLI), 'run `npx tsc -b` first').toBe(true);
    const state = await mkdtemp(join(tmpdir(), 'tlog-vectors-'));
    const args = ['--state', state, '--url', url, '--vkey', ref.signedNote.verifierKey];
    try {
      const sizes = [];
      requested.length = 0;
      for (const size of [1, 256, 1100]) {
        servedSize = size;
        const r = await tlog('monitor', '--once', '--json', ...args);
        expect(r.code, r.stderr).toBe(0);
        const ev = JSON.parse(r.stdout) as { size: number; root: string; changed: boolean };
        expect(ev.changed).toBe(true);
        expect(Buffer.from(ev.root, 'base64').toString('hex')).toBe(ref.roots[String(size)]);
        sizes.push(ev.size);
      }
      expect(sizes).toEqual([1, 256, 1100]);
      // A static log has no JSON API (the monitor's try at it was a 404): the proofs came from hash tiles.
      expect(requested.filter((p) => p.startsWith('v1/'))).toEqual([
        'v1/proof/consistency?from=1&to=256',
        'v1/proof/consistency?from=256&to=1100',
      ]);
      expect(requested.some((p) => p.startsWith('tile/') && !p.startsWith('tile/entries/'))).toBe(true);
      const a = await tlog('audit', '--json', ...args);
      expect(a.code, a.stderr).toBe(0);
      const audit = JSON.parse(a.stdout) as { size: number; root: string; bundles: number; tiles: number };
      expect(audit).toMatchObject({ size: 1100, bundles: 5, tiles: 6 });
      expect(Buffer.from(audit.root, 'base64').toString('hex')).toBe(ref.roots['1100']);
      // Served the smaller signed checkpoint again: a rollback, exit 3 with evidence.
      servedSize = 256;
      expect((await tlog('monitor', '--once', ...args)).code).toBe(3);
      expect((await readdir(state)).filter((f) => f.startsWith('evidence-'))).toHaveLength(1);
    } finally {
      servedSize = 1100;
    }
  });
});
