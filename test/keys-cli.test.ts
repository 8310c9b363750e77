/**
 * The built `tlog` CLI's governance side (packages/cli/dist/cli.js, from `pnpm run build`) against
 * fakes of the governance API (test/support/fake-governed-log.ts): the API key options and their
 * precedence, what a refused key or a rate limit says, `tlog keys`, `tlog event erase`, `tlog
 * audit --events` telling erased events from raw entries, and a log served under /access.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, type CliRun, runTlog } from './support/cli.js';
import { FakeGovernedLog } from './support/fake-governed-log.js';

const KEY = `tlog_0123456789abcdef_${'A'.repeat(43)}`;
const FILE_KEY = `tlog_1111111111111111_${'F'.repeat(43)}`;
const ENV_KEY = `tlog_2222222222222222_${'E'.repeat(43)}`;

/** Runs the CLI with TLOG_API_KEY only if given. */
const tlog = (args: readonly string[], envKey?: string): Promise<CliRun> => runTlog(args, envKey === undefined ? {} : { envKey });

let log: FakeGovernedLog;
let dir: string;
let keyFile: string;
const logArgs = () => ['--url', log.url, '--vkey', log.vkey];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm run build\` first`);
  log = await FakeGovernedLog.start('fake.example/governed-cli');
  dir = await mkdtemp(join(tmpdir(), 'tlog-keys-cli-'));
  keyFile = join(dir, 'api.key');
  await writeFile(keyFile, `  ${FILE_KEY}  \nignored second line\n`);
});
afterAll(async () => {
  await log.stop();
});
beforeEach(() => log.reset());

describe('the API key options', () => {
  it('take --api-key over --api-key-file over TLOG_API_KEY, on every request', async () => {
    log.grow(3);
    const cases: [string[], string | undefined, string][] = [
      [[], ENV_KEY, ENV_KEY],
      [['--api-key-file', keyFile], ENV_KEY, FILE_KEY],
      [['--api-key', KEY, '--api-key-file', keyFile], ENV_KEY, KEY],
    ];
    for (const [flags, env, sent] of cases) {
      log.authorizations.length = 0;
      log.apiKey = sent;
      const r = await tlog(['checkpoint', ...logArgs(), ...flags], env);
      expect(r.code, r.stderr).toBe(0);
      expect(new Set(log.authorizations)).toEqual(new Set([`Bearer ${sent}`]));
    }
  });

  it('without a key, a guarded log is a one-line error saying how to give one (exit 1)', async () => {
    log.grow(1);
    log.apiKey = KEY;
    const r = await tlog(['checkpoint', ...logArgs()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^tlog: access denied: the log needs an API key: pass --api-key \/ --api-key-file \/ TLOG_API_KEY \(.*answered 401\)\n$/,
    );
  });

  it('a refused key, or one lacking the scope, is named as such, never printed', async () => {
    log.grow(1);
    log.apiKey = KEY;
    const r = await tlog(['checkpoint', ...logArgs(), '--api-key-file', keyFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tlog: access denied: the log refused the API key \(unknown, revoked or expired\)/);
    expect(r.stderr + r.stdout).not.toContain('FFFFFFFF');
    log.scopeDenied = true;
    const scope = await tlog(['checkpoint', ...logArgs()], KEY);
    expect(scope.code).toBe(1);
    expect(scope.stderr).toMatch(/^tlog: access denied: the API key lacks the scope or tenant .*lacks the scope events:read/);
    expect(scope.stderr).not.toContain('AAAAAAAA');
  });

  it('an empty key file is a usage error naming the file', async () => {
    const empty = join(dir, 'empty.key');
    await writeFile(empty, '\n');
    const r = await tlog(['checkpoint', ...logArgs(), '--api-key-file', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--api-key-file: the first line of .*empty\.key is empty/);
  });

  it('a rate limit says when to retry', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(429, { 'retry-after': '5', 'content-type': 'text/plain' });
      res.end('slow down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await tlog(['checkpoint', '--url', url, '--vkey', log.vkey]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^tlog: rate limited: the log is rate limiting this client: retry after 5 s/);
    } finally {
      server.close();
    }
  });
});

describe('tlog keys', () => {
  it('create prints the key alone on stdout, list shows it without its secret, revoke revokes it', async () => {
    log.apiKey = KEY;
    const admin = ['--url', log.url, '--api-key', KEY];
    const created = await tlog([
      'keys',
      'create',
      ...admin,
      '--name',
      'ingest',
      '--scope',
      'events:write',
      '--scope',
      'events:read',
      '--tenant',
      'acme',
      '--expires',
      '30d',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^tlog_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    const secret = created.stdout.trim();
    const id = secret.split('_')[1]!;
    expect(created.stderr).toMatch(
      new RegExp(`created key ${id} \\(ingest\\) with scopes events:write, events:read for tenant acme, expiring 20`),
    );
    const sent = log.created[0] as { expires_at: string };
    expect(Math.abs(Date.parse(sent.expires_at) - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);

    const json = await tlog(['keys', 'create', ...admin, '--name', 'reader', '--scope', 'events:read', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'reader', scopes: ['events:read'], key: expect.stringMatching(/^tlog_/) });

    const list = await tlog(['keys', 'list', ...admin]);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+SCOPES\s+TENANT\s+CREATED_AT\s+EXPIRES_AT\s+LAST_USED_AT\s+STATE$/);
    expect(lines).toHaveLength(3);
    expect(list.stdout).toContain(id);
    expect(list.stdout).not.toContain(secret.slice(22));

    const revoked = await tlog(['keys', 'revoke', id, ...admin]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked key ${id} at 2026-12-02T00:00:00.000Z\\n$`));
    const after = await tlog(['keys', 'list', ...admin, '--json']);
    const keys = after.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; revoked_at?: string });
    expect(keys.find((k) => k.id === id)?.revoked_at).toBe('2026-12-02T00:00:00.000Z');

    const unknown = await tlog(['keys', 'revoke', 'ffffffffffffffff', ...admin]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not found: the log has no API key ffffffffffffffff/);
  });

  it('refuses bad input before sending anything', async () => {
    const admin = ['--url', log.url, '--api-key', KEY];
    for (const [args, message] of [
      [['create', '--name', 'a', '--scope', 'admin', '--expires', 'tomorrow'], /--expires must be an RFC 3339 time/],
      [['create', '--name', 'a', '--scope', 'admin', '--scope', 'admin'], /scopes\[1\]: admin is given twice/],
      [['create', '--name', 'a'], /give the key at least one --scope/],
      [['revoke', 'nothex'], /an API key id is 16 lowercase hex digits/],
    ] as const) {
      const r = await tlog(['keys', ...args, ...admin]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(log.created).toEqual([]);
  });
});

describe('tlog event erase and tlog audit --events', () => {
  async function seed(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      log.append({
        action: 'user.login',
        actor: { type: 'user', id: `u-${i % 2}` },
        targets: [],
        outcome: 'success',
        occurred_at: '2026-01-01T00:00:00Z',
        context: {},
        metadata: {},
        ...(i === 2 ? { id: 'ev-2', tenant: 'acme' } : {}),
      });
    }
  }

  it('erases by index and by id, and the audit counts the erased apart from raw entries', async () => {
    await seed(6);
    log.apiKey = KEY;
    const withKey = [...logArgs(), '--api-key', KEY];
    const byIndex = await tlog(['event', 'erase', '4', '--reason', 'GDPR art. 17', ...withKey]);
    expect(byIndex.code, byIndex.stderr).toBe(0);
    expect(byIndex.stdout).toMatch(
      /^erased event 4 at .*; its entry \(leaf hash .*\) stays in fake.example\/governed-cli, checked in the tree of size 6\n$/,
    );
    const byId = await tlog(['event', 'erase', 'ev-2', '--tenant', 'acme', '--reason', 'request 9', '--json', ...withKey]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({ index: 2, treeSize: 6, tombstone: { reason: 'request 9' } });
    const again = await tlog(['event', 'erase', '4', '--reason', 'again', ...withKey]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^tlog: erased: the event at index 4 was erased at/);
    const noReason = await tlog(['event', 'erase', '1', ...withKey]);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toMatch(/--reason/);

    // One more erased without a tombstone: the audit cannot tell it from a raw entry.
    log.erase(0);
    const state = await mkdtemp(join(tmpdir(), 'tlog-keys-cli-state-'));
    const r = await tlog(['audit', '--events', '--state', state, ...withKey]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /3 stored events re-hash .* 1 event-shaped entries have no stored event nor tombstone .* 2 erased events have a tombstone/,
    );
    const j = await tlog(['audit', '--events', '--json', '--state', state, ...withKey]);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, events: 3, erasedEvents: 2, unstoredEvents: 1 });
  });
});

describe('a log served under /access', () => {
  let access: FakeGovernedLog;
  beforeAll(async () => {
    access = await FakeGovernedLog.start('fake.example/governed-cli/access', '/access');
  });
  afterAll(async () => {
    await access.stop();
  });

  it('checkpoint, event get, events search, monitor and audit --events work through the prefix', async () => {
    access.apiKey = KEY;
    for (let i = 0; i < 5; i++) {
      access.append({
        action: 'events.search',
        actor: { type: 'api_key', id: `k-${i % 2}` },
        targets: [],
        outcome: 'success',
        occurred_at: '2026-01-01T00:00:00Z',
        context: {},
        metadata: {},
      });
    }
    access.grow(300);
    access.erase(1, { erased_at: '2026-12-01T00:00:00Z', reason: 'retention', by: { rule: 'r-1' } });
    const args = ['--url', access.url, '--vkey', access.vkey];
    const state = await mkdtemp(join(tmpdir(), 'tlog-keys-cli-access-'));
    const runs = [
      ['checkpoint', ...args],
      ['event', 'get', '3', ...args],
      ['events', 'search', '--actor', 'k-0', ...args],
      ['monitor', '--once', '--state', state, ...args],
      ['audit', '--events', '--json', '--state', state, ...args],
    ];
    for (const run of runs) {
      const r = await tlog(run, KEY);
      expect(r.code, `${run.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const audit = await tlog(runs[4]!, KEY);
    expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true, size: 305, events: 4, erasedEvents: 1, unstoredEvents: 0 });
    expect(access.requests.every((p) => p.startsWith('/access/'))).toBe(true);
  });
});
