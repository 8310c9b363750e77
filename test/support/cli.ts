/** Runs the built `tlog` CLI (packages/cli/dist/cli.js, from `pnpm run build`) as a child process. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/** The CLI entry point the tests run. */
export const CLI = resolve(import.meta.dirname, '../../packages/cli/dist/cli.js');

/** What a CLI run ended with. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `tlog ...args` asynchronously (a fake log may answer from this process, so never block
 * it), in `cwd`, with TLOG_API_KEY set only when `envKey` is given (never inherited). With
 * `interruptAfterMs`, sends SIGINT (as Ctrl-C does) after that long, for commands that run until
 * interrupted.
 */
export function runTlog(
  args: readonly string[],
  opts: { readonly cwd?: string; readonly envKey?: string; readonly interruptAfterMs?: number } = {},
): Promise<CliRun> {
  const env = { ...process.env };
  delete env.TLOG_API_KEY;
  if (opts.envKey !== undefined) env.TLOG_API_KEY = opts.envKey;
  const stop = opts.interruptAfterMs === undefined ? {} : { timeout: opts.interruptAfterMs, killSignal: 'SIGINT' as const };
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000, env, cwd: opts.cwd, ...stop }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}
