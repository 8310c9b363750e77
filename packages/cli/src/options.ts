import { existsSync, readFileSync } from 'node:fs';
import type { ProofSource } from '@tlog/client';
import { AdminClient, LogClient, PROOF_SOURCES } from '@tlog/client';
import { createNodeHasher, readKeyArgument } from '@tlog/client/node';
import { parseVerifierKey } from '@tlog/merkle';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { errorMessage, UsageError } from './failure.js';

/** How a command is given the log's API key: --api-key, --api-key-file, or the TLOG_API_KEY environment variable. */
export interface ApiKeyOptions {
  apiKey?: string;
  apiKeyFile?: string;
}

/** Options shared by every command that reads from a log. */
export interface LogOptions extends ApiKeyOptions {
  url: string;
  vkey: string;
  origin?: string;
  timeout: number;
}

/** The environment variable holding the API key when neither --api-key nor --api-key-file is given. */
export const API_KEY_ENV = 'TLOG_API_KEY';

/** Adds --api-key and --api-key-file to a command. */
export function withApiKeyOptions(cmd: Command): Command {
  return cmd
    .option(
      '--api-key <key>',
      `the log's API key, sent as Authorization: Bearer (visible to other local users in the process list: prefer --api-key-file or ${API_KEY_ENV})`,
    )
    .option('--api-key-file <file>', `a file whose first line is the API key (default: the ${API_KEY_ENV} environment variable)`);
}

/** Adds --url, --vkey, --origin, --timeout, --api-key and --api-key-file to a command. */
export function withLogOptions(cmd: Command): Command {
  return withApiKeyOptions(
    cmd
      .requiredOption('--url <url>', 'base URL of the log, e.g. http://localhost:8080 (or http://localhost:8080/access for its access log)')
      .requiredOption('--vkey <key>', 'the log verifier key (name+keyid+base64) or a file holding it')
      .option('--origin <origin>', 'expected checkpoint origin (default: the key name)')
      .option('--timeout <seconds>', 'give up on a request after this many seconds (0: never)', secondsOption('--timeout', true), 60),
  );
}

/**
 * The API key the command was given: --api-key, else the first line of --api-key-file (trimmed),
 * else the TLOG_API_KEY environment variable (trimmed; empty counts as unset), else none. A
 * UsageError (never holding the key) if the file cannot be read or its first line is empty.
 */
export function apiKeyFrom(opts: ApiKeyOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (opts.apiKey !== undefined) {
    const key = opts.apiKey.trim();
    if (key === '') throw new UsageError('--api-key is empty');
    return key;
  }
  if (opts.apiKeyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.apiKeyFile, 'utf8');
    } catch (e) {
      throw new UsageError(`--api-key-file: cannot read ${opts.apiKeyFile}: ${errorMessage(e)}`);
    }
    const key = (text.split('\n')[0] ?? '').trim();
    if (key === '') throw new UsageError(`--api-key-file: the first line of ${opts.apiKeyFile} is empty; it must hold the API key`);
    return key;
  }
  const fromEnv = env[API_KEY_ENV]?.trim();
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/**
 * A verifier key given as --vkey (or --witness): the key string itself or a file holding it.
 * Throws a UsageError of one line saying which of the two failed and why.
 */
export function readVerifierKeyArgument(value: string, flag: string): string {
  const isFile = existsSync(value);
  let key: string;
  try {
    key = readKeyArgument(value);
    parseVerifierKey(key);
  } catch (e) {
    const what = isFile
      ? `the file ${value} does not hold a valid verifier key`
      : `${JSON.stringify(value)} is neither a file nor a valid verifier key (name+keyid+base64)`;
    throw new UsageError(`${flag}: ${what}: ${errorMessage(e)}`);
  }
  return key;
}

/** A LogClient for the command's --url/--vkey/--origin/--timeout and API key, using node:crypto for hashing. */
export function clientFor(opts: LogOptions): LogClient {
  return new LogClient({
    url: opts.url,
    vkey: readVerifierKeyArgument(opts.vkey, '--vkey'),
    ...(opts.origin === undefined ? {} : { origin: opts.origin }),
    hasher: createNodeHasher(),
    timeoutMs: Math.round(opts.timeout * 1000),
    ...apiKeyOption(opts),
  });
}

/** What every administration command (`keys`, `sinks`) takes: the log's URL, its API key, a timeout. */
export interface AdminOptions extends ApiKeyOptions {
  url: string;
  vkey?: string;
  timeout: number;
}

/** Adds --url, --timeout and the API key options (--vkey is accepted and ignored: administration verifies nothing). */
export function withAdminOptions(cmd: Command): Command {
  return withApiKeyOptions(
    cmd
      .requiredOption('--url <url>', 'base URL of the log, e.g. http://localhost:8080')
      .option('--vkey <key>', 'ignored: administration verifies nothing')
      .option('--timeout <seconds>', 'give up on a request after this many seconds (0: never)', secondsOption('--timeout', true), 60),
  );
}

/** An AdminClient for the command's options. */
export function adminFor(opts: AdminOptions): AdminClient {
  return new AdminClient({ url: opts.url, timeoutMs: Math.round(opts.timeout * 1000), ...apiKeyOption(opts) });
}

/** `{apiKey}` for a client's options when the command was given one. */
export function apiKeyOption(opts: ApiKeyOptions): { apiKey?: string } {
  const apiKey = apiKeyFrom(opts);
  return apiKey === undefined ? {} : { apiKey };
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parses a non-negative integer option; a usage error naming the option otherwise. */
export function intOption(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** Parses a duration in seconds (decimals allowed): positive, or also 0 if zeroAllowed. */
export function secondsOption(name: string, zeroAllowed = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !Number.isFinite(n) || (n === 0 && !zeroAllowed) || n > 86_400 * 365) {
      throw new InvalidArgumentError(`${name} must be a number of seconds${zeroAllowed ? '' : ' above 0'}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** Parses --proofs. */
export function proofSourceOption(value: string): ProofSource {
  const s = PROOF_SOURCES.find((p) => p === value);
  if (s === undefined) throw new InvalidArgumentError(`--proofs must be one of ${PROOF_SOURCES.join(', ')}, got ${JSON.stringify(value)}`);
  return s;
}

/** Writes one result line: the JSON object with --json, the text otherwise. */
export function emit(json: boolean | undefined, obj: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : text + '\n');
}

/** What the offline receipt checks (`verify`, `event verify`) take: trusted keys and a witness policy. */
export interface ReceiptCheckOptions {
  vkey: string[];
  origin?: string;
  witness: string[];
  quorum?: number;
  json?: boolean;
}

/** Adds the options of an offline receipt check (see {@link ReceiptCheckOptions}) to `command`. */
export function withReceiptCheckOptions(command: Command): Command {
  return command
    .requiredOption('--vkey <key>', 'a trusted log verifier key or a file holding it (repeatable)', collect, [])
    .option('--url <url>', 'ignored: verify never uses the network')
    .option('--origin <origin>', 'expected checkpoint origin (default: the key name)')
    .option('--witness <key>', 'a witness verifier key or file (repeatable)', collect, [])
    .option('--quorum <n>', 'how many of the witnesses must have cosigned (default: all given)', intOption('--quorum'))
    .option('--json', 'print the result as JSON');
}
