#!/usr/bin/env node
/**
 * `node packages/server/dist/main.js [flags]`: runs the log server. Prints, on stdout, exactly
 *   tlog: origin <origin>
 *   tlog: verifier key <vkey>
 *   tlog: listening on http(s)://<host>:<port>
 * (tests parse these); everything else goes to the stderr log. Any failure to start is one
 * line on stderr and exit 1. At runtime, a storage failure the log cannot recover from is one
 * line on stderr and exit 1, so a supervisor restarts it and the startup checks report it.
 *
 * `node packages/server/dist/main.js verify --data-dir <dir>` checks the stored log (see
 * verify-command.ts); `--version` prints the version.
 *
 * Signals: SIGTERM / SIGINT drain and stop; with HTTPS, SIGHUP re-reads the TLS certificate and key.
 */
import { createRequire } from 'node:module';
import { type Config, ConfigError, HelpShown, parseConfig } from './config.js';
import { type RunningServer, startServer } from './index.js';
import { runVerifyCommand } from './verify-command.js';

const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** One line on stderr, then exit. */
function die(message: string, code = 1): never {
  process.stderr.write(`tlog: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(code);
}

/** The message of a startup failure, naming what to do where the error says nothing useful. */
function describeStartFailure(err: unknown, config: Config): string {
  const e = err as NodeJS.ErrnoException | undefined;
  switch (e?.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${config.host}:${config.port}: the port is in use; stop the other program or pick another --port`;
    case 'EACCES':
      return `cannot listen on ${config.host}:${config.port}: permission denied; pick a --port above 1023`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${config.host}:${config.port}: this machine has no such address; check --host`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `cannot listen on ${config.host}:${config.port}: the host name does not resolve (${e.code}); check --host`;
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--version') || argv[0] === '-V') {
    process.stdout.write(`${version}\n`);
    return;
  }
  if (argv[0] === 'verify') {
    process.exitCode = await runVerifyCommand(argv.slice(1));
    return;
  }
  let config: Config;
  try {
    config = parseConfig(argv, process.env);
  } catch (err) {
    if (err instanceof HelpShown) process.exit(0);
    if (err instanceof ConfigError) die(err.message);
    throw err;
  }
  let server: RunningServer;
  try {
    server = await startServer(config, undefined, {
      onFatal: (err) => die(`stopped: ${err.message}`),
    });
  } catch (err) {
    die(describeStartFailure(err, config));
  }
  const shutdown = (signal: string) => {
    server.logger.info({ signal }, 'shutting down: finishing the batch in flight');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => die(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  // Handlers first: whoever reads "listening on" may send a signal at once.
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // With HTTPS, SIGHUP re-reads the certificate; a pair that fails to load is reported and the old one kept.
  if (config.tlsCert !== undefined) {
    process.on('SIGHUP', () => {
      server.reloadTls().then(
        () => server.logger.info({ cert: config.tlsCert }, 'TLS certificate reloaded'),
        (err: unknown) => server.logger.warn({ err }, 'TLS certificate not reloaded; still serving the previous one'),
      );
    });
  }
  for (const w of server.warnings) process.stderr.write(`tlog: WARNING: ${w}\n`);
  for (const n of server.notices) process.stderr.write(`tlog: ${n}\n`);
  process.stdout.write(`tlog: origin ${server.origin}\ntlog: verifier key ${server.verifierKey}\ntlog: listening on ${server.url}\n`);
  server.logger.info({ url: server.url, dataDir: config.dataDir, witnesses: config.witness.length }, 'log server started');
}

main().catch((err: unknown) => die(`failed: ${err instanceof Error ? err.message : String(err)}`));
