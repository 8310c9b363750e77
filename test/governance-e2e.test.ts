/**
 * Governance end to end: the real server (secure defaults, a child process) and the real CLI.
 * Keys are made and used with `tlog keys`, events written and read with tenant-bound keys, an
 * event erased (and one refused under a legal hold), and then both logs audited with the CLI:
 * the main log still verifies whole with the erased event as an expected gap, and the access
 * log, audited exactly like the main one, holds an access event for every read kind, every
 * admin action and every denial.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecord } from '@tlog/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliRun, runTlog } from './support/cli.js';
import { type SpawnedServer, spawnServer } from './support/server.js';

const tlog = (args: readonly string[], cwd?: string): Promise<CliRun> => runTlog(args, cwd === undefined ? {} : { cwd });

describe('governance end to end (real server, real CLI)', () => {
  let s: SpawnedServer;
  let cwd: string;
  let adminFile: string;
  let accessVkey: string;
  let acmeKey: string;
  let acmeId: string;
  let globexKey: string;
  const main = () => ['--url', s.url, '--vkey', s.vkey];
  const access = () => ['--url', `${s.url}/access`, '--vkey', accessVkey];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm run build\` first`);
    s = await spawnServer({ keyedEntries: true });
    cwd = await mkdtemp(join(tmpdir(), 'tlog-gov-e2e-'));
    adminFile = join(s.dataDir, 'admin.key');
    accessVkey = (await readFile(join(s.dataDir, 'access.vkey'), 'utf8')).trim();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('says where the bootstrap admin key is, and refuses writes without a key', async () => {
    expect(s.stderr()).toContain(`bootstrap admin key written to ${adminFile}`);
    const r = await tlog(['event', 'add', '--action', 'user.login', '--actor', 'user:alice', ...main()], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/API key/);
    const submit = await fetch(`${s.url}/v1/entries`, { method: 'POST', body: 'x' });
    expect(submit.status).toBe(401);
  });

  it('makes tenant-bound keys with `tlog keys create`, lists them, and they write and read only their tenant', async () => {
    const made = await tlog(
      [
        'keys',
        'create',
        '--name',
        'acme app',
        '--scope',
        'events:write',
        '--scope',
        'events:read',
        '--tenant',
        'acme',
        '--url',
        s.url,
        '--api-key-file',
        adminFile,
      ],
      cwd,
    );
    expect(made.code, made.stderr).toBe(0);
    acmeKey = made.stdout.trim();
    expect(acmeKey).toMatch(/^tlog_[0-9a-f]{16}_/);
    acmeId = acmeKey.slice(5, 21);
    const g = await tlog(
      [
        'keys',
        'create',
        '--name',
        'globex app',
        '--scope',
        'events:write',
        '--scope',
        'events:read',
        '--tenant',
        'globex',
        '--url',
        s.url,
        '--api-key-file',
        adminFile,
      ],
      cwd,
    );
    globexKey = g.stdout.trim();
    const list = await tlog(['keys', 'list', '--json', '--url', s.url, '--api-key-file', adminFile], cwd);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('acme app');
    expect(list.stdout).not.toContain(acmeKey.slice(22));

    for (const [key, actor, id] of [
      [acmeKey, 'user:alice', 'login-a1'],
      [acmeKey, 'user:bob', 'login-a2'],
      [globexKey, 'user:carol', 'login-g1'],
    ] as const) {
      const r = await tlog(['event', 'add', '--action', 'user.login', '--actor', actor, '--id', id, ...main(), '--api-key', key], cwd);
      expect(r.code, r.stderr).toBe(0);
    }
    const mine = await tlog(['events', 'search', '--json', ...main(), '--api-key', acmeKey]);
    expect(mine.code, mine.stderr).toBe(0);
    const records = mine.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { record: EventRecord }).record);
    expect(records.map((r) => r.id).sort()).toEqual(['login-a1', 'login-a2']);
    expect(records.every((r) => r.tenant === 'acme')).toBe(true);
    const theirs = await tlog(['event', 'get', 'login-g1', '--tenant', 'globex', ...main(), '--api-key', acmeKey]);
    expect(theirs.code).not.toBe(0);
  });

  it('erases an event with a reason (and refuses under a legal hold); the audit passes, counting it as erased', async () => {
    const erased = await tlog([
      'event',
      'erase',
      'login-a1',
      '--tenant',
      'acme',
      '--reason',
      'GDPR request 42',
      ...main(),
      '--api-key-file',
      adminFile,
    ]);
    expect(erased.code, erased.stderr).toBe(0);
    const gone = await fetch(`${s.url}/v1/events/login-a1?tenant=acme`, { headers: s.auth });
    expect(gone.status).toBe(410);
    const body = (await gone.json()) as { tombstone: { reason: string; by: { key_name: string } } };
    expect(body.tombstone.reason).toBe('GDPR request 42');
    expect(body.tombstone.by.key_name).toBe('bootstrap admin');

    const hold = await fetch(`${s.url}/v1/admin/holds`, {
      method: 'POST',
      headers: { ...s.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'litigation 7', actor: 'bob' }),
    });
    expect(hold.status).toBe(201);
    const refused = await tlog([
      'event',
      'erase',
      'login-a2',
      '--tenant',
      'acme',
      '--reason',
      'cleanup',
      ...main(),
      '--api-key-file',
      adminFile,
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/423|hold/);
    expect((await fetch(`${s.url}/v1/events/login-a2?tenant=acme`, { headers: s.auth })).status).toBe(200);

    const state = await mkdtemp(join(tmpdir(), 'tlog-gov-state-'));
    const audit = await tlog(['audit', '--events', '--json', '--state', state, ...main(), '--api-key-file', adminFile]);
    expect(audit.code, audit.stderr).toBe(0);
    const result = JSON.parse(audit.stdout) as { erasedEvents?: number; events?: { erased?: number } };
    expect(JSON.stringify(result)).toMatch(/"erased(Events)?":1/);
  });

  it('the access log is a log like the main one: monitored and audited with the CLI, it holds every read, admin action and denial', async () => {
    const state = await mkdtemp(join(tmpdir(), 'tlog-gov-access-'));
    const monitor = await tlog(['monitor', '--once', '--state', state, ...access()]);
    expect(monitor.code, monitor.stderr).toBe(0);
    const audit = await tlog(['audit', '--events', '--state', state, ...access(), '--api-key-file', adminFile]);
    expect(audit.code, audit.stderr).toBe(0);
    // A tenant's key cannot read the access log.
    expect((await tlog(['events', 'search', ...access(), '--api-key', acmeKey])).code).not.toBe(0);

    const search = await tlog(['events', 'search', '--json', '--limit', '1000', ...access(), '--api-key-file', adminFile]);
    expect(search.code, search.stderr).toBe(0);
    const events = search.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { record: EventRecord }).record);
    const by = (action: string, actorId?: string) =>
      events.filter((e) => e.action === action && (actorId === undefined || e.actor.id === actorId));
    // Reads by the acme key: its search and its refused get of another tenant's event, in its tenant.
    expect(by('events.search', acmeId).length).toBeGreaterThanOrEqual(1);
    expect(by('events.search', acmeId)[0]!.tenant).toBe('acme');
    expect(by('events.get', acmeId).some((e) => e.outcome === 'failure')).toBe(true);
    // Admin actions.
    expect(by('keys.create').length).toBe(2);
    expect(by('keys.list').length).toBe(1);
    expect(by('events.erase').some((e) => e.outcome === 'success' && e.metadata.reason === 'GDPR request 42')).toBe(true);
    expect(by('events.erase').some((e) => e.outcome === 'failure' && e.metadata.status === 423)).toBe(true);
    expect(by('hold.place').length).toBe(1);
    // Denials: the key-less write, and the tenant key reading the access log.
    const denied = by('auth.denied');
    expect(denied.some((e) => e.metadata.status === 401 && e.metadata.route === '/v1/events')).toBe(true);
    expect(denied.some((e) => e.metadata.status === 401 && e.metadata.route === '/v1/entries')).toBe(true);
    expect(denied.some((e) => e.metadata.status === 403 && e.actor.id === acmeId && e.metadata.required_scope === 'admin')).toBe(true);
    // Never a secret.
    expect(search.stdout).not.toContain(acmeKey.slice(22));
    expect(search.stdout).not.toContain((await readFile(adminFile, 'utf8')).trim().slice(22));
  });

  it('revokes a key at once with `tlog keys revoke`', async () => {
    const r = await tlog(['keys', 'revoke', globexKey.slice(5, 21), '--url', s.url, '--api-key-file', adminFile]);
    expect(r.code, r.stderr).toBe(0);
    const after = await tlog(['events', 'search', ...main(), '--api-key', globexKey]);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/refused|denied/i);
  });
});
