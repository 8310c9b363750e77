/**
 * The built `tlog` CLI (packages/client/dist/cli.js, from `npx tsc -b`) against the misbehaving
 * fake log: the monitor must exit 3 and save evidence for each kind of misbehaviour.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeLog, MemoryTree } from './support/fake-log.js';

const CLI = resolve(import.meta.dirname, '../packages/client/dist/cli.js');
let log: FakeLog;

interface Run { code: number; stdout: string; stderr: string }

/** Runs the CLI asynchronously (the fake log answers from this process, so never block it). */
function tlog(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

async function stateDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tlog-cli-'));
}

async function evidence(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('evidence-'));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as Record<string, unknown>));
}

const logArgs = () => ['--url', log.url, '--vkey', log.vkey];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -b\` first`);
  log = await FakeLog.start();
});
afterAll(async () => {
  await log.stop();
});
beforeEach(() => {
  Object.assign(log.faults, { fork: false, rollbackTo: undefined, wrongKey: false, tamperTiles: false, tamperBundles: false, tamperProofs: false });
  log.honest = new MemoryTree();
  log.forked = undefined;
  log.grow(300);
});

describe('tlog monitor --once', () => {
  it('trusts, then follows consistent growth, printing NDJSON and new entries', async () => {
    const dir = await stateDir();
    const first = await tlog('monitor', '--once', '--state', dir, ...logArgs());
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('size 300');
    log.grow(3);
    const second = await tlog('monitor', '--once', '--json', '--entries', '--state', dir, ...logArgs());
    expect(second.code).toBe(0);
    const events = second.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'checkpoint', size: 303, previousSize: 300, changed: true });
    expect(events.slice(1).map((e) => e['index'])).toEqual([300, 301, 302]);
    expect(Buffer.from(events[1]!['entry'] as string, 'base64').toString()).toBe('entry-300');
    expect(await evidence(dir)).toEqual([]);
  });

  it.each([
    ['rollback', () => { log.faults.rollbackTo = 200; }],
    ['fork', () => { log.makeFork(100, 200); log.faults.fork = true; }],
    ['bad-proof', () => { log.makeFork(100, 250); log.faults.fork = true; }],
    ['bad-signature', () => { log.grow(5); log.faults.wrongKey = true; }],
  ])('detects %s: exit 3 and evidence saved', async (kind, misbehave) => {
    const dir = await stateDir();
    expect((await tlog('monitor', '--once', '--state', dir, ...logArgs())).code).toBe(0);
    misbehave();
    const r = await tlog('monitor', '--once', '--state', dir, ...logArgs());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`(${kind})`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const [ev] = await evidence(dir);
    expect(ev).toMatchObject({ type: 'tlog-misbehaviour-evidence/v1', kind, origin: log.origin });
    expect(ev!['candidate']).toEqual(expect.stringContaining(log.origin));
    if (kind !== 'bad-signature') expect(ev!['trusted']).toBe(log.sign(log.honest, 300));
  });

  it('detects a tampered consistency proof, and tampered tiles with --proofs tiles', async () => {
    const dir = await stateDir();
    expect((await tlog('monitor', '--once', '--state', dir, ...logArgs())).code).toBe(0);
    log.grow(10);
    log.faults.tamperProofs = true;
    expect((await tlog('monitor', '--once', '--state', dir, ...logArgs())).code).toBe(3);
    log.faults.tamperProofs = false;
    log.faults.tamperTiles = true;
    expect((await tlog('monitor', '--once', '--proofs', 'tiles', '--state', dir, ...logArgs())).code).toBe(3);
    log.faults.tamperTiles = false;
    expect((await tlog('monitor', '--once', '--proofs', 'tiles', '--state', dir, ...logArgs())).code).toBe(0);
  });

  it('detects tampered entry bundles with --entries', async () => {
    const dir = await stateDir();
    log.faults.tamperBundles = true;
    const r = await tlog('monitor', '--once', '--entries', '--state', dir, ...logArgs());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('(bad-entries)');
  });

  it('exits 1 on network and usage errors', async () => {
    const dir = await stateDir();
    expect((await tlog('monitor', '--once', '--state', dir, '--url', 'http://127.0.0.1:1', '--vkey', log.vkey)).code).toBe(1);
    expect((await tlog('monitor', '--once', '--url', log.url)).code).toBe(1);
    expect((await tlog('monitor', '--once', '--state', dir, '--url', log.url, '--vkey', 'not-a-key')).code).toBe(1);
  });
});

describe('tlog audit', () => {
  it('recomputes the tree and accepts an honest log', async () => {
    const dir = await stateDir();
    const r = await tlog('audit', '--json', '--state', dir, ...logArgs());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, size: 300, bundles: 2 });
  });

  it('exits 3 with evidence when an entry or a tile was tampered', async () => {
    const dir = await stateDir();
    log.faults.tamperBundles = true;
    const r = await tlog('audit', '--state', dir, ...logArgs());
    expect(r.code).toBe(3);
    expect((await evidence(dir))[0]).toMatchObject({ kind: 'bad-entries' });
    log.faults.tamperBundles = false;
    log.faults.tamperTiles = true;
    expect((await tlog('audit', '--state', dir, ...logArgs())).code).toBe(3);
  });
});

describe('tlog checkpoint, submit, verify', () => {
  it('prints the verified checkpoint; reads the key from a file', async () => {
    const dir = await stateDir();
    const keyFile = join(dir, 'log.vkey');
    await writeFile(keyFile, log.vkey + '\n');
    const r = await tlog('checkpoint', '--url', log.url, '--vkey', keyFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(log.checkpoint());
    log.faults.wrongKey = true;
    expect((await tlog('checkpoint', ...logArgs())).code).toBe(3);
  });

  it('submits a file, writes the receipt, and verifies it offline', async () => {
    const dir = await stateDir();
    const file = join(dir, 'doc.txt');
    await writeFile(file, 'a document');
    const s = await tlog('submit', file, ...logArgs());
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('entry 300');
    expect(await readFile(`${file}.tlog-proof`, 'utf8')).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
    const v = await tlog('verify', file, '--receipt', `${file}.tlog-proof`, '--vkey', log.vkey);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('entry 300');
    await writeFile(file, 'another document');
    const bad = await tlog('verify', file, '--receipt', `${file}.tlog-proof`, '--vkey', log.vkey);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^tlog: verification failed: /);
  });
});
