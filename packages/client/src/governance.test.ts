/**
 * The governance side of the SDK against fakes of the governance API (test/support): the API key
 * on every request and never in a message, what 401, 403 and 429 say, key administration,
 * erasure and erased events (verified), the audit telling erased events from raw entries, and a
 * log served under a path (the access log at /access).
 */
import { toBase64 } from '@tlog/merkle';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGovernedLog } from '../../../test/support/fake-governed-log.js';
import { AdminClient, checkNewApiKey } from './admin.js';
import { auditLog } from './audit.js';
import {
  AccessDeniedError,
  ArgumentError,
  EventErasedError,
  LogClientError,
  LogFetchError,
  LogMisbehaviourError,
  NotFoundError,
  ProtocolError,
} from './errors.js';
import { auditEvents } from './event-audit.js';
import type { NewEvent } from './events.js';
import { parseRetryAfter } from './http.js';
import { LogClient } from './log-client.js';

const KEY = `tlog_0123456789abcdef_${'A'.repeat(43)}`;
let log: FakeGovernedLog;

const login = (actor: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  action: 'user.login',
  actor: { type: 'user', id: actor },
  occurred_at: '2026-01-01T00:00:00Z',
  ...extra,
});

function client(options: { apiKey?: string; url?: string; fetch?: typeof fetch } = {}): LogClient {
  return new LogClient({ url: options.url ?? log.url, vkey: log.vkey, ...options });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  log = await FakeGovernedLog.start('fake.example/governed');
});
afterAll(async () => {
  await log.stop();
});
beforeEach(() => log.reset());

describe('the API key', () => {
  it('is sent as Authorization: Bearer on every request, reads included', async () => {
    log.apiKey = KEY;
    const c = client({ apiKey: KEY });
    const evs = await c.appendEvents([login('a'), login('b'), login('c')], { receipts: true });
    log.grow(300);
    const at = await c.latestCheckpoint();
    await c.getEvent(evs[1]!.index);
    for await (const _ of c.searchEvents({ actor: 'a' })) {
      // Drain.
    }
    await c.inclusionProof(1, at, { source: 'tiles' });
    await c.inclusionProof(2, at, { source: 'api' });
    await auditLog(c, at);
    expect(log.authorizations.length).toBeGreaterThan(10);
    expect(new Set(log.authorizations)).toEqual(new Set([`Bearer ${KEY}`]));
    // Tiles, bundles, proofs, checkpoints and events all went through the guard.
    for (const p of ['/checkpoint', '/tile/0/000', '/tile/entries/000', '/v1/proof/inclusion', '/v1/events']) {
      expect(
        log.requests.some((r) => r.startsWith(p)),
        p,
      ).toBe(true);
    }
  });

  it('is sent by the AdminClient too, and no header without a key', async () => {
    await new AdminClient({ url: log.url, apiKey: KEY }).listApiKeys();
    await client().latestCheckpoint();
    expect(log.authorizations).toEqual([`Bearer ${KEY}`, undefined]);
  });

  it('is refused before any request when it could not be a header value, without echoing it', () => {
    for (const bad of ['', 'tlog with space', 'tlog\nkey', 'tlögkey']) {
      const e = (() => {
        try {
          client({ apiKey: bad });
        } catch (err) {
          return err;
        }
      })();
      expect(e, JSON.stringify(bad)).toBeInstanceOf(ArgumentError);
      if (bad.length > 3) expect((e as Error).message).not.toContain(bad);
    }
  });

  it('401 without a key says to give one; with a refused key, that it was refused; never the key', async () => {
    log.grow(1);
    log.apiKey = KEY;
    const none = await rejection(client().latestCheckpoint());
    expect(none).toBeInstanceOf(AccessDeniedError);
    expect(none).toBeInstanceOf(LogFetchError);
    expect(none).toMatchObject({ status: 401, keySent: false });
    expect((none as Error).message).toMatch(/needs an API key.*apiKey/);

    const other = `tlog_fedcba9876543210_${'B'.repeat(43)}`;
    const refused = await rejection(client({ apiKey: other }).getEvent(0));
    expect(refused).toBeInstanceOf(AccessDeniedError);
    expect(refused).toMatchObject({ status: 401, keySent: true });
    expect((refused as Error).message).toMatch(/refused the API key/);
    expect((refused as Error).message).not.toContain(other);
    expect(JSON.stringify(refused)).not.toContain(other);
  });

  it("403 says the key lacks the scope or tenant, with the log's reason", async () => {
    log.grow(1);
    log.apiKey = KEY;
    log.scopeDenied = true;
    const e = await rejection(client({ apiKey: KEY }).latestCheckpoint());
    expect(e).toBeInstanceOf(AccessDeniedError);
    expect(e).toMatchObject({ status: 403, keySent: true });
    expect((e as Error).message).toMatch(/lacks the scope or tenant.*lacks the scope events:read/);
    expect((e as Error).message).not.toContain(KEY);
  });

  it('an answer that echoes the key has it redacted', async () => {
    const c = client({ apiKey: KEY, fetch: async () => new Response(`bad request: Authorization: Bearer ${KEY}`, { status: 400 }) });
    const e = await rejection(c.latestCheckpoint());
    expect(e).toBeInstanceOf(LogFetchError);
    expect((e as Error).message).toContain('[api key]');
    expect((e as Error).message).not.toContain(KEY);
    expect((e as Error).message).not.toContain(KEY.slice(0, 30));
  });

  it('429 says when to retry, as retryAfter too', async () => {
    const c = client({ fetch: async () => new Response('slow down', { status: 429, headers: { 'retry-after': '7' } }) });
    const e = await rejection(c.latestCheckpoint());
    expect(e).toBeInstanceOf(LogFetchError);
    expect(e).not.toBeInstanceOf(AccessDeniedError);
    expect(e).toMatchObject({ status: 429, retryAfter: 7 });
    expect((e as Error).message).toMatch(/retry after 7 s/);
    expect(parseRetryAfter('Wed, 02 Dec 2026 00:00:10 GMT', Date.parse('2026-12-02T00:00:00Z'))).toBe(10);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('key administration', () => {
  it('creates, lists and revokes keys', async () => {
    log.apiKey = KEY;
    const admin = new AdminClient({ url: log.url, apiKey: KEY });
    const expiresAt = new Date(Date.now() + 86_400_000);
    const k = await admin.createApiKey({ name: 'ci', scopes: ['events:write', 'events:read'], tenant: 'acme', expiresAt });
    expect(k.key).toMatch(/^tlog_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(k.key.split('_')[1]).toBe(k.id);
    expect(k).toMatchObject({ name: 'ci', scopes: ['events:write', 'events:read'], tenant: 'acme', expiresAt: expiresAt.toISOString() });
    expect(log.created).toEqual([
      { name: 'ci', scopes: ['events:write', 'events:read'], tenant: 'acme', expires_at: expiresAt.toISOString() },
    ]);
    const list = await admin.listApiKeys();
    expect(list).toEqual([{ id: k.id, name: 'ci', scopes: k.scopes, tenant: 'acme', expiresAt: k.expiresAt, createdAt: k.createdAt }]);
    expect(JSON.stringify(list)).not.toContain(k.key);
    const r = await admin.revokeApiKey(k.id);
    expect(r.id).toBe(k.id);
    expect((await admin.listApiKeys())[0]!.revokedAt).toBe(r.revokedAt);
    await expect(admin.revokeApiKey('ffffffffffffffff')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('validates what it sends, naming the field', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const bad: [Parameters<typeof checkNewApiKey>[0], RegExp][] = [
      [{ name: '', scopes: ['admin'] }, /^name/],
      [{ name: 'x'.repeat(101), scopes: ['admin'] }, /^name/],
      [{ name: 'a', scopes: [] }, /^scopes/],
      [{ name: 'a', scopes: Array.from({ length: 9 }, (_, i) => `s:${'x'.repeat(i + 1)}`) }, /^scopes/],
      [{ name: 'a', scopes: ['admin', 'admin'] }, /scopes\[1\].*twice/],
      [{ name: 'a', scopes: ['Events Read'] }, /scopes\[0\]/],
      [{ name: 'a', scopes: ['admin'], tenant: '' }, /tenant/],
      [{ name: 'a', scopes: ['admin'], expiresAt: '2026-11-30T00:00:00Z' }, /expiresAt.*not in the future/],
      [{ name: 'a', scopes: ['admin'], expiresAt: 'tomorrow' }, /expiresAt.*RFC 3339/],
    ];
    for (const [input, message] of bad) expect(() => checkNewApiKey(input, now), JSON.stringify(input)).toThrow(message);
    expect(checkNewApiKey({ name: 'a', scopes: ['admin'], expiresAt: '2027-01-01T00:00:00+01:00' }, now)).toEqual({
      name: 'a',
      scopes: ['admin'],
      expires_at: '2026-12-31T23:00:00.000Z',
    });
    expect(() => new AdminClient({ url: 'ftp://x' })).toThrow(ArgumentError);
    const admin = new AdminClient({ url: log.url });
    return expect(admin.revokeApiKey('XYZ')).rejects.toBeInstanceOf(ArgumentError);
  });

  it('refuses answers of the wrong shape or for another key, without the key in the message', async () => {
    const secret = `tlog_0123456789abcdef_${'C'.repeat(43)}`;
    const answer = (body: unknown) => new AdminClient({ url: 'http://log.test', fetch: async () => Response.json(body, { status: 201 }) });
    const good = { key: secret, id: '0123456789abcdef', name: 'a', scopes: ['admin'], created_at: '2026-12-01T00:00:00Z' };
    expect((await answer(good).createApiKey({ name: 'a', scopes: ['admin'] })).key).toBe(secret);
    for (const body of [
      { ...good, id: 'fedcba9876543210' },
      { ...good, name: 'b' },
      { ...good, scopes: ['events:read'] },
      { ...good, key: `${secret}!` },
      { ...good, created_at: 'yesterday' },
    ]) {
      const e = await rejection(answer(body).createApiKey({ name: 'a', scopes: ['admin'] }));
      expect(e, JSON.stringify(body)).toBeInstanceOf(ProtocolError);
      expect((e as Error).message).not.toContain('C'.repeat(20));
    }
  });

  it('a 400 from the log is an ArgumentError', async () => {
    await expect(new AdminClient({ url: log.url }).createApiKey({ name: 'a', scopes: ['no:such'] })).rejects.toBeInstanceOf(ArgumentError);
  });
});

describe('erasure', () => {
  it('eraseEvent erases, checks the leaf against the signed tree, and getEvent then throws EventErasedError, verified', async () => {
    const c = client();
    const evs = await c.appendEvents([login('a'), login('b', { tenant: 'acme', id: 'ev-b' }), login('c')], { receipts: true });
    const trusted = await c.latestCheckpoint();
    const r = await c.eraseEvent('ev-b', 'GDPR request 42', { tenant: 'acme', trusted });
    expect(r.index).toBe(evs[1]!.index);
    expect(toBase64(r.leafHash)).toBe(toBase64(evs[1]!.leafHash));
    expect(r.tombstone).toMatchObject({ reason: 'GDPR request 42', by: { key_id: '0123456789abcdef', key_name: 'eraser' } });

    const e = await rejection(c.getEvent(evs[1]!.index, { trusted }));
    expect(e).toBeInstanceOf(EventErasedError);
    expect(e).toBeInstanceOf(LogClientError);
    const { erased } = e as EventErasedError;
    expect(erased.index).toBe(evs[1]!.index);
    expect(toBase64(erased.leafHash)).toBe(toBase64(evs[1]!.leafHash));
    expect(erased.tombstone.reason).toBe('GDPR request 42');
    expect(erased.checkpoint.checkpoint.size).toBe(3);
    expect((e as Error).message).toMatch(/erased at .* by key 0123456789abcdef \(eraser\)/);

    // Erasing it again: the same verified answer; by id, it is gone.
    await expect(c.eraseEvent(evs[1]!.index, 'again')).rejects.toBeInstanceOf(EventErasedError);
    await expect(c.eraseEvent('ev-b', 'again', { tenant: 'acme' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('names a hold (423), refuses a bad reason before sending, and a missing event is NotFoundError', async () => {
    const c = client();
    const [ev] = await c.appendEvents([login('a')], { receipts: true });
    log.held.add(ev!.index);
    const held = await rejection(c.eraseEvent(ev!.index, 'r'));
    expect(held).toMatchObject({ status: 423 });
    expect((held as Error).message).toMatch(/legal hold h-1/);
    for (const reason of ['', '   ', 'x'.repeat(501)]) await expect(c.eraseEvent(0, reason)).rejects.toBeInstanceOf(ArgumentError);
    await expect(c.eraseEvent(7, 'r')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('an erased answer whose proof does not verify is misbehaviour', async () => {
    const c = client();
    const evs = await c.appendEvents([login('a'), login('b')], { receipts: true });
    log.erase(evs[0]!.index, { erased_at: '2026-12-01T00:00:00Z', reason: 'r', by: { rule: 'ret-1' } });
    log.lieAboutErased.add(evs[0]!.index);
    const e = await rejection(c.getEvent(evs[0]!.index));
    expect(e).toBeInstanceOf(LogMisbehaviourError);
    expect((e as LogMisbehaviourError).kind).toBe('bad-proof');
  });

  it('a malformed tombstone is a ProtocolError', async () => {
    const c = client();
    const [ev] = await c.appendEvents([login('a')], { receipts: true });
    log.erase(ev!.index, { erased_at: 'yesterday', reason: 'r', by: { rule: 'ret-1' } });
    await expect(c.getEvent(ev!.index)).rejects.toBeInstanceOf(ProtocolError);
  });
});

describe('auditEvents', () => {
  it('tells erased events (a verified 410 for that leaf) from raw event-shaped entries', async () => {
    const c = client();
    const evs = await c.appendEvents(
      Array.from({ length: 12 }, (_, i) => login(`u-${i % 3}`)),
      { receipts: true },
    );
    const tombstone = { erased_at: '2026-12-01T00:00:00Z', reason: 'retention', by: { rule: 'ret-1' } };
    for (const i of [2, 5, 9]) log.erase(evs[i]!.index, tombstone);
    log.erase(evs[7]!.index); // no tombstone: 404, a raw entry as far as the audit can tell
    log.erase(evs[8]!.index, tombstone);
    log.lieAboutErased.add(evs[8]!.index);
    const at = await c.latestCheckpoint();
    // The lie about index 8 fails the audit: its 410's proof does not verify.
    await expect(auditEvents(c, at, { lookups: 2 })).rejects.toBeInstanceOf(LogMisbehaviourError);
    log.lieAboutErased.clear();
    const r = await auditEvents(c, at, { lookups: 2 });
    expect(r).toMatchObject({ events: 7, erased: 4, unstored: 1 });
    await expect(auditEvents(c, at, { lookups: 0 })).rejects.toBeInstanceOf(ArgumentError);
  });
});

describe('a log served under a path (the access log)', () => {
  let access: FakeGovernedLog;
  beforeAll(async () => {
    access = await FakeGovernedLog.start('fake.example/governed/access', '/access');
  });
  afterAll(async () => {
    await access.stop();
  });

  it('reads, appends, searches, erases and audits under the prefix', async () => {
    expect(access.url).toMatch(/\/access$/);
    for (const url of [access.url, `${access.url}/`]) {
      access.reset();
      access.apiKey = KEY;
      const c = new LogClient({ url, vkey: access.vkey, apiKey: KEY });
      const evs = await c.appendEvents(
        Array.from({ length: 5 }, (_, i) => login(`u-${i}`)),
        { receipts: true },
      );
      access.grow(260);
      expect((await c.getEvent(evs[3]!.index)).record.actor.id).toBe('u-3');
      await c.eraseEvent(evs[1]!.index, 'r');
      const at = await c.latestCheckpoint();
      const r = await auditEvents(c, at);
      expect(r).toMatchObject({ events: 4, erased: 1, unstored: 0 });
      expect(r.log.size).toBe(265);
      expect(
        access.requests.every((p) => p.startsWith('/access/')),
        access.requests.join(' '),
      ).toBe(true);
      expect(access.requests.some((p) => p.startsWith('/access/tile/'))).toBe(true);
    }
  });
});
