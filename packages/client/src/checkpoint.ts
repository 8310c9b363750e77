import type { Checkpoint } from '@tlog/merkle';
import { MAX_NOTE_SIZE, openCheckpoint } from '@tlog/merkle';
import { errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { fetchText, joinUrl } from './http.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';

/** A checkpoint whose signature by the pinned log key (and origin) has been verified. */
export interface VerifiedCheckpoint {
  /** The parsed checkpoint. */
  readonly checkpoint: Checkpoint;
  /** The signed note exactly as the log served it (text and signature lines). */
  readonly note: string;
}

/** Verifies a signed checkpoint against the pinned key and origin; LogMisbehaviourError('bad-signature') if it does not verify. */
export function verifyCheckpoint(log: LogContext, signedNote: string): VerifiedCheckpoint {
  try {
    const { checkpoint } = openCheckpoint(signedNote, log.verifier, log.origin);
    return { checkpoint, note: signedNote };
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw misbehaviour(log, {
      kind: 'bad-signature',
      message: `the checkpoint does not verify with the pinned key ${log.verifier.name}: ${errorMessage(e)}`,
      evidence: { candidate: signedNote },
      cause: e,
    });
  }
}

/** GET /checkpoint as text, not yet verified. */
export function fetchCheckpointNote(log: LogContext): Promise<string> {
  return fetchText(log.http, joinUrl(log.url, 'checkpoint'), MAX_NOTE_SIZE);
}

/** Fetches GET /checkpoint and verifies it as {@link verifyCheckpoint} does. */
export async function fetchLatestCheckpoint(log: LogContext): Promise<VerifiedCheckpoint> {
  return verifyCheckpoint(log, await fetchCheckpointNote(log));
}
