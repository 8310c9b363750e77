/**
 * The built `tlog` CLI (packages/cli/dist/cli.js, from `npx tsc -b`) against the misbehaving
 * fake log: the monitor must exit 3 and save evidence for each kind of misbehaviour.
 */

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VerificationError, verifyForkEvidence } from '@tlog/client';
import { generateEd25519Key, proveConsistencySync, toBase64 } from '@tlog/merkle';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeLog } from './support/fake-log.js';

const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');
let log: FakeLog;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

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

/** A local port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A long-running CLI process whose output can be awaited line by line. */
class Running {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];
  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      this.wake();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.wake();
    });
    this.exited = new Promise((r) =>
      this.child.once('close', (code) => {
        r(code);
        this.wake();
      }),
    );
  }
  /** NDJSON events printed so far. */
  events(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  /** Resolves once cond() holds (checked on every output); rejects if the process exits first. */
  async until(cond: () => boolean, what: string): Promise<void> {
    while (!cond()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`the CLI exited before ${what}:\n${this.stdout}\n${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -b\` first`);
  log = await FakeLog.start();
});
afterAll(async () => {
  await log.stop();
});
beforeEach(() => {
  log.reset();
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
    const events = second.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'checkpoint', size: 303, previousSize: 300, changed: true });
    expect(events.slice(1).map((e) => e.index)).toEqual([300, 301, 302]);
    expect(Buffer.from(events[1]!.entry as string, 'base64').toString()).toBe('entry-300');
    expect(await evidence(dir)).toEqual([]);
  });

  it.each([
    [
      'rollback',
      () => {
        log.faults.rollbackTo = 200;
      },
    ],
    [
      'fork',
      () => {
        log.makeFork(100, 200);
        log.faults.fork = true;
      },
    ],
    [
      'bad-signature',
      () => {
        log.grow(5);
        log.faults.wrongKey = true;
      },
    ],
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
    expect(ev!.candidate).toEqual(expect.stringContaining(log.origin));
    if (kind !== 'bad-signature') expect(ev!.trusted).toBe(log.sign(log.honest, 300));
    // Fork evidence proves itself: two signed checkpoints of size 300 with different roots.
    if (kind === 'fork') expect(verifyForkEvidence(JSON.stringify(ev), log.vkey).size).toBe(300);
    else expect(() => verifyForkEvidence(JSON.stringify(ev), log.vkey)).toThrow(/not fork/);
  });

  it.each([
    ['api', 'auto'],
    ['tiles', 'tiles'],
  ])('detects a fork that also grew (proofs from %s): exit 3 and evidence that proves the fork on its own', async (_name, proofs) => {
    const dir = await stateDir();
    expect((await tlog('monitor', '--once', '--state', dir, ...logArgs())).code).toBe(0);
    // The log now signs a tree of size 350 whose first 300 leaves are not the trusted ones.
    log.makeFork(100, 250);
    log.faults.fork = true;
    const r = await tlog('monitor', '--once', '--proofs', proofs, '--state', dir, ...logArgs());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^tlog: log misbehaviour \(fork\): .*two different trees of size 300/);
    const files = (await readdir(dir)).filter((f) => f.startsWith('evidence-'));
    expect(files).toHaveLength(1);
    const text = await readFile(join(dir, files[0]!), 'utf8');
    const ev = JSON.parse(text) as { kind: string; trusted: string; candidate: string; proof: string[]; details: Record<string, unknown> };
    expect(ev).toMatchObject({
      kind: 'fork',
      trusted: log.sign(log.honest, 300),
      candidate: log.sign(log.forked!, 350),
      details: { size: 300, recomputedRoot: toBase64(log.forked!.root(300)) },
    });
    expect(ev.proof).toEqual(proveConsistencySync(log.forked!.reader, 300, 350).map(toBase64));
    // Anyone with the log key can check it, offline: the log signed two trees of size 300.
    const fork = verifyForkEvidence(text, log.vkey);
    expect(fork.size).toBe(300);
    expect(fork.roots.map(toBase64)).toEqual([toBase64(log.honest.root(300)), toBase64(log.forked!.root(300))]);
    expect(() => verifyForkEvidence(text, generateEd25519Key(log.origin, new Uint8Array(32).fill(9)).verifierKey)).toThrow(
      VerificationError,
    );
    // The trusted checkpoint is unchanged.
    expect(await readFile(join(dir, (await readdir(dir)).find((f) => f.endsWith('.checkpoint'))!), 'utf8')).toBe(log.sign(log.honest, 300));
  });

  it('a wrong proof of a consistent tree is bad-proof, not a fork; so is a proof whose tiles do not authenticate', async () => {
    const dir = await stateDir();
    expect((await tlog('monitor', '--once', '--state', dir, ...logArgs())).code).toBe(0);
    log.grow(10);
    log.faults.tamperProofs = true;
    const r = await tlog('monitor', '--once', '--state', dir, ...logArgs());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('(bad-proof)');
    const [ev] = await evidence(dir);
    expect(ev).toMatchObject({ kind: 'bad-proof', trusted: log.sign(log.honest, 300), candidate: log.sign(log.honest, 310) });
    expect((ev!.details as Record<string, string>).forkCheck).toMatch(/give the trusted root at size 300/);
    log.faults.tamperTiles = true;
    const both = await tlog('monitor', '--once', '--state', dir, ...logArgs());
    expect(both.code).toBe(3);
    expect(both.stderr).toContain('(bad-proof)');
    expect(both.stderr).toContain('do not authenticate');
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
    expect(r.stderr).toContain('evidence saved to');
    expect(await evidence(dir)).toHaveLength(1);
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

describe('a wrong --vkey or --origin is a configuration error, not evidence', () => {
  /** A key with the log's name but another secret: what a user pasting the wrong key has. */
  const otherKey = () => generateEd25519Key(log.origin, new Uint8Array(32).fill(9)).verifierKey;
  const oneLine = (r: Run) => expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);

  it('`tlog submit` checks the log key first: exit 1 naming the log key, nothing submitted, no receipt', async () => {
    const dir = await stateDir();
    const file = join(dir, 'doc.txt');
    await writeFile(file, 'a document');
    log.requests.length = 0;
    const r = await tlog('submit', file, '--url', log.url, '--vkey', otherKey());
    expect(r.code).toBe(1);
    oneLine(r);
    expect(r.stderr).toMatch(/^tlog: configuration error: the log at .* does not sign checkpoints with the pinned key/);
    expect(r.stderr).toContain(`verifies with the key ${log.vkey}`);
    expect(log.honest.size).toBe(300);
    expect(log.requests.filter((p) => p.startsWith('/v1/entries'))).toEqual([]);
    expect(existsSync(`${file}.tlog-proof`)).toBe(false);
    // The same with the right key but another origin.
    const o = await tlog('submit', file, ...logArgs(), '--origin', 'other.example/log');
    expect(o.code).toBe(1);
    expect(o.stderr).toContain('its checkpoints are for the origin "fake.example/log", not "other.example/log"');
    expect(log.honest.size).toBe(300);
    // And with the right key it goes through.
    expect((await tlog('submit', file, ...logArgs())).code).toBe(0);
    expect(log.honest.size).toBe(301);
  });

  it.each(['monitor', 'audit'])('`tlog %s` on a fresh state directory: exit 1, no evidence, nothing trusted', async (command) => {
    const dir = await stateDir();
    const args = command === 'monitor' ? ['monitor', '--once'] : ['audit'];
    const r = await tlog(...args, '--state', dir, '--url', log.url, '--vkey', otherKey());
    expect(r.code).toBe(1);
    oneLine(r);
    expect(r.stderr).toMatch(/^tlog: configuration error: /);
    expect(r.stderr).toContain(log.vkey);
    expect(await readdir(dir)).toEqual([]);
    // With the right key the same directory then works.
    expect((await tlog(...args, '--state', dir, ...logArgs())).code).toBe(0);
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

describe('tlog errors are one line with the contract exit status', () => {
  const oneLine = (r: Run) => {
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^tlog: /);
  };

  it('--version prints the version of @tlog/cli and exits 0', async () => {
    const { version } = JSON.parse(await readFile(resolve(import.meta.dirname, '../packages/cli/package.json'), 'utf8')) as {
      version: string;
    };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) {
      const r = await tlog(flag);
      expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('usage errors: exit 1, one line pointing at the help', async () => {
    const dir = await stateDir();
    for (const args of [
      ['monitor', '--once', '--url', 'http://127.0.0.1:9'],
      ['bogus'],
      ['monitor', '--once', '--interval', 'soon', '--state', dir, ...logArgs()],
      ['monitor', '--once', '--proofs', 'json', '--state', dir, ...logArgs()],
      ['checkpoint', '--url', 'ftp://example.com', '--vkey', 'x+y+z'],
    ]) {
      const r = await tlog(...args);
      expect(r.code, args.join(' ')).toBe(1);
      oneLine(r);
    }
    const missing = await tlog('monitor', '--once', '--url', log.url);
    expect(missing.stderr).toMatch(/--vkey.*tlog monitor --help/);
  });

  it('network errors: exit 1 naming the cause (refused connection, outage)', async () => {
    const dir = await stateDir();
    const refused = await tlog('monitor', '--once', '--state', dir, '--url', `http://127.0.0.1:${await closedPort()}`, '--vkey', log.vkey);
    expect(refused.code).toBe(1);
    oneLine(refused);
    expect(refused.stderr).toMatch(/^tlog: network error: .*ECONNREFUSED/);
    log.faults.down = true;
    const down = await tlog('checkpoint', ...logArgs());
    expect(down.code).toBe(1);
    oneLine(down);
    expect(down.stderr).toContain('503');
  });

  it('--vkey takes the key or a file; anything else is named in one line', async () => {
    const dir = await stateDir();
    const good = join(dir, 'log.vkey');
    await writeFile(good, `\n  ${log.vkey}  \n`);
    expect((await tlog('checkpoint', '--url', log.url, '--vkey', good)).code).toBe(0);
    const noFile = await tlog('checkpoint', '--url', log.url, '--vkey', join(dir, 'missing.vkey'));
    expect(noFile.code).toBe(1);
    oneLine(noFile);
    expect(noFile.stderr).toContain('neither a file nor a valid verifier key');
    const bad = join(dir, 'bad.vkey');
    await writeFile(bad, 'not a key\n');
    const badFile = await tlog('checkpoint', '--url', log.url, '--vkey', bad);
    expect(badFile.code).toBe(1);
    oneLine(badFile);
    expect(badFile.stderr).toContain(`the file ${bad} does not hold a valid verifier key`);
  });

  it('verification failures exit 3 in one line; a missing file exits 1', async () => {
    const dir = await stateDir();
    log.faults.wrongKey = true;
    const r = await tlog('checkpoint', ...logArgs());
    expect(r.code).toBe(3);
    oneLine(r);
    const v = await tlog('verify', join(dir, 'nothing.txt'), '--vkey', log.vkey);
    expect(v.code).toBe(1);
    oneLine(v);
    expect(v.stderr).toContain(`cannot read the file ${join(dir, 'nothing.txt')}`);
  });
});

describe('tlog monitor without --once', () => {
  it('keeps polling: one line per new checkpoint, retries outages, exits 3 with evidence on a rollback', async () => {
    const dir = await stateDir();
    const m = new Running(['monitor', '--json', '--interval', '0.1', '--state', dir, ...logArgs()]);
    try {
      const checkpoints = () => m.events().filter((e) => e.type === 'checkpoint');
      await m.until(() => checkpoints().length === 1, 'the first checkpoint');
      expect(checkpoints()[0]).toMatchObject({ size: 300, changed: true, previousSize: null });
      log.grow(5);
      await m.until(() => checkpoints().length === 2, 'the grown checkpoint');
      expect(checkpoints()[1]).toMatchObject({ size: 305, changed: true, previousSize: 300 });
      log.faults.down = true;
      await m.until(() => m.stderr.includes('retrying'), 'a retried outage');
      expect(m.stderr).toMatch(/^tlog: network error: .*503.*\(retrying in 0\.1s\)$/m);
      log.faults.down = false;
      log.grow(1);
      await m.until(() => checkpoints().length === 3, 'the checkpoint after the outage');
      expect(checkpoints()[2]).toMatchObject({ size: 306, previousSize: 305 });
      log.faults.rollbackTo = 100;
      expect(await m.exited).toBe(3);
    } finally {
      m.child.kill();
    }
    // Unchanged rounds print nothing: exactly the three new checkpoints.
    expect(
      m
        .events()
        .filter((e) => e.type === 'checkpoint')
        .map((e) => e.size),
    ).toEqual([300, 305, 306]);
    expect(m.events().at(-1)).toMatchObject({ type: 'misbehaviour', kind: 'rollback' });
    expect(m.stderr.trim().split('\n').at(-1)).toMatch(/^tlog: log misbehaviour \(rollback\): .*evidence saved to /);
    const [ev] = await evidence(dir);
    expect(ev).toMatchObject({ kind: 'rollback', trusted: log.sign(log.honest, 306), candidate: log.sign(log.honest, 100) });
  });
});

describe('tlog monitor --entries', () => {
  const entryEvents = (r: Run) =>
    r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.type === 'entry');

  it('resumes after a failed round instead of skipping entries, then streams only new ones', async () => {
    const dir = await stateDir();
    log.faults.failBundles = true;
    const failed = await tlog('monitor', '--once', '--json', '--entries', '--state', dir, ...logArgs());
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('network error');
    log.faults.failBundles = false;
    const resumed = await tlog('monitor', '--once', '--json', '--entries', '--state', dir, ...logArgs());
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(entryEvents(resumed).map((e) => e.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    log.grow(3);
    const next = await tlog('monitor', '--once', '--json', '--entries', '--state', dir, ...logArgs());
    expect(entryEvents(next).map((e) => e.index)).toEqual([300, 301, 302]);
    expect(Buffer.from(entryEvents(next)[2]!.entry as string, 'base64').toString()).toBe('entry-302');
    const idle = await tlog('monitor', '--once', '--json', '--entries', '--state', dir, ...logArgs());
    expect(entryEvents(idle)).toEqual([]);
  });

  it('verifies every entry against the tree: a bundle that does not match the tiles is misbehaviour', async () => {
    const dir = await stateDir();
    expect((await tlog('monitor', '--once', '--state', dir, ...logArgs())).code).toBe(0);
    log.grow(300);
    log.faults.tamperBundles = true;
    const r = await tlog('monitor', '--once', '--json', '--entries', '--state', dir, ...logArgs());
    expect(r.code).toBe(3);
    // Bundle 1 (entries 256..511) is checked whole: its tampered entry 256 stops it before any is printed.
    expect(entryEvents(r)).toEqual([]);
    const [ev] = await evidence(dir);
    expect(ev).toMatchObject({ kind: 'bad-entries', trusted: log.sign(log.honest, 600), details: { index: 256 } });
  });
});

describe('tlog against a log without the JSON proof API', () => {
  it('monitor and audit work from tiles (--proofs auto), and --proofs api exits 1', async () => {
    log.faults.noProofApi = true;
    const dir = await stateDir();
    expect((await tlog('monitor', '--once', '--state', dir, ...logArgs())).code).toBe(0);
    log.grow(40);
    const m = await tlog('monitor', '--once', '--json', '--state', dir, ...logArgs());
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toMatchObject({ size: 340, previousSize: 300, changed: true });
    log.grow(1);
    const api = await tlog('monitor', '--once', '--proofs', 'api', '--state', dir, ...logArgs());
    expect(api.code).toBe(1);
    expect(api.stderr).toContain('404');
    const a = await tlog('audit', '--json', '--state', dir, ...logArgs());
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ ok: true, size: 341 });
    expect(log.requests.some((p) => p.startsWith('/v1/') && !p.startsWith('/v1/proof/'))).toBe(false);
  });
});

describe('tlog audit', () => {
  it('tells a tampered tile (bad-proof) from tampered entries (bad-entries)', async () => {
    const dir = await stateDir();
    log.faults.tamperTiles = true;
    expect((await tlog('audit', '--state', dir, '--proofs', 'api', ...logArgs())).code).toBe(3);
    log.faults.tamperTiles = false;
    log.faults.tamperBundles = true;
    expect((await tlog('audit', '--state', dir, ...logArgs())).code).toBe(3);
    expect((await evidence(dir)).map((e) => e.kind).sort()).toEqual(['bad-entries', 'bad-proof']);
  });

  const hasScript = existsSync('/usr/bin/script');
  it.skipIf(!hasScript)(
    `shows a progress bar on a terminal only${hasScript ? '' : ' (skipped: no script(1) to make a terminal)'}`,
    async () => {
      const dir = await stateDir();
      const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
      const cmd = [process.execPath, CLI, 'audit', '--state', dir, ...logArgs()].map(quote).join(' ');
      const onTty = await new Promise<Run>((done) => {
        execFile('/usr/bin/script', ['-qec', cmd, '/dev/null'], { timeout: 30_000 }, (err, stdout, stderr) => {
          done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
        });
      });
      expect(onTty.code, onTty.stdout).toBe(0);
      expect(onTty.stdout).toMatch(/audit \[[^\]]*\] 100% 300\/300 entries/);
      const piped = await tlog('audit', '--state', dir, ...logArgs());
      expect(piped.code).toBe(0);
      expect(piped.stderr).toBe('');
      expect(piped.stdout).toMatch(/^audit OK: 300 entries/);
    },
  );
});
