import type { Command } from 'commander';
import { LogClient } from '../log-client.js';
import { LogFetchError, LogMisbehaviourError, VerificationError } from '../errors.js';
import { errorMessage } from '../checks.js';
import { createNodeHasher, readKeyArgument } from '../node.js';

/** Exit status: everything verified. */
export const EXIT_OK = 0;
/** Exit status: usage, configuration or network error. */
export const EXIT_ERROR = 1;
/** Exit status: the log misbehaved or a proof failed to verify. */
export const EXIT_MISBEHAVIOUR = 3;

/** Options shared by every command that reads from a log. */
export interface LogOptions {
  url: string;
  vkey: string;
  origin?: string;
}

/** Adds --url, --vkey and --origin to a command. */
export function withLogOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--url <url>', 'base URL of the log, e.g. http://localhost:8080')
    .requiredOption('--vkey <key>', 'the log verifier key (name+keyid+base64) or a file holding it')
    .option('--origin <origin>', 'expected checkpoint origin (default: the key name)');
}

/** A LogClient for the command's --url/--vkey/--origin, using node:crypto for hashing. */
export function clientFor(opts: LogOptions): LogClient {
  return new LogClient({
    url: opts.url,
    vkey: readKeyArgument(opts.vkey),
    ...(opts.origin === undefined ? {} : { origin: opts.origin }),
    hasher: createNodeHasher(),
  });
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parses a non-negative integer option; throws a usage error naming the option. */
export function intOption(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n)) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** The exit status for an error, and its one-line description. */
export function describeFailure(e: unknown): { status: number; line: string } {
  if (e instanceof LogMisbehaviourError) {
    const saved = e.evidencePath === undefined ? '' : `; evidence saved to ${e.evidencePath}`;
    return { status: EXIT_MISBEHAVIOUR, line: `log misbehaviour (${e.kind}): ${errorMessage(e)}${saved}` };
  }
  if (e instanceof VerificationError) return { status: EXIT_MISBEHAVIOUR, line: `verification failed: ${errorMessage(e)}` };
  if (e instanceof LogFetchError) return { status: EXIT_ERROR, line: `network error: ${errorMessage(e)}` };
  return { status: EXIT_ERROR, line: `error: ${errorMessage(e)}` };
}
