/**
 * Errors of the client SDK. Callers branch on the class: a {@link LogFetchError} is a network or
 * HTTP problem (retry later), a {@link LogMisbehaviourError} means the log served something
 * that does not verify (keep the evidence, do not trust the log).
 */

/** Base class of every error this package throws. */
export class LogClientError extends Error {
  override readonly name: string = 'LogClientError';
}

/** A request to the log failed: no answer, a non-2xx status, or a body that is not what the API promises. */
export class LogFetchError extends LogClientError {
  override readonly name: string = 'LogFetchError';
  /** The URL that was requested. */
  readonly url: string;
  /** The HTTP status, or 0 when there was no HTTP answer at all. */
  readonly status: number;
  constructor(url: string, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.url = url;
    this.status = status;
  }
}

/**
 * What kind of misbehaviour was seen:
 * - `rollback`: a correctly signed checkpoint smaller than the trusted one;
 * - `fork`: a correctly signed checkpoint of the same size with another root;
 * - `bad-signature`: a checkpoint not signed by the pinned key (or for another origin);
 * - `bad-proof`: an inclusion or consistency proof, or a hash tile, that does not verify;
 * - `bad-entries`: an entry bundle whose entries do not hash to the authenticated leaf hashes.
 */
export type MisbehaviourKind = 'rollback' | 'fork' | 'bad-signature' | 'bad-proof' | 'bad-entries';

/**
 * The material that shows a log misbehaved. Signed notes are kept verbatim so a third party can
 * check them; binary values are standard base64.
 */
export interface MisbehaviourEvidence {
  /** The log's origin (checkpoint origin line). */
  readonly origin: string;
  /** The log's base URL, when known. */
  readonly url?: string;
  /** The signed note of the checkpoint the client trusted before. */
  readonly trusted?: string;
  /** The signed note (or, for bad-signature, the raw text) the log served. */
  readonly candidate?: string;
  /** The proof hashes (base64) that failed, if a proof was involved. */
  readonly proof?: readonly string[];
  /** Anything else that helps: the tile path, the index, the expected and computed hashes. */
  readonly details?: Readonly<Record<string, string | number>>;
}

/**
 * The log served something that does not verify against what the client already trusts.
 * Carries the kind and the evidence; `evidencePath` is set once the evidence has been saved.
 */
export class LogMisbehaviourError extends LogClientError {
  override readonly name: string = 'LogMisbehaviourError';
  /** What went wrong. */
  readonly kind: MisbehaviourKind;
  /** Signed checkpoints, proofs and details. */
  readonly evidence: MisbehaviourEvidence;
  /** Where the evidence was written, if a state store saved it. */
  evidencePath?: string;
  constructor(kind: MisbehaviourKind, message: string, evidence: MisbehaviourEvidence, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.evidence = evidence;
  }
}

/** A receipt or a caller-provided argument is not acceptable (offline verification failed, bad range). */
export class VerificationError extends LogClientError {
  override readonly name: string = 'VerificationError';
}
