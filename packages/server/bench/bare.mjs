// A bare Hono server for comparison: POST reads the body and answers JSON; GET answers JSON.
// GET /v1/stream?bytes=N streams N bytes of NDJSON (a pre-made 1 MiB chunk of event lines,
// repeated, the last one cut to length) as a pull stream, as the log server's export body does:
// the feeds bench's baseline.

import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { eventGenerator } from './event-gen.mjs';

const STREAM_CHUNK = 1024 * 1024;

/** About STREAM_CHUNK bytes of NDJSON lines shaped like the export's, ending with a newline. */
function ndjsonChunk() {
  const gen = eventGenerator({ seed: 7 });
  const lines = [];
  let bytes = 0;
  for (let i = 0; ; i++) {
    const line = `{"index":${i},"leafHash":"${'A'.repeat(43)}=","record":${gen.next()},"salt":"${'B'.repeat(22)}=="}\n`;
    if (bytes + line.length > STREAM_CHUNK) break;
    lines.push(line);
    bytes += line.length;
  }
  return new TextEncoder().encode(lines.join(''));
}

const app = new Hono();
let n = 0;
app.post('/v1/entries', async (c) => {
  const body = new Uint8Array(await c.req.arrayBuffer());
  return c.json({ index: n++, length: body.length });
});
app.get('/v1/proof/inclusion', (c) => c.json({ index: Number(c.req.query('index')), proof: [] }));
const chunk = ndjsonChunk();
app.get('/v1/stream', (c) => {
  let left = Number(c.req.query('bytes'));
  const body = new ReadableStream(
    {
      pull(controller) {
        if (left <= 0) {
          controller.close();
          return;
        }
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        controller.enqueue(part);
      },
    },
    { highWaterMark: 0 },
  );
  c.header('Content-Type', 'application/x-ndjson; charset=utf-8');
  return c.body(body);
});
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`tlog: listening on http://127.0.0.1:${info.port}\n`);
});
