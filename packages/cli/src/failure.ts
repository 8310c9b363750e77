import {
  ConfigurationError,
  InternalError,
  LogFetchError,
  LogMisbehaviourError,
  NotFoundError,
  ProtocolError,
  VerificationError,
} from '@tlog/client';

/** Exit status: everything verified. */
export const EXIT_OK = 0;
/** Exit status: usage, configuration, file or network error. */
export const EXIT_ERROR = 1;
/** Exit status: the log misbehaved or a proof or receipt failed to verify. */
export const EXIT_MISBEHAVIOUR = 3;

/** The user asked for something the CLI cannot do as given (a missing file, a malformed flag value): exit 1. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}

/** The message of any thrown value, on one line. */
export function errorMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s*\n\s*/g, ' ');
}

/** The exit status for an error, and its one-line description (without the "tlog: " prefix). */
export function describeFailure(e: unknown): { status: number; line: string } {
  if (e instanceof LogMisbehaviourError) {
    const saved = e.evidencePath === undefined ? '' : `; evidence saved to ${e.evidencePath}`;
    return { status: EXIT_MISBEHAVIOUR, line: `log misbehaviour (${e.kind}): ${errorMessage(e)}${saved}` };
  }
  if (e instanceof VerificationError) return { status: EXIT_MISBEHAVIOUR, line: `verification failed: ${errorMessage(e)}` };
  if (e instanceof LogFetchError) return { status: EXIT_ERROR, line: `network error: ${errorMessage(e)}` };
  if (e instanceof ProtocolError) return { status: EXIT_ERROR, line: `bad answer from the log: ${errorMessage(e)}` };
  if (e instanceof ConfigurationError) return { status: EXIT_ERROR, line: `configuration error: ${errorMessage(e)}` };
  if (e instanceof NotFoundError) return { status: EXIT_ERROR, line: `not found: ${errorMessage(e)}` };
  if (e instanceof InternalError) return { status: EXIT_ERROR, line: `internal error: ${errorMessage(e)}` };
  return { status: EXIT_ERROR, line: `error: ${errorMessage(e)}` };
}

/**
 * Whether a failed monitoring round may succeed later: no answer, an HTTP error status or a
 * malformed (unsigned) answer. Misbehaviour, configuration and local problems are not retried.
 */
export function isTransient(e: unknown): boolean {
  return e instanceof LogFetchError || e instanceof ProtocolError;
}
