/**
 * The built `tlog` CLI's event commands (packages/cli/dist/cli.js, from `pnpm run build`):
 * against the real server (test/support/server.ts), and against a fake event log that lies
 * (exit 3, evidence for the audit).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateEd25519Key } from '@tlog/merkle';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeEventLog } from './support/fake-event-log.js';
import type { SpawnedServer } from './support/server.js';
import { spawnServer } from './support/server.js';

const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously (a fake log answers from this process, so never block it), in `cwd`. */
function tlog(args: readonly string[], options: { cwd?: string; stdin?: string } = {}): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [CLI, ...args], { timeout: 60_000, cwd: options.cwd }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      done({ code, stdout, stderr });
    });
    child.stdin?.end(options.stdin ?? '');
  });
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tlog-events-cli-'));
}

async function evidence(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('evidence-'));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as Record<string, unknown>));
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm run build\` first`);
});

describe('the event commands against the real server', () => {
  let server: SpawnedServer;
  let cwd: string;
  const logArgs = () => ['--url', server.url, '--vkey', server.vkey, '--api-key-file', join(server.dataDir, 'admin.key')];

  beforeAll(async () => {
    server = await spawnServer();
    cwd = await tempDir();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('event add logs an event from flags, writes its receipt, and event verify checks it offline', async () => {
    const add = await tlog(
      [
        'event',
        'add',
        '--action',
        'user.login',
        '--actor',
        'user:alice',
        '--actor-name',
        'Alice',
        '--target',
        'app:console',
        '--target',
        'doc:a:b',
        '--outcome',
        'success',
        '--tenant',
        'acme',
        '--meta',
        'ip=192.0.2.1',
        '--meta',
        'note=a=b',
        '--occurred-at',
        '2026-03-01T10:00:00+01:00',
        '--id',
        'login-1',
        ...logArgs(),
      ],
      { cwd },
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(
      /^event 0 id login-1 \(user\.login by user:alice, success\) is in .* at size 1; receipt written to event-0\.json\n$/,
    );
    const receipt = JSON.parse(await readFile(join(cwd, 'event-0.json'), 'utf8')) as { record: Record<string, unknown> };
    expect(receipt.record).toMatchObject({
      action: 'user.login',
      actor: { type: 'user', id: 'alice', name: 'Alice' },
      targets: [
        { type: 'app', id: 'console' },
        { type: 'doc', id: 'a:b' },
      ],
      outcome: 'success',
      tenant: 'acme',
      metadata: { ip: '192.0.2.1', note: 'a=b' },
      occurred_at: '2026-03-01T10:00:00+01:00',
      id: 'login-1',
    });
    const verified = await tlog(['event', 'verify', 'event-0.json', '--vkey', server.vkey], { cwd });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^OK: event login-1 \(user\.login by user:alice\) is entry 0 of /);
    const json = await tlog(['event', 'verify', 'event-0.json', '--vkey', server.vkey, '--json'], { cwd });
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, index: 0, id: 'login-1', treeSize: 1 });
  });

  it('event verify exits 3 with one line on a tampered receipt or another key, 1 on a missing file', async () => {
    const receipt = JSON.parse(await readFile(join(cwd, 'event-0.json'), 'utf8')) as { record: { outcome: string } };
    receipt.record.outcome = 'failure';
    await writeFile(join(cwd, 'tampered.json'), JSON.stringify(receipt));
    const tampered = await tlog(['event', 'verify', 'tampered.json', '--vkey', server.vkey], { cwd });
    expect(tampered.code).toBe(3);
    expect(tampered.stderr).toMatch(/^tlog: verification failed: the event receipt's record and salt do not commit to its leafHash/);
    expect(tampered.stderr.trim().split('\n')).toHaveLength(1);
    const otherKey = generateEd25519Key(server.origin, new Uint8Array(32).fill(4)).verifierKey;
    const wrongKey = await tlog(['event', 'verify', 'event-0.json', '--vkey', otherKey], { cwd });
    expect(wrongKey.code).toBe(3);
    expect(wrongKey.stderr).toMatch(/^tlog: verification failed: the receipt does not verify/);
    const missing = await tlog(['event', 'verify', 'nope.json', '--vkey', server.vkey], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the event receipt nope.json');
  });

  it('event get prints the verified record, or writes its receipt with --out', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await tlog(
        [
          'event',
          'add',
          '--action',
          i % 2 === 0 ? 'doc.read' : 'doc.write',
          '--actor',
          `user:u-${i % 2}`,
          '--target',
          `doc:d-${i}`,
          ...logArgs(),
        ],
        {
          cwd,
        },
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const byId = await tlog(['event', 'get', 'login-1', '--tenant', 'acme', ...logArgs()]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({ id: 'login-1', actor: { id: 'alice' } });
    const out = await tlog(['event', 'get', '2', '--out', 'two.json', ...logArgs()], { cwd });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^event 2 id \S+ \(doc\.write by user:u-1, unknown\) .*receipt written to two\.json/);
    expect((await tlog(['event', 'verify', 'two.json', '--vkey', server.vkey], { cwd })).code).toBe(0);
    const none = await tlog(['event', 'get', 'login-1', ...logArgs()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^tlog: not found: /);
  });

  it('events search prints a table, or NDJSON with --json, honouring filters, order and --limit', async () => {
    const table = await tlog(['events', 'search', '--action', 'doc.*', ...logArgs()]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^INDEX\s+RECEIVED_AT\s+ACTION\s+ACTOR\s+TARGETS\s+OUTCOME$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 1)[0])).toEqual(['1', '2', '3', '4']);
    expect(lines[2]).toMatch(/^2\s+\S+Z\s+doc\.write\s+user:u-1\s+doc:d-1\s+unknown$/);
    const ndjson = await tlog(['events', 'search', '--actor', 'u-0', '--order', 'desc', '--json', ...logArgs()]);
    expect(ndjson.code, ndjson.stderr).toBe(0);
    const rows = ndjson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { index: number; leafHash: string; record: { actor: { id: string } }; salt: string });
    expect(rows.map((r) => r.index)).toEqual([3, 1]);
    expect(Object.keys(rows[0]!).sort()).toEqual(['index', 'leafHash', 'record', 'salt']);
    const limited = await tlog(['events', 'search', '--limit', '2', '--json', ...logArgs()]);
    expect(limited.stdout.trim().split('\n')).toHaveLength(2);
    const empty = await tlog(['events', 'search', '--tenant', 'nobody', ...logArgs()]);
    expect(empty.code).toBe(0);
    expect(empty.stdout.trim().split('\n')).toHaveLength(1);
    const bad = await tlog(['events', 'search', '--since', 'yesterday', ...logArgs()]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^tlog: error: the event filter is not valid: since: /);
  });

  it('audit --events passes on an honest log, counting raw entries shaped like events', async () => {
    // A raw entry that looks like an event's entry, but has no stored event.
    await writeFile(join(cwd, 'lookalike'), `tlog-event-v1 ${Buffer.alloc(32, 7).toString('base64')}\n`);
    expect((await tlog(['submit', join(cwd, 'lookalike'), ...logArgs()])).code).toBe(0);
    const state = await tempDir();
    const r = await tlog(['audit', '--events', '--json', '--state', state, ...logArgs()]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'audit', ok: true, size: 6, events: 5, unstoredEvents: 1 });
    expect(await evidence(state)).toEqual([]);
    const text = await tlog(['audit', '--events', '--state', state, ...logArgs()]);
    expect(text.stdout).toMatch(
      /^audit OK: 6 entries .*; 5 stored events re-hash to their entries, \d+ index queries agree with them, 1 event-shaped entries have no stored event/,
    );
  });
});

describe('the event commands against a lying log', () => {
  let log: FakeEventLog;
  const logArgs = () => ['--url', log.url, '--vkey', log.vkey];

  beforeAll(async () => {
    log = await FakeEventLog.start('fake.example/events-cli');
  });
  afterAll(async () => {
    await log.stop();
  });
  beforeEach(() => {
    log.reset();
  });

  /** Logs a few events through the CLI. */
  async function addSome(cwd: string): Promise<void> {
    for (const [actor, target] of [
      ['user:alice', 'doc:1'],
      ['user:bob', 'doc:2'],
      ['user:alice', 'doc:2'],
    ] as const) {
      const r = await tlog(['event', 'add', '--action', 'doc.read', '--actor', actor, '--target', target, ...logArgs()], { cwd });
      expect(r.code, r.stderr).toBe(0);
    }
  }

  it('event add exits 3 when the log rewrites the event, and writes no receipt', async () => {
    const cwd = await tempDir();
    log.eventFaults.rewriteAction = 'doc.deleted';
    const r = await tlog(['event', 'add', '--action', 'doc.read', '--actor', 'user:alice', ...logArgs()], { cwd });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^tlog: log misbehaviour \(bad-events\): .*another event than the one appended/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('events search exits 3 on a result that does not match the filter', async () => {
    const cwd = await tempDir();
    await addSome(cwd);
    log.eventFaults.ignoreFilter = true;
    const r = await tlog(['events', 'search', '--actor', 'bob', '--json', ...logArgs()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('does not match the filter');
  });

  it('audit --events exits 3 with evidence naming the query, the index, expected and got', async () => {
    const cwd = await tempDir();
    const state = await tempDir();
    await addSome(cwd);
    const ok = await tlog(['audit', '--events', '--json', '--state', state, ...logArgs()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ type: 'audit', ok: true, size: 3, events: 3, unstoredEvents: 0 });
    log.eventFaults.hideFromSearch = 2;
    const r = await tlog(['audit', '--events', '--state', state, ...logArgs()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^tlog: log misbehaviour \(bad-events\): .*leaves out the event at index 2.*evidence saved to/);
    const [ev] = await evidence(state);
    expect(ev).toMatchObject({ kind: 'bad-events', details: { index: 2, expected: expect.stringMatching(/^present/), got: 'absent' } });
    expect((ev!.details as Record<string, string>).query).toMatch(/=/);
  });

  it('audit --events counts an erased event without failing', async () => {
    const cwd = await tempDir();
    await addSome(cwd);
    log.erase(1);
    const r = await tlog(['audit', '--events', '--state', await tempDir(), ...logArgs()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 stored events re-hash to their entries');
    expect(r.stdout).toContain('1 event-shaped entries have no stored event');
  });

  it('event add takes the whole event as JSON from a file or standard input, and refuses mixing it with flags', async () => {
    const cwd = await tempDir();
    const event = { action: 'user.login', actor: { type: 'user', id: 'carol' }, occurred_at: '2026-01-01T00:00:00Z', id: 'login-1' };
    await writeFile(join(cwd, 'ev.json'), JSON.stringify(event));
    const fromFile = await tlog(['event', 'add', '--json', 'ev.json', '--out', 'r.json', ...logArgs()], { cwd });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toMatch(/^event 0 id login-1 .*receipt written to r\.json\n$/);
    const fromStdin = await tlog(['event', 'add', '--json', '-', ...logArgs()], { cwd, stdin: JSON.stringify(event) });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toMatch(/^event 0 id login-1 /);
    const mixed = await tlog(['event', 'add', '--json', 'ev.json', '--action', 'user.login', ...logArgs()], { cwd });
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toContain('do not combine it with --action');
    const bad = await tlog(['event', 'add', '--action', 'user.login', '--actor', 'alice', ...logArgs()], { cwd });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--actor must be <type>:<id>');
  });
});
