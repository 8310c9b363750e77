/**
 * Feeds end to end on the real server (a child process), read over raw HTTP and checked here
 * independently of the client SDK: every exported line and streamed event recomputes to its leaf
 * hash and is proven in a checkpoint signed by the log's key; `after` and Last-Event-ID resume
 * with no gap and no duplicate, also across a SIGKILL of the server; tenant-bound keys see only
 * their tenant; every export and stream is in the access log; bad input is a 4xx JSON error.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventRecord, eventLeaf } from '@tlog/events';
import {
  defaultHasher,
  fromBase64,
  hashFromBase64,
  openCheckpoint,
  parseVerifierKey,
  toBase64,
  verifyConsistency,
  verifyInclusion,
} from '@tlog/merkle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedServer, spawnServer } from './support/server.js';

/** An exported line or streamed event. */
interface Line {
  index: number;
  leafHash: string;
  record: EventRecord;
  salt: string;
  inclusion?: string[];
}

/** One SSE frame. */
interface Frame {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
}

/** Reads SSE frames from a fetch body. */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const decoder = new TextDecoder();
  let buf = '';
  const reader = body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    buf += decoder.decode(r.value, { stream: true });
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const f: Frame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) f.comment = line.slice(1).trim();
        else {
          const at = line.indexOf(':');
          const name = line.slice(0, at);
          const value = line.slice(at + 1).replace(/^ /, '');
          if (name === 'data') f.data = f.data === undefined ? value : `${f.data}\n${value}`;
          else if (name === 'event' || name === 'id') f[name] = value;
        }
      }
      yield f;
    }
  }
}

function event(i: number, tenant?: string, action = 'doc.read'): Record<string, unknown> {
  return {
    actor: { type: 'user', id: `user-${i % 3}` },
    action,
    targets: [{ type: 'doc', id: `doc-${i}` }],
    outcome: i % 5 === 0 ? 'failure' : 'success',
    occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    ...(tenant !== undefined ? { tenant } : {}),
    metadata: { note: `événement ${i}` },
  };
}

/** Checks a line's commitment and its inclusion in the tree of `checkpoint` (proof fetched unless given). */
async function checkLine(s: SpawnedServer, line: Line, checkpoint: string): Promise<void> {
  const leaf = eventLeaf(line.record, fromBase64(line.salt));
  expect(toBase64(defaultHasher.hashLeaf(leaf.entry))).toBe(line.leafHash);
  const { checkpoint: cp } = openCheckpoint(checkpoint, parseVerifierKey(s.vkey));
  let proof = line.inclusion;
  if (proof === undefined) {
    const r = await fetch(`${s.url}/v1/proof/inclusion?index=${line.index}&treeSize=${cp.size}`);
    proof = ((await r.json()) as { proof: string[] }).proof;
  }
  verifyInclusion(line.index, cp.size, hashFromBase64(line.leafHash), proof.map(hashFromBase64), cp.root);
}

async function post(s: SpawnedServer, events: Record<string, unknown>[], key = s.apiKey): Promise<number[]> {
  const r = await fetch(`${s.url}/v1/events/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { results: { index: number }[] }).results.map((x) => x.index);
}

async function exportLines(s: SpawnedServer, query: string, key = s.apiKey): Promise<{ lines: Line[]; headers: Headers }> {
  const r = await fetch(`${s.url}/v1/events/export?${query}`, { headers: { authorization: `Bearer ${key}` } });
  expect(r.status).toBe(200);
  const text = await r.text();
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return {
    lines: text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line),
    headers: r.headers,
  };
}

async function makeKey(s: SpawnedServer, spec: Record<string, unknown>): Promise<string> {
  const r = await fetch(`${s.url}/v1/admin/keys`, {
    method: 'POST',
    headers: { ...s.auth, 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { key: string }).key;
}

describe('feeds: export and live stream (real server)', () => {
  let s: SpawnedServer;
  let dataDir: string;
  const expected: number[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tlog-feeds-'));
    s = await spawnServer({ dataDir, args: ['--stream-heartbeat-ms', '300'] });
    // Events with raw entries between them, in two tenants.
    expected.push(
      ...(await post(
        s,
        Array.from({ length: 40 }, (_, i) => event(i, i % 2 === 0 ? 'acme' : 'globex')),
      )),
    );
    await fetch(`${s.url}/v1/entries`, { method: 'POST', body: 'a raw entry, not an event' });
    expected.push(
      ...(await post(
        s,
        Array.from({ length: 30 }, (_, i) => event(40 + i, undefined, 'user.login')),
      )),
    );
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('exports every event oldest first, each line verifiable against the checkpoint in the header', async () => {
    const { lines, headers } = await exportLines(s, '');
    expect(lines.map((l) => l.index)).toEqual(expected);
    const size = Number(headers.get('tlog-tree-size'));
    expect(size).toBe(expected.length + 1);
    const checkpoint = Buffer.from(headers.get('tlog-checkpoint')!, 'base64').toString('utf8');
    expect(openCheckpoint(checkpoint, parseVerifierKey(s.vkey)).checkpoint.size).toBe(size);
    for (const l of lines) await checkLine(s, l, checkpoint);
    // Lines are exactly the search's results, records byte for byte.
    const search = await fetch(`${s.url}/v1/events?limit=1000`, { headers: s.auth });
    const page = (await search.json()) as { events: Line[] };
    expect(lines).toEqual(page.events);
  });

  it('resumes with after, applies the search filters and the limit', async () => {
    const after = expected[24]!;
    const { lines } = await exportLines(s, `after=${after}`);
    expect(lines.map((l) => l.index)).toEqual(expected.filter((i) => i > after));
    const failures = await exportLines(s, 'outcome=failure&action=doc.*');
    expect(failures.lines.length).toBe(8);
    for (const l of failures.lines) {
      expect(l.record.outcome).toBe('failure');
      expect(l.record.action).toBe('doc.read');
    }
    const limited = await exportLines(s, 'after=-1&limit=7&tenant=acme');
    expect(limited.lines.map((l) => l.index)).toEqual(expected.slice(0, 14).filter((_, i) => i % 2 === 0));
    const none = await exportLines(s, `after=${expected.at(-1)}`);
    expect(none.lines).toEqual([]);
  });

  it('maps lines to CloudEvents and OCSF with the verifiable fields kept', async () => {
    const ce = await fetch(`${s.url}/v1/events/export?format=cloudevents&limit=3`, { headers: s.auth });
    const ceLines = (await ce.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ceLines.length).toBe(3);
    expect(ceLines[0]!.specversion).toBe('1.0');
    expect(ceLines[0]!.tlogindex).toBe(expected[0]);
    const ocsf = await fetch(`${s.url}/v1/events/export?format=ocsf&limit=3`, { headers: s.auth });
    const oLines = (await ocsf.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number; unmapped: { tlog: Line } });
    expect(oLines.map((l) => l.class_uid)).toEqual([6003, 6003, 6003]);
    expect(oLines[1]!.unmapped.tlog.index).toBe(expected[1]);
  });

  it('answers HEAD with what an export would cover, holding no export slot', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${s.url}/v1/events/export`, { method: 'HEAD', headers: s.auth });
      expect(r.status).toBe(200);
      expect(Number(r.headers.get('tlog-tree-size'))).toBeGreaterThan(expected.at(-1)!);
      const h = await fetch(`${s.url}/v1/events/stream`, { method: 'HEAD', headers: s.auth });
      expect(h.headers.get('content-type')).toMatch(/^text\/event-stream/);
    }
    // More than --max-exports (16) HEADs, and an export is still served.
    expect((await exportLines(s, 'limit=1')).lines.length).toBe(1);
  });

  it('holds a tenant-bound key to its tenant', async () => {
    const acme = await makeKey(s, { name: 'acme reader', scopes: ['events:read'], tenant: 'acme' });
    const { lines } = await exportLines(s, '', acme);
    expect(lines.length).toBe(20);
    for (const l of lines) expect(l.record.tenant).toBe('acme');
    const other = await fetch(`${s.url}/v1/events/export?tenant=globex`, { headers: { authorization: `Bearer ${acme}` } });
    expect(other.status).toBe(403);
    const stream = await fetch(`${s.url}/v1/events/stream?tenant=globex`, { headers: { authorization: `Bearer ${acme}` } });
    expect(stream.status).toBe(403);
    // Its stream replays only its tenant's events.
    const ac = new AbortController();
    const r = await fetch(`${s.url}/v1/events/stream?after=-1`, { headers: { authorization: `Bearer ${acme}` }, signal: ac.signal });
    const got: Line[] = [];
    for await (const f of frames(r.body!)) {
      if (f.event === 'event') got.push(JSON.parse(f.data!) as Line);
      if (got.length === 20) break;
    }
    ac.abort();
    expect(got.map((l) => l.record.tenant)).toEqual(Array(20).fill('acme'));
  });

  it('refuses bad input and missing keys with a JSON error and streams nothing', async () => {
    const cases: [string, Record<string, string>, number][] = [
      ['/v1/events/export?format=xml', s.auth, 400],
      ['/v1/events/export?after=-2', s.auth, 400],
      ['/v1/events/export?after=01', s.auth, 400],
      ['/v1/events/export?outcome=maybe', s.auth, 400],
      ['/v1/events/export?since=yesterday', s.auth, 400],
      ['/v1/events/export?colour=red', s.auth, 400],
      ['/v1/events/export', {}, 401],
      ['/v1/events/stream', {}, 401],
      ['/v1/events/stream?after=x', s.auth, 400],
      ['/v1/events/stream', { ...s.auth, 'last-event-id': 'zz' }, 400],
      ['/v1/events/stream', { ...s.auth, 'last-event-id': '99999' }, 400],
    ];
    for (const [path, headers, status] of cases) {
      const r = await fetch(`${s.url}${path}`, { headers });
      expect([path, r.status]).toEqual([path, status]);
      expect(r.headers.get('content-type')).toMatch(/application\/json/);
      expect(typeof ((await r.json()) as { error: unknown }).error).toBe('string');
    }
    const badAfter = await fetch(`${s.url}/v1/events/export?after=abc`, { headers: s.auth });
    expect(((await badAfter.json()) as { error: string }).error).toMatch(/"after".*-1 or an event index/);
    const writer = await makeKey(s, { name: 'writer', scopes: ['events:write'] });
    const r = await fetch(`${s.url}/v1/events/export`, { headers: { authorization: `Bearer ${writer}` } });
    expect(r.status).toBe(403);
    const post = await fetch(`${s.url}/v1/events/export`, { method: 'POST', headers: s.auth });
    expect(post.status).toBe(405);
  });

  it('streams checkpoints and events with proofs, resumes by Last-Event-ID with no gap and no duplicate', async () => {
    const verifier = parseVerifierKey(s.vkey);
    const seen: number[] = [];
    let lastId: string | undefined;
    let announced: { size: number; root: Uint8Array } | undefined;
    let heartbeats = 0;
    /** Reads the stream until `stop` says so, checking every frame. */
    const read = async (headers: Record<string, string>, query: string, stop: () => boolean) => {
      const ac = new AbortController();
      const r = await fetch(`${s.url}/v1/events/stream?proofs=1${query}`, { headers: { ...s.auth, ...headers }, signal: ac.signal });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      try {
        for await (const f of frames(r.body!)) {
          if (f.comment === 'heartbeat') heartbeats++;
          if (f.id !== undefined) lastId = f.id;
          if (f.event === 'checkpoint') {
            const data = JSON.parse(f.data!) as { size: number; checkpoint: string; from?: number; consistency?: string[] };
            const { checkpoint } = openCheckpoint(data.checkpoint, verifier);
            expect(checkpoint.size).toBe(data.size);
            // The id is what was delivered before: everything matching up to it.
            expect(Number(f.id)).toBeGreaterThanOrEqual(seen.at(-1) ?? -1);
            if (announced !== undefined && data.from !== undefined) {
              expect(data.from).toBe(announced.size);
              verifyConsistency(announced.size, checkpoint.size, data.consistency!.map(hashFromBase64), announced.root, checkpoint.root);
            }
            announced = { size: checkpoint.size, root: checkpoint.root };
          } else if (f.event === 'event') {
            const line = JSON.parse(f.data!) as Line;
            expect(f.id).toBe(String(line.index));
            expect(line.index).toBeLessThan(announced!.size);
            const leaf = eventLeaf(line.record, fromBase64(line.salt));
            expect(toBase64(defaultHasher.hashLeaf(leaf.entry))).toBe(line.leafHash);
            verifyInclusion(
              line.index,
              announced!.size,
              hashFromBase64(line.leafHash),
              line.inclusion!.map(hashFromBase64),
              announced!.root,
            );
            seen.push(line.index);
          }
          if (stop()) break;
        }
      } finally {
        ac.abort();
      }
    };
    // The first connection replays from the start and is dropped after 25 events.
    await read({}, '&after=-1', () => seen.length === 25);
    expect(lastId).toBe(String(seen.at(-1)));
    // More events while nobody listens; then resume, and see new ones live.
    const more = await post(
      s,
      Array.from({ length: 10 }, (_, i) => event(100 + i)),
    );
    announced = undefined;
    const live = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      return post(
        s,
        Array.from({ length: 5 }, (_, i) => event(200 + i)),
      );
    })();
    await read({ 'last-event-id': lastId! }, '', () => seen.length === expected.length + 15);
    const livePosted = await live;
    expect(seen).toEqual([...expected, ...more, ...livePosted]);
    // Resuming from the last checkpoint's id (no event since) gives nothing twice, and heartbeats keep it open.
    heartbeats = 0;
    const before = seen.length;
    await read({ 'last-event-id': String(seen.at(-1)) }, '', () => heartbeats >= 2);
    expect(seen.length).toBe(before);
  });

  it('records every export and stream in the access log', async () => {
    const r = await fetch(`${s.url}/access/v1/events?action=events.*&limit=1000`, { headers: s.auth });
    const page = (await r.json()) as { events: Line[] };
    const actions = page.events.map((e) => e.record.action);
    expect(actions).toContain('events.export');
    expect(actions).toContain('events.stream');
    const refused = page.events.find(
      (e) => e.record.action === 'events.export' && (e.record.metadata as { status?: number } | undefined)?.status === 403,
    );
    expect(refused).toBeDefined();
    const tenantExport = page.events.find((e) => e.record.action === 'events.export' && e.record.tenant === 'acme');
    expect(tenantExport).toBeDefined();
  });

  it('loses nothing when the server is killed mid-export and mid-stream', async () => {
    const all = (await exportLines(s, '')).lines.map((l) => l.index);
    // A slow export: read a few lines, then the server dies.
    const ac = new AbortController();
    const r = await fetch(`${s.url}/v1/events/export?limit=1000`, { headers: s.auth, signal: ac.signal });
    const reader = r.body!.getReader();
    const first = await reader.read();
    const partial = new TextDecoder().decode(first.value);
    const got = partial
      .split('\n')
      .slice(0, -1)
      .map((l) => (JSON.parse(l) as Line).index);
    // A stream that has seen the first events.
    const sr = await fetch(`${s.url}/v1/events/stream?after=-1`, { headers: s.auth });
    const streamed: number[] = [];
    let last = '-1';
    const it = frames(sr.body!);
    for (let n = await it.next(); !n.done; n = await it.next()) {
      if (n.value.id !== undefined) last = n.value.id;
      if (n.value.event === 'event') streamed.push((JSON.parse(n.value.data!) as Line).index);
      if (streamed.length === 10) break;
    }
    await s.kill();
    await reader.cancel().catch(() => {});
    s = await spawnServer({ dataDir, args: ['--stream-heartbeat-ms', '300'] });
    const after = got.length === 0 ? -1 : got.at(-1)!;
    const rest = (await exportLines(s, `after=${after}`)).lines.map((l) => l.index);
    expect([...got, ...rest]).toEqual(all);
    const ac2 = new AbortController();
    const again = await fetch(`${s.url}/v1/events/stream`, { headers: { ...s.auth, 'last-event-id': last }, signal: ac2.signal });
    for await (const f of frames(again.body!)) {
      if (f.event === 'event') streamed.push((JSON.parse(f.data!) as Line).index);
      if (streamed.length === all.length) break;
    }
    ac2.abort();
    expect(streamed).toEqual(all);
  });

  it('tells a stream where to resume when the server shuts down', async () => {
    const r = await fetch(`${s.url}/v1/events/stream`, { headers: s.auth });
    const it = frames(r.body!);
    let first = await it.next();
    while (first.value?.event === undefined) first = await it.next();
    expect(first.value?.event).toBe('checkpoint');
    const stopped = s.stop();
    let closing: Frame | undefined;
    for (let n = await it.next(); !n.done; n = await it.next()) {
      if (n.value.event === 'closing') closing = n.value;
    }
    expect(await stopped).toBe(0);
    expect(JSON.parse(closing!.data!)).toEqual({ after: Number(first.value!.id) });
    s = await spawnServer({ dataDir });
  });
});
