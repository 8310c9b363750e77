// The load generator of the server benchmarks (server, events and auth.bench.ts), run as its own
// process so that it shares no event loop with the bench or the servers: `node load.mjs '<spec JSON>'`. It runs autocannon (an optional
// warm-up, then the measured run) and prints the measured result as one JSON line on stdout.
//
// spec: { url, connections, duration (s), warmup (s, optional), method, path,
//         body: 'entry' (one unique 200-byte entry) | 'bundle' (bundleEntries unique 200-byte
//         entries, entry-bundle encoded: uint16 length, bytes) | 'event' (one distinct event
//         of event-gen.mjs, JSON) | 'event-raw' (the same JSON sent as a raw entry) | 'events'
//         (a JSON array of bundleEntries distinct events) | absent,
//         randomIndexBelow (optional: adds ?index=<random integer below it> to path),
//         paths (optional: GET these in turn instead of path),
//         headers (optional: request headers merged over the body's content-type, e.g.
//         { authorization: 'Bearer <key>' }),
//         expect (optional: { field, length }: each 200 answer's JSON must hold an array `field`
//         of `length` items; the others are counted in `mismatches`) }

import autocannon from 'autocannon';
import { eventGenerator } from './event-gen.mjs';

const ENTRY_SIZE = 200;
const spec = JSON.parse(process.argv[2] ?? '');

let counter = 0;
/** Writes one unique entry at `at`: the pid and a counter over a fixed filler (cheap, so the CPU stays with the server). */
function writeEntry(buf, at) {
  buf.writeUInt32BE(process.pid, at);
  buf.writeDoubleBE(counter++, at + 4);
}

function entryBody() {
  const b = Buffer.alloc(ENTRY_SIZE, 0x61);
  writeEntry(b, 0);
  return b;
}

function bundleBody(n) {
  const b = Buffer.alloc(n * (2 + ENTRY_SIZE), 0x61);
  for (let i = 0, o = 0; i < n; i++, o += 2 + ENTRY_SIZE) {
    b.writeUInt16BE(ENTRY_SIZE, o);
    writeEntry(b, o + 2);
  }
  return b;
}

const events = eventGenerator({ seed: process.pid });

function eventsBody(n) {
  const parts = new Array(n);
  for (let i = 0; i < n; i++) parts[i] = events.next();
  return `[${parts.join(',')}]`;
}

let turn = 0;
function setupRequest(req) {
  if (spec.body === 'entry') return { ...req, body: entryBody() };
  if (spec.body === 'bundle') return { ...req, body: bundleBody(spec.bundleEntries) };
  if (spec.body === 'event' || spec.body === 'event-raw') return { ...req, body: events.next() };
  if (spec.body === 'events') return { ...req, body: eventsBody(spec.bundleEntries) };
  if (spec.paths !== undefined) return { ...req, path: spec.paths[turn++ % spec.paths.length] };
  if (spec.randomIndexBelow !== undefined)
    return { ...req, path: `${spec.path}?index=${Math.floor(Math.random() * spec.randomIndexBelow)}` };
  return req;
}

const contentType = { event: 'application/json', events: 'application/json' }[spec.body] ?? 'application/octet-stream';
const headers = { ...(spec.body === undefined ? {} : { 'content-type': contentType }), ...spec.headers };

let mismatches = 0;
/** Counts a 200 answer without the expected array (decoding it costs this process, not the server). */
function onResponse(status, body) {
  if (status !== 200) return;
  try {
    if (JSON.parse(body)[spec.expect.field]?.length === spec.expect.length) return;
  } catch {}
  mismatches++;
}

const run = (duration) =>
  autocannon({
    url: spec.url,
    connections: spec.connections,
    duration,
    requests: [{ method: spec.method, path: spec.path, headers, setupRequest, ...(spec.expect ? { onResponse } : {}) }],
  });

if (spec.warmup > 0) await run(spec.warmup);
mismatches = 0;
const r = await run(spec.duration);
process.stdout.write(
  `${JSON.stringify({
    duration: r.duration,
    requests: { average: r.requests.average, total: r.requests.total },
    latency: { p50: r.latency.p50, p99: r.latency.p99 },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches,
  })}\n`,
);
