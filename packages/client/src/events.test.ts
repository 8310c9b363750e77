/**
 * The LogClient's event methods and auditEvents against a fake event log (test/support) that can
 * lie: every lie must be a typed error, and what verifies must verify offline too.
 */
import { formatCheckpoint, signNote, toBase64 } from '@tlog/merkle';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeEventLog } from '../../../test/support/fake-event-log.js';
import { MemoryTree } from '../../../test/support/fake-log.js';
import { ArgumentError, LogMisbehaviourError, NotFoundError, ProtocolError } from './errors.js';
import { auditEvents } from './event-audit.js';
import { verifyEventReceipt } from './event-receipt.js';
import type { NewEvent, VerifiedEvent } from './events.js';
import { LogClient } from './log-client.js';

let log: FakeEventLog;

const login = (actor: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  action: 'user.login',
  actor: { type: 'user', id: actor },
  occurred_at: '2026-01-01T00:00:00Z',
  ...extra,
});

function client(fetch?: (input: string, init?: RequestInit) => Promise<Response>): LogClient {
  return new LogClient({ url: log.url, vkey: log.vkey, ...(fetch === undefined ? {} : { fetch }) });
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function misbehaviour(p: Promise<unknown>): Promise<LogMisbehaviourError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LogMisbehaviourError);
  return e as LogMisbehaviourError;
}

/** A few events of several actors, tenants, targets and outcomes, with raw entries between them. */
async function seed(c: LogClient): Promise<VerifiedEvent[]> {
  log.grow(3);
  const out: VerifiedEvent[] = [];
  for (let i = 0; i < 12; i++) {
    out.push(
      await c.appendEvent(
        login(`u-${i % 3}`, {
          action: i % 4 === 0 ? 'role.granted' : 'user.login',
          outcome: i % 2 === 0 ? 'success' : 'failure',
          targets: i % 3 === 0 ? [{ type: 'doc', id: `d-${i % 2}` }] : [],
          ...(i % 5 === 0 ? {} : { tenant: i % 2 === 0 ? 'acme' : 'globex' }),
        }),
      ),
    );
    if (i === 5) log.grow(2);
  }
  return out;
}

beforeAll(async () => {
  log = await FakeEventLog.start('fake.example/events');
});
afterAll(async () => {
  await log.stop();
});
beforeEach(() => {
  log.reset();
});

describe('appendEvent', () => {
  it('returns the verified event and a receipt that verifies offline', async () => {
    log.grow(2);
    const ev = await client().appendEvent(login('alice', { id: 'req-1', tenant: 'acme', metadata: { n: 1 } }));
    expect(ev.index).toBe(2);
    expect(ev.id).toBe('req-1');
    expect(ev.record).toMatchObject({ action: 'user.login', actor: { id: 'alice' }, outcome: 'unknown', targets: [], tenant: 'acme' });
    expect(ev.checkpoint.checkpoint.size).toBe(3);
    const offline = verifyEventReceipt(JSON.parse(JSON.stringify(ev.receipt)), log.vkey);
    expect(offline.index).toBe(2);
    expect(offline.record).toEqual(ev.record);
  });

  it('validates the event before sending it (ArgumentError naming the field)', async () => {
    const c = client();
    await expect(c.appendEvent({ ...login('alice'), actor: { type: 'user', id: '' } })).rejects.toThrow(/actor\.id: must not be empty/);
    await expect(c.appendEvent({ ...login('alice'), action: 'Login' })).rejects.toThrow(ArgumentError);
    await expect(c.appendEvent({ ...login('alice'), metadata: { big: 'x'.repeat(70_000) } })).rejects.toThrow(/canonical form/);
    // Refused before anything is sent, even the key check.
    expect(log.requests).toEqual([]);
  });

  it('returns the original for a resent id and refuses an id logged with other content', async () => {
    const c = client();
    const first = await c.appendEvent(login('alice', { id: 'once' }));
    const again = await c.appendEvent(login('alice', { id: 'once' }));
    expect(again.index).toBe(first.index);
    expect(again.record.received_at).toBe(first.record.received_at);
    await expect(c.appendEvent(login('bob', { id: 'once' }))).rejects.toThrow(ArgumentError);
  });

  it('catches a record that does not commit to its leaf, and a log that rewrites the event sent', async () => {
    log.eventFaults.tamperRecords = true;
    expect((await misbehaviour(client().appendEvent(login('alice')))).kind).toBe('bad-events');
    log.eventFaults.tamperRecords = false;
    log.eventFaults.rewriteAction = 'user.logout';
    const err = await misbehaviour(client().appendEvent(login('alice')));
    expect(err.kind).toBe('bad-events');
    expect(err.message).toMatch(/another event than the one appended/);
  });

  it('checks the answer against a trusted checkpoint: extending it passes, another tree of the same size is a fork', async () => {
    const c = client();
    await c.appendEvent(login('alice'));
    const trusted = await c.latestCheckpoint();
    await c.appendEvent(login('bob'), { trusted });
    const other = new MemoryTree([new TextEncoder().encode('x'), new TextEncoder().encode('y'), new TextEncoder().encode('z')]);
    const forked = c.openCheckpoint(
      signNote(formatCheckpoint({ origin: log.origin, size: 3, root: other.root(), extensions: [] }), [log.signer]),
    );
    expect((await misbehaviour(c.appendEvent(login('carol'), { trusted: forked }))).kind).toBe('fork');
  });

  it('reports an answer of the wrong shape as a ProtocolError', async () => {
    const mangling = (input: string, init?: RequestInit) =>
      fetch(input, init).then(async (res) => {
        if (!input.endsWith('/v1/events')) return res;
        const body = (await res.json()) as { receipt: { salt?: string } };
        delete body.receipt.salt;
        return new Response(JSON.stringify(body), { status: res.status });
      });
    await expect(client(mangling).appendEvent(login('alice'))).rejects.toThrow(ProtocolError);
  });
});

describe('appendEvents', () => {
  it('with receipts, verifies every event; without, checks each leaf hash against the tiles', async () => {
    const c = client();
    const withReceipts = await c.appendEvents([login('a'), login('b', { id: 'b-1' })], { receipts: true });
    expect(withReceipts.map((e) => [e.index, e.record.actor.id])).toEqual([
      [0, 'a'],
      [1, 'b'],
    ]);
    expect(verifyEventReceipt(withReceipts[1]!.receipt, log.vkey).record.id).toBe('b-1');
    const plain = await c.appendEvents([login('c'), login('d')]);
    expect(plain.map((e) => e.index)).toEqual([2, 3]);
    expect(toBase64(plain[1]!.leafHash)).toBe(toBase64(log.honest.levels[0]![3]!));
    expect(log.requests.some((p) => p.startsWith('/tile/0/'))).toBe(true);
  });

  it('names the bad event of a batch by its position, and refuses an empty batch', async () => {
    await expect(client().appendEvents([login('a'), { ...login('b'), outcome: 'maybe' as 'success' }])).rejects.toThrow(/\[1\]\.outcome/);
    await expect(client().appendEvents([])).rejects.toThrow(ArgumentError);
  });

  it('catches rewritten events in the receipts', async () => {
    log.eventFaults.rewriteAction = 'user.logout';
    expect((await misbehaviour(client().appendEvents([login('a')], { receipts: true }))).kind).toBe('bad-events');
  });
});

describe('getEvent', () => {
  it('reads by id (within a tenant), by index and by a string of digits, each verified', async () => {
    const c = client();
    log.grow(1);
    const a = await c.appendEvent(login('alice', { id: 'k', tenant: 'acme' }));
    const b = await c.appendEvent(login('bob', { id: 'k' }));
    expect((await c.getEvent('k', { tenant: 'acme' })).record.actor.id).toBe('alice');
    expect((await c.getEvent('k')).index).toBe(b.index);
    expect((await c.getEvent(a.index)).id).toBe('k');
    expect((await c.getEvent(String(b.index))).record.actor.id).toBe('bob');
    expect(verifyEventReceipt((await c.getEvent('k')).receipt, log.vkey).index).toBe(b.index);
  });

  it('is NotFoundError for an unknown id and for the index of a raw entry', async () => {
    log.grow(1);
    await expect(client().getEvent('nope')).rejects.toThrow(NotFoundError);
    await expect(client().getEvent(0)).rejects.toThrow(NotFoundError);
    await expect(client().getEvent(-1)).rejects.toThrow(ArgumentError);
  });

  it('catches another event answered for the id asked, and a tampered record', async () => {
    const c = client();
    await c.appendEvent(login('alice', { id: 'a' }));
    await c.appendEvent(login('bob', { id: 'b' }));
    log.eventFaults.getAnswersIndex = 0;
    expect((await misbehaviour(c.getEvent('b'))).kind).toBe('bad-events');
    log.eventFaults.getAnswersIndex = undefined;
    log.eventFaults.tamperRecords = true;
    expect((await misbehaviour(c.getEvent(1))).kind).toBe('bad-events');
  });
});

describe('searchEvents', () => {
  it('follows every page, empty ones included, in either order, with proofs from the log or from tiles', async () => {
    const c = client();
    const events = await seed(c);
    const want = events.filter((e) => e.record.actor.id === 'u-1').map((e) => e.index);
    const asc = await all(c.searchEvents({ actor: 'u-1' }, { pageSize: 2 }));
    expect(asc.map((e) => e.index)).toEqual(want);
    // Pages of two examined candidates: some of them matched nothing and still had a next.
    expect(log.searches.length).toBeGreaterThan(Math.ceil(want.length / 2) + 1);
    const desc = await all(c.searchEvents({ actor: 'u-1' }, { order: 'desc', pageSize: 3, proofs: false }));
    expect(desc.map((e) => e.index)).toEqual([...want].reverse());
    expect(log.searches.at(-1)).not.toContain('proofs=1');
    expect(verifyEventReceipt(desc[0]!.receipt, log.vkey).index).toBe(want.at(-1));
    expect((await all(c.searchEvents({ action: 'role.*', tenant: 'acme' }))).map((e) => e.record.action)).toEqual([
      'role.granted',
      'role.granted',
    ]);
  });

  it('validates the filter and the options (ArgumentError naming them)', async () => {
    const c = client();
    await expect(all(c.searchEvents({ since: 'yesterday' }))).rejects.toThrow(/since/);
    await expect(all(c.searchEvents({ actr: 'x' } as never))).rejects.toThrow(/actr: is not a search filter/);
    await expect(all(c.searchEvents({}, { pageSize: 1001 }))).rejects.toThrow(ArgumentError);
    await expect(c.getEvent('k', { tenant: 't'.repeat(129) })).rejects.toThrow(ArgumentError);
    expect(log.requests).toEqual([]);
  });

  it('catches results that do not match the filter, come out of order, or do not commit to their leaf', async () => {
    const c = client();
    await seed(c);
    log.eventFaults.ignoreFilter = true;
    const wrong = await misbehaviour(all(c.searchEvents({ actor: 'u-2' })));
    expect(wrong.kind).toBe('bad-events');
    expect(wrong.message).toMatch(/does not match the filter/);
    log.eventFaults.ignoreFilter = false;
    log.eventFaults.reversePages = true;
    expect((await misbehaviour(all(c.searchEvents({}, { pageSize: 4 })))).message).toMatch(/out of ascending order/);
    log.eventFaults.reversePages = false;
    log.eventFaults.tamperRecords = true;
    expect((await misbehaviour(all(c.searchEvents({ actor: 'u-0' }, { proofs: false })))).kind).toBe('bad-events');
  });
});

describe('auditEvents', () => {
  it('passes on an honest log, counting erased events', async () => {
    const c = client();
    const events = await seed(c);
    log.erase(events[4]!.index);
    const at = await c.latestCheckpoint();
    const r = await auditEvents(c, at, { pageSize: 5 });
    expect(r.log.size).toBe(17);
    expect(r.events).toBe(11);
    expect(r.unstored).toBe(1);
    // 3 tenants-or-none → 2 tenants, 2 outcomes, 2 actions, 3 actors, 2 targets, 2 windows.
    expect(r.queries).toBe(13);
  });

  it('catches an index that leaves an event out, naming the query, the index, expected and got', async () => {
    const c = client();
    const events = await seed(c);
    log.eventFaults.hideFromSearch = events[7]!.index;
    const err = await misbehaviour(auditEvents(c, await c.latestCheckpoint()));
    expect(err.kind).toBe('bad-events');
    expect(err.evidence.details).toMatchObject({ index: events[7]!.index, got: 'absent' });
    expect(String(err.evidence.details?.query)).toMatch(/^(tenant|outcome|action|actor|target|since)=/);
  });

  it('catches a full list that leaves an event out (the indexes still answer it)', async () => {
    const c = client();
    const events = await seed(c);
    log.eventFaults.hideFromListing = events[2]!.index;
    const err = await misbehaviour(auditEvents(c, await c.latestCheckpoint()));
    expect(err.evidence.details).toMatchObject({ index: events[2]!.index, got: 'present' });
  });
});
