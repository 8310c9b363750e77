/**
 * Log server benchmark. Every process has its own event loop: the servers (the log server, and a
 * bare Hono server as the baseline) run as child processes, and so does the load generator
 * (load.mjs, autocannon) and the audited CLI. Each ratio is two measurements in this one run.
 *
 *   pnpm --filter @tlog/server bench                 # all phases
 *   BENCH_PHASES=single,batch BENCH_QUICK=1 pnpm ... # a subset, smaller
 *
 * Phases:
 * - single: POST /v1/entries, 64 connections, a unique 200-byte body per request, with the
 *   admin key (auth on, the default); bare Hono under the same load first.
 * - batch: POST /v1/entries/batch with the largest batch the server allows by default.
 * - proof: GET /v1/proof/inclusion at random indexes of a 1M-entry log vs a bare Hono GET, each
 *   after a 3 s warm-up.
 * - rss: peak RSS while ingesting 5M entries; restart time to the first served request.
 * - audit: `tlog audit` of a 1M-entry log, entries verified per second.
 * BENCH_QUICK=1 runs 5 s loads and 200k-entry logs (1M for rss).
 *
 * harness.ts holds what this and events.bench.ts (audit events) share: the child processes, the
 * log server, the load generator and the table.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  comparedRows,
  DURATION,
  failures,
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
  runToEnd,
  start,
  withTempDir,
} from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const BARE = join(here, 'bare.mjs');
const CLI = resolve(here, '../../cli/dist/cli.js');
const PHASES = phases('single,batch,proof,rss,audit');
const LOG_SIZE = QUICK ? 200_000 : 1_000_000;
const ENTRY_SIZE = 200;
const octet = { 'content-type': 'application/octet-stream' };

const rows: Row[] = [];

/** The largest batch the server takes: its entry limit, or fewer if the body limit binds first. */
async function maxBatch(url: string): Promise<number> {
  const log = (await (await fetch(`${url}/v1/log`)).json()) as { maxBatchEntries: number; maxBatchBytes: number };
  return Math.min(log.maxBatchEntries, Math.floor(log.maxBatchBytes / (2 + ENTRY_SIZE)));
}

let counter = 0;
/** A batch body of n unique 200-byte entries (entry-bundle encoding): this process's pid and a counter. */
function batchBody(n: number): Buffer {
  const out = Buffer.alloc(n * (2 + ENTRY_SIZE), 0x61);
  for (let i = 0, o = 0; i < n; i++, o += 2 + ENTRY_SIZE) {
    out.writeUInt16BE(ENTRY_SIZE, o);
    out.writeUInt32BE(process.pid, o + 2);
    out.writeDoubleBE(counter++, o + 6);
  }
  return out;
}

/** Appends `total` unique entries through the batch endpoint, the largest batches, 4 at a time, with the server's admin key. */
async function fill(s: LogServer, total: number, parallel = 4): Promise<{ seconds: number }> {
  const { url } = s;
  const per = await maxBatch(url);
  const t0 = performance.now();
  let done = 0;
  const worker = async () => {
    while (done < total) {
      const n = Math.min(per, total - done);
      done += n;
      const res = await fetch(`${url}/v1/entries/batch`, {
        method: 'POST',
        body: batchBody(n) as BodyInit,
        headers: { ...octet, ...s.auth },
      });
      if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { seconds: (performance.now() - t0) / 1000 };
}

/** Two rows for a load compared with bare Hono's: rate and ratio, then latency. */
function compared(name: string, unit: string, ours: LoadResult, bare: LoadResult, target: string): void {
  rows.push(...comparedRows({ name, unit, ours, other: bare, otherName: 'bare', otherUnit: 'req/s', target }));
}

async function phaseSingle(): Promise<void> {
  const spec = { connections: 64, duration: DURATION, method: 'POST', path: '/v1/entries', body: 'entry' } as const;
  const bare = await start(BARE);
  const b = await load({ ...spec, url: bare.url });
  await bare.stop();
  const log = await withTempDir(async (dir) => {
    const s = await logServer(dir);
    // With the admin key: auth on, the shipping default (auth.bench.ts compares it with --open-entries).
    const r = await load({ ...spec, url: s.url, headers: s.auth });
    await s.stop();
    return r;
  });
  compared('single POST /v1/entries (64 conns, unique 200 B, durable acks)', 'entries/s', log, b, 'target >= 0.6, p99 <= 50 ms');
}

async function phaseBatch(): Promise<void> {
  await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const per = await maxBatch(s.url);
    const r = await load({
      url: s.url,
      connections: 4,
      duration: DURATION,
      method: 'POST',
      path: '/v1/entries/batch',
      body: 'bundle',
      bundleEntries: per,
      headers: s.auth,
    });
    await s.stop();
    // Batches complete a few dozen times a second: the total over the run, not per-second samples.
    rows.push({
      name: `batch POST /v1/entries/batch (${fmt(per)} x 200 B, 4 conns)`,
      ours: `${fmt(((r.requests.total - r.non2xx) * per) / r.duration)} entries/s`,
      note: ['target >= 150,000', `latency p50 / p99 ${latency(r)}`, failures(r)].filter(Boolean).join('; '),
    });
  });
}

async function phaseProof(): Promise<void> {
  const spec = {
    connections: 64,
    duration: DURATION,
    warmup: 3,
    method: 'GET',
    path: '/v1/proof/inclusion',
    randomIndexBelow: LOG_SIZE,
  } as const;
  const bare = await start(BARE);
  const b = await load({ ...spec, url: bare.url });
  await bare.stop();
  const log = await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const f = await fill(s, LOG_SIZE);
    rows.push({ name: `fill ${fmt(LOG_SIZE)} entries via batch (untimed setup)`, ours: `${fmt(LOG_SIZE / f.seconds)} entries/s` });
    // The same warm-up as bare Hono's (the log's read cache starts empty after a bulk ingest).
    const r = await load({ ...spec, url: s.url });
    await s.stop();
    return r;
  });
  compared(`GET /v1/proof/inclusion, random index, ${fmt(LOG_SIZE)} log (64 conns)`, 'req/s', log, b, 'target >= 0.6');
}

async function phaseRss(): Promise<void> {
  const total = QUICK ? 1_000_000 : 5_000_000;
  await withTempDir(async (dir) => {
    const s = await logServer(dir);
    let peak = 0;
    const timer = setInterval(() => {
      void rssOf(s.child.pid!).then(
        (r) => (peak = Math.max(peak, r)),
        () => {},
      );
    }, 200);
    const f = await fill(s, total);
    clearInterval(timer);
    peak = Math.max(peak, await rssOf(s.child.pid!));
    await s.stop();
    rows.push({
      name: `ingest ${fmt(total)} entries (batch${HEAP_MB > 0 ? `, heap cap ${HEAP_MB} MB` : ''})`,
      ours: `${fmt(total / f.seconds)} entries/s`,
      note: `peak RSS ${(peak / 1048576).toFixed(0)} MB; target < 300 MB`,
    });
    const t0 = performance.now();
    const again = await logServer(dir);
    const res = await fetch(`${again.url}/checkpoint`);
    await res.text();
    const restart = performance.now() - t0;
    await again.stop();
    rows.push({
      name: `restart with ${fmt(total)} entries to first served request`,
      ours: `${restart.toFixed(0)} ms`,
      note: 'target < 2000 ms (node startup included)',
    });
  });
}

async function phaseAudit(): Promise<void> {
  await withTempDir(async (dir) => {
    const s = await logServer(join(dir, 'log'));
    await fill(s, LOG_SIZE);
    const r = await runToEnd(CLI, [
      'audit',
      '--url',
      s.url,
      '--vkey',
      join(dir, 'log', 'log.vkey'),
      '--state',
      join(dir, 'state'),
      '--json',
    ]);
    await s.stop();
    if (r.code !== 0) throw new Error(`tlog audit exited ${r.code}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { ok: boolean; size: number; bundles: number; tiles: number };
    if (!out.ok || out.size !== LOG_SIZE) throw new Error(`tlog audit checked ${out.size} entries, expected ${LOG_SIZE}: ${r.stdout}`);
    rows.push({
      name: `tlog audit of a ${fmt(LOG_SIZE)}-entry log (CLI process, server on this machine)`,
      ours: `${fmt(LOG_SIZE / r.seconds)} entries/s`,
      note: `${r.seconds.toFixed(2)} s incl. node startup; ${fmt(out.bundles)} bundles, ${fmt(out.tiles)} tiles; target >= 500,000`,
    });
  });
}

if (PHASES.has('single')) await phaseSingle();
if (PHASES.has('batch')) await phaseBatch();
if (PHASES.has('proof')) await phaseProof();
if (PHASES.has('rss')) await phaseRss();
if (PHASES.has('audit')) await phaseAudit();

printTable(
  `tlog server benchmark (${QUICK ? 'quick' : 'full'}; node ${process.version}; load from a separate autocannon process)`,
  { name: 'benchmark', ours: 'tlog', bare: 'bare Hono', ratio: 'tlog/bare', note: 'target, notes' },
  rows,
);
