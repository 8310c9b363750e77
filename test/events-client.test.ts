/**
 * End to end: the SDK's event methods against the real built log server (test/support/server.ts):
 * events appended one by one and in batches, read back by id and index, searched with every
 * filter across pages, each answer verified, and receipts verified offline.
 */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent, VerifiedEvent } from '@tlog/client';
import { ArgumentError, auditEvents, LogClient, NotFoundError, verifyEventReceipt } from '@tlog/client';
import { TrustedStateStore } from '@tlog/client/node';
import { toBase64 } from '@tlog/merkle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpawnedServer } from './support/server.js';
import { spawnServer } from './support/server.js';

let server: SpawnedServer;
let client: LogClient;
const enc = new TextEncoder();

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** An event of `actor` at minute `minute` of 2026-03-01 (UTC). */
function event(actor: string, minute: number, extra: Partial<NewEvent> = {}): NewEvent {
  return {
    action: 'doc.read',
    actor: { type: 'user', id: actor },
    occurred_at: `2026-03-01T10:${String(minute).padStart(2, '0')}:00Z`,
    ...extra,
  };
}

beforeAll(async () => {
  server = await spawnServer();
  client = new LogClient({ url: server.url, vkey: server.vkey, apiKey: server.apiKey });
});
afterAll(async () => {
  await server?.stop();
});

describe('events against the real server', () => {
  const logged: VerifiedEvent[] = [];

  it('appends an event: verified, its record the event sent, its receipt verifying offline', async () => {
    await client.submit(enc.encode('a raw entry first'));
    const ev = await client.appendEvent(
      event('alice', 1, {
        targets: [{ type: 'doc', id: 'd-1', name: 'Plan' }],
        outcome: 'success',
        tenant: 'acme',
        context: { ip: '192.0.2.7', request_id: 'r-1' },
        metadata: { size: 12, tags: ['a', 'b'], nested: { ok: true } },
      }),
    );
    logged.push(ev);
    expect(ev.index).toBe(1);
    expect(ev.record).toMatchObject({ action: 'doc.read', actor: { id: 'alice' }, tenant: 'acme', metadata: { nested: { ok: true } } });
    expect(ev.record.received_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(ev.record.id).not.toBe('');
    const text = JSON.stringify(ev.receipt);
    const offline = verifyEventReceipt(text, server.vkey);
    expect(offline).toMatchObject({ index: 1, record: ev.record });
    expect(toBase64(offline.leafHash)).toBe(toBase64(ev.leafHash));
    const tampered = JSON.parse(text) as { record: { actor: { id: string } } };
    tampered.record.actor.id = 'mallory';
    expect(() => verifyEventReceipt(tampered, server.vkey)).toThrow(/do not commit/);
  });

  it('returns the original for a resent id; another event with that id is an ArgumentError', async () => {
    const first = await client.appendEvent(event('bob', 2, { id: 'req-42', tenant: 'acme' }));
    const again = await client.appendEvent(event('bob', 2, { id: 'req-42', tenant: 'acme' }));
    expect(again.index).toBe(first.index);
    expect(again.record).toEqual(first.record);
    await expect(client.appendEvent(event('bob', 3, { id: 'req-42', tenant: 'acme' }))).rejects.toThrow(ArgumentError);
    // Ids are unique per tenant: the same id in another tenant is another event.
    const other = await client.appendEvent(event('bob', 3, { id: 'req-42', tenant: 'globex' }));
    expect(other.index).not.toBe(first.index);
    logged.push(first, other);
  });

  it('appends batches with receipts (each verified) and without (leaf hashes checked against the tiles)', async () => {
    const batch = Array.from({ length: 20 }, (_, i) =>
      event(`u-${i % 4}`, 10 + i, {
        action: i % 5 === 0 ? 'role.granted' : 'doc.read',
        outcome: i % 2 === 0 ? 'success' : 'failure',
        targets: [{ type: 'doc', id: `d-${i % 3}` }],
        ...(i % 2 === 0 ? { tenant: 'acme' } : {}),
      }),
    );
    const withReceipts = await client.appendEvents(batch.slice(0, 10), { receipts: true });
    expect(withReceipts.map((e) => e.record.actor.id)).toEqual(batch.slice(0, 10).map((e) => e.actor.id));
    for (const e of withReceipts) expect(verifyEventReceipt(e.receipt, server.vkey).index).toBe(e.index);
    const plain = await client.appendEvents(batch.slice(10));
    expect(plain).toHaveLength(10);
    expect(plain.map((e) => e.index)).toEqual(plain.map((_, i) => withReceipts.at(-1)!.index + 1 + i));
    logged.push(...withReceipts);
    for (const p of plain) logged.push(await client.getEvent(p.index));
    await expect(client.appendEvents([event('x', 1), { ...event('y', 1), action: 'Nope' }])).rejects.toThrow(/\[1\]\.action/);
  });

  it('reads an event by id (in its tenant), by index and by a string of digits; NotFoundError for a raw entry or an unknown id', async () => {
    const [alice] = logged;
    expect((await client.getEvent(alice!.id, { tenant: 'acme' })).index).toBe(alice!.index);
    expect((await client.getEvent(alice!.index)).record).toEqual(alice!.record);
    expect((await client.getEvent(String(alice!.index))).id).toBe(alice!.id);
    expect((await client.getEvent('req-42', { tenant: 'globex' })).record.tenant).toBe('globex');
    await expect(client.getEvent(alice!.id)).rejects.toThrow(NotFoundError);
    await expect(client.getEvent(0)).rejects.toThrow(NotFoundError);
    await expect(client.getEvent('no-such-event')).rejects.toThrow(NotFoundError);
    const fetched = await client.getEvent(alice!.index);
    expect(verifyEventReceipt(fetched.receipt, server.vkey).checkpoint.size).toBeGreaterThanOrEqual(alice!.checkpoint.checkpoint.size);
  });

  it('searches with each filter across pages, in both orders, every result verified', async () => {
    const indexes = (f: (e: VerifiedEvent) => boolean) =>
      logged
        .filter(f)
        .map((e) => e.index)
        .sort((a, b) => a - b);
    const search = async (filter: Parameters<LogClient['searchEvents']>[0], options: Parameters<LogClient['searchEvents']>[1] = {}) =>
      (await all(client.searchEvents(filter, { pageSize: 3, ...options }))).map((e) => e.index);
    expect(await search({})).toEqual(indexes(() => true));
    expect(await search({ actor: 'u-1' })).toEqual(indexes((e) => e.record.actor.id === 'u-1'));
    expect(await search({ action: 'role.*' })).toEqual(indexes((e) => e.record.action.startsWith('role.')));
    expect(await search({ action: 'doc.read', outcome: 'failure' })).toEqual(
      indexes((e) => e.record.action === 'doc.read' && e.record.outcome === 'failure'),
    );
    expect(await search({ target: 'd-2' })).toEqual(indexes((e) => e.record.targets.some((t) => t.id === 'd-2')));
    expect(await search({ tenant: 'acme' }, { order: 'desc' })).toEqual(indexes((e) => e.record.tenant === 'acme').reverse());
    expect(await search({ occurred_since: '2026-03-01T10:15:00Z', occurred_until: '2026-03-01T10:20:00Z' }, { proofs: false })).toEqual(
      indexes((e) => e.record.occurred_at >= '2026-03-01T10:15:00Z' && e.record.occurred_at < '2026-03-01T10:20:00Z'),
    );
    const middle = logged.map((e) => e.record.received_at).sort()[Math.floor(logged.length / 2)]!;
    expect(await search({ since: middle })).toEqual(indexes((e) => e.record.received_at >= middle));
    expect(await search({ until: middle })).toEqual(indexes((e) => e.record.received_at < middle));
    const first = (await all(client.searchEvents({ actor: 'u-2' })))[0]!;
    expect(verifyEventReceipt(first.receipt, server.vkey).record.actor.id).toBe('u-2');
  });

  it('checks answers against a trusted checkpoint kept by a TrustedStateStore, and audits the events', async () => {
    const store = new TrustedStateStore(await mkdtemp(join(tmpdir(), 'tlog-events-state-')));
    const { current } = await store.advance(client);
    const ev = await client.appendEvent(event('carol', 40), { trusted: current });
    expect(ev.checkpoint.checkpoint.size).toBeGreaterThan(current.checkpoint.size);
    expect((await all(client.searchEvents({ actor: 'carol' }, { trusted: current }))).map((e) => e.index)).toEqual([ev.index]);
    const at = (await store.advance(client)).current;
    const audit = await auditEvents(client, at, { pageSize: 7 });
    expect(audit.log.size).toBe(at.checkpoint.size);
    expect(audit.events).toBe(logged.length + 1);
    expect(audit.unstored).toBe(0);
    expect(audit.queries).toBeGreaterThan(10);
  });
});
