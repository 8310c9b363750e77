/**
 * The event feeds (issue 11): how fast an export streams a log out, whether the server's memory
 * stays flat while it does, and how late 100 live subscribers see events while the log ingests.
 * Same harness as events.bench.ts: the log server, the load generator (load.mjs, autocannon), the
 * export client (read-stream.mjs) and the subscribers (tail-subscribers.mjs) each run as a child
 * process, every log has a fresh data directory, and each ratio is two measurements in this one
 * run.
 *
 * Reading: the export rows give the export's throughput (events/s, MB/s of body) as a client in
 * its own process reads it to the end, over MB/s of a bare Hono server streaming the same number
 * of bytes of NDJSON through the same @hono/node-server pull-stream path to the same client: the
 * ratio is what reading, decrypting and formatting events costs over moving the bytes. The RSS
 * row shows the server's resident memory before, at its peak during and after the export: a pull
 * stream should keep it flat (peak - start of a few MB, not the export's size); it is split into
 * its anonymous part (heap, buffers: what the export holds) and its file-backed part (pages of
 * the files the server maps, LevelDB's tables: the kernel's to reclaim). The tail rows give
 * the single-POST ingest rate with 100 live subscribers over the same ingest without them, and
 * the subscribers' lag: receipt time minus the record's received_at (taken when the server
 * admitted the event, before the commit), so it spans admission, commit, the checkpoint, the
 * stream's wake-up and the transfer; every subscriber is checked to get every event posted while
 * it listened exactly once and in order.
 *
 *   pnpm --filter @tlog/server exec tsx bench/feeds.bench.ts
 *   BENCH_QUICK=1 BENCH_PHASES=tail pnpm --filter @tlog/server exec tsx bench/feeds.bench.ts
 *
 * Phases:
 * - export: a log of 1M events (100k quick; event-gen.mjs through POST /v1/events/batch), the
 *   server then left to go idle; then GET /v1/events/export with the admin key in each format
 *   (ndjson, cloudevents, ocsf), read to the end by read-stream.mjs, which counts the lines: the
 *   count must equal the events filled, Tlog-Tree-Size the log's size, the first line index 0
 *   and the last the log's last index (else the bench fails). The server's VmRSS is sampled every
 *   100 ms from /proc. After each export, the bare server (bare.mjs, GET /v1/stream) streams the
 *   same number of bytes (a pre-made 1 MiB chunk of NDJSON repeated) to the same client. Goal:
 *   >= 100,000 events/s for ndjson.
 * - tail: a log of 10,000 events, then POST /v1/events with autocannon (64 connections, one
 *   distinct event per request, the admin key) for DURATION seconds, first with no subscriber
 *   (the baseline, its own fresh data directory), then with 100 live subscribers (no filter,
 *   proofs=1 on half of them) in one process opened before the load. After the load the server is
 *   left to go idle and the subscribers must each have received every event from their start to
 *   the published size. A stream the server cuts is resumed at once by Last-Event-ID, as a client
 *   does, and counted: any cut fails the bench. Goal: lag p99 <= 1 s while ingesting at the
 *   single-POST rate.
 * A failed check (a cut stream, a wrong line count, a format the server cannot export) shows in
 * its row; the bench runs on, prints the table, then the failures, and exits 1.
 * The machine has 2 cores: in the tail phase the subscriber process and autocannon compete with
 * the server for them (the CPU row says how much each took). BENCH_QUICK=1 runs 5 s loads and a
 * 100k-event export log. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the servers.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FEED_FORMATS, type FeedFormat } from '../src/feeds/formats.js';
import {
  comparedRows,
  cpuSeconds,
  DURATION,
  fillEvents,
  fmt,
  type LoadResult,
  type LogServer,
  load,
  logServer,
  phases,
  printTable,
  QUICK,
  type Row,
  runToEnd,
  type Server,
  settle,
  spawnNode,
  start,
  withTempDir,
} from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const BARE = join(here, 'bare.mjs');
const READ_STREAM = join(here, 'read-stream.mjs');
const SUBSCRIBERS = join(here, 'tail-subscribers.mjs');

const PHASES = phases('export,tail,sinks');
const RECEIVER = join(here, 'webhook-receiver.mjs');
const SINK_LOG_SIZE = QUICK ? 20_000 : 100_000;
const SINK_BATCHES = [100, 1000] as const;
const EXPORT_LOG_SIZE = QUICK ? 100_000 : 1_000_000;
const TAIL_LOG_SIZE = 10_000;
const SUBSCRIBER_COUNT = 100;
const RSS_EVERY_MS = 100;
const MB = 1024 * 1024;
const CORES = availableParallelism();

const rows: Row[] = [];
/** What failed a check: the bench prints its table, then these, and exits non-zero. */
const failed: string[] = [];
const started = performance.now();
/** The machine's load when the bench starts: other work on it skews every figure. */
const loadAtStart = loadavg()[0]!;

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const mbps = (bytes: number, seconds: number) => `${(bytes / MB / seconds).toFixed(1)} MB/s`;

/** What read-stream.mjs prints. */
interface StreamRead {
  status: number;
  treeSize: string | null;
  bytes: number;
  lines: number;
  firstByteMs: number;
  seconds: number;
  first: string;
  last: string;
  error?: string;
}

/** Resident memory, in bytes: all of it (VmRSS), its anonymous part (heap, buffers) and its file-backed part (mapped files). */
type Memory = Record<'rss' | 'anon' | 'file', number>;

/** The resident memory of process `pid`, from /proc/<pid>/status. */
async function memoryOf(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** One measure over a run: at its start, the highest sample during it, at its end, and the highest of each half of the run. */
interface Span {
  start: number;
  peak: number;
  end: number;
  firstHalfPeak: number;
  secondHalfPeak: number;
}

/** The server's memory over a run, each measure a span (a stream that held what it sent would grow all along). */
type MemorySpans = Record<keyof Memory, Span> & { samples: number };

/** Runs `run` while sampling the memory of `pid` every RSS_EVERY_MS. */
async function sampledMemory<T>(pid: number, run: () => Promise<T>): Promise<{ result: T; memory: MemorySpans }> {
  const t0 = performance.now();
  const samples: { at: number; m: Memory }[] = [{ at: t0, m: await memoryOf(pid) }];
  const timer = setInterval(() => {
    const at = performance.now();
    void memoryOf(pid).then(
      (m) => samples.push({ at, m }),
      () => {},
    );
  }, RSS_EVERY_MS);
  try {
    const result = await run();
    const t1 = performance.now();
    samples.push({ at: t1, m: await memoryOf(pid) });
    const mid = (t0 + t1) / 2;
    const span = (k: keyof Memory): Span => {
      const peak = (from: number, to: number) => Math.max(...samples.filter((x) => x.at >= from && x.at <= to).map((x) => x.m[k]));
      return {
        start: samples[0]!.m[k],
        peak: peak(t0, t1),
        end: samples[samples.length - 1]!.m[k],
        firstHalfPeak: peak(t0, mid),
        secondHalfPeak: peak(mid, t1),
      };
    };
    return { result, memory: { rss: span('rss'), anon: span('anon'), file: span('file'), samples: samples.length } };
  } finally {
    clearInterval(timer);
  }
}

/** GETs `url` from read-stream.mjs, the server's RSS sampled meanwhile. */
async function readStream(pid: number, url: string, headers: Readonly<Record<string, string>> = {}) {
  return sampledMemory(pid, async () => {
    const r = await runToEnd(READ_STREAM, [JSON.stringify({ url, headers })]);
    if (r.code !== 0) throw new Error(`read-stream.mjs exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as StreamRead;
  });
}

/** The index of an export line of `format` (where each format keeps the event line's index). */
function lineIndex(format: FeedFormat, line: string): number | undefined {
  const o = JSON.parse(line) as { index?: number; tlogindex?: number; unmapped?: { tlog?: { index?: number } } };
  if (format === 'ndjson') return o.index;
  if (format === 'cloudevents') return o.tlogindex;
  return o.unmapped?.tlog?.index;
}

/** Why the export `r` of `format` is not the whole log of `size` events (undefined when it is). */
function exportProblem(format: FeedFormat, r: StreamRead, size: number): string | undefined {
  if (r.status !== 200) return `answered ${r.status}: ${r.error}`;
  if (r.error !== undefined) return `${r.error} after ${fmt(r.lines)} lines`;
  if (r.treeSize !== String(size)) return `Tlog-Tree-Size ${r.treeSize}, expected ${size}`;
  if (r.lines !== size) return `${fmt(r.lines)} lines, expected ${fmt(size)} (the events filled)`;
  try {
    const first = lineIndex(format, r.first);
    const last = lineIndex(format, r.last);
    if (first !== 0 || last !== size - 1) return `first line's index ${first}, last ${last}; expected 0 and ${size - 1}`;
  } catch (err) {
    return `a line is not JSON: ${(err as Error).message}`;
  }
  return undefined;
}

const spanText = (s: Span) => `${mb(s.start)} / ${mb(s.peak)} / ${mb(s.end)}`;
const rise = (s: Span) => `${((s.peak - s.start) / MB).toFixed(1)} MB`;
const halves = (s: Span) => `peak of the 1st / 2nd half ${mb(s.firstHalfPeak)} / ${mb(s.secondHalfPeak)}`;

async function phaseExport(): Promise<void> {
  await withTempDir(async (dir) => {
    const s = await logServer(dir);
    const f = await fillEvents(s.url, s.auth, { seed: 1, total: EXPORT_LOG_SIZE });
    const idle = await settle(s.child.pid!);
    rows.push({
      name: `export: load ${fmt(EXPORT_LOG_SIZE)} events via batch (setup)`,
      ours: `${fmt(EXPORT_LOG_SIZE / f.seconds)} events/s`,
      note: `${f.seconds.toFixed(1)} s, then ${idle.toFixed(1)} s until the server was idle`,
    });
    const bare = await start(BARE);
    await readStream(bare.child.pid!, `${bare.url}/v1/stream?bytes=${16 * MB}`); // warm-up, unmeasured
    try {
      for (const format of FEED_FORMATS) await exportFormat(s, bare, format);
    } finally {
      await bare.stop();
      await s.stop();
    }
  });
}

/** One export of the whole log in `format`, then the bare server streaming as many bytes. */
async function exportFormat(s: LogServer, bare: Server, format: FeedFormat): Promise<void> {
  const name = `export ${format}: ${fmt(EXPORT_LOG_SIZE)} events`;
  const { result: r, memory } = await readStream(s.child.pid!, `${s.url}/v1/events/export?format=${format}`, s.auth);
  const problem = exportProblem(format, r, EXPORT_LOG_SIZE);
  if (problem !== undefined) {
    failed.push(`${name}: ${problem}`);
    rows.push({ name, ours: 'FAILED', note: `${problem}; ${fmt(r.bytes)} bytes in ${r.seconds.toFixed(1)} s` });
    return;
  }
  const { result: b, memory: bareMemory } = await readStream(bare.child.pid!, `${bare.url}/v1/stream?bytes=${r.bytes}`);
  if (b.status !== 200 || b.error !== undefined || b.bytes !== r.bytes) {
    failed.push(`bare stream of ${r.bytes} bytes: status ${b.status}, ${b.bytes} bytes, ${b.error ?? 'no error'}`);
  }
  const rate = r.bytes / r.seconds;
  const bareRate = b.bytes / b.seconds;
  rows.push(
    {
      name: `${name}, ${mb(r.bytes)} (to the last byte)`,
      ours: mbps(r.bytes, r.seconds),
      bare: mbps(b.bytes, b.seconds),
      ratio: (rate / bareRate).toFixed(2),
      note: `bare: the same bytes of NDJSON, 1 MiB chunks; lines = events filled, checked`,
    },
    {
      name: '  events/s',
      ours: `${fmt(EXPORT_LOG_SIZE / r.seconds)} events/s`,
      note: `${format === 'ndjson' ? 'goal >= 100,000; ' : ''}${r.seconds.toFixed(2)} s, first byte after ${r.firstByteMs.toFixed(0)} ms; ${fmt(r.bytes / r.lines)} B a line`,
    },
    {
      name: '  server RSS start / peak / end',
      ours: spanText(memory.rss),
      bare: spanText(bareMemory.rss),
      note: `peak - start ${rise(memory.rss)} (bare ${rise(bareMemory.rss)}); ${halves(memory.rss)}; /proc every ${RSS_EVERY_MS} ms, ${memory.samples} samples`,
    },
    {
      name: '    anonymous (heap, buffers)',
      ours: spanText(memory.anon),
      bare: spanText(bareMemory.anon),
      note: `peak - start ${rise(memory.anon)} (bare ${rise(bareMemory.anon)}); ${halves(memory.anon)}: what the export holds`,
    },
    {
      name: '    file-backed (mapped files)',
      ours: spanText(memory.file),
      bare: spanText(bareMemory.file),
      note: `peak - start ${rise(memory.file)}; ${halves(memory.file)}: pages of the files the server maps (LevelDB's tables), the kernel's to reclaim`,
    },
  );
}

/** What tail-subscribers.mjs prints at the end. */
interface TailResult {
  treeSize: number;
  start: number;
  startsDiffer: boolean;
  expected: number;
  received: { min: number; max: number };
  complete: number;
  errors: string[];
  cuts: number;
  cutReasons: string[];
  bytes: number;
  drainMs: number;
  lag: Record<'proofs' | 'plain', { n: number; p50: number; p99: number; max: number }>;
}

/** The subscriber process: its lines on stdout, one at a time. */
function subscriberLines(child: ChildProcess): () => Promise<string> {
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const exited = new Promise<never>((_, fail) => child.once('exit', (c) => fail(new Error(`tail-subscribers.mjs exited ${c}`))));
  exited.catch(() => {});
  return () => {
    const l = lines.shift();
    return l !== undefined ? Promise.resolve(l) : Promise.race([new Promise<string>((ok) => waiting.push(ok)), exited]);
  };
}

/** What one ingest run gave: the load, the server's CPU over it, and the subscribers' part. */
interface IngestRun {
  r: LoadResult;
  serverCpu: number;
  tail?: { result: TailResult; cpu: number };
}

/** A fresh log of TAIL_LOG_SIZE events, then single-event POSTs for DURATION s, with `subscribers` live streams open (0: none). */
async function ingestRun(subscribers: number): Promise<IngestRun> {
  return withTempDir(async (dir) => {
    const s = await logServer(dir);
    let child: ChildProcess | undefined;
    try {
      await fillEvents(s.url, s.auth, { seed: 2, total: TAIL_LOG_SIZE });
      await settle(s.child.pid!);
      child =
        subscribers > 0
          ? spawnNode(SUBSCRIBERS, [JSON.stringify({ url: s.url, headers: s.auth, subscribers, proofs: 'half', finishTimeoutMs: 120_000 })])
          : undefined;
      const next = child && subscriberLines(child);
      if (next) {
        const ready = JSON.parse(await next()) as { ready: boolean; failed: number };
        if (ready.failed > 0) throw new Error(`${ready.failed} of ${subscribers} subscribers failed to start`);
      }
      const pid = s.child.pid!;
      const subCpu = () => (child ? cpuSeconds(child.pid!).catch(() => Number.NaN) : 0);
      const [cpu0, subCpu0] = await Promise.all([cpuSeconds(pid), subCpu()]);
      const r = await load({
        url: s.url,
        connections: 64,
        duration: DURATION,
        method: 'POST',
        path: '/v1/events',
        body: 'event',
        headers: s.auth,
      });
      const [cpu1, subCpu1] = await Promise.all([cpuSeconds(pid), subCpu()]);
      if (!child || !next) return { r, serverCpu: cpu1 - cpu0 };
      await settle(pid); // the requests in flight when autocannon stopped are answered, the streams drained
      child.kill('SIGUSR2');
      const result = JSON.parse(await next()) as TailResult;
      return { r, serverCpu: cpu1 - cpu0, tail: { result, cpu: subCpu1 - subCpu0 } };
    } finally {
      child?.kill('SIGKILL');
      await s.stop();
    }
  });
}

async function phaseTail(): Promise<void> {
  const without = await ingestRun(0);
  const withSubs = await ingestRun(SUBSCRIBER_COUNT);
  const t = withSubs.tail!.result;
  const half = SUBSCRIBER_COUNT / 2;
  const lag = (l: TailResult['lag']['plain']) => `${fmt(l.p50)} / ${fmt(l.p99)} / ${fmt(l.max)} ms`;
  const ok = t.complete === SUBSCRIBER_COUNT && t.errors.length === 0 && !t.startsDiffer;
  if (!ok) failed.push(`tail: ${t.complete} of ${SUBSCRIBER_COUNT} subscribers got every event once, in order; ${t.errors.join('; ')}`);
  if (t.cuts > 0)
    failed.push(
      `tail: the server cut a stream ${fmt(t.cuts)} times (each cut resumed by Last-Event-ID); the first: ${t.cutReasons.join('; ')}`,
    );
  rows.push(
    ...comparedRows({
      name: `tail: single POST /v1/events (64 conns) with ${SUBSCRIBER_COUNT} live subscribers vs none`,
      unit: 'events/s',
      ours: withSubs.r,
      other: without.r,
      otherName: 'none',
      otherUnit: 'events/s',
      target: `each a fresh log of ${fmt(TAIL_LOG_SIZE)} events; ${DURATION} s`,
    }),
    {
      name: `  lag admission -> receipt, ${half} subscribers proofs=1`,
      ours: lag(t.lag.proofs),
      note: `p50 / p99 / max of ${fmt(t.lag.proofs.n)} receipts; goal p99 <= 1 s`,
    },
    {
      name: `  lag admission -> receipt, ${half} subscribers without proofs`,
      ours: lag(t.lag.plain),
      note: `p50 / p99 / max of ${fmt(t.lag.plain.n)} receipts; goal p99 <= 1 s`,
    },
    {
      name: '  events received per subscriber',
      ours: t.received.min === t.received.max ? fmt(t.received.min) : `${fmt(t.received.min)}-${fmt(t.received.max)}`,
      note: ok
        ? `each of the ${SUBSCRIBER_COUNT} got all ${fmt(t.expected)} events posted while it listened, once each, in order (checked${t.cuts > 0 ? ', across its resumptions' : ''})`
        : `FAILED: ${t.complete} of ${SUBSCRIBER_COUNT} complete (${fmt(t.expected)} expected); ${t.errors.slice(0, 3).join('; ')}`,
    },
    {
      name: '  streams the server cut (resumed at once by Last-Event-ID)',
      ours: fmt(t.cuts),
      note: t.cuts > 0 ? `FAILED: a healthy server cuts none; ${t.cutReasons[0]}` : 'none, as it should',
    },
    {
      name: '  SSE bytes received, all subscribers',
      ours: mb(t.bytes),
      note: `${mbps(t.bytes, withSubs.r.duration)} over the load; the last event arrived ${(t.drainMs / 1000).toFixed(1)} s after the server went idle`,
    },
    {
      name: '  server CPU over the load (all its threads)',
      ours: `${withSubs.serverCpu.toFixed(1)} s`,
      bare: `${without.serverCpu.toFixed(1)} s`,
      ratio: (withSubs.serverCpu / without.serverCpu).toFixed(2),
      note: `of ${CORES} cores x ${DURATION} s; the subscriber process took ${withSubs.tail!.cpu.toFixed(1)} s, autocannon runs in a third: all on the same 2 cores`,
    },
  );
}

/** The webhook receiver's counts. */
interface ReceiverStats {
  events: number;
  batches: number;
  lastIndex: number;
  outOfOrder: number;
}

async function receiverStats(url: string): Promise<ReceiverStats> {
  return (await (await fetch(`${url}/stats`)).json()) as ReceiverStats;
}

/** Polls the receiver until it has `n` events (or 10 minutes passed); seconds taken. */
async function untilReceived(url: string, n: number, t0: number): Promise<number> {
  for (;;) {
    const st = await receiverStats(url);
    if (st.events >= n) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > 600_000) throw new Error(`the receiver has ${st.events} of ${n} events after 10 minutes`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A fresh webhook receiver process and its URL. */
async function startReceiver(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnNode(RECEIVER, []);
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).once('line', ok);
    child.once('exit', (c) => fail(new Error(`webhook-receiver.mjs exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${line.split(' ')[1]}`, child };
}

/**
 * Webhook delivery: a log of SINK_LOG_SIZE events, then the server restarted with a webhook sink
 * (batches of 100, then of 1,000, from the start) to a local receiver process, timed until the receiver
 * has every event. Baseline: the bench itself posts the same lines (read by an export) in the
 * same batches, one request at a time as the sink does, to a fresh receiver.
 */
async function phaseSinks(): Promise<void> {
  for (const batch of SINK_BATCHES) await sinkRun(batch);
}

async function sinkRun(SINK_BATCH: number): Promise<void> {
  await withTempDir(async (dir) => {
    let s = await logServer(dir);
    await fillEvents(s.url, s.auth, { seed: 3, total: SINK_LOG_SIZE });
    await settle(s.child.pid!);
    const exported = await fetch(`${s.url}/v1/events/export`, { headers: s.auth });
    const lines = (await exported.text()).trim().split('\n');
    await s.stop();
    if (lines.length !== SINK_LOG_SIZE) throw new Error(`the export holds ${lines.length} lines, not ${SINK_LOG_SIZE}`);

    const ours = await startReceiver();
    const sinksFile = join(dir, 'sinks.json');
    await writeFile(
      sinksFile,
      JSON.stringify({
        sinks: [
          {
            name: 'bench',
            type: 'webhook',
            url: `${ours.url}/hook`,
            secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
            batch: { maxEvents: SINK_BATCH, maxMs: 100 },
          },
        ],
      }),
    );
    s = await logServer(dir, ['--sinks-file', sinksFile]);
    // Timed from the server's listening line (its startup is not delivery), on what arrived since.
    const t0 = performance.now();
    const atStart = (await receiverStats(ours.url)).events;
    const seconds = await untilReceived(ours.url, SINK_LOG_SIZE, t0);
    const st = await receiverStats(ours.url);
    const sinks = (await (await fetch(`${s.url}/v1/sinks`, { headers: s.auth })).json()) as { sinks: { cursor: number }[] };
    await s.stop();
    ours.child.kill('SIGKILL');

    const base = await startReceiver();
    const b0 = performance.now();
    for (let i = 0; i < lines.length; i += SINK_BATCH) {
      const r = await fetch(`${base.url}/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"events":[${lines.slice(i, i + SINK_BATCH).join(',')}]}`,
      });
      if (r.status !== 204) throw new Error(`the receiver answered ${r.status}`);
    }
    const baseSeconds = (performance.now() - b0) / 1000;
    const bst = await receiverStats(base.url);
    base.child.kill('SIGKILL');
    const ok = st.events === SINK_LOG_SIZE && st.outOfOrder === 0 && sinks.sinks[0]!.cursor === SINK_LOG_SIZE - 1;
    if (!ok)
      failed.push(
        `sinks: the receiver got ${st.events} events (${st.outOfOrder} out of order), the sink's cursor is ${sinks.sinks[0]!.cursor}`,
      );
    rows.push({
      name: `sinks: webhook delivery of ${fmt(SINK_LOG_SIZE)} events, batches of ${SINK_BATCH}`,
      ours: `${fmt((SINK_LOG_SIZE - atStart) / seconds)} events/s`,
      bare: `${fmt(bst.events / baseSeconds)} events/s`,
      ratio: ((SINK_LOG_SIZE - atStart) / seconds / (bst.events / baseSeconds)).toFixed(2),
      note: `${seconds.toFixed(1)} s from the server's listening line to the last event received (${fmt(atStart)} had arrived before); ${fmt(st.batches)} requests, Standard Webhooks signed, one access event each; in order ${ok ? '(checked)' : 'FAILED'}; baseline: the bench posting the same batches unsigned, one at a time`,
    });
  });
}

if (PHASES.has('export')) await phaseExport();
if (PHASES.has('tail')) await phaseTail();
if (PHASES.has('sinks')) await phaseSinks();

printTable(
  `tlog feeds benchmark (${QUICK ? 'quick' : 'full'}; node ${process.version}; ${((performance.now() - started) / 1000).toFixed(0)} s; load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end; ${CORES} cores shared by the server, the client processes and the load generator)`,
  { name: 'benchmark', ours: 'tlog', bare: 'baseline', ratio: 'tlog/base', note: 'goal, notes' },
  rows,
);
if (failed.length > 0) {
  console.error(`\nfeeds bench FAILED:\n${failed.map((f) => `- ${f}`).join('\n')}`);
  process.exitCode = 1;
}
