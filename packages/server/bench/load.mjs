// The load generator of server.bench.ts, run as its own process so that it shares no event loop
// with the bench or the servers: `node load.mjs '<spec JSON>'`. It runs autocannon (an optional
// warm-up, then the measured run) and prints the measured result as one JSON line on stdout.
//
// spec: { url, connections, duration (s), warmup (s, optional), method, path,
//         body: 'entry' (one unique 200-byte entry) | 'bundle' (bundleEntries unique 200-byte
//         entries, entry-bundle encoded: uint16 length, bytes) | absent,
//         randomIndexBelow (optional: adds ?index=<random integer below it> to path) }

import autocannon from 'autocannon';

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

function setupRequest(req) {
  if (spec.body === 'entry') return { ...req, body: entryBody() };
  if (spec.body === 'bundle') return { ...req, body: bundleBody(spec.bundleEntries) };
  if (spec.randomIndexBelow !== undefined)
    return { ...req, path: `${spec.path}?index=${Math.floor(Math.random() * spec.randomIndexBelow)}` };
  return req;
}

const headers = spec.body === undefined ? {} : { 'content-type': 'application/octet-stream' };
const run = (duration) =>
  autocannon({
    url: spec.url,
    connections: spec.connections,
    duration,
    requests: [{ method: spec.method, path: spec.path, headers, setupRequest }],
  });

if (spec.warmup > 0) await run(spec.warmup);
const r = await run(spec.duration);
process.stdout.write(
  `${JSON.stringify({
    duration: r.duration,
    requests: { average: r.requests.average, total: r.requests.total },
    latency: { p50: r.latency.p50, p99: r.latency.p99 },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  })}\n`,
);
