/**
 * What the server benchmarks share (server, events, auth and feeds.bench.ts): child processes that die
 * with the bench, the log server started on a data directory, the load generator (load.mjs,
 * autocannon) in its own process, temporary directories and the printed table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EVENTS_BATCH_MAX } from '../src/routes/events.js';
import { eventGenerator, NEEDLE_ACTORS, NEEDLE_EVENTS } from './event-gen.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, '../dist/main.js');
const LOAD = join(here, 'load.mjs');

/** BENCH_QUICK=1: shorter loads and smaller logs. */
export const QUICK = process.env.BENCH_QUICK === '1';
/** Seconds of one measured load. */
export const DURATION = QUICK ? 5 : 10;

/** The phases BENCH_PHASES (comma-separated) selects, `all` when it is not set. */
export function phases(all: string): Set<string> {
  return new Set((process.env.BENCH_PHASES ?? all).split(','));
}

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
// Interrupted: exit, so that the handler above kills the children and removes the directories.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Spawns `node [nodeArgs] script [args]`, tracked so that none outlives the bench. */
export function spawnNode(script: string, args: string[], nodeArgs: string[] = [], stderr: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', stderr] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs a child to its end; its stdout, stderr, exit code and wall time. */
export async function runToEnd(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  const child = spawnNode(script, args, [], 'pipe');
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((ok, fail) => {
    child.once('error', fail);
    child.once('close', ok);
  });
  return { code, stdout, stderr, seconds: (performance.now() - t0) / 1000 };
}

export interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A log server: a Server and its bootstrap admin key. */
export interface LogServer extends Server {
  /** The admin key the server wrote to `<data dir>/admin.key` on first start (`tlog_<id>_<secret>`). */
  key: string;
  /** `{ authorization: 'Bearer <key>' }`, for the requests that need a key. */
  auth: { authorization: string };
}

/** Starts a server script and waits for its `tlog: listening on <url>` line. */
export async function start(script: string, args: string[] = [], nodeArgs: string[] = []): Promise<Server> {
  const child = spawnNode(script, args, nodeArgs);
  const url = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      const m = /^tlog: listening on (.+)$/.exec(l);
      if (m) ok(m[1]!);
    });
    child.once('exit', (c) => fail(new Error(`${script} exited ${c} before listening`)));
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
export const HEAP_MB = Number(process.env.BENCH_HEAP_MB ?? '192');
const START_FLAGS = HEAP_MB > 0 ? [`--max-old-space-size=${HEAP_MB}`] : [];

/** Node flags for the log server: START_FLAGS, then BENCH_SERVER_NODE_ARGS. */
export const SERVER_NODE_FLAGS = [...START_FLAGS, ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)];

/** The admin key of the server on `dir` (written there on first start), and its Authorization header. */
export async function adminKey(dir: string): Promise<Pick<LogServer, 'key' | 'auth'>> {
  const key = (await readFile(join(dir, 'admin.key'), 'utf8')).trim();
  return { key, auth: { authorization: `Bearer ${key}` } };
}

/**
 * The log server on `dir`, with its default limits (secure by default: writes and event reads
 * need a key) and its admin key. `args` adds flags (`--open-entries`), and so does
 * BENCH_SERVER_ARGS; BENCH_SERVER_NODE_ARGS adds node flags, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
export async function logServer(dir: string, args: readonly string[] = []): Promise<LogServer> {
  const all = [
    '--port',
    '0',
    '--data-dir',
    dir,
    '--log-level',
    'warn',
    ...args,
    ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean),
  ];
  const s = await start(MAIN, all, SERVER_NODE_FLAGS);
  return { ...s, ...(await adminKey(dir)) };
}

/** What load.mjs takes (see there) and prints. */
export interface LoadSpec {
  url: string;
  connections: number;
  duration: number;
  warmup?: number;
  method: 'GET' | 'POST';
  path: string;
  /** Request headers besides the body's content-type (e.g. `authorization`). */
  headers?: Readonly<Record<string, string>>;
  /** GET these paths in turn instead of `path`. */
  paths?: readonly string[];
  body?: 'entry' | 'bundle' | 'event' | 'event-raw' | 'events';
  bundleEntries?: number;
  randomIndexBelow?: number;
  /** Check that each 200 answer's JSON holds an array `field` of `length` items (else it counts as a mismatch). */
  expect?: { field: string; length: number };
}
export interface LoadResult {
  duration: number;
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
}

/** Runs autocannon in its own process (load.mjs). */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const r = await runToEnd(LOAD, [JSON.stringify(spec)]);
  if (r.code !== 0) throw new Error(`load.mjs exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as LoadResult;
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-bench-'));
  tempDirs.add(dir);
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/** The sum of the sizes of the files under `dir`, and how many there are. */
export async function dirBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    bytes += (await stat(join(e.parentPath, e.name))).size;
    files++;
  }
  return { bytes, files };
}

/** The resident set size of process `pid`, in bytes (0 when /proc does not say). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
export const latency = (r: LoadResult) => `${r.latency.p50} / ${r.latency.p99} ms`;
export const failures = (r: LoadResult) =>
  r.non2xx + r.errors + r.timeouts + r.mismatches > 0
    ? `non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}${r.mismatches > 0 ? `, wrong answers ${r.mismatches}` : ''}`
    : undefined;

/** One printed row: a figure, and for the compared phases the figure compared with and the ratio. */
export interface Row {
  name: string;
  ours: string;
  bare?: string;
  ratio?: string;
  note?: string;
}

/** Prints `title`, then `header` and `rows` in aligned columns (nothing when there are no rows). */
export function printTable(title: string, header: Row, rows: readonly Row[]): void {
  if (rows.length === 0) return;
  const all = [header, ...rows];
  const width = (f: (r: Row) => string | undefined) => Math.max(...all.map((r) => (f(r) ?? '').length));
  const [w0, w1, w2, w3] = [width((r) => r.name), width((r) => r.ours), width((r) => r.bare), width((r) => r.ratio)];
  console.log(`\n${title}`);
  for (const r of all) {
    console.log(
      `${r.name.padEnd(w0)}  ${r.ours.padStart(w1)}  ${(r.bare ?? '').padStart(w2)}  ${(r.ratio ?? '').padStart(w3)}  ${r.note ?? ''}`.trimEnd(),
    );
  }
}

/** Two rows for a load compared with another under the same load: rate and ratio, then latency p50 / p99. */
export function comparedRows(c: {
  name: string;
  /** The unit of `ours`'s rate. */
  unit: string;
  ours: LoadResult;
  other: LoadResult;
  /** How the notes name the other (failures are labelled with it). */
  otherName: string;
  otherUnit: string;
  target: string;
}): Row[] {
  const { ours, other } = c;
  return [
    {
      name: c.name,
      ours: `${fmt(ours.requests.average)} ${c.unit}`,
      bare: `${fmt(other.requests.average)} ${c.otherUnit}`,
      ratio: (ours.requests.average / other.requests.average).toFixed(2),
      note: [c.target, failures(ours), failures(other) && `${c.otherName}: ${failures(other)}`].filter(Boolean).join('; '),
    },
    { name: '  latency p50 / p99', ours: latency(ours), bare: latency(other) },
  ];
}

/**
 * Appends `total` events of `seed` (event-gen.mjs, which places its needle actors and broad
 * action for a log of `total`) through POST /v1/events/batch, the most a request takes,
 * `parallel` requests at a time, with `auth` (the Authorization header); every answer checked.
 */
export async function fillEvents(
  url: string,
  auth: Readonly<Record<string, string>>,
  o: { seed: number; total: number; parallel?: number },
): Promise<{ seconds: number; broad: number }> {
  const { total } = o;
  const gen = eventGenerator({ seed: o.seed, logSize: total });
  const headers = { 'content-type': 'application/json', ...auth };
  const t0 = performance.now();
  const worker = async () => {
    while (gen.counts.events < total) {
      const n = Math.min(EVENTS_BATCH_MAX, total - gen.counts.events);
      const parts = new Array<string>(n);
      for (let i = 0; i < n; i++) parts[i] = gen.next();
      const res = await fetch(`${url}/v1/events/batch`, { method: 'POST', body: `[${parts.join(',')}]`, headers });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`events batch answered ${res.status}: ${text.slice(0, 500)}`);
      const got = (JSON.parse(text) as { results: unknown[] }).results.length;
      if (got !== n) throw new Error(`events batch of ${n} answered ${got} results`);
    }
  };
  await Promise.all(Array.from({ length: o.parallel ?? 4 }, worker));
  if (gen.counts.needle !== NEEDLE_ACTORS * NEEDLE_EVENTS)
    throw new Error(`the log has ${gen.counts.needle} needle events, expected ${NEEDLE_ACTORS * NEEDLE_EVENTS}`);
  return { seconds: (performance.now() - t0) / 1000, broad: gen.counts.broad };
}

/** The CPU seconds process `pid` has used (all its threads: LevelDB's compactions too). */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 a second on Linux)
}

/**
 * Waits until the server is idle (under 5% of a core over a second; at most 60 s), so that the
 * compactions a bulk load leaves behind do not run inside the measurements. Its wait, in s.
 */
export async function settle(pid: number): Promise<number> {
  const t0 = performance.now();
  let before = await cpuSeconds(pid);
  while (performance.now() - t0 < 60_000) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await cpuSeconds(pid);
    if (now - before < 0.05) break;
    before = now;
  }
  return (performance.now() - t0) / 1000;
}
