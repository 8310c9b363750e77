/**
 * What auth costs (issue 10), beside server.bench.ts and events.bench.ts and on the same
 * harness: the log server and the load generator (load.mjs, autocannon) each run as a child
 * process, and each ratio is two measurements in this one run.
 *
 *   pnpm --filter @tlog/server exec tsx bench/auth.bench.ts
 *   BENCH_QUICK=1 BENCH_PHASES=auth-search pnpm --filter @tlog/server exec tsx bench/auth.bench.ts
 *
 * Phases:
 * - auth-ingest: POST /v1/entries, 64 connections, a unique 200-byte body per request (the load
 *   of server.bench.ts's `single`), against a server started with --open-entries (no key
 *   checked), then against one started without it, sent the admin key (auth on, the default).
 *   Each on a fresh data directory.
 * - auth-search: a log of 100k events (20k quick) loaded through POST /v1/events/batch (1,000 a
 *   request, event-gen.mjs, 16 needle actors of 100 events); then the selective search
 *   (`GET /v1/events?actor=<needle>&limit=100`, the 16 needles in turn, every answer checked to
 *   hold 100 events) at 4 and 16 connections, each after a 2 s warm-up, (a) through the real
 *   server with the admin key: the key checked, and each search appending an access event to
 *   the access log and waiting for its durable commit before answering; then (b) on the same
 *   data directory, the server stopped, through no-auth-server.ts: the same app without the
 *   key check and without the access trail. Then the access log's growth: the bytes
 *   `<dir>/access` gained over (a), both measured with the server stopped, per access event
 *   (the access tree's growth, GET /access/checkpoint), again after (b) has opened and closed
 *   the directory (which replays LevelDB's write-ahead log into a table), and the access tree's size.
 * Each load also gives the server's CPU time per request (all its threads, from /proc, over the
 * measured run; a warm-up is a run of its own). BENCH_QUICK=1 runs 5 s loads and a 20k-event log.
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NEEDLE_ACTORS, NEEDLE_EVENTS, needleActor } from './event-gen.mjs';
import {
  comparedRows,
  cpuSeconds,
  DURATION,
  dirBytes,
  fillEvents,
  fmt,
  type LoadResult,
  type LoadSpec,
  load,
  logServer,
  phases,
  printTable,
  QUICK,
  type Row,
  SERVER_NODE_FLAGS,
  type Server,
  settle,
  start,
  withTempDir,
} from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const NO_AUTH = join(here, 'no-auth-server.ts');
/** No-auth-server.ts runs from TypeScript: node loads it through tsx. */
const TSX = ['--import', import.meta.resolve('tsx')];

const PHASES = phases('auth-ingest,auth-search');
const LOG_SIZE = QUICK ? 20_000 : 100_000;
const LOG_SEED = 1;
const PAGE = 100;
const SEARCH_CONNECTIONS = [4, 16] as const;
const WARMUP_S = 2;

const rows: Row[] = [];
const started = performance.now();
/** The machine's load when the bench starts: other work on it skews every figure. */
const loadAtStart = loadavg()[0]!;

/** A load measured with the CPU time the server `s` spent on it (all its threads), per request. */
interface Measured {
  r: LoadResult;
  cpuMsPerRequest: number;
}

/** Runs `spec` against `s` (its warm-up, if any, as a run of its own), and measures the server's CPU time over the measured run. */
async function measured(s: Server, spec: Omit<LoadSpec, 'url'>): Promise<Measured> {
  if (spec.warmup !== undefined) await load({ ...spec, url: s.url, duration: spec.warmup, warmup: 0 });
  const cpu0 = await cpuSeconds(s.child.pid!);
  const r = await load({ ...spec, url: s.url, warmup: 0 });
  const cpu = (await cpuSeconds(s.child.pid!)) - cpu0;
  return { r, cpuMsPerRequest: (cpu * 1000) / r.requests.total };
}

/** A row of the server's CPU time per request on both sides. */
function cpuRow(on: Measured, off: Measured): Row {
  return {
    name: '  server CPU per request (all its threads)',
    ours: `${on.cpuMsPerRequest.toFixed(2)} ms`,
    bare: `${off.cpuMsPerRequest.toFixed(2)} ms`,
    ratio: (on.cpuMsPerRequest / off.cpuMsPerRequest).toFixed(2),
    note: 'process CPU time over the measured run / requests answered in it',
  };
}

async function phaseIngest(): Promise<void> {
  const spec = { connections: 64, duration: DURATION, method: 'POST', path: '/v1/entries', body: 'entry' } as const;
  const off = await withTempDir(async (dir) => {
    const s = await logServer(dir, ['--open-entries']);
    const m = await measured(s, spec);
    await s.stop();
    return m;
  });
  const on = await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const m = await measured(s, { ...spec, headers: s.auth });
    await s.stop();
    return m;
  });
  rows.push(
    ...comparedRows({
      name: 'auth-ingest: single POST /v1/entries (64 conns, unique 200 B), key vs --open-entries',
      unit: 'entries/s',
      ours: on.r,
      other: off.r,
      otherName: 'open',
      otherUnit: 'entries/s',
      target: 'auth on: the admin key checked on every request',
    }),
    cpuRow(on, off),
  );
}

/** The access log's tree size (the second line of GET /access/checkpoint, which is public). */
async function accessTreeSize(url: string): Promise<number> {
  const res = await fetch(`${url}/access/checkpoint`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /access/checkpoint answered ${res.status}: ${text.slice(0, 500)}`);
  return Number(text.split('\n')[1]);
}

/** The selective search at each of SEARCH_CONNECTIONS against `s`, with `headers`. */
async function searches(s: Server, headers: Readonly<Record<string, string>>): Promise<Measured[]> {
  const paths = Array.from({ length: NEEDLE_ACTORS }, (_, k) => `/v1/events?actor=${needleActor(k)}&limit=${PAGE}`);
  const out: Measured[] = [];
  for (const connections of SEARCH_CONNECTIONS) {
    out.push(
      await measured(s, {
        connections,
        duration: DURATION,
        warmup: WARMUP_S,
        method: 'GET',
        path: paths[0]!,
        paths,
        headers,
        expect: { field: 'events', length: NEEDLE_EVENTS },
      }),
    );
  }
  return out;
}

async function phaseSearch(): Promise<void> {
  await withTempDir(async (dir) => {
    const accessDir = join(dir, 'access');
    const loader = await logServer(dir);
    const f = await fillEvents(loader.url, loader.auth, { seed: LOG_SEED, total: LOG_SIZE });
    const idle = await settle(loader.child.pid!);
    await loader.stop();
    rows.push({
      name: `load ${fmt(LOG_SIZE)} events via batch (1,000 a request, 4 at a time, fetch; setup)`,
      ours: `${fmt(LOG_SIZE / f.seconds)} events/s`,
      note: `${f.seconds.toFixed(1)} s, then ${idle.toFixed(1)} s until the server was idle`,
    });

    // (a) The real server, with the key: each search checks it and records an access event.
    const bytesBefore = (await dirBytes(accessDir)).bytes;
    const a = await logServer(dir);
    const treeBefore = await accessTreeSize(a.url);
    const withAuth = await searches(a, a.auth);
    await settle(a.child.pid!); // the searches still in flight when autocannon stopped are answered
    const treeAfter = await accessTreeSize(a.url);
    await a.stop();
    const bytesAfter = (await dirBytes(accessDir)).bytes;

    // (b) The same data directory without auth and without the access trail.
    const b = await start(NO_AUTH, [dir], [...TSX, ...SERVER_NODE_FLAGS]);
    const without = await searches(b, {});
    await b.stop();
    // Opening the access log again (b does) replays LevelDB's write-ahead log into a table.
    const bytesReplayed = (await dirBytes(accessDir)).bytes;

    SEARCH_CONNECTIONS.forEach((connections, i) => {
      rows.push(
        ...comparedRows({
          name: `auth-search: ?actor=<one of ${NEEDLE_ACTORS}>&limit=${PAGE}, ${fmt(LOG_SIZE)} events, ${connections} conns`,
          unit: 'req/s',
          ours: withAuth[i]!.r,
          other: without[i]!.r,
          otherName: 'no auth',
          otherUnit: 'req/s',
          target: `on: key checked, an access event committed before each answer; every answer checked (${NEEDLE_EVENTS} events)`,
        }),
        cpuRow(withAuth[i]!, without[i]!),
      );
    });
    const recorded = treeAfter - treeBefore;
    const searched = withAuth.reduce((n, m) => n + m.r.requests.total, 0);
    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
    rows.push({
      name: '  access log growth per search (auth on; <dir>/access, server stopped)',
      ours: `${fmt((bytesAfter - bytesBefore) / recorded)} B`,
      note: `${mb(bytesAfter - bytesBefore)} / ${fmt(recorded)} access events, one per search (${fmt(searched)} measured, the rest warm-up and in flight at the end); most in LevelDB's write-ahead log`,
    });
    rows.push({
      name: '  the same after the next open (write-ahead log replayed into a table)',
      ours: `${fmt((bytesReplayed - bytesBefore) / recorded)} B`,
      note: `${mb(bytesReplayed - bytesBefore)}; measured after (b) stopped, which wrote no access event`,
    });
    rows.push({
      name: '  access log tree size (GET /access/checkpoint)',
      ours: fmt(treeAfter),
      note: `${fmt(treeBefore)} before the searches`,
    });
  });
}

if (PHASES.has('auth-ingest')) await phaseIngest();
if (PHASES.has('auth-search')) await phaseSearch();

printTable(
  `tlog auth benchmark (${QUICK ? 'quick' : 'full'}; node ${process.version}; ${((performance.now() - started) / 1000).toFixed(0)} s; load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end)`,
  { name: 'benchmark', ours: 'auth on', bare: 'auth off', ratio: 'on/off', note: 'notes' },
  rows,
);
