import type { MisbehaviourEvidence, MisbehaviourKind } from './errors.js';
import { LogMisbehaviourError } from './errors.js';

/** What was seen, for {@link misbehaviour}. */
export interface MisbehaviourReport {
  readonly kind: MisbehaviourKind;
  /** What went wrong, without the origin (it is prefixed). */
  readonly message: string;
  /** The evidence; the log's origin and URL are added. */
  readonly evidence: Omit<MisbehaviourEvidence, 'origin' | 'url'>;
  /** The @tlog/merkle error that showed it, if one did. */
  readonly cause?: unknown;
}

/** A LogMisbehaviourError of the log at `log`, its message prefixed with the origin (internal). */
export function misbehaviour(log: { readonly origin: string; readonly url: string }, report: MisbehaviourReport): LogMisbehaviourError {
  return new LogMisbehaviourError(`${log.origin}: ${report.message}`, {
    kind: report.kind,
    evidence: { origin: log.origin, url: log.url, ...report.evidence },
    ...(report.cause === undefined ? {} : { cause: report.cause }),
  });
}
