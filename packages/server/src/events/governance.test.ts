/**
 * Erasure, retention, legal holds and the expiry job, on a real log (LevelDB in a temp dir) with
 * an injected clock: erasing removes every key of the event and nothing else, a tombstone is
 * what is left, holds and the minimum retention refuse and change nothing, and the expiry job
 * erases exactly what a model says, resumes after a crash and never erases twice.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalEvent, type EventInput, type EventReceipt, eventReceiptEntry, parseEventInput } from '@tlog/events';
import { fromBase64, parseVerifierKey, verifyTlogProof } from '@tlog/merkle';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogServer, type LogServer } from '../index.js';
import { NotFoundError } from '../log.js';
import { ErasureRefusedError, EventErasedError, type Tombstone } from './erasure.js';
import { eventKey, tombstoneKey } from './event-keys.js';
import { EventConflictError } from './event-log.js';
import { type ExpiredEvent, ExpiryJob } from './expiry.js';
import { DAY_MS, Governance, GovernanceInputError, type RetentionRuleInput } from './governance.js';
import { MASTER_KEY_FILE_NAME, openEventKeys } from './master-key.js';

const ADMIN = { key_id: '0123456789abcdef', key_name: 'admin' };

/** A log server in a temp dir, with a Governance on an injected clock. */
interface World {
  dir: string;
  s: LogServer;
  gov: Governance;
  clock: { now: number };
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.s.close();
    await rm(w.dir, { recursive: true, force: true });
  }
});

async function openGovernance(
  s: LogServer,
  dir: string,
  clock: { now: number },
  opts: { minRetentionDays?: number; rules?: RetentionRuleInput[] },
): Promise<Governance> {
  const keys = await openEventKeys(s.log.currentStore, { path: join(dir, MASTER_KEY_FILE_NAME), explicit: true });
  return Governance.open({
    events: s.events,
    cipher: keys.cipher,
    minRetentionDays: opts.minRetentionDays ?? 0,
    initialRules: opts.rules ?? [],
    now: () => clock.now,
  });
}

async function world(opts: { minRetentionDays?: number; rules?: RetentionRuleInput[]; dir?: string } = {}): Promise<World> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tlog-gov-')));
  const s = await createLogServer({ dataDir: dir, logLevel: 'silent' });
  const clock = { now: Date.now() };
  const w = { dir, s, clock, gov: await openGovernance(s, dir, clock, opts) };
  worlds.push(w);
  return w;
}

function ev(over: Partial<EventInput> & Record<string, unknown> = {}): EventInput {
  return parseEventInput({ action: 'user.login', actor: { type: 'user', id: 'alice' }, occurred_at: '2026-06-01T10:00:00Z', ...over });
}

async function append(w: World, inputs: EventInput[]): Promise<readonly EventReceipt[]> {
  return (await w.s.events.append(inputs, true)).receipts!;
}

/** Every extension key of the store, as hex. */
async function allKeys(w: World): Promise<Set<string>> {
  const c = w.s.log.currentStore.extensionCursor({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) });
  const out = new Set<string>();
  try {
    for (let r = await c.next(); r !== undefined; r = await c.next()) out.add(Buffer.from(r.key).toString('hex'));
  } finally {
    await c.close();
  }
  return out;
}

function u64hex(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** Runs the expiry job's rounds until one erases nothing; answers every event erased, in order. */
async function expireAll(job: ExpiryJob, seen: ExpiredEvent[]): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const before = seen.length;
    await job.runOnce();
    if (seen.length === before) return;
  }
}

describe('erasure', () => {
  it('deletes the record, its postings and time keys, writes a tombstone, and keeps the leaf, the id record and every other event', async () => {
    const w = await world();
    const [a, b] = await append(w, [
      ev({
        id: 'ev-a',
        tenant: 'acme',
        outcome: 'success',
        targets: [
          { type: 'doc', id: 'd1' },
          { type: 'doc', id: 'd2' },
          { type: 'doc', id: 'd1' },
        ],
      }),
      ev({ tenant: 'acme', actor: { type: 'user', id: 'bob' } }),
    ]);
    const before = await allKeys(w);
    const erased = await w.gov.erase({ index: a!.index }, { reason: 'GDPR request 42', by: ADMIN });
    expect(erased).toMatchObject({ index: a!.index, leafHash: a!.leafHash, tombstone: { reason: 'GDPR request 42', by: ADMIN } });
    const after = await allKeys(w);
    const removed = [...before].filter((k) => !after.has(k));
    const added = [...after].filter((k) => !before.has(k));
    // E, 5 postings (action, actor, outcome, two distinct targets, tenant = 6), r and w.
    const ix = u64hex(a!.index);
    expect(removed.sort()).toEqual(
      [...before].filter((k) => k === `45${ix}` || (['70', '72', '77'].includes(k.slice(0, 2)) && k.endsWith(ix))).sort(),
    );
    expect(removed).toHaveLength(1 + 6 + 2);
    expect(added).toEqual([Buffer.from(tombstoneKey(a!.index)).toString('hex')]);
    expect(await w.s.events.tombstone(a!.index)).toEqual(erased.tombstone);

    // GET answers "erased" with a receipt of the leaf that still verifies, by index and by id.
    for (const ref of [{ index: a!.index }, { id: 'ev-a', tenant: 'acme' }]) {
      const err = await w.s.events.get(ref).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventErasedError);
      const e = err as EventErasedError;
      expect(e.toJSON()).toMatchObject({ index: a!.index, leafHash: a!.leafHash, tombstone: erased.tombstone });
      expect(e.inTenant('acme')).toBe(true);
      expect(e.inTenant('other')).toBe(false);
      const v = verifyTlogProof(e.proof, eventReceiptEntry(a!), { log: parseVerifierKey(w.s.verifierKey) });
      expect(v.index).toBe(a!.index);
    }
    // The other event is whole; search finds only it, by every path (postings, time range, all).
    expect((await w.s.events.get({ index: b!.index })).record).toEqual(b!.record);
    for (const filter of [
      {},
      { tenant: 'acme' },
      { action: 'user.*' },
      { since: '2000-01-01T00:00:00Z' },
      { occurred_since: '2000-01-01T00:00:00Z' },
      { target: 'd1' },
    ]) {
      const page = await w.s.events.search({ filter, order: 'asc', limit: 100, proofs: false });
      expect(
        page.events.map((e) => e.index),
        JSON.stringify(filter),
      ).toEqual(filter.target === undefined ? [b!.index] : []);
    }
    // Erasing again: 410; the id is never reused.
    await expect(w.gov.erase({ index: a!.index }, { reason: 'again', by: ADMIN })).rejects.toBeInstanceOf(EventErasedError);
    await expect(append(w, [ev({ id: 'ev-a', tenant: 'acme' })])).rejects.toThrow(EventConflictError);
    await expect(w.gov.erase({ index: 999 }, { reason: 'x', by: ADMIN })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('limits a tenant-bound eraser to its tenant, answering 404 for the rest, erased or not', async () => {
    const w = await world();
    const [mine, theirs] = await append(w, [ev({ tenant: 'acme', id: 'm' }), ev({ tenant: 'globex', id: 't' })]);
    await expect(w.gov.erase({ index: theirs!.index }, { reason: 'x', by: ADMIN, tenant: 'acme' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(w.gov.erase({ id: 't', tenant: 'acme' }, { reason: 'x', by: ADMIN, tenant: 'acme' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await w.gov.erase({ index: theirs!.index }, { reason: 'x', by: ADMIN });
    await expect(w.gov.erase({ index: theirs!.index }, { reason: 'x', by: ADMIN, tenant: 'acme' })).rejects.toBeInstanceOf(NotFoundError);
    await w.gov.erase({ id: 'm', tenant: 'acme' }, { reason: 'x', by: ADMIN, tenant: 'acme' });
    await expect(w.gov.erase({ index: mine!.index }, { reason: 'x', by: ADMIN, tenant: 'acme' })).rejects.toBeInstanceOf(EventErasedError);
  });

  it('refuses under a legal hold or inside the minimum retention, changing nothing', async () => {
    const w = await world({ minRetentionDays: 30 });
    const [held, young] = await append(w, [ev({ actor: { type: 'user', id: 'carol' } }), ev()]);
    const hold = await w.gov.placeHold({ reason: 'litigation 7', actor: 'carol' }, ADMIN);
    w.clock.now += 31 * DAY_MS;
    const before = await allKeys(w);
    await expect(w.gov.erase({ index: held!.index }, { reason: 'x', by: ADMIN })).rejects.toThrow(new RegExp(`legal hold ${hold.id}`));
    w.clock.now -= 31 * DAY_MS;
    const ends = new Date(Date.parse(young!.record.received_at) + 30 * DAY_MS).toISOString();
    let recorded = false;
    const refused = await w.gov
      .erase({ index: young!.index }, { reason: 'x', by: ADMIN, beforeErase: async () => void (recorded = true) })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ErasureRefusedError);
    expect((refused as Error).message).toContain(ends);
    expect(recorded).toBe(false);
    expect(await allKeys(w)).toEqual(before);
    // Lifted, and past the minimum: erasable.
    w.clock.now += 31 * DAY_MS;
    await w.gov.liftHold(hold.id, ADMIN);
    await w.gov.erase({ index: held!.index }, { reason: 'x', by: ADMIN });
    expect(w.gov.holds()).toMatchObject([{ id: hold.id, lifted_by: ADMIN }]);
  });

  it('validates holds and rules, and keeps them (holds sealed) across a restart', async () => {
    const w = await world({ minRetentionDays: 10, rules: [{ days: 400, tenant: 'acme' }] });
    expect(w.gov.rules()).toEqual([{ id: 'r1', days: 400, tenant: 'acme' }]);
    await expect(w.gov.placeHold({ reason: 'x' }, ADMIN)).rejects.toThrow(/at least one of tenant/);
    await expect(w.gov.placeHold({ reason: 'x', since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }, ADMIN)).rejects.toThrow(
      /until: must be after since/,
    );
    await expect(w.gov.setRules([{ days: 5 }])).rejects.toThrow(/rules\[0\]\.days: 5 is below the minimum retention of 10 days/);
    await expect(
      w.gov.setRules([
        { days: 50, id: 'a' },
        { days: 60, id: 'a' },
      ]),
    ).rejects.toThrow(GovernanceInputError);
    const hold = await w.gov.placeHold({ reason: 'audit', target: 'secret-target-xyz' }, ADMIN);
    await w.gov.setRules([{ days: 90, action_prefix: 'billing.' }]);
    expect(await allKeys(w)).toSatisfy((keys: Set<string>) => [...keys].some((k) => k.startsWith('6768')));
    await w.s.close();
    worlds.splice(worlds.indexOf(w), 1);
    const again = await world({ dir: w.dir, minRetentionDays: 10, rules: [{ days: 400 }] });
    expect(again.gov.rules()).toEqual([{ id: 'r1', days: 90, action_prefix: 'billing.' }]); // the stored rules win
    expect(again.gov.holds()).toEqual([hold]);
  });
});

describe('the expiry job', () => {
  function job(w: World, seen: ExpiredEvent[], extra: { scanBatch?: number; sleep?: (ms: number) => Promise<void> } = {}): ExpiryJob {
    return new ExpiryJob({
      governance: w.gov,
      events: w.s.events,
      intervalMs: 1000,
      rate: 1000,
      onErased: (e) => {
        seen.push(e);
      },
      sleep: extra.sleep ?? (async () => {}),
      ...(extra.scanBatch === undefined ? {} : { scanBatch: extra.scanBatch }),
    });
  }

  it('erases exactly the expired events, by the longest matching rule, honouring holds, with rule tombstones', async () => {
    const w = await world({
      rules: [
        { id: 'acme', days: 30, tenant: 'acme' },
        { id: 'logins', days: 90, action_prefix: 'user.login' },
      ],
    });
    const r = await append(w, [
      ev({ tenant: 'acme', action: 'doc.read' }), // 30 days
      ev({ tenant: 'acme' }), // login: 90 days (the longest)
      ev({ action: 'doc.read' }), // no rule: forever
      ev({ tenant: 'acme', action: 'doc.read', actor: { type: 'user', id: 'held' } }), // 30 days, held
      ev({ actor: { type: 'user', id: 'dave' } }), // login: 90 days
    ]);
    await w.gov.placeHold({ reason: 'case 1', actor: 'held' }, ADMIN);
    const seen: ExpiredEvent[] = [];
    const j = job(w, seen);
    w.clock.now += 29 * DAY_MS;
    expect((await j.runOnce()).erased).toBe(0);
    w.clock.now += 2 * DAY_MS;
    await j.runOnce();
    expect(seen.map((e) => e.index)).toEqual([r[0]!.index]);
    expect(seen[0]!.tombstone.by).toEqual({ rule: { id: 'acme', days: 30, tenant: 'acme' } });
    w.clock.now += 60 * DAY_MS;
    await expireAll(j, seen);
    expect(seen.map((e) => e.index).sort()).toEqual([r[0]!.index, r[1]!.index, r[4]!.index].sort());
    // Nothing is erased twice; the forever and held events are whole.
    await expireAll(j, seen);
    expect(seen).toHaveLength(3);
    for (const i of [2, 3]) expect((await w.s.events.get({ index: r[i]!.index })).index).toBe(r[i]!.index);
    // Lifting the hold makes the held event erasable at once (the cursors start over).
    await w.gov.liftHold(w.gov.holds()[0]!.id, ADMIN);
    await expireAll(j, seen);
    expect(seen.map((e) => e.index)).toContain(r[3]!.index);
    const t = (await w.s.events.tombstone(r[3]!.index)) as Tombstone;
    expect(t.reason).toContain('rule acme');
  });

  it('erases nothing when the record made before an erasure fails, and erases it once that works again', async () => {
    const w = await world({ rules: [{ days: 1 }] });
    const [e] = await append(w, [ev()]);
    w.clock.now += 2 * DAY_MS;
    const recorded: number[] = [];
    let down = true;
    const errors: unknown[] = [];
    const seen: ExpiredEvent[] = [];
    const j = new ExpiryJob({
      governance: w.gov,
      events: w.s.events,
      intervalMs: 1000,
      rate: 1000,
      beforeErase: async (index) => {
        if (down) throw new Error('the access log is down');
        recorded.push(index);
      },
      onErased: (x) => {
        seen.push(x);
      },
      onError: (err) => errors.push(err),
      sleep: async () => {},
    });
    await expect(j.runOnce()).rejects.toThrow(/access log is down/);
    expect((await w.s.events.get({ index: e!.index })).index).toBe(e!.index);
    expect(seen).toEqual([]);
    down = false;
    await j.runOnce();
    expect(recorded).toEqual([e!.index]);
    expect(seen.map((x) => x.index)).toEqual([e!.index]);
  });

  it('runs on its timer until stopped', async () => {
    const w = await world({ rules: [{ days: 1 }] });
    const [e] = await append(w, [ev()]);
    w.clock.now += 2 * DAY_MS;
    let told!: (x: ExpiredEvent) => void;
    const erased = new Promise<ExpiredEvent>((resolve) => {
      told = resolve;
    });
    const j = new ExpiryJob({
      governance: w.gov,
      events: w.s.events,
      intervalMs: 0,
      rate: 1000,
      onErased: (x) => told(x),
      sleep: async () => {},
    });
    j.start();
    expect((await erased).index).toBe(e!.index);
    await j.stop();
  });

  it('starts over when the rules change', async () => {
    const w = await world({ rules: [{ id: 'x', days: 2, tenant: 'a' }] });
    const r = await append(w, [ev({ tenant: 'a' }), ev({ tenant: 'b' }), ev({ tenant: 'a' })]);
    const seen: ExpiredEvent[] = [];
    const j = job(w, seen);
    w.clock.now += 3 * DAY_MS;
    await expireAll(j, seen);
    expect(seen.map((e) => e.index)).toEqual([r[0]!.index, r[2]!.index]);
    await w.gov.setRules([{ id: 'x', days: 2 }]); // same id, now every tenant
    await expireAll(j, seen);
    expect(seen.map((e) => e.index)).toEqual([r[0]!.index, r[2]!.index, r[1]!.index]);
  });

  it('resumes after a crash mid-round from its stored cursor, erasing each event once', async () => {
    const w = await world({ rules: [{ days: 1 }] });
    const n = 40;
    const r = await append(
      w,
      Array.from({ length: n }, (_, i) => ev({ actor: { type: 'user', id: `u${i}` } })),
    );
    w.clock.now += 2 * DAY_MS;
    const seen: ExpiredEvent[] = [];
    let sleeps = 0;
    const crashing = job(w, seen, {
      scanBatch: 8,
      sleep: async () => {
        if (++sleeps === 13) throw new Error('the process died');
      },
    });
    await expect(crashing.runOnce()).rejects.toThrow('the process died');
    expect(seen).toHaveLength(13);
    // The "crash": close and reopen the store and everything on it.
    const now = w.clock.now;
    await w.s.close();
    worlds.splice(worlds.indexOf(w), 1);
    const again = await world({ dir: w.dir, rules: [{ days: 1 }] });
    again.clock.now = now;
    const round = await job(again, seen, { scanBatch: 8 }).runOnce();
    expect(round.examined).toBeLessThan(n); // it went on from the cursor, not from the start
    expect(seen.map((e) => e.index).sort((a, b) => a - b)).toEqual(r.map((x) => x.index));
    expect(new Set(seen.map((e) => e.index)).size).toBe(n);
  });

  it('erases the set a model says, for random events, rules, holds and times', async () => {
    const tenants = ['a', 'b', undefined] as const;
    const actions = ['user.login', 'user.logout', 'billing.paid'] as const;
    const arbEvent = fc.record({
      tenant: fc.constantFrom(...tenants),
      action: fc.constantFrom(...actions),
      actor: fc.constantFrom('x', 'y', 'z'),
      day: fc.integer({ min: 1, max: 28 }),
    });
    const arbRule = fc.record({
      days: fc.integer({ min: 1, max: 4 }),
      tenant: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      action_prefix: fc.option(fc.constantFrom('user.', 'user.login', 'billing.'), { nil: undefined }),
    });
    const arbHold = fc.record({
      actor: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
      tenant: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      until: fc.option(fc.integer({ min: 2, max: 28 }), { nil: undefined }),
    });
    const day = (d: number) => `2026-02-${String(d).padStart(2, '0')}T00:00:00Z`;
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbEvent, { minLength: 1, maxLength: 20 }),
        fc.array(arbRule, { maxLength: 3 }),
        fc.array(arbHold, { maxLength: 2 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 2 }),
        async (events, rules, holds, afterDays, minDays) => {
          const valid = rules.map((x) => ({ ...x, days: Math.max(x.days, minDays || 1) }));
          const w = await world({
            minRetentionDays: minDays,
            rules: valid.map((x) => ({
              days: x.days,
              ...(x.tenant ? { tenant: x.tenant } : {}),
              ...(x.action_prefix ? { action_prefix: x.action_prefix } : {}),
            })),
          });
          const inputs = events.map((e) =>
            ev({
              action: e.action,
              actor: { type: 'user', id: e.actor },
              occurred_at: day(e.day),
              ...(e.tenant ? { tenant: e.tenant } : {}),
            }),
          );
          const r = await append(w, inputs);
          const placed: { h: (typeof holds)[number]; hold: unknown }[] = [];
          for (const h of holds) {
            const sel = {
              ...(h.actor ? { actor: h.actor } : {}),
              ...(h.tenant ? { tenant: h.tenant } : {}),
              ...(h.until ? { until: day(h.until) } : {}),
            };
            if (Object.keys(sel).length > 0) placed.push({ h, hold: await w.gov.placeHold({ reason: 'r', ...sel }, ADMIN) });
          }
          const lastReceived = Math.max(...r.map((x) => Date.parse(x.record.received_at)));
          w.clock.now = lastReceived + afterDays * DAY_MS + 10_000;
          const seen: ExpiredEvent[] = [];
          await expireAll(job(w, seen, { scanBatch: 3 }), seen);
          const expected = events
            .map((e, i) => ({ e, i }))
            .filter(({ e }) => {
              const matching = valid.filter(
                (x) => (!x.tenant || x.tenant === e.tenant) && (!x.action_prefix || e.action.startsWith(x.action_prefix)),
              );
              if (matching.length === 0) return false;
              const days = Math.max(...matching.map((x) => x.days), minDays);
              if (days > afterDays) return false;
              return !placed.some(
                ({ h }) => (!h.actor || h.actor === e.actor) && (!h.tenant || h.tenant === e.tenant) && (!h.until || e.day < h.until),
              );
            })
            .map(({ i }) => r[i]!.index);
          expect(seen.map((x) => x.index).sort((a, b) => a - b)).toEqual(expected);
          for (let i = 0; i < r.length; i++) {
            const erased = (await w.s.events.tombstone(r[i]!.index)) !== undefined;
            expect(erased).toBe(expected.includes(r[i]!.index));
          }
          await w.s.close();
          worlds.splice(worlds.indexOf(w), 1);
          await rm(w.dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe('erasure at rest', () => {
  /** The files under `dir` (recursively) holding `needle`. */
  async function filesHolding(dir: string, needle: Uint8Array): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile()) continue;
      const path = join(e.parentPath, e.name);
      if ((await readFile(path)).includes(Buffer.from(needle))) out.push(path);
    }
    return out;
  }

  it('leaves neither the record, nor its ciphertext, nor its salt in any file of the data directory, and the inclusion still verifies', async () => {
    const w = await world();
    const marker = `erase-me-${Date.now()}`;
    // Enough events before and after for the store to hold the record in tables, not only in its log.
    await append(
      w,
      Array.from({ length: 50 }, (_, i) => ev({ actor: { type: 'user', id: `before-${i}` } })),
    );
    const [victim] = await append(w, [ev({ actor: { type: 'user', id: marker }, metadata: { note: marker } })]);
    await append(
      w,
      Array.from({ length: 50 }, (_, i) => ev({ actor: { type: 'user', id: `after-${i}` } })),
    );
    const store = w.s.log.currentStore;
    await store.compactExtensions({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) }); // the record now sits in a table
    const [ciphertext] = await store.readExtensions([eventKey(victim!.index)]);
    const plaintext = canonicalEvent(victim!.record);
    const salt = fromBase64(victim!.salt);
    expect(ciphertext).toBeDefined();
    expect(await filesHolding(w.dir, ciphertext!)).not.toEqual([]);

    await w.gov.erase({ index: victim!.index }, { reason: 'GDPR request 7', by: ADMIN });
    for (const [what, needle] of [
      ['the record', plaintext],
      ['the marker', new TextEncoder().encode(marker)],
      ['the ciphertext', ciphertext!],
      ['the salt', salt],
    ] as const) {
      expect(await filesHolding(w.dir, needle), what).toEqual([]);
    }
    const err = (await w.s.events.get({ index: victim!.index }).catch((e: unknown) => e)) as EventErasedError;
    expect(err).toBeInstanceOf(EventErasedError);
    expect(verifyTlogProof(err.proof, eventReceiptEntry(victim!), { log: parseVerifierKey(w.s.verifierKey) }).index).toBe(victim!.index);
    // The log is whole: the tree still verifies and other events read back.
    expect((await w.s.events.get({ index: victim!.index + 1 })).index).toBe(victim!.index + 1);
  });
});
