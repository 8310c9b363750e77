/**
 * The client side of the feeds (exportEvents, tailEvents, the admin client's sinks, and the CLI's
 * `events export`, `events tail` and `sinks`) against a fake of the feed routes
 * (test/support/fake-feed-server.ts) standing in front of the REAL built log server: its lines,
 * frames and checkpoints come from the real server's answers, its tiles and proofs are the real
 * ones, and it can be made to lie or to cut connections.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent, TailReconnect, VerifiedEvent } from '@tlog/client';
import {
  AccessDeniedError,
  AdminClient,
  ArgumentError,
  ExportInterruptedError,
  LogClient,
  LogMisbehaviourError,
  NotFoundError,
  verifyEventReceipt,
} from '@tlog/client';
import { toBase64 } from '@tlog/merkle';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runTlog } from './support/cli.js';
import { FakeFeedServer } from './support/fake-feed-server.js';
import type { SpawnedServer } from './support/server.js';
import { spawnServer } from './support/server.js';

let server: SpawnedServer;
let fake: FakeFeedServer;
/** A client of the fake (the feeds under test). */
let client: LogClient;
/** A client of the real server (to append events). */
let real: LogClient;
/** Every event logged, in index order. */
const logged: { index: number; actor: string; action: string }[] = [];

const enc = new TextEncoder();
const FAST = { initialMs: 5, maxMs: 40 };

function event(i: number): NewEvent {
  const actors = ['alice', 'bob', 'carol'];
  return {
    action: i % 4 === 0 ? 'role.granted' : 'user.login',
    actor: { type: 'user', id: actors[i % 3]! },
    occurred_at: `2026-03-01T10:${String(i % 60).padStart(2, '0')}:00Z`,
    outcome: i % 2 === 0 ? 'success' : 'failure',
    targets: [{ type: 'doc', id: `d-${i % 5}` }],
    ...(i % 7 === 0 ? { tenant: 'acme' } : {}),
  };
}

/** Appends events `from`..`to-1` in one batch and records them. */
async function append(from: number, to: number): Promise<void> {
  const batch = Array.from({ length: to - from }, (_, k) => event(from + k));
  const r = await real.appendEvents(batch);
  r.forEach((x, k) => {
    logged.push({ index: x.index, actor: batch[k]!.actor.id, action: batch[k]!.action });
  });
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
}

/** The first `n` events of a tail, then stops it. */
async function take(
  it: AsyncIterable<VerifiedEvent>,
  n: number,
  onEach?: (e: VerifiedEvent, i: number) => Promise<void>,
): Promise<VerifiedEvent[]> {
  const out: VerifiedEvent[] = [];
  for await (const e of it) {
    out.push(e);
    await onEach?.(e, out.length);
    if (out.length === n) break;
  }
  return out;
}

beforeAll(async () => {
  server = await spawnServer();
  fake = await FakeFeedServer.start({ url: server.url, origin: server.origin, apiKey: server.apiKey });
  real = new LogClient({ url: server.url, vkey: server.vkey, apiKey: server.apiKey });
  client = new LogClient({ url: fake.url, vkey: server.vkey, apiKey: server.apiKey });
  // Raw entries between batches: the event indexes have holes, and span two level-0 tiles.
  await real.submit(enc.encode('a raw entry first'));
  await append(0, 150);
  await real.submitBatch([enc.encode('raw 1'), enc.encode('raw 2')]);
  await append(150, 300);
});
afterAll(async () => {
  await fake?.close();
  await server?.stop();
});
beforeEach(() => {
  Object.assign(fake.faults, {
    tamperIndex: undefined,
    otherKey: false,
    cutExportAfter: undefined,
    dropStreamAfter: undefined,
    laggedAfter: undefined,
    refuseWith: undefined,
  });
});

describe('exportEvents', () => {
  it('streams every event, each line verified against the checkpoint of its header through the tiles', async () => {
    const before = fake.proxied.length;
    const exp = client.exportEvents();
    const lines = [];
    for await (const l of exp) lines.push(l);
    expect(lines.map((l) => l.index)).toEqual(logged.map((e) => e.index));
    expect(exp.complete).toBe(true);
    expect(exp.count).toBe(logged.length);
    expect(exp.last).toBe(logged.at(-1)!.index);
    expect(exp.treeSize).toBe(exp.checkpoint!.checkpoint.size);
    expect(exp.resumeAfter).toBe(exp.treeSize! - 1);
    const first = JSON.parse(lines[0]!.line) as { index: number; leafHash: string; record: { id: string }; salt: string };
    expect(first).toMatchObject({ index: lines[0]!.index, leafHash: toBase64(lines[0]!.leafHash), salt: lines[0]!.salt });
    expect(first.record.id).toBe(lines[0]!.record.id);
    // The leaves came from tiles (a level-0 tile per 256 leaves and the tiles that authenticate
    // them), not from a request per event.
    const requests = fake.proxied.slice(before);
    expect(requests.filter((p) => p.startsWith('/tile/0/')).length).toBe(2);
    expect(requests.length).toBeLessThan(12);
    expect(requests.filter((p) => p.startsWith('/v1/proof/inclusion'))).toEqual([]);
  });

  it('filters, starts after an index, and reads the cloudevents and ocsf formats', async () => {
    const after = logged[40]!.index;
    const want = logged.filter((e) => e.index > after && e.actor === 'bob').map((e) => e.index);
    for (const format of ['ndjson', 'cloudevents', 'ocsf'] as const) {
      const exp = client.exportEvents({ filter: { actor: 'bob' }, after, format });
      const lines = [];
      for await (const l of exp) lines.push(l);
      expect(
        lines.map((l) => l.index),
        format,
      ).toEqual(want);
      expect(lines.every((l) => l.record.actor.id === 'bob')).toBe(true);
      const parsed = JSON.parse(lines[0]!.line) as Record<string, unknown>;
      if (format === 'cloudevents') expect(parsed).toMatchObject({ specversion: '1.0', tlogindex: want[0] });
      if (format === 'ocsf') expect(parsed).toMatchObject({ class_uid: 6003, unmapped: { tlog: { index: want[0] } } });
    }
    expect(fake.exports.at(-1)!.query.get('actor')).toBe('bob');
    expect(fake.exports.at(-1)!.query.get('after')).toBe(String(after));
  });

  it('stops at the limit asked', async () => {
    const lines = [];
    const exp = client.exportEvents({ limit: 7 });
    for await (const l of exp) lines.push(l.index);
    expect(lines).toEqual(logged.slice(0, 7).map((e) => e.index));
    expect(exp.resumeAfter).toBe(lines.at(-1));
  });

  it('a line whose record has one byte changed fails verification; the lines before it were yielded, not it', async () => {
    const bad = logged[20]!.index;
    fake.faults.tamperIndex = bad;
    const seen: number[] = [];
    const err = await failure(
      (async () => {
        for await (const l of client.exportEvents()) seen.push(l.index);
      })(),
    );
    expect(err).toBeInstanceOf(LogMisbehaviourError);
    expect((err as LogMisbehaviourError).kind).toBe('bad-events');
    expect((err as Error).message).toMatch(/do not commit to the leaf/);
    expect(seen).toEqual(logged.slice(0, 20).map((e) => e.index));
    // Without verification the same export goes through: the check is what catches it.
    const unverified = [];
    for await (const l of client.exportEvents({ verify: false })) unverified.push(l.index);
    expect(unverified).toContain(bad);
  });

  it('a checkpoint signed by another key fails before any line', async () => {
    fake.faults.otherKey = true;
    const seen: number[] = [];
    const err = await failure(
      (async () => {
        for await (const l of client.exportEvents()) seen.push(l.index);
      })(),
    );
    expect(err).toBeInstanceOf(LogMisbehaviourError);
    expect((err as LogMisbehaviourError).kind).toBe('bad-signature');
    expect(seen).toEqual([]);
  });

  it('a body cut off is an ExportInterruptedError carrying the last complete index; resuming there gives the rest once', async () => {
    fake.faults.cutExportAfter = 30;
    const seen: number[] = [];
    const err = await failure(
      (async () => {
        for await (const l of client.exportEvents()) seen.push(l.index);
      })(),
    );
    expect(err).toBeInstanceOf(ExportInterruptedError);
    // The fake wrote 30 whole lines; what the client had not read yet when the connection broke
    // is lost (a fetch body's queue goes with its error), so it may have fewer: `after` says.
    expect(seen.length).toBeLessThanOrEqual(30);
    expect(seen).toEqual(logged.slice(0, seen.length).map((e) => e.index));
    expect((err as ExportInterruptedError).after).toBe(seen.at(-1) ?? -1);
    for await (const l of client.exportEvents({ after: (err as ExportInterruptedError).after })) seen.push(l.index);
    expect(seen).toEqual(logged.map((e) => e.index));
  });

  it('a refused query (400) is an ArgumentError, a refused key an AccessDeniedError', async () => {
    fake.faults.refuseWith = 400;
    expect(await failure(client.exportEvents()[Symbol.asyncIterator]().next())).toBeInstanceOf(ArgumentError);
    fake.faults.refuseWith = 403;
    expect(await failure(client.exportEvents()[Symbol.asyncIterator]().next())).toBeInstanceOf(AccessDeniedError);
  });

  it('checks its arguments before sending anything', () => {
    expect(() => client.exportEvents({ after: -2 })).toThrow(ArgumentError);
    expect(() => client.exportEvents({ limit: 0 })).toThrow(ArgumentError);
    expect(() => client.exportEvents({ format: 'xml' as 'ndjson' })).toThrow(ArgumentError);
    expect(() => client.exportEvents({ filter: { outcome: 'maybe' as 'success' } })).toThrow(ArgumentError);
  });
});

describe('tailEvents', () => {
  it('yields the events in order; after the connection drops mid-stream it resumes with Last-Event-ID, no gap, no duplicate; live events follow', async () => {
    fake.faults.dropStreamAfter = 100;
    const streamsBefore = fake.streams.length;
    const reconnects: (TailReconnect & { yielded: number })[] = [];
    const backlog = logged.length;
    let yielded = 0;
    const got = await take(
      client.tailEvents({}, { after: -1, reconnect: FAST, onReconnect: (r) => reconnects.push({ ...r, yielded }) }),
      backlog + 5,
      async (_e, n) => {
        yielded = n;
        // Once the backlog is read, the log grows: the tail must follow it.
        if (n === backlog) await append(1000, 1005);
      },
    );
    expect(got.map((e) => e.index)).toEqual(logged.map((e) => e.index));
    const streams = fake.streams.slice(streamsBefore);
    expect(streams.length).toBe(2);
    expect(streams[0]!.lastEventId).toBe('-1');
    // It resumed at the last event it had received: what the server wrote before the cut but the
    // client had not read yet is lost with the connection (at most the 100 written).
    expect(reconnects.length).toBe(1);
    const { yielded: before, after } = reconnects[0]!;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThanOrEqual(100);
    expect(after).toBe(logged[before - 1]!.index);
    expect(streams[1]!.lastEventId).toBe(String(after));
    expect(streams.every((s) => s.query.get('proofs') === '1' && s.authorization === `Bearer ${server.apiKey}`)).toBe(true);
    // What the tail yields is verified: each carries a receipt that verifies offline.
    const last = got.at(-1)!;
    expect(verifyEventReceipt(last.receipt, server.vkey).index).toBe(last.index);
  });

  it('a lagged frame makes it reconnect from the last id received', async () => {
    fake.faults.laggedAfter = 10;
    const streamsBefore = fake.streams.length;
    const reconnects: TailReconnect[] = [];
    const got = await take(
      client.tailEvents({ actor: 'alice' }, { after: -1, reconnect: FAST, onReconnect: (r) => reconnects.push(r) }),
      30,
    );
    const alice = logged.filter((e) => e.actor === 'alice');
    expect(got.map((e) => e.index)).toEqual(alice.slice(0, 30).map((e) => e.index));
    const streams = fake.streams.slice(streamsBefore);
    expect(streams.length).toBe(2);
    expect(streams[1]!.lastEventId).toBe(String(alice[9]!.index));
    expect(streams[1]!.query.get('actor')).toBe('alice');
    expect(reconnects[0]!.reason).toMatch(/lagged/);
  });

  it('yields checkpoints when asked, each new one proven consistent by the proof in its frame', async () => {
    const items: string[] = [];
    let checkpoints = 0;
    const before = fake.proxied.length;
    // Live only: the first checkpoint has no events after it; the log grows; the next one does.
    for await (const item of client.tailEvents({ action: 'role.granted' }, { checkpoints: true })) {
      if (item.type === 'checkpoint') {
        checkpoints++;
        items.push(`checkpoint at ${item.position}`);
        if (checkpoints === 1) await append(2000, 2004);
      } else {
        items.push(`event ${item.event.index}`);
        break;
      }
    }
    const fresh = logged.slice(-4).filter((e) => e.action === 'role.granted');
    expect(fresh.length).toBe(1);
    expect(items).toEqual([`checkpoint at ${logged.at(-5)!.index}`, `checkpoint at ${logged.at(-5)!.index}`, `event ${fresh[0]!.index}`]);
    // The second checkpoint came with its consistency proof: none was fetched.
    expect(fake.proxied.slice(before).filter((p) => p.startsWith('/v1/proof/consistency'))).toEqual([]);
  });

  it('an event whose record has one byte changed fails verification and is never yielded', async () => {
    fake.faults.tamperIndex = logged[5]!.index;
    const seen: number[] = [];
    const err = await failure(
      take(client.tailEvents({}, { after: -1, reconnect: FAST }), logged.length, async (e) => void seen.push(e.index)),
    );
    expect(err).toBeInstanceOf(LogMisbehaviourError);
    expect((err as LogMisbehaviourError).kind).toBe('bad-events');
    expect(seen).toEqual(logged.slice(0, 5).map((e) => e.index));
  });

  it('a checkpoint signed by another key fails before any event', async () => {
    fake.faults.otherKey = true;
    const seen: number[] = [];
    const err = await failure(take(client.tailEvents({}, { after: -1, reconnect: FAST }), 10, async (e) => void seen.push(e.index)));
    expect(err).toBeInstanceOf(LogMisbehaviourError);
    expect((err as LogMisbehaviourError).kind).toBe('bad-signature');
    expect(seen).toEqual([]);
  });

  it('a refused key or query is not retried', async () => {
    for (const [status, type] of [
      [401, AccessDeniedError],
      [400, ArgumentError],
    ] as const) {
      fake.faults.refuseWith = status;
      const before = fake.streams.length;
      expect(await failure(take(client.tailEvents({}, { after: -1, reconnect: FAST }), 1))).toBeInstanceOf(type);
      expect(fake.streams.length - before).toBe(1);
    }
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    const got: number[] = [];
    for await (const e of client.tailEvents({}, { after: logged.at(-3)!.index, signal: controller.signal })) {
      got.push(e.index);
      if (got.length === 2) controller.abort();
    }
    expect(got).toEqual(logged.slice(-2).map((e) => e.index));
  });
});

describe('sinks', () => {
  it('lists the sinks and resumes a dead one', async () => {
    fake.sinks = [
      {
        name: 'siem',
        type: 'webhook',
        url: 'https://siem.example/hook',
        format: 'cloudevents',
        state: 'active',
        cursor: 10,
        treeSize: 12,
        lag: 1,
        delivered: 11,
      },
      {
        name: 'splunk',
        type: 'splunk-hec',
        url: 'https://splunk.example',
        format: 'ndjson',
        state: 'dead',
        cursor: 3,
        treeSize: 12,
        lag: 8,
        delivered: 4,
        lastError: 'POST https://splunk.example/services/collector/event answered 403',
        lastErrorAt: '2026-03-01T10:00:00.000Z',
        deadSince: '2026-03-01T10:00:00.000Z',
      },
    ];
    const admin = new AdminClient({ url: fake.url, apiKey: server.apiKey });
    const list = await admin.sinks();
    expect(list.map((s) => [s.name, s.state, s.lag])).toEqual([
      ['siem', 'active', 1],
      ['splunk', 'dead', 8],
    ]);
    expect((await admin.resumeSink('splunk')).state).toBe('active');
    expect(await failure(admin.resumeSink('nope'))).toBeInstanceOf(NotFoundError);
    expect(() => admin.resumeSink('')).rejects.toThrow(ArgumentError);
  });
});

describe('the CLI', () => {
  let dir: string;
  const logArgs = () => ['--url', fake.url, '--vkey', server.vkey, '--api-key-file', join(server.dataDir, 'admin.key')];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm run build\` first`);
    dir = await mkdtemp(join(tmpdir(), 'tlog-feeds-cli-'));
  });

  it('events export writes every line to a file; cut off, it resumes from the file, each index once', async () => {
    const out = join(dir, 'export.ndjson');
    const indexes = async () =>
      (await readFile(out, 'utf8'))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { index: number }).index);
    fake.faults.cutExportAfter = 50;
    const first = await runTlog(['events', 'export', ...logArgs(), '--out', out, '--verify']);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/export interrupted: .*broke off.*run the same command again/);
    // Whole lines only, a prefix of the events (at most the 50 the fake wrote before it cut).
    const written = await indexes();
    expect(written.length).toBeGreaterThan(0);
    expect(written).toEqual(logged.slice(0, written.length).map((e) => e.index));
    // A crash while writing leaves half a line: the next run drops it and goes on after the last whole one.
    await appendFile(out, '{"index":99999,"leafHash":"AAAA');
    const second = await runTlog(['events', 'export', ...logArgs(), '--out', out, '--verify']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/cut off an unfinished last line of 31 bytes/);
    expect(fake.exports.at(-1)!.query.get('after')).toBe(String(written.at(-1)));
    expect(await indexes()).toEqual(logged.map((e) => e.index));
    expect(second.stderr).toMatch(new RegExp(`exported ${logged.length - written.length} events`));
    // Once complete, running it again adds nothing.
    const third = await runTlog(['events', 'export', ...logArgs(), '--out', out, '--verify']);
    expect(third.code, third.stderr).toBe(0);
    expect(await indexes()).toEqual(logged.map((e) => e.index));
  });

  it('events export --verify fails with exit 3 on a tampered line; to stdout with a filter and a format', async () => {
    fake.faults.tamperIndex = logged[3]!.index;
    const bad = await runTlog(['events', 'export', ...logArgs(), '--out', join(dir, 'bad.ndjson'), '--verify']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/log misbehaviour \(bad-events\)/);
    fake.faults.tamperIndex = undefined;
    const r = await runTlog(['events', 'export', ...logArgs(), '--out', '-', '--actor', 'carol', '--format', 'cloudevents', '--verify']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tlogindex: number; data: { actor: { id: string } } });
    expect(lines.map((l) => l.tlogindex)).toEqual(logged.filter((e) => e.actor === 'carol').map((e) => e.index));
  });

  it('events tail prints each verified event until interrupted, and --json the event line', async () => {
    const after = logged.at(-3)!.index;
    for (const json of [false, true]) {
      const run = runTlog(['events', 'tail', ...logArgs(), '--after', String(after), ...(json ? ['--json'] : [])], {
        interruptAfterMs: 3000,
      });
      const r = await run;
      const lines = r.stdout.trim().split('\n');
      expect(lines.length, r.stderr).toBe(2);
      if (json) expect(lines.map((l) => (JSON.parse(l) as { index: number }).index)).toEqual(logged.slice(-2).map((e) => e.index));
      else expect(lines[0]).toMatch(new RegExp(`^${logged.at(-2)!.index}\\s+\\S+Z\\s+\\S+\\s+user:\\w+`));
      expect(r.code).toBe(0);
    }
  });

  it('sinks lists the sinks as a table or JSON, and sinks resume NAME resumes one', async () => {
    fake.sinks = [
      {
        name: 'siem',
        type: 'webhook',
        url: 'https://siem.example/hook',
        format: 'cloudevents',
        state: 'dead',
        cursor: 10,
        treeSize: 12,
        lag: 1,
        delivered: 11,
        lastError: 'answered 410',
      },
    ];
    const admin = ['--url', fake.url, '--api-key-file', join(server.dataDir, 'admin.key')];
    const table = await runTlog(['sinks', ...admin]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+STATE\s+CURSOR\s+LAG\s+LAST_ERROR\n/);
    expect(table.stdout).toMatch(/siem\s+webhook\s+dead\s+10\s+1\s+answered 410/);
    const json = await runTlog(['sinks', 'list', '--json', ...admin]);
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ name: 'siem', state: 'dead' });
    const resumed = await runTlog(['sinks', 'resume', 'siem', ...admin]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/siem.*active/);
  });
});
