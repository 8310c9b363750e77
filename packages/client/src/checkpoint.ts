import type { Checkpoint } from '@tlog/merkle';
import { MAX_NOTE_SIZE, openCheckpoint, parseCheckpoint, parseNote, parseVerifierKey } from '@tlog/merkle';
import { logAnswer, parseAnswer } from './api-answers.js';
import { errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ConfigurationError, LogClientError } from './errors.js';
import { fetchJson, fetchText, joinUrl } from './http.js';
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

/**
 * Checks that the log at the URL is the one the client is configured for: its GET /checkpoint
 * verifies under the pinned key for the expected origin. Otherwise a ConfigurationError that
 * says what the log does sign (origin, key, from the checkpoint and GET /v1/log); this is not
 * evidence, since nothing was trusted yet. Returns the verified checkpoint.
 */
export async function verifyLogKey(log: LogContext): Promise<VerifiedCheckpoint> {
  const note = await fetchCheckpointNote(log);
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(note, log.verifier, log.origin).checkpoint;
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw await wrongConfiguration(log, note, e);
  }
  return { checkpoint, note };
}

/** The ConfigurationError for a checkpoint that does not verify as configured, naming what the log signs with. */
async function wrongConfiguration(log: LogContext, note: string, cause: unknown): Promise<ConfigurationError> {
  let servedOrigin: string | undefined;
  let signers: string[] = [];
  try {
    const parsed = parseNote(note);
    signers = parsed.signatures.map((s) => `${s.name} (key ID ${s.keyId.toString(16).padStart(8, '0')})`);
    servedOrigin = parseCheckpoint(parsed.text).origin;
  } catch {
    // Not a signed checkpoint at all: the reason below says so.
  }
  const logKey = servedOrigin === undefined ? undefined : await keyThatVerifies(log, note, servedOrigin);
  const found: string[] = [];
  if (servedOrigin !== undefined && servedOrigin !== log.origin) {
    found.push(`its checkpoints are for the origin ${JSON.stringify(servedOrigin)}, not ${JSON.stringify(log.origin)}`);
  }
  if (logKey !== undefined && logKey !== log.vkey) found.push(`its checkpoint verifies with the key ${logKey} (named by its GET /v1/log)`);
  else if (logKey === undefined && signers.length > 0) found.push(`its checkpoint is signed by ${signers.join(', ')}`);
  const pinned = `${log.verifier.name} (key ID ${log.verifier.keyId.toString(16).padStart(8, '0')})`;
  return new ConfigurationError(
    `the log at ${log.url} does not sign checkpoints with the pinned key ${pinned} for ${JSON.stringify(log.origin)}: ${errorMessage(cause)}` +
      (found.length > 0 ? `; ${found.join('; ')}` : '') +
      '; check the verifier key, origin and URL (nothing was trusted or sent)',
    { pinnedKey: log.vkey, ...(logKey === undefined ? {} : { logKey }), cause },
  );
}

/** The verifier key the log names in GET /v1/log, if it names one and it verifies `note` for `origin`. */
async function keyThatVerifies(log: LogContext, note: string, origin: string): Promise<string | undefined> {
  const url = joinUrl(log.url, 'v1/log');
  try {
    const { verifierKey } = parseAnswer(logAnswer, await fetchJson(log.http, url), url);
    openCheckpoint(note, parseVerifierKey(verifierKey), origin);
    return verifierKey;
  } catch (e) {
    // A log without the JSON API, or a key that does not verify: only the signature lines can be named.
    if (e instanceof LogClientError || isDataError(e)) return undefined;
    throw notDataError(e);
  }
}
