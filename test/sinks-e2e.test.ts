/**
 * Sinks end to end: the real server (a child process) with --sinks-file naming three sinks that
 * push to real receivers started here: a Standard Webhooks endpoint verifying every signature,
 * a Splunk HEC endpoint checking the token and parsing the concatenated event objects, and a TCP
 * syslog server parsing RFC 5424 octet-counted frames (in the cloudevents, ocsf and ndjson formats).
 * Every receiver must end with every event, in order, each with its index and leafHash (which its
 * record and salt must make); at least once (a re-delivered suffix after a crash
 * or a timeout), nothing missing. The server is SIGKILLed in the middle of delivery and restarted
 * on the same data directory; a receiver refusing a batch makes its sink dead until resumed; one
 * failing with 503 for a while gets everything after. The waits poll; nothing is timed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atLeastOnceInOrder, HecReceiver, type Received, SyslogReceiver, WebhookReceiver } from './support/receivers.js';
import { type SpawnedServer, spawnServer, tempDataDir } from './support/server.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const TOKEN = 'e2e-hec-token-0f9a';
const JSON_TYPE = { 'content-type': 'application/json' };

interface SinkView {
  readonly name: string;
  readonly state: string;
  readonly cursor: number;
  readonly treeSize: number;
  readonly lag: number;
  readonly delivered: number;
  readonly lastError?: string;
  readonly deadSince?: string;
}

/** Polls `check` until it returns true (or throws after `ms`, saying what it waited for). */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 45_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('sinks end to end (real server, real receivers)', () => {
  const hook = new WebhookReceiver(SECRET);
  const hec = new HecReceiver(TOKEN);
  const syslog = new SyslogReceiver();
  const receivers = { hook, hec, syslog } as const;
  let dataDir: string;
  let sinksFile: string;
  let s: SpawnedServer;
  /** The leaf hash of every event posted, by index. */
  const posted = new Map<number, string>();
  let round = 0;

  const start = async () => {
    s = await spawnServer({ dataDir, args: ['--sinks-file', sinksFile] });
  };
  const sinks = async (): Promise<SinkView[]> => {
    const res = await fetch(`${s.url}/v1/sinks`, { headers: s.auth });
    expect(res.status).toBe(200);
    return ((await res.json()) as { sinks: SinkView[] }).sinks;
  };
  const sink = async (name: string) => (await sinks()).find((x) => x.name === name)!;

  /** Posts `n` events (in batches of 10) and notes their indexes and leaf hashes. */
  async function post(n: number): Promise<void> {
    round++;
    for (let done = 0; done < n; done += 10) {
      const batch = Array.from({ length: Math.min(10, n - done) }, (_, i) => ({
        action: ['user.login', 'doc.read', 'role.granted'][i % 3],
        actor: { type: 'user', id: `user:${i % 4}` },
        outcome: i % 5 === 0 ? 'failure' : 'success',
        occurred_at: new Date(Date.UTC(2026, 1, 1, 0, round, done + i)).toISOString(),
        tenant: i % 2 === 0 ? 'acme' : 'glo"bex]',
        metadata: { round, i: done + i, text: 'h\u00e9llo \u{1f600}' },
      }));
      const res = await fetch(`${s.url}/v1/events/batch`, {
        method: 'POST',
        headers: { ...JSON_TYPE, ...s.auth },
        body: JSON.stringify(batch),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      for (const r of ((await res.json()) as { results: { index: number; leafHash: string }[] }).results) posted.set(r.index, r.leafHash);
    }
  }

  const want = () => [...posted.keys()].sort((a, b) => a - b);
  const complete = (r: { indexes(): number[] }) =>
    new Set(r.indexes()).size >= posted.size && atLeastOnceInOrder(r.indexes(), want()) === undefined;

  /** Every receiver has every event posted, in order, at least once, with the right leaf hash, and saw nothing malformed. */
  async function everyReceiverHasEverything(): Promise<void> {
    for (const [name, r] of Object.entries(receivers)) {
      await until(
        `${name} has all ${posted.size} events (has ${new Set(r.indexes()).size}; ${atLeastOnceInOrder(r.indexes(), want())})`,
        () => complete(r),
      );
      expect(atLeastOnceInOrder(r.indexes(), want()), name).toBeUndefined();
      const wrong = r.received.filter((x: Received) => posted.get(x.index) !== x.leafHash);
      expect(wrong, `${name}: events whose leafHash is not the log's`).toEqual([]);
      expect(r.problems, name).toEqual([]);
    }
  }

  beforeAll(async () => {
    await Promise.all([hook.start(), hec.start(), syslog.start()]);
    dataDir = await tempDataDir();
    sinksFile = join(await mkdtemp(join(tmpdir(), 'tlog-sinks-e2e-')), 'sinks.json');
    const common = { batch: { maxEvents: 7, maxMs: 20 }, retry: { initialMs: 10, maxMs: 200, deadAfterMs: 600_000 }, timeoutMs: 2000 };
    await writeFile(
      sinksFile,
      JSON.stringify({
        sinks: [
          { name: 'hook', type: 'webhook', url: `${hook.url}/hook`, secret: SECRET, format: 'cloudevents', ...common },
          { name: 'hec', type: 'splunk-hec', url: hec.url, token: TOKEN, index: 'audit', format: 'ocsf', ...common },
          { name: 'syslog', type: 'syslog', address: `tcp://127.0.0.1:${syslog.port}`, hostname: 'tlog-e2e', ...common },
        ],
      }),
    );
    await start();
  });
  afterAll(async () => {
    await s?.stop();
    await Promise.all([hook.stop(), hec.stop(), syslog.stop()]);
  });

  it('delivers every event to every receiver, in order, with its index and leaf hash', async () => {
    await post(30);
    await everyReceiverHasEverything();
    // The receivers' own checks: Standard Webhooks signatures, the HEC envelope, RFC 5424 frames.
    expect(hook.ids.every((id) => /^hook_\d+_\d+$/.test(id))).toBe(true);
    expect(hec.envelopes.every((e) => e.index === 'audit' && e.sourcetype === 'tlog:ocsf')).toBe(true);
    const m = syslog.messages[0]!;
    expect(m).toMatchObject({ version: 1, hostname: 'tlog-e2e', appName: 'tlog', msgId: 'user.login' });
    expect(m.pri).toBe(13 * 8 + 4); // the first event is a failure: log audit, warning
    expect(syslog.messages.some((x) => x.sd[0]!.params.tenant === 'glo"bex]')).toBe(true);
    await until('every sink is caught up', async () => (await sinks()).every((x) => x.state === 'active' && x.lag === 0));
    expect((await sinks()).map((x) => [x.name, x.cursor, x.treeSize])).toEqual([
      ['hook', 29, 30],
      ['hec', 29, 30],
      ['syslog', 29, 30],
    ]);
  });

  it('records one access event per batch, by the sink, naming the events', async () => {
    const res = await fetch(`${s.url}/access/v1/events?action=sinks.deliver&limit=1000`, { headers: s.auth });
    expect(res.status).toBe(200);
    const found = (
      (await res.json()) as { events: { record: { actor: { type: string; id: string }; metadata: Record<string, number | string> } }[] }
    ).events;
    for (const name of ['hook', 'hec', 'syslog']) {
      const mine = found.filter((e) => e.record.actor.id === `sink:${name}`);
      expect(mine.length, name).toBeGreaterThanOrEqual(Math.ceil(30 / 7));
      expect(mine.every((e) => e.record.actor.type === 'system' && e.record.metadata.sink === name)).toBe(true);
      const covered = new Set(
        mine.flatMap((e) =>
          Array.from(
            { length: Number(e.record.metadata.last) - Number(e.record.metadata.first) + 1 },
            (_, i) => Number(e.record.metadata.first) + i,
          ),
        ),
      );
      for (let i = 0; i < 30; i++) expect(covered.has(i), `${name} ${i}`).toBe(true);
    }
  });

  it('delivers everything after a SIGKILL in the middle of delivery and a restart on the same data', async () => {
    hook.behaviour = { status: 503 };
    hec.behaviour = { delayMs: 150 };
    syslog.pause();
    const before = posted.size;
    await post(40);
    // In the middle: the slow HEC receiver has some of the new events, not all of them.
    await until('hec got part of the new events', () => hec.indexes().some((i) => i >= before));
    await until('the webhook was refused at least once', () => hook.failed > 0);
    await s.kill();
    hook.behaviour = {};
    hec.behaviour = {};
    syslog.resume();
    await start();
    await everyReceiverHasEverything();
    await until('every sink is caught up', async () => (await sinks()).every((x) => x.state === 'active' && x.lag === 0));
  });

  it('makes a sink dead when its receiver refuses a batch, says why, and resume continues from its cursor', async () => {
    hook.behaviour = { status: 400 };
    await post(5);
    await until('the hook sink is dead', async () => (await sink('hook')).state === 'dead');
    const dead = await sink('hook');
    expect(dead.lastError).toMatch(/the receiver answered 400/);
    expect(dead.deadSince).toBeDefined();
    expect(dead.lag).toBeGreaterThan(0);
    await until('the error is logged', () => /sink hook is dead/.test(s.stderr()));
    // The others go on.
    await until('hec has everything', () => complete(hec));
    hook.behaviour = {};
    const resumed = await fetch(`${s.url}/v1/sinks/hook/resume`, { method: 'POST', headers: s.auth });
    expect(resumed.status).toBe(200);
    expect(((await resumed.json()) as SinkView).state).toBe('active');
    await everyReceiverHasEverything();
    expect((await sink('hook')).state).toBe('active');
  });

  it('retries a receiver that answers 503 for a while, and it then gets everything', async () => {
    hec.behaviour = { status: 503, times: 4 };
    const failedBefore = hec.failed;
    await post(12);
    await everyReceiverHasEverything();
    expect(hec.failed - failedBefore).toBe(4);
    const h = await sink('hec');
    expect(h).toMatchObject({ state: 'active', lag: 0 });
    expect(h.lastError).toMatch(/503/);
  });

  it('needs a key with sinks:admin', async () => {
    expect((await fetch(`${s.url}/v1/sinks`)).status).toBe(401);
    const made = await fetch(`${s.url}/v1/admin/keys`, {
      method: 'POST',
      headers: { ...JSON_TYPE, ...s.auth },
      body: JSON.stringify({ name: 'reader', scopes: ['events:read'] }),
    });
    expect(made.status).toBe(201);
    const reader = ((await made.json()) as { key: string }).key;
    const refused = await fetch(`${s.url}/v1/sinks`, { headers: { authorization: `Bearer ${reader}` } });
    expect(refused.status).toBe(403);
    expect((await fetch(`${s.url}/v1/sinks/hook/resume`, { method: 'POST', headers: { authorization: `Bearer ${reader}` } })).status).toBe(
      403,
    );
  });
});
