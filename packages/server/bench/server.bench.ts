/**
 * Log server benchmark. The server runs in a child process (the load generator must not share
 * its event loop); autocannon drives it from this process.
 *
 *   pnpm --filter @tlog/server bench                 # all phases
 *   BENCH_PHASES=single,batch BENCH_QUICK=1 pnpm ... # a subset, smaller
 *
 * Phases: single (POST /v1/entries, 64 connections, unique 200-byte bodies, vs bare Hono),
 * batch (POST /v1/entries/batch), proof (GET /v1/proof/inclusion on a 1M-entry log vs bare
 * Hono GET), rss (RSS while ingesting 5M entries; restart time to the first served request).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
interface AcRequest {
  method?: string;
  path?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}
type Options = {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  pipelining?: number;
  requests: (AcRequest & { setupRequest?: (req: AcRequest) => AcRequest })[];
};
const run = (o: Options) => (autocannon as unknown as (o: Options) => Promise<Result>)(o);

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, '../dist/main.js');
const QUICK = process.env.BENCH_QUICK === '1';
const PHASES = new Set((process.env.BENCH_PHASES ?? 'single,batch,proof,rss').split(','));
const DURATION = QUICK ? 5 : 10;
const octet = { 'content-type': 'application/octet-stream' };
const rows: [string, string, string][] = [];

interface Child {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function start(args: string[], script = MAIN, nodeArgs: string[] = []): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      const m = /^tlog: listening on (.+)$/.exec(l);
      if (m) ok(m[1]!);
    });
    child.once('exit', (c) => fail(new Error(`child exited ${c}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Node flags the log server runs with, as the root package.json `start` script sets them: V8's
 * old space capped at 192 MB (BENCH_HEAP_MB overrides; 0 runs without a cap).
 */
const HEAP_MB = Number(process.env.BENCH_HEAP_MB ?? '192');
const START_FLAGS = HEAP_MB > 0 ? [`--max-old-space-size=${HEAP_MB}`] : [];

async function logServer(dir: string, extra: string[] = [], nodeArgs: string[] = START_FLAGS): Promise<Child> {
  return start(
    [
      '--port',
      '0',
      '--data-dir',
      dir,
      '--log-level',
      'warn',
      '--pool-max-entries',
      '1000000',
      ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean),
      ...extra,
    ],
    MAIN,
    nodeArgs,
  );
}

let counter = 0;
const TEMPLATE = Buffer.alloc(200, 0x61);
/** A unique 200-byte entry (pid and a counter over a fixed filler: cheap, so the generator leaves the CPU to the server). */
function uniqueEntry(): Buffer {
  const e = Buffer.from(TEMPLATE);
  e.writeUInt32BE(process.pid, 0);
  e.writeDoubleBE(counter++, 4);
  return e;
}

/** A batch body of n unique 200-byte entries (entry-bundle encoding). */
function batchBody(n: number): Buffer {
  const out = Buffer.alloc(n * 202, 0x61);
  for (let i = 0, o = 0; i < n; i++, o += 202) {
    out.writeUInt16BE(200, o);
    out.writeUInt32BE(process.pid, o + 2);
    out.writeDoubleBE(counter++, o + 6);
  }
  return out;
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

async function fill(url: string, total: number, per = 4000, parallel = 4): Promise<{ seconds: number }> {
  const t0 = performance.now();
  let done = 0;
  const worker = async () => {
    while (done < total) {
      const n = Math.min(per, total - done);
      done += n;
      const res = await fetch(`${url}/v1/entries/batch`, { method: 'POST', body: batchBody(n) as BodyInit, headers: octet });
      if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { seconds: (performance.now() - t0) / 1000 };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function phaseSingle(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-bench-'));
  const s = await logServer(dir);
  const log = await run({
    url: s.url,
    connections: 64,
    duration: DURATION,
    requests: [{ method: 'POST', path: '/v1/entries', headers: octet, setupRequest: (r) => ({ ...r, body: uniqueEntry() }) }],
  });
  await s.stop();
  await rm(dir, { recursive: true, force: true });
  const bare = await start([], join(here, 'bare.mjs'));
  const b = await run({
    url: bare.url,
    connections: 64,
    duration: DURATION,
    requests: [{ method: 'POST', path: '/v1/entries', headers: octet, setupRequest: (r) => ({ ...r, body: uniqueEntry() }) }],
  });
  await bare.stop();
  rows.push([
    'single POST /v1/entries (64 conns, durable acks)',
    `${fmt(log.requests.average)} entries/s`,
    `p50 ${log.latency.p50} ms, p99 ${log.latency.p99} ms, non2xx ${log.non2xx}`,
  ]);
  rows.push(['bare Hono POST (64 conns)', `${fmt(b.requests.average)} req/s`, `p50 ${b.latency.p50} ms, p99 ${b.latency.p99} ms`]);
  rows.push(['  ratio log / bare', (log.requests.average / b.requests.average).toFixed(2), 'target >= 0.5, p99 < 100 ms']);
}

async function phaseBatch(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-bench-'));
  const s = await logServer(dir);
  const per = 2000;
  const r = await run({
    url: s.url,
    connections: 4,
    duration: DURATION,
    requests: [{ method: 'POST', path: '/v1/entries/batch', headers: octet, setupRequest: (q) => ({ ...q, body: batchBody(per) }) }],
  });
  await s.stop();
  await rm(dir, { recursive: true, force: true });
  rows.push([
    `batch POST /v1/entries/batch (${per} x 200 B, 4 conns)`,
    `${fmt(r.requests.average * per)} entries/s`,
    `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non2xx ${r.non2xx}; target >= 150,000`,
  ]);
}

async function phaseProof(): Promise<void> {
  const size = QUICK ? 200_000 : 1_000_000;
  const dir = await mkdtemp(join(tmpdir(), 'tlog-bench-'));
  const s = await logServer(dir);
  const f = await fill(s.url, size);
  rows.push([`fill ${fmt(size)} entries via batch`, `${fmt(size / f.seconds)} entries/s`, `${f.seconds.toFixed(1)} s`]);
  const proofs = (url: string, duration: number) =>
    run({
      url,
      connections: 64,
      duration,
      requests: [{ method: 'GET', setupRequest: (q) => ({ ...q, path: `/v1/proof/inclusion?index=${Math.floor(Math.random() * size)}` }) }],
    });
  // Both servers get the same warm-up (the log's read cache starts empty after a restart or a bulk ingest).
  await proofs(s.url, 3);
  const r = await proofs(s.url, DURATION);
  await s.stop();
  await rm(dir, { recursive: true, force: true });
  const bare = await start([], join(here, 'bare.mjs'));
  await proofs(bare.url, 3);
  const b = await proofs(bare.url, DURATION);
  await bare.stop();
  rows.push([
    `GET /v1/proof/inclusion, random index, ${fmt(size)} log`,
    `${fmt(r.requests.average)} req/s`,
    `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non2xx ${r.non2xx}`,
  ]);
  rows.push(['bare Hono GET', `${fmt(b.requests.average)} req/s`, `p50 ${b.latency.p50} ms, p99 ${b.latency.p99} ms`]);
  rows.push(['  ratio log / bare', (r.requests.average / b.requests.average).toFixed(2), 'target >= 0.5']);
}

async function phaseRss(): Promise<void> {
  const total = QUICK ? 1_000_000 : 5_000_000;
  const dir = await mkdtemp(join(tmpdir(), 'tlog-bench-'));
  const s = await logServer(dir);
  let peak = 0;
  const timer = setInterval(() => {
    void rssOf(s.child.pid!).then(
      (r) => (peak = Math.max(peak, r)),
      () => {},
    );
  }, 200);
  const f = await fill(s.url, total);
  clearInterval(timer);
  peak = Math.max(peak, await rssOf(s.child.pid!));
  await s.stop();
  rows.push([
    `ingest ${fmt(total)} entries (batch${HEAP_MB > 0 ? `, heap cap ${HEAP_MB} MB` : ''})`,
    `${fmt(total / f.seconds)} entries/s`,
    `peak RSS ${(peak / 1048576).toFixed(0)} MB; target < 300 MB`,
  ]);
  const t0 = performance.now();
  const again = await logServer(dir);
  const res = await fetch(`${again.url}/checkpoint`);
  await res.text();
  const restart = performance.now() - t0;
  await again.stop();
  await rm(dir, { recursive: true, force: true });
  rows.push([
    `restart with ${fmt(total)} entries to first served request`,
    `${restart.toFixed(0)} ms`,
    'target < 2000 ms (includes node startup)',
  ]);
}

if (PHASES.has('single')) await phaseSingle();
if (PHASES.has('batch')) await phaseBatch();
if (PHASES.has('proof')) await phaseProof();
if (PHASES.has('rss')) await phaseRss();

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`\ntlog server benchmark (${QUICK ? 'quick' : 'full'}; node ${process.version})`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
