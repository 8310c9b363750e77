/**
 * The log server without auth and without the access trail, for auth.bench.ts to compare the
 * real server with on the same data directory: `tsx bench/no-auth-server.ts <data dir>`.
 *
 * It opens the data directory as the real server does (createLogServer: the main log, the
 * access log, the keys), then serves the main log alone through an app whose guard lets every
 * request through as a fixed admin principal and whose access recorder records nothing. So a
 * search does what the real server's does (the same routes, limits and search code) except
 * checking the key and appending its access event. It imports the built package
 * (`@tlog/server`, dist/, the code dist/main.js runs), not the sources, so that both sides run
 * the same compiled JavaScript. Prints `tlog: listening on <url>`; SIGTERM closes the stores.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type AccessRecorder, createApp, createLogServer, type Guard, type Principal } from '@tlog/server';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: tsx bench/no-auth-server.ts <data dir>');

const s = await createLogServer({ dataDir, port: 0, logLevel: 'warn' });
const admin: Principal = { keyId: 'bench', name: 'bench admin (no auth)', scopes: ['admin'] };
const recordsNothing: AccessRecorder = { record: async () => {} };
/** Lets every request through as `admin`, and records no access event. */
const passThrough: Guard = () => async (c, next) => {
  c.set('principal', admin);
  c.set('access', recordsNothing);
  await next();
};
const app = createApp([{ prefix: '', log: s.log, events: s.events, feed: s.feed, writable: true, eventReadScope: 'events:read' }], {
  // The limits createLogServer gives the real app.
  maxBatchBytes: s.config.maxBatchBytes,
  maxBatchEntries: Math.min(s.config.poolMaxEntries, s.config.maxBatchEntries),
  maxReceiptEntries: s.config.maxReceiptEntries,
  auth: { guard: passThrough, privateTree: false, openEntries: true },
});
const server = await new Promise<Server>((ok) => {
  const srv = serve({ fetch: app.fetch, port: 0, hostname: s.config.host }, () => ok(srv as Server)) as Server;
});
server.keepAliveTimeout = 65_000; // as startServer sets it
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void s.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`no-auth-server: close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
process.stdout.write(`tlog: listening on http://${s.config.host}:${(server.address() as AddressInfo).port}\n`);
