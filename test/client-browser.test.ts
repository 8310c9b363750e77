/**
 * @tlog/client's main entry must run in a browser: bundle packages/client/src/index.ts (with
 * @tlog/merkle and zod) for the browser platform, check no node: module is reachable, and
 * run the bundle in a bare V8 context without Node globals (no process, require or Buffer)
 * against an in-memory tlog-tiles log reached through the fetch it is given.
 */

import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import {
  encodeEntryBundle,
  formatCheckpoint,
  generateEd25519Key,
  type ParsedTilePath,
  parseSignerKey,
  parseTilePath,
  proveInclusionSync,
  signNote,
  TILE_HEIGHT,
  TILE_WIDTH,
} from '@tlog/merkle';
import { build } from 'esbuild';
import { describe, expect, test } from 'vitest';
import { MemoryTree } from './support/fake-log.js';

const entry = fileURLToPath(new URL('../packages/client/src/index.ts', import.meta.url));
const ORIGIN = 'example.com/browser-log';

/** A fetch serving the checkpoint, hash tiles and entry bundles of tree; tamper flips a bit of every tile. */
function staticLog(tree: MemoryTree, signerKey: string, state: { tamper: boolean }) {
  const checkpoint = signNote(formatCheckpoint({ origin: ORIGIN, size: tree.size, root: tree.root(), extensions: [] }), [
    parseSignerKey(signerKey),
  ]);
  return async (input: string): Promise<Response> => {
    const path = new URL(input).pathname.slice(1);
    if (path === 'checkpoint') return new Response(checkpoint);
    let parsed: ParsedTilePath;
    try {
      parsed = parseTilePath(path);
    } catch {
      return new Response('not found', { status: 404 });
    }
    const start = parsed.tile.index * TILE_WIDTH;
    if (parsed.kind === 'entries')
      return new Response(new Uint8Array(encodeEntryBundle(tree.entries.slice(start, start + parsed.tile.width))));
    const hashes = tree.levels[parsed.tile.level * TILE_HEIGHT]!.slice(start, start + parsed.tile.width);
    const data = new Uint8Array(hashes.length * 32);
    hashes.forEach((h, i) => {
      data.set(h, i * 32);
    });
    if (state.tamper) data[0]! ^= 1;
    return new Response(data);
  };
}

describe('@tlog/client in a browser-like context', () => {
  test('bundles for the browser with no node: module and verifies a log from tiles', async () => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'tlogClient',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => p.startsWith('node:'))).toEqual([]);
    // The Node-only modules stay out of the browser entry, and so do the witness server and the CLI.
    expect(inputs.filter((p) => /packages\/client\/src\/(node|trusted-state)/.test(p))).toEqual([]);
    expect(
      inputs.filter((p) => /packages\/(witness|cli|files)\/|node_modules\/(\.pnpm\/)?(hono|@hono|commander|cli-progress)/.test(p)),
    ).toEqual([]);
    expect(inputs.some((p) => p.includes('packages/client/src/log-client.ts'))).toBe(true);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/require\(["']node:/);

    const key = generateEd25519Key(ORIGIN, new Uint8Array(32).fill(21));
    const tree = new MemoryTree(Array.from({ length: 300 }, (_, i) => new TextEncoder().encode(`browser entry ${i}`)));
    const state = { tamper: false };
    // Only what browsers have. Binary types come from this realm so the fetch's bytes pass
    // instanceof checks, as they would in a page where everything shares one realm.
    const context = vm.createContext({
      TextEncoder,
      TextDecoder,
      Uint8Array,
      ArrayBuffer,
      DataView,
      Response,
      Request,
      Headers,
      URL,
      AbortSignal,
      AbortController,
      setTimeout,
      clearTimeout,
      crypto: { getRandomValues: <T extends ArrayBufferView>(a: T): T => globalThis.crypto.getRandomValues(a) },
      fetch: staticLog(tree, key.signerKey, state),
      vkey: key.verifierKey,
      state,
    });
    vm.runInContext(code, context);
    const check = (await vm.runInContext(
      `(async () => {
        const { LogClient, LogMisbehaviourError } = tlogClient;
        const c = new LogClient({ url: 'https://log.example/', vkey });
        const at = await c.latestCheckpoint();
        const proof = await c.inclusionProof(257, at);
        const entries = [];
        for await (const e of c.entries(250, 260, at)) entries.push(new TextDecoder().decode(e.entry));
        state.tamper = true;
        let kind = 'none';
        try { await new LogClient({ url: 'https://log.example/', vkey }).inclusionProof(3, at); } catch (e) { kind = e instanceof LogMisbehaviourError ? e.kind : String(e); }
        return { size: at.checkpoint.size, index: proof.index, proofLength: proof.proof.length, entries, kind,
          hasProcess: typeof process !== 'undefined', hasBuffer: typeof Buffer !== 'undefined', hasRequire: typeof require !== 'undefined' };
      })()`,
      context,
    )) as Record<string, unknown>;
    expect(check).toEqual({
      size: 300,
      index: 257,
      proofLength: proveInclusionSync(tree.reader, 257, 300).length,
      entries: Array.from({ length: 10 }, (_, i) => `browser entry ${250 + i}`),
      kind: 'bad-proof',
      hasProcess: false,
      hasBuffer: false,
      hasRequire: false,
    });
  });
});
