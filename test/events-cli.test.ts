/**
 * The built `tlog` CLI's event commands (packages/cli/dist/cli.js, from `pnpm run build`):
 * against a fake event log that lies (exit 3, evidence for the audit).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeEventLog } from './support/fake-event-log.js';

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
