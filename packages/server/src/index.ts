/**
 * @tlog/server: the tlog log server. `startServer` runs it on a port; `createLogServer` builds
 * the Hono app and the logs without listening (for tests through app.request()).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import { type Logger, pino } from 'pino';
import { createApp } from './app.js';
import { AccessTrail } from './auth/access-trail.js';
import { ApiKeyStore } from './auth/api-keys.js';
import { Authenticator } from './auth/authenticator.js';
import { ADMIN_KEY_FILE_NAME, bootstrapAdminKey } from './auth/bootstrap.js';
import type { AuthEnv } from './auth/principal.js';
import { RateLimiter } from './auth/rate-limit.js';
import { type Config, type ConfigInput, ConfigSchema, DEFAULT_ORIGIN } from './config.js';
import type { EventLog } from './events/event-log.js';
import { type ExpiredEvent, ExpiryJob } from './events/expiry.js';
import { Governance } from './events/governance.js';
import { MASTER_KEY_FILE_NAME } from './events/master-key.js';
import { EventFeed } from './feeds/event-feed.js';
import { loadSinksFile } from './feeds/sinks/sink-config.js';
import { SinkCursors } from './feeds/sinks/sink-cursors.js';
import { Sinks } from './feeds/sinks/sinks.js';
import { type HostedLog, openHostedLog } from './hosted-log.js';
import type { Log } from './log.js';
import { ServerMetrics } from './metrics.js';
import { adminKeyRoutes } from './routes/admin-keys.js';
import { governanceRoutes } from './routes/governance.js';
import { operationsRoutes, storeProbe, writableProbe } from './routes/operations.js';
import { sinkRoutes } from './routes/sinks.js';
import { KEY_FILE_NAME, VKEY_FILE_NAME } from './signing/keys.js';
import { ServedCertificate } from './tls.js';

export { type AppAuth, type AppOptions, createApp, type ServedLog } from './app.js';
export { AccessLogUnavailableError, AccessTrail } from './auth/access-trail.js';
export { type ApiKeyInfo, ApiKeyStore, type NewApiKey } from './auth/api-keys.js';
export { ADMIN_KEY_FILE_NAME } from './auth/bootstrap.js';
export {
  type AccessEntry,
  type AccessRecorder,
  type AuthEnv,
  type Guard,
  hasScope,
  type Principal,
  SCOPES,
  type Scope,
} from './auth/principal.js';
export { CONFIG_OPTIONS, type Config, ConfigError, type ConfigInput, ConfigSchema, DEFAULT_ORIGIN, parseConfig } from './config.js';
export { type ErasedBy, ErasureRefusedError, EventErasedError, type Tombstone } from './events/erasure.js';
export { EventCipher } from './events/event-cipher.js';
export { type AppendedEvents, EventConflictError, EventLog, PendingEvents, type StoredEvent } from './events/event-log.js';
export { CursorError, type EventPage, type FoundEvent, type SearchRequest } from './events/event-search.js';
export { type ExpiredEvent, ExpiryJob, type ExpiryOptions, type ExpiryRound } from './events/expiry.js';
export {
  Governance,
  GovernanceInputError,
  type GovernanceOptions,
  type HoldInput,
  type KeyRef,
  type LegalHold,
  type RetentionRule,
  type RetentionRuleInput,
} from './events/governance.js';
export { type EventKeys, MASTER_KEY_FILE_NAME, openEventKeys } from './events/master-key.js';
export { loadSinksFile, parseSinksConfig, type SinkConfig, type SinkType } from './feeds/sinks/sink-config.js';
export type { SinkState, SinkStatus } from './feeds/sinks/sink-worker.js';
export { Sinks, type SinksOptions } from './feeds/sinks/sinks.js';
export { CHECKPOINT_FILE_NAME, DB_DIR_NAME, type HostedLog, nodeHasher } from './hosted-log.js';
export { type Appended, Log, type LogOptions, LogStateError, NotFoundError } from './log.js';
export { type AuthFailureReason, type ErasureKind, type LogGauges, ServerMetrics } from './metrics.js';
export type { Published, Publisher } from './publisher.js';
export { type GovernanceRouteDeps, governanceRoutes } from './routes/governance.js';
export { type OperationsOptions, operationsRoutes, type ReadinessProbe, storeProbe, writableProbe } from './routes/operations.js';
export {
  type AddedEntry,
  type BatchExtension,
  type Commit,
  type CommitStats,
  PoolFullError,
  type Sequenced,
  Sequencer,
  SequencerClosedError,
  type SequencerOptions,
} from './sequencer.js';
export { KeyError, type LogKey, loadLogKey } from './signing/keys.js';
export { CheckpointFile, type CheckpointRecord, MemoryCheckpointRecord } from './storage/checkpoint-file.js';
export { LevelLogStore } from './storage/level-store.js';
export { type CommitFault, MemoryLogStore } from './storage/memory-store.js';
export {
  type CommitBatch,
  type ExtensionCursor,
  type ExtensionRange,
  type ExtensionRecord,
  type LogStore,
  StorageCorruptError,
  StorageError,
  type TreeState,
} from './storage/store.js';
export { ServedCertificate, TlsError, type TlsFiles } from './tls.js';

/** A log with its HTTP app, not listening. */
export interface LogServer {
  readonly app: Hono<AuthEnv>;
  /** The main log. */
  readonly log: Log;
  /** The main log's audit events. */
  readonly events: EventLog;
  /** The main log's events as exports, streams and sinks read them. */
  readonly feed: EventFeed;
  readonly origin: string;
  readonly verifierKey: string;
  /** The access log (served under /access): every read of event content and every admin action. */
  readonly access: HostedLog;
  /** The API keys. */
  readonly keys: ApiKeyStore;
  /** Retention rules, legal holds and erasure of the main log's events. */
  readonly governance: Governance;
  /** The background job erasing expired events (started; stopped by close). */
  readonly expiry: ExpiryJob;
  /** Where the bootstrap admin key is (written on first start). */
  readonly adminKeyPath: string;
  readonly config: Config;
  readonly logger: Logger;
  /** The Prometheus metrics (GET /metrics). */
  readonly metrics: ServerMetrics;
  /** Things the operator should fix (e.g. a signing key readable by others), one line each. */
  readonly warnings: readonly string[];
  /** Things the operator should know (the admin key was made), one line each. */
  readonly notices: readonly string[];
  /** The sinks of --sinks-file (started; stopped by close before the logs close). */
  readonly sinks: Sinks;
  /** Drains the pools (everything admitted gets committed and answered) and closes the stores. */
  close(): Promise<void>;
}

/** Hooks for embedding and tests. */
export interface ServerHooks {
  /** Replaces global fetch for witness requests. */
  readonly fetch?: typeof fetch;
  /**
   * Told when the log cannot go on (its storage contradicts what it signed, or cannot be
   * reopened after a failed commit); it has stopped accepting entries. `main` exits non-zero.
   */
  readonly onFatal?: (err: Error) => void;
  /** Told of every event the expiry job erases (after its erasure is durable and in the access log). */
  readonly onExpired?: (e: ExpiredEvent) => void | Promise<void>;
}

/** Directory name, inside the data directory, of the access log (its db and checkpoint record). */
export const ACCESS_DIR_NAME = 'access';
/** File names, inside the data directory, of the access log's signing and verifier keys. */
export const ACCESS_KEY_FILE_NAMES = { key: 'access.key', vkey: 'access.vkey' } as const;
/** How often the keys' last-used times are written. */
const LAST_USED_FLUSH_MS = 60_000;

/** The socket address of a request served by @hono/node-server (undefined under app.request). */
function socketAddress(c: Context): string | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
}

/**
 * Opens the data directory (created on first start): the main log (LevelDB + signing key +
 * checkpoint record), the access log beside it (`access/`, `access.key`), the API keys (and the
 * bootstrap admin key), and builds the Hono app. `input` is validated with the config schema
 * (ZodError when invalid). Refuses, with KeyError / LogStateError / StorageError saying what to
 * do, a data dir whose key is missing, whose store is damaged, behind or disagrees with what was signed.
 */
export async function createLogServer(input: ConfigInput, logger?: Logger, hooks: ServerHooks = {}): Promise<LogServer> {
  const config = ConfigSchema.parse(input);
  // Sinks: the file is read before any store is opened, so a bad one stops the start at once.
  const sinkConfigs = config.sinksFile === undefined ? [] : await loadSinksFile(config.sinksFile);
  const log0 = logger ?? pino({ level: config.logLevel }, pino.destination(2));
  const dataDir = resolve(config.dataDir);
  const metrics = new ServerMetrics();
  const ctx = {
    metrics,
    config,
    logger: log0,
    masterKey: { path: config.masterKeyFile ?? join(dataDir, MASTER_KEY_FILE_NAME), explicit: config.masterKeyFile !== undefined },
    fetch: hooks.fetch,
    onFatal: hooks.onFatal,
  };
  const main = await openHostedLog(
    {
      name: 'main',
      prefix: '',
      dir: dataDir,
      keyDir: dataDir,
      keyFileNames: { key: KEY_FILE_NAME, vkey: VKEY_FILE_NAME },
      keyFile: config.keyFile,
      origin: config.origin,
      defaultOrigin: DEFAULT_ORIGIN,
      witnesses: config.witness,
    },
    ctx,
  );
  let access: HostedLog;
  let keys: ApiKeyStore;
  let governance: Governance;
  const notices: string[] = [];
  const adminKeyPath = join(dataDir, ADMIN_KEY_FILE_NAME);
  try {
    access = await openHostedLog(
      {
        name: 'access',
        prefix: '/access',
        dir: join(dataDir, ACCESS_DIR_NAME),
        keyDir: dataDir,
        keyFileNames: ACCESS_KEY_FILE_NAMES,
        origin: `${main.origin}/access`,
        defaultOrigin: `${main.origin}/access`,
        witnesses: [],
      },
      ctx,
    );
  } catch (err) {
    await main.close().catch(() => {});
    throw err;
  }
  try {
    // Keys live in the access log's store: the server's own records, apart from the data it
    // guards (a damaged table of the main store then answers 503 where it is read, as before).
    keys = await ApiKeyStore.open(() => access.log.currentStore);
    const made = await bootstrapAdminKey(keys, adminKeyPath);
    if (made === 'created') notices.push(`bootstrap admin key written to ${adminKeyPath} (mode 0600): use it with --api-key-file`);
    governance = await Governance.open({
      events: main.events,
      cipher: main.cipher,
      minRetentionDays: config.minRetentionDays,
      initialRules: config.retention,
      stateStore: () => access.log.currentStore,
    });
  } catch (err) {
    await main.close().catch(() => {});
    await access.close().catch(() => {});
    throw err;
  }
  const mainFeed = new EventFeed(main.log, main.events);
  const accessFeed = new EventFeed(access.log, access.events);
  const warnings = [...new Set([...main.warnings, ...access.warnings])];
  for (const w of warnings) log0.warn(w);
  const trail = new AccessTrail(access.events);
  // ---- sinks: cursors in the access log's store (like governance); each batch's access event through the trail.
  let sinks: Sinks;
  try {
    sinks = await Sinks.open({
      configs: sinkConfigs,
      source: mainFeed,
      cursors: new SinkCursors(() => access.log.currentStore),
      announce: (entry, actor) => trail.appendSystem(entry, actor),
      origin: main.origin,
      logger: log0,
      onDelivered: (sink, n) => metrics.sinkDelivered(sink, n),
    });
  } catch (err) {
    await main.close().catch(() => {});
    await access.close().catch(() => {});
    throw err;
  }
  metrics.addSinks(() => sinks.list());
  // ---- end sinks
  const auth = new Authenticator({
    keys,
    limiter: new RateLimiter(new Map(config.rateLimit.map((r) => [r.scope, r.limit]))),
    trail,
    clientIp: socketAddress,
    onRefused: (reason) =>
      metrics.authFailed(
        reason === 'forbidden' ? 'forbidden' : reason === 'expired' || reason === 'revoked' || reason === 'missing' ? reason : 'invalid',
      ),
    onRateLimited: (scope) => metrics.rateLimitedIn(scope),
    onUnrecorded: (err) => log0.error({ err }, 'a refused request could not be recorded in the access log'),
  });
  const app = createApp(
    [
      {
        prefix: '',
        log: main.log,
        events: main.events,
        feed: mainFeed,
        writable: true,
        eventReadScope: 'events:read',
        witnesses: config.witness.map((w) => w.url),
        witnessQuorum: config.witnessQuorum ?? config.witness.length,
      },
      { prefix: '/access', log: access.log, events: access.events, feed: accessFeed, writable: false, eventReadScope: 'admin' },
    ],
    {
      maxBatchBytes: config.maxBatchBytes,
      maxBatchEntries: Math.min(config.poolMaxEntries, config.maxBatchEntries),
      maxReceiptEntries: config.maxReceiptEntries,
      auth: { guard: auth.guard, privateTree: config.privateTree, openEntries: config.openEntries },
      measure: metrics.measure,
      feeds: {
        heartbeatMs: config.streamHeartbeatMs,
        stallMs: config.streamStallMs,
        maxStreams: config.maxStreams,
        maxExports: config.maxExports,
      },
      extraRoutes: [
        operationsRoutes({
          registry: metrics.registry,
          probes: [storeProbe('store', main.log), writableProbe('sequencer', main.log), writableProbe('access_log', access.log)],
          guard: auth.guard,
          metricsPublic: config.metricsPublic,
        }),
        adminKeyRoutes(keys, auth.guard),
        governanceRoutes({ governance, guard: auth.guard, onErased: () => metrics.erased('request') }),
        sinkRoutes({ sinks, guard: auth.guard }),
      ],
      report: (err, c) => log0.error({ err, method: c.req.method, path: c.req.path }, 'request failed'),
    },
  );
  // Each expired event is an access event, recorded before it is erased: when the access log
  // cannot take it, nothing is erased and the job tries again next round.
  const expiry = new ExpiryJob({
    governance,
    events: main.events,
    intervalMs: config.expiryIntervalMs,
    rate: config.expiryRate,
    beforeErase: (index, tombstone, rule) =>
      trail.appendSystem(
        {
          action: 'events.erase',
          outcome: 'success',
          targets: [{ type: 'event', id: String(index) }],
          details: { rule: { ...rule }, reason: tombstone.reason },
        },
        'retention',
      ),
    onErased: async (e) => {
      metrics.erased('retention');
      await hooks.onExpired?.(e);
    },
    onError: (err) => log0.error({ err }, 'the expiry job failed; it retries at its next round'),
  });
  expiry.start();
  sinks.start();
  const flushLastUsed = () => keys.flushLastUsed().catch((err: unknown) => log0.warn({ err }, "writing the keys' last use failed"));
  const flusher = setInterval(flushLastUsed, LAST_USED_FLUSH_MS);
  flusher.unref();
  let closing: Promise<void> | undefined;
  return {
    app,
    log: main.log,
    events: main.events,
    feed: mainFeed,
    origin: main.origin,
    verifierKey: main.verifierKey,
    access,
    keys,
    governance,
    expiry,
    adminKeyPath,
    config,
    logger: log0,
    metrics,
    warnings,
    notices,
    sinks,
    close: () =>
      (closing ??= (async () => {
        // Sinks first: their requests in flight are aborted and their cursors settle while the stores are open.
        await sinks.close();
        // Live streams end first (each tells its client where to resume), then the logs.
        mainFeed.close();
        accessFeed.close();
        clearInterval(flusher);
        await expiry.stop();
        await keys.flushLastUsed(true).catch((err: unknown) => log0.warn({ err }, "writing the keys' last use failed"));
        try {
          await main.close();
        } finally {
          await access.close();
        }
      })()),
  };
}

/** A listening log server. */
export interface RunningServer extends LogServer {
  /** http://host:port (https:// with --tls-cert), with the real port when 0 was asked. */
  readonly url: string;
  readonly port: number;
  /**
   * Re-reads the TLS certificate and key files and serves them to new connections (main calls it
   * on SIGHUP). Rejects with TlsError, keeping the old certificate, when they cannot be loaded;
   * does nothing when serving plain HTTP.
   */
  reloadTls(): Promise<void>;
  /** Stops accepting connections, finishes the batch in flight, closes the store. */
  stop(): Promise<void>;
}

/** createLogServer + listen on config host:port. */
export async function startServer(input: ConfigInput, logger?: Logger, hooks: ServerHooks = {}): Promise<RunningServer> {
  const config = ConfigSchema.parse(input);
  // Before the store is opened: a certificate that cannot be served is a startup error.
  const tls = config.tlsCert === undefined ? undefined : await ServedCertificate.load({ cert: config.tlsCert, key: config.tlsKey! });
  const s = await createLogServer(config, logger, hooks);
  const server = await new Promise<Server | HttpsServer>((resolveServer, reject) => {
    const options = { fetch: s.app.fetch, port: s.config.port, hostname: s.config.host, ...tls?.serveOptions() };
    const srv = serve(options, () => resolveServer(srv as Server | HttpsServer)) as Server | HttpsServer;
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
    url: `${tls === undefined ? 'http' : 'https'}://${host}:${port}`,
    port,
    reloadTls: () => (tls === undefined ? Promise.resolve() : tls.reload(server as HttpsServer)),
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
