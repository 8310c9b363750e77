import {
  AccessDeniedError,
  ConfigurationError,
  EventErasedError,
  ExportInterruptedError,
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
  if (e instanceof AccessDeniedError) return { status: EXIT_ERROR, line: `access denied: ${accessHint(e)}` };
  if (e instanceof ExportInterruptedError) return { status: EXIT_ERROR, line: `export interrupted: ${errorMessage(e)}` };
  if (e instanceof LogFetchError && e.status === 429) return { status: EXIT_ERROR, line: `rate limited: ${errorMessage(e)}` };
  if (e instanceof LogFetchError) return { status: EXIT_ERROR, line: `network error: ${errorMessage(e)}` };
  if (e instanceof EventErasedError) return { status: EXIT_ERROR, line: `erased: ${errorMessage(e)}` };
  if (e instanceof ProtocolError) return { status: EXIT_ERROR, line: `bad answer from the log: ${errorMessage(e)}` };
  if (e instanceof ConfigurationError) return { status: EXIT_ERROR, line: `configuration error: ${errorMessage(e)}` };
  if (e instanceof NotFoundError) return { status: EXIT_ERROR, line: `not found: ${errorMessage(e)}` };
  if (e instanceof InternalError) return { status: EXIT_ERROR, line: `internal error: ${errorMessage(e)}` };
  return { status: EXIT_ERROR, line: `error: ${errorMessage(e)}` };
}

/** What to do about a refused API key, in the CLI's terms (the SDK's message names its option instead). */
function accessHint(e: AccessDeniedError): string {
  const where = `${e.url} answered ${e.status}`;
  if (e.status === 401 && !e.keySent) return `the log needs an API key: pass --api-key / --api-key-file / TLOG_API_KEY (${where})`;
  if (e.status === 401)
    return `the log refused the API key (unknown, revoked or expired): check --api-key / --api-key-file / TLOG_API_KEY (${where})`;
  return errorMessage(e);
}

/**
 * Whether a failed monitoring round may succeed later: no answer, an HTTP error status (not a
 * refused API key) or a malformed (unsigned) answer. Misbehaviour, configuration, access and
 * local problems are not retried.
 */
export function isTransient(e: unknown): boolean {
  return (e instanceof LogFetchError && !(e instanceof AccessDeniedError)) || e instanceof ProtocolError;
}
