/**
 * Audit events benchmark, beside server.bench.ts and on the same harness: the log server and the
 * load generator (load.mjs, autocannon) each run as a child process, every log has a fresh data
 * directory, and each ratio is two measurements in this one run. The events are realistic and
 * distinct (event-gen.mjs: about 440 bytes of JSON, 1-2 targets, context, small metadata).
 *
 *   pnpm --filter @tlog/server exec tsx bench/events.bench.ts
 *   BENCH_QUICK=1 BENCH_PHASES=events-search pnpm --filter @tlog/server exec tsx bench/events.bench.ts
 *
 * Phases:
 * - events-single: POST /v1/events, 64 connections, one distinct event per request, against
 *   POST /v1/entries with the same JSON as a raw entry under the same load (goal: >= 0.8x).
 * - events-batch: POST /v1/events/batch, 1,000 events per request, 4 connections, each answer
 *   checked to hold 1,000 results (goal: >= 50,000 events/s).
 * - events-search: a log of 1M events (200k quick) loaded through the batch API, where 16 needle
 *   actors have 100 events each and one action 10% of them; then search latency, sequential (one
 *   request at a time, from this process) and with autocannon at 4 connections, for the
 *   selective query (`actor`, goal p99 <= 20 ms), the first page of the broad one (`action`) and
 *   20 pages of it followed by cursor; every answer checked. Then the data directory's bytes per
 *   event, the server stopped.
 * - events-raw-bytes: the same number of the same JSON texts as raw entries, bytes per entry.
 * BENCH_QUICK=1 runs 5 s loads and a 200k-event log. A full run takes about 5.5 minutes on the
 * 2-core development machine, 3.6 of them loading the 1M events (about 4,600 events/s); a quick
 * one about 1.5. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the servers.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { EVENTS_BATCH_MAX } from '../src/routes/events.js';
import { BROAD_ACTION, eventGenerator, NEEDLE_ACTORS, NEEDLE_EVENTS, needleActor } from './event-gen.mjs';
import {
  comparedRows,
  DURATION,
  dirBytes,
  failures,
  fillEvents,
  fmt,
  HEAP_MB,
  type LoadResult,
  type LogServer,
  latency,
  load,
  logServer,
  phases,
  printTable,
  QUICK,
  type Row,
  rssOf,
  settle,
  withTempDir,
} from './harness.js';

const PHASES = phases('events-single,events-batch,events-search,events-raw-bytes');
const LOG_SIZE = QUICK ? 200_000 : 1_000_000;
/** Sequential requests per measured search query (after WARMUP_REQUESTS unmeasured ones). */
const SEQUENTIAL = QUICK ? 300 : 1000;
const WARMUP_REQUESTS = 50;
/** Pages of the broad query walked by cursor, and how many such walks. */
const WALK_PAGES = 20;
const WALKS = QUICK ? 5 : 10;
/** The seed of the search log's events (the raw-bytes log repeats them). */
const LOG_SEED = 1;
const PAGE = 100;

const rows: Row[] = [];
const started = performance.now();
/** The machine's load when the bench starts: other work on it skews every figure. */
const loadAtStart = loadavg()[0]!;

interface SearchPage {
  events: { index: number; record: { action: string; actor: { id: string } } }[];
  next?: string;
}

async function phaseSingle(): Promise<void> {
  const spec = { connections: 64, duration: DURATION, method: 'POST' } as const;
  const raw = await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const r = await load({ ...spec, url: s.url, path: '/v1/entries', body: 'event-raw', headers: s.auth });
    await s.stop();
    return r;
  });
  const events = await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const r = await load({ ...spec, url: s.url, path: '/v1/events', body: 'event', headers: s.auth });
    await s.stop();
    return r;
  });
  rows.push(
    ...comparedRows({
      name: 'single POST /v1/events vs /v1/entries (64 conns, one event)',
      unit: 'events/s',
      ours: events,
      other: raw,
      otherName: 'raw',
      otherUnit: 'entries/s',
      target: 'goal >= 0.8; raw: the same JSON as one raw entry',
    }),
  );
}

async function phaseBatch(): Promise<void> {
  await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const r = await load({
      url: s.url,
      connections: 4,
      duration: DURATION,
      method: 'POST',
      path: '/v1/events/batch',
      body: 'events',
      bundleEntries: EVENTS_BATCH_MAX,
      expect: { field: 'results', length: EVENTS_BATCH_MAX },
      headers: s.auth,
    });
    await s.stop();
    rows.push({
      name: `batch POST /v1/events/batch (${fmt(EVENTS_BATCH_MAX)} events, 4 conns)`,
      ours: `${fmt(((r.requests.total - r.non2xx - r.mismatches) * EVENTS_BATCH_MAX) / r.duration)} events/s`,
      note: ['goal >= 50,000', `latency p50 / p99 ${latency(r)}`, failures(r)].filter(Boolean).join('; '),
    });
  });
}

/** The q-quantile of `sorted` (ascending). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
/** p50 / p99 / max of latencies. */
function spread(latencies: readonly number[]): string {
  const s = [...latencies].sort((a, b) => a - b);
  return `${ms(quantile(s, 0.5))} / ${ms(quantile(s, 0.99))} / ${ms(s[s.length - 1]!)}`;
}

/** GETs `path` with the admin key; its wall time to the last byte, and the page (decoded after the clock stops). */
async function timedPage(s: LogServer, path: string): Promise<{ ms: number; page: SearchPage }> {
  const t0 = performance.now();
  const res = await fetch(`${s.url}${path}`, { headers: s.auth });
  const text = await res.text();
  const took = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return { ms: took, page: JSON.parse(text) as SearchPage };
}

/** Throws unless `page` holds `n` events, each passing `ok`, in increasing index order after `after`. */
function checkPage(page: SearchPage, n: number, ok: (e: SearchPage['events'][number]) => boolean, what: string, after = -1): void {
  if (page.events.length !== n) throw new Error(`${what}: ${page.events.length} events, expected ${n}`);
  let last = after;
  for (const e of page.events) {
    if (!ok(e)) throw new Error(`${what}: event ${e.index} does not match: ${JSON.stringify(e.record)}`);
    if (e.index <= last) throw new Error(`${what}: event ${e.index} after ${last}, not in log order`);
    last = e.index;
  }
}

/** One query measured sequentially (warm-up first) and at 4 connections; two rows. */
async function measureQuery(
  s: LogServer,
  name: string,
  paths: readonly string[],
  check: (page: SearchPage, path: string) => void,
  goal: string,
): Promise<void> {
  const latencies: number[] = [];
  for (let i = 0; i < WARMUP_REQUESTS + SEQUENTIAL; i++) {
    const path = paths[i % paths.length]!;
    const r = await timedPage(s, path);
    check(r.page, path);
    if (i >= WARMUP_REQUESTS) latencies.push(r.ms);
  }
  rows.push({
    name: `${name}, sequential`,
    ours: spread(latencies),
    note: `${fmt(SEQUENTIAL)} requests after ${WARMUP_REQUESTS} unmeasured; p50 / p99 / max; ${goal}`,
  });
  const r: LoadResult = await load({
    url: s.url,
    connections: 4,
    duration: DURATION,
    method: 'GET',
    path: paths[0]!,
    paths,
    expect: { field: 'events', length: PAGE },
    headers: s.auth,
  });
  rows.push({
    name: `${name}, 4 conns`,
    ours: latency(r),
    note: [`${fmt(r.requests.average)} req/s; p50 / p99 (autocannon, whole ms)`, failures(r)].filter(Boolean).join('; '),
  });
}

async function phaseSearch(): Promise<void> {
  await withTempDir(async (dir) => {
    const s = await logServer(dir);
    let peak = 0;
    const timer = setInterval(() => {
      void rssOf(s.child.pid!).then(
        (r) => (peak = Math.max(peak, r)),
        () => {},
      );
    }, 200);
    const f = await fillEvents(s.url, s.auth, { seed: LOG_SEED, total: LOG_SIZE });
    clearInterval(timer);
    rows.push({
      name: `load ${fmt(LOG_SIZE)} events via batch (1,000 a request, 4 at a time, fetch)`,
      ours: `${fmt(LOG_SIZE / f.seconds)} events/s`,
      note: `${f.seconds.toFixed(1)} s; peak RSS ${(peak / 1048576).toFixed(0)} MB${HEAP_MB > 0 ? ` (heap cap ${HEAP_MB} MB)` : ''}; ${fmt(f.broad)} events of ${BROAD_ACTION}`,
    });
    const idle = await settle(s.child.pid!);
    rows.push({ name: '  server idle again after the load (compactions)', ours: `${idle.toFixed(1)} s` });

    // The floor under every search figure: one small GET, as measured here (HTTP, fetch, jitter).
    const floor: number[] = [];
    for (let i = 0; i < WARMUP_REQUESTS + SEQUENTIAL; i++) {
      const t0 = performance.now();
      const res = await fetch(`${s.url}/checkpoint`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /checkpoint answered ${res.status}`);
      if (i >= WARMUP_REQUESTS) floor.push(performance.now() - t0);
    }
    rows.push({
      name: 'GET /checkpoint, sequential (the floor: HTTP, fetch, this machine)',
      ours: spread(floor),
      note: `${fmt(SEQUENTIAL)} requests; p50 / p99 / max`,
    });

    // (a) selective: the 100 events of one of the needle actors, in turn.
    const needles = Array.from({ length: NEEDLE_ACTORS }, (_, k) => needleActor(k));
    const needlePath = (actor: string) => `/v1/events?actor=${actor}&limit=${PAGE}`;
    await measureQuery(
      s,
      `search ?actor=<one of ${NEEDLE_ACTORS} ${NEEDLE_EVENTS}-event actors>&limit=${PAGE}`,
      needles.map(needlePath),
      (page, path) => {
        const actor = needles.find((a) => needlePath(a) === path)!;
        checkPage(page, NEEDLE_EVENTS, (e) => e.record.actor.id === actor, path);
      },
      'goal p99 <= 20 ms',
    );

    // (b) broad: the first page of the action that 10% of the events have.
    const broadPath = `/v1/events?action=${BROAD_ACTION}&limit=${PAGE}`;
    const isBroad = (e: SearchPage['events'][number]) => e.record.action === BROAD_ACTION;
    await measureQuery(
      s,
      `search ?action=<${fmt(f.broad)} events>&limit=${PAGE}, first page`,
      [broadPath],
      (page) => checkPage(page, PAGE, isBroad, broadPath),
      'no goal',
    );

    // (c) the broad query's later pages, by cursor.
    const perPage: number[] = [];
    const firstWalk: number[] = [];
    for (let w = 0; w < WALKS; w++) {
      let path = broadPath;
      let last = -1;
      for (let p = 0; p < WALK_PAGES; p++) {
        const r = await timedPage(s, path);
        checkPage(r.page, PAGE, isBroad, `page ${p + 1}`, last);
        last = r.page.events[PAGE - 1]!.index;
        if (r.page.next === undefined) throw new Error(`page ${p + 1} of ${broadPath} has no next`);
        path = `${broadPath}&cursor=${encodeURIComponent(r.page.next)}`;
        if (p > 0) (w === 0 ? firstWalk : perPage).push(r.ms);
      }
    }
    rows.push({
      name: `  pages 2-${WALK_PAGES} by cursor, first walk`,
      ours: spread(firstWalk),
      note: `${WALK_PAGES - 1} pages, each ${PAGE} events checked; p50 / p99 / max`,
    });
    rows.push({
      name: `  pages 2-${WALK_PAGES} by cursor, ${WALKS - 1} walks more`,
      ours: spread(perPage),
      note: `${fmt(perPage.length)} pages; p50 / p99 / max`,
    });

    await s.stop();
    const db = await dirBytes(join(dir, 'db'));
    const all = await dirBytes(dir);
    rows.push({
      name: `bytes per event, ${fmt(LOG_SIZE)}-event log (db dir, server stopped)`,
      ours: `${fmt(db.bytes / LOG_SIZE)} B`,
      note: `${(db.bytes / 1048576).toFixed(0)} MB in ${fmt(db.files)} files; data dir ${(all.bytes / 1048576).toFixed(0)} MB`,
    });
  });
}

/** The events' JSON texts as raw entries: entry-bundle encoded (uint16 length, bytes), `n` at a time. */
function rawBundle(gen: ReturnType<typeof eventGenerator>, n: number): Buffer {
  const texts = Array.from({ length: n }, () => Buffer.from(gen.next()));
  const out = Buffer.alloc(texts.reduce((sum, t) => sum + 2 + t.length, 0));
  let o = 0;
  for (const t of texts) {
    out.writeUInt16BE(t.length, o);
    t.copy(out, o + 2);
    o += 2 + t.length;
  }
  return out;
}

async function phaseRawBytes(): Promise<void> {
  await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const info = (await (await fetch(`${s.url}/v1/log`)).json()) as { maxBatchEntries: number };
    const per = Math.min(info.maxBatchEntries, 4096); // 4,096 texts of at most 513 bytes: about 2 MB, under the 4 MiB body limit
    const gen = eventGenerator({ seed: LOG_SEED, logSize: LOG_SIZE });
    let text = 0;
    while (gen.counts.events < LOG_SIZE) {
      const body = rawBundle(gen, Math.min(per, LOG_SIZE - gen.counts.events));
      text += body.length;
      const res = await fetch(`${s.url}/v1/entries/batch`, {
        method: 'POST',
        body: body as BodyInit,
        headers: { 'content-type': 'application/octet-stream', ...s.auth },
      });
      if (res.status !== 200) throw new Error(`entries batch answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    await s.stop();
    const db = await dirBytes(join(dir, 'db'));
    rows.push({
      name: `bytes per raw entry, ${fmt(LOG_SIZE)} entries of the same JSON (db dir)`,
      ours: `${fmt(db.bytes / LOG_SIZE)} B`,
      note: `the JSON averages ${fmt(text / LOG_SIZE - 2)} B; ${(db.bytes / 1048576).toFixed(0)} MB in ${fmt(db.files)} files`,
    });
  });
}

if (PHASES.has('events-single')) await phaseSingle();
if (PHASES.has('events-batch')) await phaseBatch();
if (PHASES.has('events-search')) await phaseSearch();
if (PHASES.has('events-raw-bytes')) await phaseRawBytes();

printTable(
  `tlog events benchmark (${QUICK ? 'quick' : 'full'}; node ${process.version}; ${((performance.now() - started) / 1000).toFixed(0)} s; load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end)`,
  { name: 'benchmark', ours: 'events', bare: 'raw entries', ratio: 'events/raw', note: 'goal, notes' },
  rows,
);
