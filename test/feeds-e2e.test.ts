/**
 * The feeds' client side against the REAL routes of the real server (a child process): the SDK's
 * tail follows the log across a SIGKILL and a restart of the server (same port, same data) and
 * yields every event once, in order, each verified; `tlog events export --verify` writes a file
 * that a second run resumes, each index once; `tlog events tail --json` prints verified lines.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogClient, type NewEvent, type TailReconnect, type VerifiedEvent, verifyEventReceipt } from '@tlog/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runTlog } from './support/cli.js';
import { type SpawnedServer, spawnServer } from './support/server.js';

/** A port free now (the restarted server must come back on the same one). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function event(i: number): NewEvent {
  return {
    action: i % 3 === 0 ? 'role.granted' : 'user.login',
    actor: { type: 'user', id: `user-${i % 4}` },
    occurred_at: `2026-03-01T10:${String(i % 60).padStart(2, '0')}:00Z`,
    outcome: i % 2 === 0 ? 'success' : 'failure',
    targets: [{ type: 'doc', id: `d-${i}` }],
  };
}

describe('feeds end to end: SDK and CLI on the real routes', () => {
  let s: SpawnedServer;
  let dataDir: string;
  let port: number;
  let client: LogClient;
  const logged: number[] = [];
  const start = () => spawnServer({ dataDir, args: ['--port', String(port)] });
  const append = async (from: number, n: number) => {
    const r = await client.appendEvents(Array.from({ length: n }, (_, k) => event(from + k)));
    logged.push(...r.map((x) => x.index));
  };

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm run build\` first`);
    dataDir = await mkdtemp(join(tmpdir(), 'tlog-feeds-e2e-'));
    port = await freePort();
    s = await start();
    expect(s.url).toBe(`http://127.0.0.1:${port}`);
    client = new LogClient({ url: s.url, vkey: s.vkey, apiKey: s.apiKey });
    await append(0, 120);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('tails every event once and in order across a SIGKILL and restart of the server', async () => {
    const reconnects: TailReconnect[] = [];
    const got: VerifiedEvent[] = [];
    const ac = new AbortController();
    let restarted: Promise<void> | undefined;
    const target = logged.length + 40;
    for await (const e of client.tailEvents(
      {},
      { after: -1, signal: ac.signal, reconnect: { initialMs: 50, maxMs: 500 }, onReconnect: (r) => reconnects.push(r) },
    )) {
      got.push(e);
      if (got.length === 60) {
        // The server dies in the middle of the replay; it comes back on the same port and data, and the log grows.
        restarted = (async () => {
          await s.kill();
          s = await start();
          await append(1000, 40);
        })();
      }
      if (got.length === target) break;
    }
    await restarted;
    expect(got.map((e) => e.index)).toEqual(logged);
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    for (const e of [got[0]!, got[59]!, got.at(-1)!]) expect(verifyEventReceipt(e.receipt, s.vkey).index).toBe(e.index);
  });

  it('exports to a file with --verify, and a second run resumes it with each index once', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'tlog-export-'));
    const out = join(cwd, 'events.ndjson');
    const common = ['--url', s.url, '--vkey', s.vkey, '--api-key', s.apiKey];
    const first = await runTlog(['events', 'export', '--out', out, '--verify', ...common], { cwd });
    expect(first.code, first.stderr).toBe(0);
    const before = (await readFile(out, 'utf8')).trim().split('\n');
    expect(before.length).toBe(logged.length);
    await append(2000, 25);
    const second = await runTlog(['events', 'export', '--out', out, '--verify', ...common], { cwd });
    expect(second.code, second.stderr).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { index: number }).index)).toEqual(logged);
    // CloudEvents, verified the same way.
    const ce = await runTlog(['events', 'export', '--format', 'cloudevents', '--out', '-', '--verify', '--limit', '5', ...common], { cwd });
    expect(ce.code, ce.stderr).toBe(0);
    const ceLines = ce.stdout.trim().split('\n');
    expect(ceLines.map((l) => (JSON.parse(l) as { tlogindex: number }).tlogindex)).toEqual(logged.slice(0, 5));
  });

  it('prints verified lines with `tlog events tail --json`', async () => {
    const r = await runTlog(
      ['events', 'tail', '--json', '--after', String(logged.at(-4)), '--url', s.url, '--vkey', s.vkey, '--api-key', s.apiKey],
      { interruptAfterMs: 3000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { index: number }).index)).toEqual(logged.slice(-3));
  });
});
