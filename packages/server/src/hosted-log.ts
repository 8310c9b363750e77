import crypto from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fastHasher, type Hasher, parseCheckpoint, parseNote } from '@tlog/merkle';
import type { Logger } from 'pino';
import type { Config, WitnessConfig } from './config.js';
import type { EventCipher } from './events/event-cipher.js';
import { EventLog, PendingEvents } from './events/event-log.js';
import { openEventKeys } from './events/master-key.js';
import { Log, LogStateError } from './log.js';
import type { ServerMetrics } from './metrics.js';
import { loadLogKey } from './signing/keys.js';
import { CheckpointFile } from './storage/checkpoint-file.js';
import { LevelLogStore } from './storage/level-store.js';
import { StorageError } from './storage/store.js';
import { WitnessPublisher } from './witness/publisher.js';

/** File name, inside a log's directory, of the checkpoint record (see CheckpointFile). */
export const CHECKPOINT_FILE_NAME = 'checkpoint';
/** Directory name, inside a log's directory, of the LevelDB database. */
export const DB_DIR_NAME = 'db';

/**
 * The server's RFC 6962 hasher: the WebAssembly SIMD kernel for batches (a request's leaves, tree
 * levels, tile levels) and single node hashes, several times faster per batched hash than a
 * node:crypto call and faster for one node hash too; node:crypto where WebAssembly SIMD does not run.
 */
export function nodeHasher(): Hasher {
  return fastHasher((d) => crypto.hash('sha256', d, 'buffer'));
}

/**
 * Where one hosted log lives and what it is called. A server hosts several logs, each its own
 * tree, signing key, store and URL prefix: the main log at `/` and its access log at `/access`.
 */
export interface HostedLogSpec {
  /** Short name, for metrics and messages ("main", "access"). */
  readonly name: string;
  /** URL prefix its API is served under: '' or '/access'. */
  readonly prefix: string;
  /** Directory of its database (`<dir>/db`) and checkpoint record (`<dir>/checkpoint`). */
  readonly dir: string;
  /** Directory of its key files, and their names there. */
  readonly keyDir: string;
  readonly keyFileNames: { readonly key: string; readonly vkey: string };
  /** An explicit signing key file (--key), instead of the generated one. */
  readonly keyFile?: string | undefined;
  /** The origin asked for; undefined takes the key's, else `defaultOrigin`. */
  readonly origin?: string | undefined;
  readonly defaultOrigin: string;
  /** Witnesses asked to cosign its checkpoints. */
  readonly witnesses: readonly WitnessConfig[];
}

/** One opened log: tree, events, identity. */
export interface HostedLog {
  readonly name: string;
  readonly prefix: string;
  readonly log: Log;
  readonly events: EventLog;
  /** What its events are encrypted and indexed under. */
  readonly cipher: EventCipher;
  readonly origin: string;
  readonly verifierKey: string;
  /** Things the operator should fix, one line each. */
  readonly warnings: readonly string[];
  /** Drains its pool and closes its store and checkpoint record. */
  close(): Promise<void>;
}

/** What opening a log needs besides its spec. */
export interface HostedLogContext {
  readonly config: Config;
  readonly logger: Logger;
  /** Where the master key is (shared by every log of the server; each store wraps its own data key with it). */
  readonly masterKey: { readonly path: string; readonly explicit: boolean };
  readonly fetch?: typeof fetch | undefined;
  readonly onFatal?: ((err: Error) => void) | undefined;
  /** The server's metrics: each log reports its commits, events and gauges under its name. */
  readonly metrics: ServerMetrics;
}

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
 * Opens (creating on first start) one log: its signing key, checkpoint record, LevelDB store,
 * event keys, Log and EventLog. Refuses, with KeyError / LogStateError / StorageError saying
 * what to do, a log whose key is missing, whose store is damaged, behind or disagrees with what
 * was signed.
 */
export async function openHostedLog(spec: HostedLogSpec, ctx: HostedLogContext): Promise<HostedLog> {
  const { config, logger } = ctx;
  const dbDir = join(spec.dir, DB_DIR_NAME);
  const checkpointPath = join(spec.dir, CHECKPOINT_FILE_NAME);
  try {
    await mkdir(spec.dir, { recursive: true });
  } catch (err) {
    throw new StorageError(`cannot create the data dir ${spec.dir}: ${(err as Error).message}`, { cause: err });
  }
  // Anything of a log here means its key must exist: never generate a new one over it.
  const hasLog = (await present(dbDir)) || (await present(checkpointPath)) || (await present(join(spec.keyDir, spec.keyFileNames.vkey)));
  const key = await loadLogKey({
    dataDir: spec.keyDir,
    keyFile: spec.keyFile,
    origin: spec.origin,
    defaultOrigin: spec.defaultOrigin,
    mayCreate: !hasLog,
    fileNames: spec.keyFileNames,
  });
  const warnings: string[] = key.warning === undefined ? [] : [key.warning];
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
  let cipher: EventCipher;
  try {
    const eventKeys = await openEventKeys(store, ctx.masterKey);
    if (eventKeys.warning !== undefined && !warnings.includes(eventKeys.warning)) warnings.push(eventKeys.warning);
    cipher = eventKeys.cipher;
    const pending = new PendingEvents(cipher);
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
        logger.fatal({ err, log: spec.name }, 'the log stopped');
        ctx.onFatal?.(err);
      },
      logger,
      extensions: [pending.extension],
      onCommitted: ctx.metrics.commitObserver(spec.name),
      ...(spec.witnesses.length > 0
        ? {
            publisher: (initial, l) =>
              new WitnessPublisher(initial, l, hasher, {
                witnesses: spec.witnesses,
                quorum: config.witnessQuorum ?? spec.witnesses.length,
                timeoutMs: config.witnessTimeoutMs,
                logger,
                ...(ctx.fetch !== undefined ? { fetch: ctx.fetch } : {}),
              }),
          }
        : {}),
    });
    events = EventLog.open(log, eventKeys.cipher, pending, { onAppended: (n) => ctx.metrics.eventsAppendedTo(spec.name, n) });
    const opened = log;
    ctx.metrics.addLog(spec.name, () => ({ size: opened.committedSize, poolEntries: opened.pool.entries }));
  } catch (err) {
    await store.close().catch(() => {});
    await record.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    name: spec.name,
    prefix: spec.prefix,
    log,
    events,
    cipher,
    origin: key.origin,
    verifierKey: key.verifierKey,
    warnings,
    close: () =>
      (closing ??= (async () => {
        try {
          await log.close();
        } finally {
          await log.currentStore.close().catch((err: unknown) => logger.warn({ err, log: spec.name }, 'closing the store failed'));
          await record.close();
        }
      })()),
  };
}
