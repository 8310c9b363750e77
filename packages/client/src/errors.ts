import type { ErasedEvent } from './erasure.js';

/**
 * Errors of the client SDK. Everything this package throws is a {@link LogClientError}; the
 * subclass says who is at fault and so what to do:
 *
 * ```
 * LogClientError
 * ├── ArgumentError         the caller's mistake (an index beyond the tree, a bad URL or key): fix the call
 * ├── ConfigurationError    the pinned key or origin is not the log's: fix the configuration (--vkey, --origin, --url)
 * ├── LogFetchError         no answer, or an HTTP error status: retry later (a 429 says when: retryAfter)
 * │   ├── AccessDeniedError the log refused the request's API key (401: none or not valid, 403: lacks a scope or tenant): fix the key
 * │   └── ExportInterruptedError an export's body broke off: resume it after the last complete line (`after`)
 * ├── NotFoundError         the log does not have that leaf or index
 * ├── EventErasedError      the event asked for was erased: its tombstone, and its leaf still proven in the log
 * ├── ProtocolError         an answer that is not what the API promises (JSON of another shape): the log or a proxy is broken
 * ├── LogMisbehaviourError  something the log signed or that is tied to what it signed does not verify: keep the evidence
 * ├── VerificationError     an offline check (a receipt, fork evidence) failed
 * ├── StateError            the state directory holds something unusable (in '@tlog/client/node')
 * └── InternalError         a bug in this package (it called @tlog/merkle wrongly): report it
 * ```
 *
 * Only LogMisbehaviourError is evidence against the log. A ProtocolError is not: an unsigned
 * answer of the wrong shape proves nothing about the log a third party could check.
 */

/** Base class of every error this package throws. */
export class LogClientError extends Error {
  override readonly name: string = 'LogClientError';
}

/** The caller passed something this package cannot use (an index beyond the tree, a bad URL or key): fix the call. */
export class ArgumentError extends LogClientError {
  override readonly name: string = 'ArgumentError';
}

/**
 * The client is configured for another log than the one at its URL: the log does not sign its
 * checkpoints with the pinned key for the expected origin. Nothing was trusted or sent; fix the
 * key, origin or URL. Not evidence: with nothing trusted yet, the likely cause is the configuration.
 */
export class ConfigurationError extends LogClientError {
  override readonly name: string = 'ConfigurationError';
  /** The verifier key the client pinned. */
  readonly pinnedKey: string;
  /** The verifier key the log says it signs with (its GET /v1/log), when it says. */
  readonly logKey: string | undefined;
  constructor(message: string, options: { pinnedKey: string; logKey?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.pinnedKey = options.pinnedKey;
    this.logKey = options.logKey;
  }
}

/** A request to the log got no answer or an HTTP error status: a network or server problem, retry later. */
export class LogFetchError extends LogClientError {
  override readonly name: string = 'LogFetchError';
  /** The URL that was requested. */
  readonly url: string;
  /** The HTTP status the log answered, or 0 when there was no HTTP answer at all (refused, timed out). */
  readonly status: number;
  /** Seconds the log asked the client to wait before retrying (its Retry-After, on a 429 or 503), when it said. */
  readonly retryAfter: number | undefined;
  constructor(message: string, options: { url: string; status: number; retryAfter?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.url = options.url;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * The log refused the request's API key: `status` 401 when no key was sent or the key is not
 * valid (unknown, revoked, expired), 403 when the key lacks the scope or the tenant the request
 * needs. Retrying will not help; fix the key. The message never holds the key.
 */
export class AccessDeniedError extends LogFetchError {
  override readonly name: string = 'AccessDeniedError';
  /** Whether the request carried an API key (a 401 without one: give one; with one: it is not valid). */
  readonly keySent: boolean;
  constructor(message: string, options: { url: string; status: 401 | 403; keySent: boolean; cause?: unknown }) {
    super(message, options);
    this.keySent = options.keySent;
  }
}

/**
 * An export (GET /v1/events/export) broke off before its end: the connection failed or closed
 * in the middle of the body (the server was stopped or killed, a proxy timed out), or the body
 * ended inside a line. Every line before was complete (and verified, if asked); resume with
 * `after` set to {@link after}: no event is then missed or repeated.
 */
export class ExportInterruptedError extends LogFetchError {
  override readonly name: string = 'ExportInterruptedError';
  /** The index of the last complete line received, or the export's own `after` (-1 from the start) if none. */
  readonly after: number;
  constructor(message: string, options: { url: string; status: number; after: number; cause?: unknown }) {
    super(message, options);
    this.after = options.after;
  }
}

/**
 * The event asked for was erased (a 410): its record and salt are gone, its tombstone says when,
 * why and by whom, and its leaf is still in the log. `erased` has been verified: its inclusion
 * proof and checkpoint against the pinned key, as every receipt is.
 */
export class EventErasedError extends LogClientError {
  override readonly name: string = 'EventErasedError';
  /** The erased event: index, leaf hash, tombstone, and the verified proof of its leaf. */
  readonly erased: ErasedEvent;
  constructor(message: string, options: { erased: ErasedEvent; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.erased = options.erased;
  }
}

/** The log does not have what was asked: no leaf with that hash, no entry at that index in the tree. */
export class NotFoundError extends LogClientError {
  override readonly name: string = 'NotFoundError';
}

/**
 * The log answered, but not what its API promises: a body that is not JSON, JSON of another
 * shape, an answer for other parameters than asked, or one larger than any valid answer. The log
 * (or a proxy in front of it) is broken; retrying later may help. Unsigned, so not evidence.
 */
export class ProtocolError extends LogClientError {
  override readonly name: string = 'ProtocolError';
  /** The URL whose answer was wrong. */
  readonly url: string;
  constructor(message: string, options: { url: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.url = options.url;
  }
}

/** Every {@link MisbehaviourKind}, for parsers of evidence files. */
export const MISBEHAVIOUR_KINDS = ['rollback', 'fork', 'bad-signature', 'bad-proof', 'bad-entries', 'bad-events'] as const;

/**
 * What kind of misbehaviour was seen:
 * - `rollback`: a correctly signed checkpoint smaller than the trusted one;
 * - `fork`: the log signed two different trees of one size: two checkpoints of the same size with
 *   different roots, or a larger checkpoint whose tree (read from its own authenticated tiles)
 *   does not contain the trusted one. The evidence proves it on its own (see verifyForkEvidence);
 * - `bad-signature`: a checkpoint not signed by the pinned key (or for another origin) after
 *   one was trusted, or in an answer to a submission;
 * - `bad-proof`: an inclusion or consistency proof, or a hash tile, that does not verify;
 * - `bad-entries`: an entry bundle whose entries do not hash to the authenticated leaf hashes;
 * - `bad-events`: an audit event the log served that contradicts its signed tree or the question
 *   asked: a record and salt that do not commit to the leaf proven at its index, a leaf hash the
 *   tree does not have there, a record other than the one submitted or asked for, a search result
 *   that does not match the filter or comes out of order, or (in an audit) an event index that
 *   disagrees with the events. The event itself is proven in the log, so the answer is tied to
 *   what the log signed.
 */
export type MisbehaviourKind = (typeof MISBEHAVIOUR_KINDS)[number];

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
  /**
   * Proof hashes (base64): for bad-proof, the proof that failed; for a fork between sizes, the
   * consistency proof from the candidate's own tiles (see {@link MisbehaviourKind}).
   */
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
  constructor(message: string, options: { kind: MisbehaviourKind; evidence: MisbehaviourEvidence; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.evidence = options.evidence;
  }
}

/** An offline check failed: a receipt that does not prove the entry, evidence that does not prove a fork. */
export class VerificationError extends LogClientError {
  override readonly name: string = 'VerificationError';
}

/** A bug in this package: it called @tlog/merkle with arguments that library refused. Please report it. */
export class InternalError extends LogClientError {
  override readonly name: string = 'InternalError';
}
