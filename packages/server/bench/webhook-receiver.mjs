// A webhook receiver for feeds.bench.ts, in its own process: `node webhook-receiver.mjs`.
// Answers every POST with 204 after parsing its JSON body `{"events": [<lines>]}`, counts the
// events and checks that their indexes only increase (a sink delivers in order); GET /stats
// answers `{events, batches, lastIndex, outOfOrder}`. Prints `listening <port>` when ready.
// It does not verify the Standard Webhooks signatures (test/sinks-e2e.test.ts does): the bench
// measures delivery, and the baseline (the bench posting the same batches itself) sends none.
import { createServer } from 'node:http';

let events = 0;
let batches = 0;
let lastIndex = -1;
let outOfOrder = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ events, batches, lastIndex, outOfOrder }));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    for (const e of body.events) {
      const index = e.index ?? e.tlogindex ?? e.unmapped?.tlog?.index;
      if (!(index > lastIndex)) outOfOrder++;
      lastIndex = index;
      events++;
    }
    batches++;
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
