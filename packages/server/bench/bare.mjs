// A bare Hono server for comparison: POST reads the body and answers JSON; GET answers JSON.

import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
let n = 0;
app.post('/v1/entries', async (c) => {
  const body = new Uint8Array(await c.req.arrayBuffer());
  return c.json({ index: n++, length: body.length });
});
app.get('/v1/proof/inclusion', (c) => c.json({ index: Number(c.req.query('index')), proof: [] }));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`tlog: listening on http://127.0.0.1:${info.port}\n`);
});
