/**
 * End to end: the real built log server (via test/support/server.ts, provided by the server
 * package) with the real SDK and the built `tlog` CLI. Skipped visibly until that helper exists.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LogClient, NotFoundError, verifyReceipt } from '@tlog/client';
import { generateEd25519Key } from '@tlog/merkle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HELPER = resolve(import.meta.dirname, 'support/server.ts');
const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');
const present = existsSync(HELPER);

interface RunningServer {
  url: string;
  vkey: string;
  origin: string;
  stop(): Promise<void> | void;
  kill(): Promise<void> | void;
}

function tlog(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** Finds the helper's start function whatever its name (startServer, spawnServer, default...). */
async function startRealServer(): Promise<RunningServer> {
  const mod = (await import(/* @vite-ignore */ HELPER)) as Record<string, unknown>;
  const preferred = ['startServer', 'spawnServer', 'startLogServer', 'spawnLogServer', 'default'];
  const name = preferred.find((n) => typeof mod[n] === 'function') ?? Object.keys(mod).find((n) => typeof mod[n] === 'function');
  if (name === undefined) throw new Error(`${HELPER} exports no function to start the server`);
  return (mod[name] as () => Promise<RunningServer>)();
}

describe.skipIf(!present)(`client e2e against the real server${present ? '' : ' (skipped: test/support/server.ts not found)'}`, () => {
  let server: RunningServer;
  let dir: string;
  const enc = new TextEncoder();

  beforeAll(async () => {
    expect(existsSync(CLI), 'run `npx tsc -b` first').toBe(true);
    server = await startRealServer();
    dir = await mkdtemp(join(tmpdir(), 'tlog-e2e-'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('submits with the SDK; receipts verify offline with the SDK and with `tlog verify`', async () => {
    const client = new LogClient({ url: server.url, vkey: server.vkey, origin: server.origin });
    const receipts = [];
    for (let i = 0; i < 5; i++) {
      const entry = enc.encode(`e2e entry ${i}`);
      const r = await client.submit(entry);
      receipts.push(r);
      expect(verifyReceipt(r.receipt, entry, server.vkey).index).toBe(r.index);
      const file = join(dir, `entry-${i}.txt`);
      await writeFile(file, entry);
      await writeFile(`${file}.tlog-proof`, r.receipt);
    }
    const v = await tlog('verify', join(dir, 'entry-3.txt'), '--receipt', join(dir, 'entry-3.txt.tlog-proof'), '--vkey', server.vkey);
    expect(v.code, v.stderr).toBe(0);
    await writeFile(join(dir, 'entry-3.txt'), 'tampered');
    expect(
      (await tlog('verify', join(dir, 'entry-3.txt'), '--receipt', join(dir, 'entry-3.txt.tlog-proof'), '--vkey', server.vkey)).code,
    ).toBe(3);

    // Proofs from the API and from tiles agree; entries read back verified.
    const at = await client.latestCheckpoint();
    const first = receipts[0]!;
    const api = await client.inclusionProof(first.index, at);
    const tiles = await client.inclusionProof(first.index, at, { source: 'tiles' });
    expect(tiles.proof).toEqual(api.proof);
    const c = await client.consistencyProof(first.checkpoint, at);
    expect(await client.consistencyProof(first.checkpoint, at, { source: 'tiles' })).toEqual(c);
    const batch = [enc.encode('batch a'), enc.encode('batch b')];
    const br = await client.submitBatch(batch);
    br.forEach((r, i) => {
      expect(verifyReceipt(r.receipt, batch[i]!, server.vkey).index).toBe(r.index);
    });
    const read = [];
    for await (const e of client.entries(first.index, first.index + 5, at)) read.push(new TextDecoder().decode(e.entry));
    expect(read).toEqual(Array.from({ length: 5 }, (_, i) => `e2e entry ${i}`));
  });

  it("`tlog submit` and `monitor` with a key that is not the server's: exit 1 naming its key, nothing submitted or trusted", async () => {
    const client = new LogClient({ url: server.url, vkey: server.vkey, origin: server.origin });
    const before = (await client.latestCheckpoint()).checkpoint.size;
    const wrong = generateEd25519Key(server.origin, new Uint8Array(32).fill(3)).verifierKey;
    const file = join(dir, 'wrong-key.txt');
    await writeFile(file, 'never submitted');
    const s = await tlog('submit', file, '--url', server.url, '--vkey', wrong);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^tlog: configuration error: /);
    expect(s.stderr).toContain(`verifies with the key ${server.vkey}`);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(`${file}.tlog-proof`)).toBe(false);
    const state = join(dir, 'wrong-key-state');
    const m = await tlog('monitor', '--once', '--state', state, '--url', server.url, '--vkey', wrong);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^tlog: configuration error: /);
    expect(existsSync(state)).toBe(false);
    // Nothing was appended: the entry is not in the log.
    const after = await client.latestCheckpoint();
    expect(after.checkpoint.size).toBe(before);
    await expect(client.inclusionProofForEntry(enc.encode('never submitted'), after)).rejects.toThrow(NotFoundError);
  });

  it('`tlog submit`, `monitor --once` and `audit` succeed against the real server', async () => {
    const file = join(dir, 'cli-doc.txt');
    await writeFile(file, 'submitted by the CLI');
    const s = await tlog('submit', file, '--url', server.url, '--vkey', server.vkey);
    expect(s.code, s.stderr).toBe(0);
    expect(await readFile(`${file}.tlog-proof`, 'utf8')).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
    const state = join(dir, 'state');
    const m1 = await tlog('monitor', '--once', '--json', '--state', state, '--url', server.url, '--vkey', server.vkey);
    expect(m1.code, m1.stderr).toBe(0);
    const client = new LogClient({ url: server.url, vkey: server.vkey, origin: server.origin });
    await client.submit(enc.encode('one more'));
    const m2 = await tlog('monitor', '--once', '--json', '--entries', '--state', state, '--url', server.url, '--vkey', server.vkey);
    expect(m2.code, m2.stderr).toBe(0);
    const events = m2.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'checkpoint', changed: true });
    expect(events.some((e) => e.type === 'entry' && Buffer.from(e.entry as string, 'base64').toString() === 'one more')).toBe(true);
    const m3 = await tlog('monitor', '--once', '--proofs', 'tiles', '--state', state, '--url', server.url, '--vkey', server.vkey);
    expect(m3.code, m3.stderr).toBe(0);
    const a = await tlog('audit', '--json', '--state', state, '--url', server.url, '--vkey', server.vkey);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ ok: true });
    expect((await readdir(state)).filter((f) => f.startsWith('evidence-'))).toEqual([]);
  });
});
