/**
 * @tlog/server: the tlog log server. `startServer` runs it on a port; `createLogServer` builds
 * the Hono app and the log without listening (for tests through app.request()).
 */
import crypto from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { Hasher } from '@tlog/merkle';
import type { Hono } from 'hono';
import { type Logger, pino } from 'pino';
import { createApp } from './app.js';
import { type Config, type ConfigInput, ConfigSchema, DEFAULT_ORIGIN } from './config.js';
import { Log } from './log.js';
import { loadLogKey } from './signing/keys.js';
import { LevelLogStore } from './storage/level-store.js';
import { WitnessPublisher } from './witness/publisher.js';

export { type AppOptions, createApp } from './app.js';
export { CONFIG_OPTIONS, type Config, ConfigError, type ConfigInput, ConfigSchema, DEFAULT_ORIGIN, parseConfig } from './config.js';
export { type Appended, Log, type LogOptions, LogStateError, NotFoundError } from './log.js';
export type { Published, Publisher } from './publisher.js';
export {
  type AddedEntry,
  type BatchExtension,
  type Commit,
  PoolFullError,
  type Sequenced,
  Sequencer,
  SequencerClosedError,
  type SequencerOptions,
} from './sequencer.js';
export { KeyError, type LogKey, loadLogKey } from './signing/keys.js';
export { LevelLogStore } from './storage/level-store.js';
export { type CommitBatch, type LogStore, StorageError, type TreeState } from './storage/store.js';

/** The SHA-256 of node:crypto behind the RFC 6962 hasher (about 2.5x the pure-JS one). */
export function nodeHasher(): Hasher {
  return new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
}

/** A log with its HTTP app, not listening. */
export interface LogServer {
  readonly app: Hono;
  readonly log: Log;
  readonly origin: string;
  readonly verifierKey: string;
  readonly config: Config;
  readonly logger: Logger;
  /** Drains the pool (everything admitted gets committed and answered) and closes the store. */
  close(): Promise<void>;
}

/**
 * `hooks.fetch` replaces global fetch for witness requests (tests).
 * Opens the data directory (LevelDB + signing key, created on first start) and builds the
 * log and its Hono app. `input` is validated with the config schema (ZodError when invalid).
 */
export async function createLogServer(
  input: ConfigInput,
  logger?: Logger,
  hooks: { readonly fetch?: typeof fetch } = {},
): Promise<LogServer> {
  const config = ConfigSchema.parse(input);
  const log0 = logger ?? pino({ level: config.logLevel }, pino.destination(2));
  const dataDir = resolve(config.dataDir);
  const key = await loadLogKey({ dataDir, keyFile: config.keyFile, origin: config.origin, defaultOrigin: DEFAULT_ORIGIN });
  const store = await LevelLogStore.open(resolve(dataDir, 'db'));
  let log: Log;
  try {
    const hasher = nodeHasher();
    log = await Log.open(store, {
      origin: key.origin,
      signer: key.signer,
      verifierKey: key.verifierKey,
      hasher,
      sequencer: {
        batchMaxEntries: config.batchMaxEntries,
        batchIntervalMs: config.batchIntervalMs,
        poolMaxEntries: config.poolMaxEntries,
        poolMaxBytes: config.poolMaxBytes,
      },
      tileCacheTiles: config.tileCacheTiles,
      entryCacheBytes: config.entryCacheBytes,
      ...(config.witness.length > 0
        ? {
            publisher: (initial, l) =>
              new WitnessPublisher(initial, l, hasher, {
                witnesses: config.witness,
                quorum: config.witnessQuorum ?? config.witness.length,
                timeoutMs: config.witnessTimeoutMs,
                logger: log0,
                ...(hooks.fetch !== undefined ? { fetch: hooks.fetch } : {}),
              }),
          }
        : {}),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const app = createApp(log, {
    maxBatchBytes: config.maxBatchBytes,
    maxBatchEntries: Math.min(config.poolMaxEntries, config.maxBatchEntries),
    maxReceiptEntries: config.maxReceiptEntries,
    witnesses: config.witness.map((w) => w.url),
    witnessQuorum: config.witnessQuorum ?? config.witness.length,
    report: (err, c) => log0.error({ err, method: c.req.method, path: c.req.path }, 'request failed'),
  });
  let closing: Promise<void> | undefined;
  return {
    app,
    log,
    origin: key.origin,
    verifierKey: key.verifierKey,
    config,
    logger: log0,
    close: () =>
      (closing ??= (async () => {
        await log.close();
        await store.close();
      })()),
  };
}

/** A listening log server. */
export interface RunningServer extends LogServer {
  /** http://host:port, with the real port when 0 was asked. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections, finishes the batch in flight, closes the store. */
  stop(): Promise<void>;
}

/** createLogServer + listen on config host:port. */
export async function startServer(input: ConfigInput, logger?: Logger): Promise<RunningServer> {
  const s = await createLogServer(input, logger);
  const server = await new Promise<Server>((resolveServer, reject) => {
    const srv = serve({ fetch: s.app.fetch, port: s.config.port, hostname: s.config.host }, () => resolveServer(srv as Server)) as Server;
    srv.once('error', (err) => {
      void s.close().finally(() => reject(err));
    });
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const host = s.config.host.includes(':') ? `[${s.config.host}]` : s.config.host;
  let stopping: Promise<void> | undefined;
  return {
    ...s,
    url: `http://${host}:${port}`,
    port,
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        await s.close(); // answers everything already admitted
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), 2000);
        await closed;
        clearTimeout(grace);
      })()),
  };
}
