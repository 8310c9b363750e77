// The feeds bench's export client, run as its own process so that it shares no event loop with
// the bench or the servers: `node read-stream.mjs '<spec JSON>'`, spec { url, headers }. It GETs
// url with node:http (about twice as fast as fetch here, so that the client is not what a bare
// stream measures) and reads the body to its end without decoding it: counts its bytes and
// lines (newline bytes) and keeps the first and the last line. Prints one JSON line:
// { status, treeSize (the Tlog-Tree-Size header, or null), bytes, lines, firstByteMs (request to
//   the first body byte), seconds (request to the end of the body), first, last, error? (a
//   refusal's body, or why the body ended early) }.

import { get } from 'node:http';

const NEWLINE = 0x0a;
/** Bytes kept of the body's end, from which the last line is cut (a line is far shorter). */
const TAIL = 64 * 1024;

const spec = JSON.parse(process.argv[2] ?? '');
const out = { status: 0, treeSize: null, bytes: 0, lines: 0, firstByteMs: 0, seconds: 0, first: '', last: '' };
const t0 = performance.now();
let head = Buffer.alloc(0);
let tail = Buffer.alloc(0);

/** Reads the body; resolves when it ended, with why it ended early (undefined: complete). */
const ended = await new Promise((resolve) => {
  const req = get(spec.url, { headers: spec.headers }, (res) => {
    out.status = res.statusCode ?? 0;
    out.treeSize = res.headers['tlog-tree-size'] ?? null;
    const refused = out.status !== 200;
    const body = [];
    res.on('data', (chunk) => {
      if (refused) return void body.push(chunk);
      if (out.bytes === 0) out.firstByteMs = performance.now() - t0;
      out.bytes += chunk.length;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) out.lines++;
      if (head.indexOf(NEWLINE) === -1) head = Buffer.concat([head, chunk.subarray(0, TAIL)]);
      tail = chunk.length >= TAIL ? chunk.subarray(chunk.length - TAIL) : Buffer.concat([tail, chunk]).subarray(-TAIL);
    });
    res.on('error', () => {});
    res.on('close', () => {
      if (!res.complete) resolve('the body ended early: the server cut the transfer');
      else resolve(refused ? Buffer.concat(body).toString('utf8').slice(0, 500) : undefined);
    });
  });
  req.on('error', (err) => resolve(`the request failed: ${err.message}`));
});
if (ended !== undefined) out.error = ended;
out.seconds = (performance.now() - t0) / 1000;
const firstEnd = head.indexOf(NEWLINE);
if (firstEnd !== -1) out.first = head.subarray(0, firstEnd).toString('utf8');
if (tail.length > 0 && tail[tail.length - 1] === NEWLINE) {
  const lastStart = tail.lastIndexOf(NEWLINE, tail.length - 2) + 1;
  out.last = tail.subarray(lastStart, tail.length - 1).toString('utf8');
}
process.stdout.write(`${JSON.stringify(out)}\n`);
