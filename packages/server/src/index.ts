/**
 * @tlog/server: the tlog log server. `startServer` runs it on a port; `createLogServer` builds
 * the Hono app and the log without listening (for tests through app.request()).
 */
import crypto from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { fastHasher, type Hasher, parseCheckpoint, parseNote } from '@tlog/merkle';
import type { Hono } from 'hono';
import { type Logger, pino } from 'pino';
import { createApp } from './app.js';
import { type Config, type ConfigInput, ConfigSchema, DEFAULT_ORIGIN } from './config.js';
import { EventLog, PendingEvents } from './events/event-log.js';
import { MASTER_KEY_FILE_NAME, openEventKeys } from './events/master-key.js';
import { Log, LogStateError } from './log.js';
import { loadLogKey, VKEY_FILE_NAME } from './signing/keys.js';
import { CheckpointFile } from './storage/checkpoint-file.js';
import { LevelLogStore } from './storage/level-store.js';
import { StorageError } from './storage/store.js';
import { WitnessPublisher } from './witness/publisher.js';

export { type AppOptions, createApp } from './app.js';
export { CONFIG_OPTIONS, type Config, ConfigError, type ConfigInput, ConfigSchema, DEFAULT_ORIGIN, parseConfig } from './config.js';
export { EventCipher } from './events/event-cipher.js';
export { type AppendedEvents, EventConflictError, EventLog, PendingEvents, type StoredEvent } from './events/event-log.js';
export { CursorError, type EventPage, type FoundEvent, type SearchRequest } from './events/event-search.js';
export { type EventKeys, MASTER_KEY_FILE_NAME, openEventKeys } from './events/master-key.js';
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

/**
 * The server's RFC 6962 hasher: the WebAssembly SIMD kernel for batches (a request's leaves, tree
 * levels, tile levels) and single node hashes, several times faster per batched hash than a
 * node:crypto call and faster for one node hash too; node:crypto where WebAssembly SIMD does not run.
 */
export function nodeHasher(): Hasher {
  return fastHasher((d) => crypto.hash('sha256', d, 'buffer'));
}

/** A log with its HTTP app, not listening. */
export interface LogServer {
  readonly app: Hono;
  readonly log: Log;
  /** The log's audit events. */
  readonly events: EventLog;
  readonly origin: string;
  readonly verifierKey: string;
  readonly config: Config;
  readonly logger: Logger;
  /** Things the operator should fix (e.g. a signing key readable by others), one line each. */
  readonly warnings: readonly string[];
  /** Drains the pool (everything admitted gets committed and answered) and closes the store. */
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
}

/** File name, inside the data directory, of the checkpoint record (see CheckpointFile). */
export const CHECKPOINT_FILE_NAME = 'checkpoint';
/** Directory name, inside the data directory, of the LevelDB database. */
export const DB_DIR_NAME = 'db';

/** The tree size a recorded checkpoint names, for messages ("unknown" if it does not parse). */
function recordedSize(note: string): string {
  try {
    return String(parseCheckpoint(parseNote(note).text).size);
  } catch {
    return 'unknown';
  }
}

/** Whether `path` exists and, for a directory, has any entry. */
async function present(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory() ? (await readdir(path)).length > 0 : true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new StorageError(`cannot look at ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Opens the data directory (LevelDB + signing key + checkpoint record; created on first start)
 * and builds the log and its Hono app. `input` is validated with the config schema (ZodError
 * when invalid). Refuses, with KeyError / LogStateError / StorageError saying what to do, a data
 * dir whose key is missing, whose store is damaged, behind or disagrees with what was signed.
 */
export async function createLogServer(input: ConfigInput, logger?: Logger, hooks: ServerHooks = {}): Promise<LogServer> {
  const config = ConfigSchema.parse(input);
  const log0 = logger ?? pino({ level: config.logLevel }, pino.destination(2));
  const dataDir = resolve(config.dataDir);
  const dbDir = join(dataDir, DB_DIR_NAME);
  const checkpointPath = join(dataDir, CHECKPOINT_FILE_NAME);
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new StorageError(`cannot create the data dir ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  // Anything of a log here means its key must exist: never generate a new one over it.
  const hasLog = (await present(dbDir)) || (await present(checkpointPath)) || (await present(join(dataDir, VKEY_FILE_NAME)));
  const key = await loadLogKey({
    dataDir,
    keyFile: config.keyFile,
    origin: config.origin,
    defaultOrigin: DEFAULT_ORIGIN,
    mayCreate: !hasLog,
  });
  const warnings: string[] = key.warning === undefined ? [] : [key.warning];
  for (const w of warnings) log0.warn(w);
  const record = await CheckpointFile.open(checkpointPath);
  let store: LevelLogStore;
  try {
    if (record.current !== undefined && !(await present(dbDir))) {
      // Refused before LevelDB would create an empty database here, so nothing is changed.
      throw new LogStateError(
        `the database ${dbDir} is missing, but this log has signed a checkpoint of size ${recordedSize(record.current)}: ` +
          'its entries are gone; restore the db from a backup (a new, empty database would start a second history)',
      );
    }
    store = await LevelLogStore.open(dbDir);
  } catch (err) {
    await record.close();
    throw err;
  }
  let log: Log;
  let events: EventLog;
  try {
    const eventKeys = await openEventKeys(store, {
      path: config.masterKeyFile ?? join(dataDir, MASTER_KEY_FILE_NAME),
      explicit: config.masterKeyFile !== undefined,
    });
    if (eventKeys.warning !== undefined) {
      warnings.push(eventKeys.warning);
      log0.warn(eventKeys.warning);
    }
    const pending = new PendingEvents(eventKeys.cipher);
    const hasher = nodeHasher();
    log = await Log.open(store, {
      origin: key.origin,
      signer: key.signer,
      verifierKey: key.verifierKey,
      hasher,
      sequencer: {
        batchMaxEntries: config.batchMaxEntries,
        batchMaxBytes: config.batchMaxBytes,
        batchIntervalMs: config.batchIntervalMs,
        poolMaxEntries: config.poolMaxEntries,
        poolMaxBytes: config.poolMaxBytes,
      },
      tileCacheTiles: config.tileCacheTiles,
      entryCacheBytes: config.entryCacheBytes,
      checkpointRecord: record,
      reopenStore: () => LevelLogStore.open(dbDir),
      onFatal: (err) => {
        log0.fatal({ err }, 'the log stopped');
        hooks.onFatal?.(err);
      },
      logger: log0,
      extensions: [pending.extension],
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
    events = EventLog.open(log, eventKeys.cipher, pending);
  } catch (err) {
    await store.close().catch(() => {});
    await record.close();
    throw err;
  }
  const app = createApp(log, {
    events,
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
    events,
    origin: key.origin,
    verifierKey: key.verifierKey,
    config,
    logger: log0,
    warnings,
    close: () =>
      (closing ??= (async () => {
        try {
          await log.close();
        } finally {
          await log.currentStore.close().catch((err: unknown) => log0.warn({ err }, 'closing the store failed'));
          await record.close();
        }
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
export async function startServer(input: ConfigInput, logger?: Logger, hooks: ServerHooks = {}): Promise<RunningServer> {
  const s = await createLogServer(input, logger, hooks);
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
