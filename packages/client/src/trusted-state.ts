import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSlug, PUBLIC_FILE_MODE, writeFileAtomic } from '@tlog/files';
import type { Hash } from '@tlog/merkle';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import { ArgumentError, LogClientError, LogMisbehaviourError } from './errors.js';
import type { EvidenceFileOptions } from './evidence-file.js';
import { formatEvidence } from './evidence-file.js';
import type { LogClient } from './log-client.js';
import type { ProofOptions } from './proof-source.js';

/** The state directory holds something this client cannot use (unreadable, or not signed by the pinned key). */
export class StateError extends LogClientError {
  override readonly name: string = 'StateError';
}

/** Result of {@link TrustedStateStore.advance}. */
export interface AdvanceResult {
  /** The checkpoint trusted before, if any. */
  readonly previous?: VerifiedCheckpoint;
  /** The checkpoint trusted now (the new one, or the previous one if the log did not grow). */
  readonly current: VerifiedCheckpoint;
  /** The verified consistency proof from previous to current (empty if nothing to prove). */
  readonly proof: readonly Hash[];
  /** Whether the stored checkpoint changed. */
  readonly changed: boolean;
}

/**
 * The latest verified checkpoint of each log, kept in a directory (Node only). The stored
 * checkpoint never regresses: a new one replaces it only after it is proven consistent with it,
 * and every replacement is atomic and durable. Misbehaviour is saved as evidence files in the
 * same directory. Calls on one store are serialized, so two rounds cannot race.
 */
export class TrustedStateStore {
  /** The state directory. */
  readonly dir: string;
  private queue: Promise<unknown> = Promise.resolve();

  /** dir is created on first write. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** Path of the file holding the trusted signed checkpoint of the log with this origin. */
  checkpointPath(origin: string): string {
    return join(this.dir, `${fileSlug(origin)}.checkpoint`);
  }

  /**
   * The trusted checkpoint of client's log, re-verified with its pinned key, or undefined if none
   * is stored. StateError if the file exists but does not verify (wrong key or corrupted).
   */
  async load(client: LogClient): Promise<VerifiedCheckpoint | undefined> {
    const path = this.checkpointPath(client.origin);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateError(`cannot read the trusted checkpoint ${path}: ${errorMessage(e)}`, { cause: e });
    }
    try {
      return client.openCheckpoint(text);
    } catch (e) {
      throw new StateError(
        `the trusted checkpoint in ${path} does not verify with the key ${client.vkey} (${errorMessage(e)}); use a state directory made for this log`,
        { cause: e },
      );
    }
  }

  /**
   * One monitoring round: fetch the latest checkpoint (or use `candidate`), verify it, prove it
   * consistent with the trusted one and store it. On misbehaviour, saves the evidence (setting
   * err.evidencePath) and rethrows the LogMisbehaviourError; the trusted checkpoint is unchanged.
   * The first round (nothing trusted yet) checks the configuration instead: a checkpoint that does
   * not verify is a ConfigurationError (LogClient.verifyLogKey) and no evidence is written.
   * Rounds of one store are serialized; other processes sharing the directory are tolerated (a
   * larger stored checkpoint is never overwritten) but should be avoided.
   */
  advance(client: LogClient, options: ProofOptions & { candidate?: VerifiedCheckpoint } = {}): Promise<AdvanceResult> {
    return this.serialized(async () => {
      const previous = await this.load(client);
      try {
        // With nothing trusted yet, a checkpoint that does not verify means the key or origin is
        // not this log's: a ConfigurationError, not evidence against the log.
        const current = options.candidate ?? (previous === undefined ? await client.verifyLogKey() : await client.latestCheckpoint());
        const proof = await client.verifyUpdate(previous, current, options);
        const changed = previous === undefined || previous.checkpoint.size !== current.checkpoint.size;
        if (!changed) return { previous, current: previous, proof, changed };
        // Another process sharing this directory may have advanced it meanwhile: never write
        // over a larger checkpoint, and check the two views agree.
        const now = await this.load(client);
        if (now !== undefined && now.checkpoint.size !== previous?.checkpoint.size) {
          if (now.checkpoint.size >= current.checkpoint.size) {
            await client.consistencyProof(current, now, options);
            return { ...(previous === undefined ? {} : { previous }), current: now, proof, changed: true };
          }
          await client.verifyUpdate(now, current, options);
        }
        await writeFileAtomic(this.checkpointPath(client.origin), current.note, { mode: PUBLIC_FILE_MODE });
        return { ...(previous === undefined ? {} : { previous }), current, proof, changed };
      } catch (e) {
        // A bad signature names no trusted checkpoint itself; the evidence still records it.
        if (e instanceof LogMisbehaviourError)
          await this.saveEvidenceUnlocked(e, { verifierKey: client.vkey, ...(previous === undefined ? {} : { trusted: previous.note }) });
        throw e;
      }
    });
  }

  /**
   * Writes the evidence of err to a new JSON file in the state directory, sets err.evidencePath
   * and returns the path (once per error: saving it again returns the same path).
   */
  saveEvidence(err: LogMisbehaviourError, options: EvidenceFileOptions = {}): Promise<string> {
    return this.serialized(() => this.saveEvidenceUnlocked(err, options));
  }

  /** Path of the file holding the entries cursor of the log with this origin (see {@link saveEntriesCursor}). */
  entriesCursorPath(origin: string): string {
    return join(this.dir, `${fileSlug(origin)}.entries.json`);
  }

  /**
   * The index of the first entry not yet delivered to the user of client's log, as last saved
   * by {@link saveEntriesCursor}; undefined if none was saved. StateError if the file is corrupt.
   */
  loadEntriesCursor(client: LogClient): Promise<number | undefined> {
    return this.serialized(async () => {
      const path = this.entriesCursorPath(client.origin);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new StateError(`cannot read the entries cursor ${path}: ${errorMessage(e)}`, { cause: e });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const ok = typeof parsed === 'object' && parsed !== null && (parsed as { origin?: unknown }).origin === client.origin;
      const next = ok ? (parsed as { next?: unknown }).next : undefined;
      if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 0) {
        throw new StateError(
          `the entries cursor ${path} is corrupt or belongs to another log; delete it to stream entries from the trusted checkpoint on`,
        );
      }
      return next;
    });
  }

  /**
   * Durably records that the entries of client's log before index `next` were delivered, so a
   * monitor that stops (or fails) part way resumes there instead of skipping or repeating entries.
   */
  saveEntriesCursor(client: LogClient, next: number): Promise<void> {
    if (!Number.isSafeInteger(next) || next < 0)
      throw new ArgumentError(`the entries cursor must be a non-negative integer, got ${String(next)}`);
    return this.serialized(() =>
      writeFileAtomic(this.entriesCursorPath(client.origin), JSON.stringify({ origin: client.origin, next }) + '\n', {
        mode: PUBLIC_FILE_MODE,
      }),
    );
  }

  private async saveEvidenceUnlocked(err: LogMisbehaviourError, options: EvidenceFileOptions): Promise<string> {
    if (err.evidencePath !== undefined) return err.evidencePath;
    const now = new Date();
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    // The random suffix keeps two findings in the same millisecond from overwriting each other.
    const path = join(this.dir, `evidence-${fileSlug(err.evidence.origin)}-${stamp}-${err.kind}-${randomBytes(3).toString('hex')}.json`);
    await writeFileAtomic(path, formatEvidence(err, { ...options, detectedAt: now }), { mode: PUBLIC_FILE_MODE });
    err.evidencePath = path;
    return path;
  }

  private serialized<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
