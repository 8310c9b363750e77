/**
 * The C2SP tiles and entry bundles of ../shared/vectors/tlog-reference.json (computed with Go's
 * sumdb/tlog), served by a static file server, must be readable and verifiable by the SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fromHex, parseTilePath, toHex, formatTilePath, formatEntriesPath, TILE_WIDTH, decodeEntryBundle, encodeEntryBundle } from '@tlog/merkle';
import { LogClient } from '@tlog/client';
import type { VerifiedCheckpoint } from '@tlog/client';

const VECTORS = resolve(import.meta.dirname, '../../shared/vectors/tlog-reference.json');
const present = existsSync(VECTORS);

interface Reference {
  leaves: string[];
  leafHashes: string[];
  roots: Record<string, string>;
  inclusion: { index: number; treeSize: number; leafHash: string; root: string; proof: string[] }[];
  consistency: { from: number; to: number; fromRoot: string; toRoot: string; proof: string[] }[];
  tiles: { path: string; hex: string }[];
  entryBundles: { path: string; hex: string }[];
  signedNote: { origin: string; verifierKey: string; checkpoints: { treeSize: number; root: string; note: string }[] };
}

describe.skipIf(!present)(`SDK reads the reference tiles${present ? '' : ' (skipped: ../shared/vectors not found)'}`, () => {
  let ref: Reference;
  let url: string;
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
    if (path === 'checkpoint') return ref.signedNote.checkpoints.find((c) => c.treeSize === 1100)!.note;
    let parsed;
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
    ref = JSON.parse(readFileSync(VECTORS, 'utf8')) as Reference;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const client = () => new LogClient({ url, vkey: ref.signedNote.verifierKey });
  // The vectors give trusted roots for every size; a checkpoint of that size needs no signature here.
  const at = (size: number): VerifiedCheckpoint => ({ checkpoint: { origin: ref.signedNote.origin, size, root: fromHex(ref.roots[String(size)]!), extensions: [] }, note: '' });

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
});
