/**
 * Spawns the REAL built log server (packages/server/dist/main.js, built by `tsc -b` before the
 * tests) as a child process on a free port and parses its startup lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The server entry point the tests run. */
export const SERVER_MAIN = join(REPO_ROOT, 'packages/server/dist/main.js');

/** A running server child process. */
export interface SpawnedServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The verifier key it printed. */
  readonly vkey: string;
  readonly origin: string;
  readonly dataDir: string;
  /** The bootstrap admin key it wrote to <dataDir>/admin.key. */
  readonly apiKey: string;
  /** The Authorization header of {@link apiKey}. */
  readonly auth: { readonly authorization: string };
  readonly child: ChildProcess;
  /** Everything written to stderr so far (for failure messages). */
  stderr(): string;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash), then resolves once the process is gone. */
  kill(): Promise<void>;
}

/** A fresh temporary data directory. */
export function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tlog-e2e-'));
}

/** The Node flags `pnpm start` runs the server with (V8's old space capped at 192 MB). */
export const START_NODE_ARGS: readonly string[] = ['--max-old-space-size=192'];

/**
 * Starts `node ...nodeArgs packages/server/dist/main.js --port 0 --data-dir <dir> --log-level warn [--open-entries] ...args`
 * and waits for `tlog: listening on`. Rejects with the server's stderr if it exits first or takes over 15 s.
 * Entries are open (`--open-entries`: POST /v1/entries needs no key) unless `keyedEntries`: the
 * tests of storage, crashes and memory are about entries, not keys; test/auth.test.ts is about keys.
 */
export async function spawnServer(
  opts: {
    dataDir?: string;
    args?: readonly string[];
    env?: Record<string, string>;
    nodeArgs?: readonly string[];
    keyedEntries?: boolean;
  } = {},
): Promise<SpawnedServer> {
  const dataDir = opts.dataDir ?? (await tempDataDir());
  const argv = [
    ...(opts.nodeArgs ?? []),
    SERVER_MAIN,
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'warn',
    ...(opts.keyedEntries === true ? [] : ['--open-entries']),
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, argv, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const lines: Record<string, string> = {};
  const ready = new Promise<void>((resolveReady, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const m = /^tlog: (origin|verifier key|listening on) (.+)$/.exec(line);
      if (m) lines[m[1]!] = m[2]!;
      if (m?.[1] === 'listening on') resolveReady();
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${err}`)));
    setTimeout(() => reject(new Error(`server did not start within 15 s:\n${err}`)), 15_000).unref();
  });
  try {
    await ready;
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const apiKey = (await readFile(join(dataDir, 'admin.key'), 'utf8')).trim();
  return {
    url: lines['listening on']!,
    vkey: lines['verifier key']!,
    origin: lines.origin!,
    dataDir,
    apiKey,
    auth: { authorization: `Bearer ${apiKey}` },
    child,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The peak resident set size of a process so far (VmHWM in /proc/<pid>/status), in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (m === null) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Runs the server binary to completion (for configuration errors): exit code and stderr. */
export async function runServer(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [SERVER_MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stderr, stdout };
}
