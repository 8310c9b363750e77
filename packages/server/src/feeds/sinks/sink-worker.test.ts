/**
 * The sink worker against a fake feed and a scripted transport: order, batching, the cursor
 * moving only after an acknowledgment, the access event before a batch's first send, backoff
 * and the dead state, resume, and closing in the middle of a delivery. No timings are asserted:
 * waits poll until a state is reached.
 */
import type { EventRecord } from '@tlog/events';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Answer, FakeFeed, FakeTransport, testRecord } from '../../../../../test/support/fake-sinks.js';
import type { AccessEntry } from '../../auth/principal.js';
import { parseSinksConfig, type SinkConfig } from './sink-config.js';
import { SinkWorker, type SinkWorkerOptions } from './sink-worker.js';
import { Sinks } from './sinks.js';
import { DeliveryError } from './transport.js';

/** pino's level number of `error`. */
const ERROR_LEVEL = 50;

/** A pino logger at info level whose lines are kept in `lines`. */
function capturingLogger(): { logger: pino.Logger; lines: { level: number; msg: string; [field: string]: unknown }[] } {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { logger, lines };
}

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

function sinkConfig(fields: Record<string, unknown> = {}): SinkConfig {
  return parseSinksConfig({
    sinks: [
      {
        name: 'siem',
        type: 'webhook',
        url: 'http://receiver.test/hook',
        secret: SECRET,
        batch: { maxEvents: 5, maxMs: 0 },
        retry: { initialMs: 1, maxMs: 2, deadAfterMs: 3_600_000 },
        ...fields,
      },
    ],
  })[0]!;
}

const refused = () => new DeliveryError('the receiver answered 400: bad batch', { retryable: false });
const busy = () => new DeliveryError('the receiver answered 503', { retryable: true });

interface Harness {
  feed: FakeFeed;
  transport: FakeTransport;
  worker: SinkWorker;
  /** Stored cursors, in the order written. */
  stored: number[];
  /** What happened, in order: `announce <first>-<last>` and `send <first>-<last>`. */
  calls: string[];
  announced: { entry: AccessEntry; actor: string }[];
  lines: ReturnType<typeof capturingLogger>['lines'];
}

const open: SinkWorker[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close()));
});

function harness(
  opts: {
    config?: SinkConfig;
    script?: Answer[];
    otherwise?: Answer;
    records?: (EventRecord | undefined)[];
    cursor?: number;
    announce?: (entry: AccessEntry) => Promise<void>;
    writeCursor?: (cursor: number) => Promise<void>;
  } & Partial<Pick<SinkWorkerOptions, 'now'>> = {},
): Harness {
  const feed = new FakeFeed();
  feed.publish(opts.records ?? []);
  const transport = new FakeTransport(opts.script ?? [], opts.otherwise ?? 'ok');
  const stored: number[] = [];
  const calls: string[] = [];
  const announced: Harness['announced'] = [];
  const { logger, lines } = capturingLogger();
  const span = (ix: readonly number[]) => `${ix[0]}-${ix[ix.length - 1]}`;
  transport.onSend = () => calls.push(`send ${span(transport.sends.at(-1)!)}`);
  const worker = new SinkWorker({
    config: opts.config ?? sinkConfig(),
    source: feed,
    transport,
    cursors: {
      write: async (_name, cursor) => {
        await opts.writeCursor?.(cursor);
        stored.push(cursor);
      },
    },
    cursor: opts.cursor ?? -1,
    announce: async (entry, actor) => {
      await opts.announce?.(entry);
      const d = entry.details as { first: number; last: number };
      calls.push(`announce ${d.first}-${d.last}`);
      announced.push({ entry, actor });
    },
    logger,
    random: () => 0,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  open.push(worker);
  return { feed, transport, worker, stored, calls, announced, lines };
}

describe('SinkWorker', () => {
  it('delivers every matching event in order, in batches of at most maxEvents, and stores the cursor after each acknowledgment', async () => {
    const records = Array.from({ length: 25 }, (_, i) => testRecord(i, { action: i % 2 === 0 ? 'user.login' : 'doc.read' }));
    const h = harness({ config: sinkConfig({ filter: { action: 'user.*' } }), records });
    h.worker.start();
    await vi.waitFor(() => expect(h.worker.status().cursor).toBe(24));
    const wanted = records.map((_, i) => i).filter((i) => i % 2 === 0);
    expect(h.transport.deliveredIndexes()).toEqual(wanted);
    for (const batch of h.transport.sends) expect(batch.length).toBeLessThanOrEqual(5);
    // Each batch is announced once, before its first send, and the cursor is stored after it.
    expect(h.calls.filter((c) => c.startsWith('announce'))).toHaveLength(h.transport.sends.length);
    h.transport.sends.forEach((batch, i) => {
      const span = `${batch[0]}-${batch.at(-1)}`;
      expect(h.calls.indexOf(`announce ${span}`)).toBe(2 * i);
      expect(h.calls.indexOf(`send ${span}`)).toBe(2 * i + 1);
    });
    expect(h.stored).toEqual([...h.stored].sort((a, b) => a - b));
    expect(h.stored.at(-1)).toBe(24);
    const first = h.announced[0]!;
    expect(first.actor).toBe('sink:siem');
    expect(first.entry).toEqual({
      action: 'sinks.deliver',
      outcome: 'success',
      targets: [0, 2, 4, 6, 8].map((i) => ({ type: 'event', id: String(i) })),
      details: { sink: 'siem', first: 0, last: 8, count: 5 },
    });
    expect(h.worker.status()).toMatchObject({ state: 'active', cursor: 24, treeSize: 25, lag: 0, delivered: 13, type: 'webhook' });
  });

  it('goes on with events published later, from where it stopped', async () => {
    const h = harness({ records: [undefined, undefined] });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([0, 1]));
    h.feed.publish([undefined, undefined, undefined]);
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([0, 1, 2, 3, 4]));
    await vi.waitFor(() => expect(h.stored.at(-1)).toBe(4));
  });

  it('starts after its cursor', async () => {
    const h = harness({ records: Array(6).fill(undefined), cursor: 3 });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([4, 5]));
  });

  it('retries a failing receiver with backoff, announcing the batch once, and delivers it', async () => {
    const h = harness({ records: [undefined, undefined, undefined], script: [busy(), busy()] });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([0, 1, 2]));
    expect(h.transport.sends).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(h.announced).toHaveLength(1);
    const s = h.worker.status();
    expect(s).toMatchObject({ state: 'active', cursor: 2, lastError: 'the receiver answered 503' });
    expect(s.failingSince).toBeUndefined();
    expect(s.lastDeliveryAt).toBeDefined();
  });

  it('shows retrying, with the error and since when, while the receiver fails', async () => {
    const h = harness({ records: [undefined], otherwise: busy() });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.sends.length).toBeGreaterThan(2));
    expect(h.worker.status()).toMatchObject({
      state: 'retrying',
      cursor: -1,
      lag: 1,
      delivered: 0,
      lastError: 'the receiver answered 503',
    });
    expect(h.worker.status().failingSince).toBeDefined();
    expect(h.stored).toEqual([]);
  });

  it('is dead at once when the receiver refuses a batch: stays at its cursor, logs one error, and resume goes on from there', async () => {
    const h = harness({ records: Array(7).fill(undefined), script: ['ok', refused()] });
    h.worker.start();
    await vi.waitFor(() => expect(h.worker.status().state).toBe('dead'));
    expect(h.transport.deliveredIndexes()).toEqual([0, 1, 2, 3, 4]);
    const dead = h.worker.status();
    expect(dead).toMatchObject({ cursor: 4, lastError: 'the receiver answered 400: bad batch', lag: 2 });
    expect(dead.deadSince).toBeDefined();
    const errors = h.lines.filter((l) => l.level >= ERROR_LEVEL);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('sink siem is dead');
    expect(errors[0]!.msg).toContain('the receiver answered 400: bad batch');
    expect(errors[0]).toMatchObject({ sink: 'siem', cursor: 4 });
    // Dead: nothing more is sent, even when more is published.
    const sends = h.transport.sends.length;
    h.feed.publish([undefined]);
    await new Promise((r) => setTimeout(r, 20));
    expect(h.transport.sends.length).toBe(sends);
    expect(h.worker.status().state).toBe('dead');
    const resumed = h.worker.resume();
    expect(resumed.state).toBe('active');
    expect(resumed.deadSince).toBeUndefined();
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(h.worker.status()).toMatchObject({ state: 'active', cursor: 7 });
  });

  it('is dead after deadAfterMs of continuous failure, not before', async () => {
    let now = 1_000_000;
    const h = harness({
      config: sinkConfig({ retry: { initialMs: 1, maxMs: 1, deadAfterMs: 1000 } }),
      records: [undefined],
      otherwise: busy(),
      now: () => now,
    });
    h.transport.onSend = () => {
      now += 250;
    };
    h.worker.start();
    await vi.waitFor(() => expect(h.worker.status().state).toBe('dead'));
    // Failing since the first failure: after 0, 250, 500 and 750 ms it retries; at 1000 ms it is dead.
    expect(h.transport.sends).toHaveLength(5);
    expect(h.lines.filter((l) => l.level >= ERROR_LEVEL)[0]!.msg).toMatch(/failed for 1000 ms/);
  });

  it('sends nothing while the access log cannot record the delivery, and retries', async () => {
    let failures = 2;
    const h = harness({
      records: [undefined, undefined],
      announce: async () => {
        if (failures-- > 0) throw new Error('the access log is down');
      },
    });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([0, 1]));
    expect(h.transport.sends).toHaveLength(1);
    expect(h.worker.status().lastError).toMatch(/access log could not record the delivery \(the access log is down\); nothing was sent/);
  });

  it("never dies of the server's own failures", async () => {
    const h = harness({
      config: sinkConfig({ retry: { initialMs: 1, maxMs: 1, deadAfterMs: 0 } }),
      records: [undefined],
      announce: async () => {
        throw new Error('the access log is down');
      },
    });
    h.worker.start();
    await vi.waitFor(() => expect(h.worker.status().lastError).toBeDefined());
    await new Promise((r) => setTimeout(r, 20));
    expect(h.worker.status().state).toBe('retrying');
    expect(h.transport.sends).toEqual([]);
  });

  it('moves past events its filter skips, storing the cursor without sending anything', async () => {
    const records = Array.from({ length: 4 }, (_, i) => testRecord(i, { action: 'doc.read' }));
    const h = harness({ config: sinkConfig({ filter: { action: 'user.login' } }), records });
    h.worker.start();
    await vi.waitFor(() => expect(h.stored.at(-1)).toBe(3));
    expect(h.transport.sends).toEqual([]);
    expect(h.announced).toEqual([]);
    expect(h.worker.status()).toMatchObject({ cursor: 3, lag: 0 });
  });

  it('keeps delivering when storing its cursor fails (a restart then delivers again from the stored one)', async () => {
    const h = harness({
      records: Array(3).fill(undefined),
      config: sinkConfig({ batch: { maxEvents: 1, maxMs: 0 } }),
      writeCursor: async () => {
        throw new Error('disk full');
      },
    });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([0, 1, 2]));
    expect(h.worker.status().cursor).toBe(2);
    expect(h.lines.some((l) => l.msg.includes('storing its cursor failed'))).toBe(true);
  });

  it('closes in the middle of a delivery: the request is aborted, the cursor stays, nothing is left running', async () => {
    const h = harness({ records: [undefined, undefined], script: ['hang'] });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.sends).toHaveLength(1));
    await h.worker.close();
    expect(h.transport.aborted).toBe(1);
    expect(h.transport.closed).toBe(true);
    expect(h.transport.delivered).toEqual([]);
    expect(h.stored).toEqual([]);
    expect(h.worker.status()).toMatchObject({ state: 'stopped', cursor: -1 });
  });

  it('closes while waiting for events, and while dead', async () => {
    const idle = harness({ records: [] });
    idle.worker.start();
    await new Promise((r) => setTimeout(r, 10));
    await idle.worker.close();
    expect(idle.worker.status().state).toBe('stopped');
    const dead = harness({ records: [undefined], script: [refused()] });
    dead.worker.start();
    await vi.waitFor(() => expect(dead.worker.status().state).toBe('dead'));
    await dead.worker.close();
    expect(dead.worker.status().state).toBe('stopped');
  });

  it('stops quietly when the feed closes under it', async () => {
    const h = harness({ records: [undefined] });
    h.worker.start();
    await vi.waitFor(() => expect(h.transport.deliveredIndexes()).toEqual([0]));
    h.feed.close();
    await vi.waitFor(() => expect(h.worker.status().state).toBe('stopped'));
    expect(h.lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('waits up to maxMs to fill a batch', async () => {
    const h = harness({ config: sinkConfig({ batch: { maxEvents: 3, maxMs: 60_000 } }), records: [undefined] });
    h.worker.start();
    await vi.waitFor(() => expect(h.feed.reads.length).toBeGreaterThan(0));
    h.feed.publish([undefined]);
    await new Promise((r) => setTimeout(r, 20));
    expect(h.transport.sends).toEqual([]);
    h.feed.publish([undefined, undefined]);
    await vi.waitFor(() => expect(h.transport.sends[0]).toEqual([0, 1, 2]));
  });
});

describe('Sinks', () => {
  const configs = parseSinksConfig({
    sinks: [
      { name: 'all', type: 'webhook', url: 'http://a.test/', secret: SECRET, from: 'start' },
      { name: 'live', type: 'webhook', url: 'http://b.test/', secret: SECRET, from: 'now', tenant: 'acme' },
      { name: 'known', type: 'webhook', url: 'http://c.test/', secret: SECRET, from: 'now' },
    ],
  });

  it('starts a new sink at -1 ("start") or after the published tree ("now"), stores that at once, and keeps a stored cursor', async () => {
    const feed = new FakeFeed();
    feed.publish(Array(10).fill(undefined));
    const stored = new Map<string, number>([['known', 4]]);
    const written: [string, number][] = [];
    const sinks = await Sinks.open({
      configs,
      source: feed,
      cursors: {
        read: async (name) => stored.get(name),
        write: async (name, cursor) => {
          written.push([name, cursor]);
        },
      },
      announce: async () => {},
      origin: 'test.example/log',
      logger: capturingLogger().logger,
      transport: () => new FakeTransport(),
    });
    expect(written).toEqual([
      ['all', -1],
      ['live', 9],
    ]);
    expect(sinks.list().map((s) => [s.name, s.cursor, s.lag])).toEqual([
      ['all', -1, 10],
      ['live', 9, 0],
      ['known', 4, 5],
    ]);
    // A tenant-bound key sees only its tenant's sinks.
    expect(sinks.list('acme').map((s) => s.name)).toEqual(['live']);
    expect(sinks.get('all', 'acme')).toBeUndefined();
    expect(sinks.resume('all', 'acme')).toBeUndefined();
    expect(sinks.get('live', 'acme')?.name).toBe('live');
    expect(sinks.get('nope')).toBeUndefined();
    await sinks.close();
    expect(sinks.list().map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
  });
});
