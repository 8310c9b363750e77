// The feeds bench's live subscribers, all in one process of their own (so that they share no
// event loop with the bench, the server or the load generator):
// `node tail-subscribers.mjs '<spec JSON>'`, spec { url, headers, subscribers, proofs: 'half' |
// 'all' | 'none', finishTimeoutMs }. It opens `subscribers` live streams (GET /v1/events/stream,
// no filter; with proofs=1 on every other one for 'half'), parses their frames and checks them:
// after the first checkpoint (whose id is the start), every event index comes once, in order,
// with no gap (the bench's log holds only events, so indexes are consecutive), below the size
// the connection last announced; each later checkpoint's id is the last index delivered;
// proofs=1 events carry an inclusion proof and checkpoints after the first on a connection a
// consistency proof from the one before, the others none; no `closing` frame. For each event it
// records the lag: the time it was received (Date.now() when its chunk arrived) minus the
// record's `received_at` (set by the server when it admitted the event, before the commit).
//
// A stream the server cuts (the body ends, or ends with an error, or a `lagged` frame) is
// resumed at once as the docs say a client does: Last-Event-ID = the last id received. Each such
// cut is counted (`cuts`, the first reasons in `cutReasons`): a healthy server cuts none.
//
// It prints `{"ready":true,...}` once every stream has its first checkpoint. On SIGUSR2 it reads
// the published size N (GET /checkpoint), waits until every stream has received index N - 1 (at
// most finishTimeoutMs), then prints the result as one JSON line and exits:
// { treeSize, start, startsDiffer, expected (events per stream: N - 1 - start), received {min, max},
//   complete (streams that got exactly the expected events), errors (the first 10), cuts,
//   cutReasons, bytes, drainMs (from the signal until all were received), lag { proofs, plain }
//   each { n, p50, p99, max } in ms }.

const spec = JSON.parse(process.argv[2] ?? '');
const LAG_MAX_MS = 600_000;
const EVENT = 'event: event\nid: ';
const CHECKPOINT = 'event: checkpoint\nid: ';
const DATA = '\ndata: ';
const RECEIVED_AT = '"received_at":"';

/** Lags in whole ms, as a histogram (the received_at they are measured from has ms precision). */
class Lags {
  hist = new Uint32Array(LAG_MAX_MS + 1);
  n = 0;
  max = 0;

  add(ms) {
    const x = Math.max(0, Math.min(LAG_MAX_MS, ms));
    this.hist[x]++;
    this.n++;
    if (x > this.max) this.max = x;
  }

  quantile(q) {
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let ms = 0; ms <= LAG_MAX_MS; ms++) {
      seen += this.hist[ms];
      if (seen >= rank) return ms;
    }
    return this.max;
  }

  summary() {
    return { n: this.n, p50: this.quantile(0.5), p99: this.quantile(0.99), max: this.max };
  }
}

const lags = { proofs: new Lags(), plain: new Lags() };
const errors = [];
const stop = new AbortController();
let settled = 0;
let target;
let finished;

const cutReasons = [];
let cuts = 0;
// Nothing else keeps the process alive while it waits for SIGUSR2 with every stream failed.
const keepAlive = setInterval(() => {}, 60_000);

const streams = Array.from({ length: spec.subscribers }, (_, i) => ({
  i,
  proofs: spec.proofs === 'all' || (spec.proofs === 'half' && i % 2 === 0),
  /** The first checkpoint's id: the position the stream started after. */
  start: undefined,
  /** The index expected next. */
  next: 0,
  /** The size the current connection last announced (0: none yet on this connection). */
  size: 0,
  /** The last `id:` received (what a resumption sends as Last-Event-ID). */
  lastId: undefined,
  count: 0,
  bytes: 0,
  failed: undefined,
}));

function fail(s, why) {
  if (s.failed !== undefined) return;
  s.failed = why;
  if (errors.length < 10) errors.push(`subscriber ${s.i}${s.proofs ? ' (proofs=1)' : ''}: ${why}`);
  if (s.start === undefined) becameReady();
  checkDone();
}

function becameReady() {
  if (++settled !== streams.length) return;
  const starts = streams.filter((s) => s.start !== undefined).map((s) => s.start);
  process.stdout.write(`${JSON.stringify({ ready: true, start: Math.min(...starts), failed: streams.length - starts.length })}\n`);
}

function checkDone() {
  if (target !== undefined && streams.every((s) => s.failed !== undefined || s.next >= target)) finished?.();
}

function onEvent(s, f, now) {
  const idEnd = f.indexOf('\n', EVENT.length);
  const index = Number(f.slice(EVENT.length, idEnd));
  const data = f.slice(idEnd + DATA.length);
  if (s.size === 0) return fail(s, `event ${index} before any checkpoint on its connection`);
  if (index !== s.next) return fail(s, `event ${index} where ${s.next} was next (a gap, a duplicate or out of order)`);
  if (index >= s.size) return fail(s, `event ${index} beyond the announced tree of size ${s.size}`);
  if (!data.startsWith(`{"index":${index},`)) return fail(s, `event ${index}'s data is another event: ${data.slice(0, 80)}`);
  if (s.proofs !== data.endsWith(']}')) return fail(s, `event ${index} ${s.proofs ? 'lacks' : 'has'} an inclusion proof`);
  const at = data.indexOf(RECEIVED_AT) + RECEIVED_AT.length;
  const received = Date.parse(data.slice(at, at + 24));
  if (Number.isNaN(received)) return fail(s, `event ${index} has no received_at`);
  (s.proofs ? lags.proofs : lags.plain).add(now - received);
  s.lastId = index;
  s.next++;
  s.count++;
}

function onCheckpoint(s, f) {
  const idEnd = f.indexOf('\n', CHECKPOINT.length);
  const id = Number(f.slice(CHECKPOINT.length, idEnd));
  const data = JSON.parse(f.slice(idEnd + DATA.length));
  if (s.start === undefined) {
    s.start = id;
    s.next = id + 1;
    becameReady();
  } else if (id !== s.next - 1) {
    return fail(s, `checkpoint id ${id} where ${s.next - 1} was delivered`);
  }
  if (s.proofs && s.size > 0 && data.size > s.size && (data.from !== s.size || !Array.isArray(data.consistency))) {
    return fail(s, `checkpoint of size ${data.size} without a consistency proof from ${s.size}`);
  }
  s.size = data.size;
  s.lastId = id;
}

function onFrame(s, f, now) {
  if (f.startsWith(EVENT)) onEvent(s, f, now);
  else if (f.startsWith(CHECKPOINT)) onCheckpoint(s, f);
  else if (f.startsWith('event: lagged\n')) return 'lagged';
  else if (f.startsWith('event: ')) fail(s, `a ${f.slice(7, f.indexOf('\n'))} frame: ${f.slice(0, 200)}`);
  // else `retry:` or a heartbeat comment
}

function cut(s, why) {
  cuts++;
  if (cutReasons.length < 10) cutReasons.push(`subscriber ${s.i}${s.proofs ? ' (proofs=1)' : ''} after ${s.lastId}: ${why}`);
}

/** Follows stream `s`, resuming from its last id whenever the server cuts it, until it fails or the run stops. */
async function follow(s) {
  while (s.failed === undefined && !stop.signal.aborted) {
    try {
      const why = await connect(s);
      if (why !== undefined) cut(s, why);
    } catch (err) {
      if (stop.signal.aborted) return;
      cut(s, `the stream failed: ${err?.cause?.message ?? err?.message ?? err}`);
    }
  }
}

/** One connection of stream `s`: why the server ended it (undefined when this process stopped it or it failed a check). */
async function connect(s) {
  const headers = s.lastId === undefined ? spec.headers : { ...spec.headers, 'last-event-id': String(s.lastId) };
  const res = await fetch(`${spec.url}/v1/events/stream${s.proofs ? '?proofs=1' : ''}`, { headers, signal: stop.signal });
  if (res.status !== 200) return fail(s, `answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  s.size = 0;
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    const now = Date.now();
    s.bytes += chunk.byteLength;
    buf += decoder.decode(chunk, { stream: true });
    let pos = 0;
    for (let k = buf.indexOf('\n\n'); k !== -1; k = buf.indexOf('\n\n', pos)) {
      if (onFrame(s, buf.slice(pos, k), now) === 'lagged') return 'a lagged frame';
      if (s.failed !== undefined) return undefined;
      pos = k + 2;
    }
    buf = buf.slice(pos);
    checkDone();
  }
  return stop.signal.aborted ? undefined : 'the server ended the stream';
}

for (const s of streams) void follow(s);

process.once('SIGUSR2', async () => {
  const t0 = performance.now();
  const note = await (await fetch(`${spec.url}/checkpoint`)).text();
  target = Number(note.split('\n')[1]);
  await new Promise((resolve) => {
    finished = resolve;
    checkDone();
    setTimeout(resolve, spec.finishTimeoutMs).unref();
  });
  const drainMs = performance.now() - t0;
  const starts = streams.filter((s) => s.start !== undefined).map((s) => s.start);
  const start = Math.min(...starts);
  const expected = target - 1 - start;
  for (const s of streams) if (s.failed === undefined && s.next < target) fail(s, `received ${s.count} of ${expected} events (timed out)`);
  const counts = streams.map((s) => s.count);
  process.stdout.write(
    `${JSON.stringify({
      treeSize: target,
      start,
      startsDiffer: starts.some((x) => x !== start),
      expected,
      received: { min: Math.min(...counts), max: Math.max(...counts) },
      complete: streams.filter((s) => s.failed === undefined && s.start === start && s.count === expected).length,
      errors,
      cuts,
      cutReasons,
      bytes: streams.reduce((n, s) => n + s.bytes, 0),
      drainMs,
      lag: { proofs: lags.proofs.summary(), plain: lags.plain.summary() },
    })}\n`,
  );
  stop.abort();
  clearInterval(keepAlive);
  process.exit(0);
});
