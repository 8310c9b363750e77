#!/usr/bin/env node
/**
 * `node packages/server/dist/main.js [flags]`: runs the log server. Prints, on stdout, exactly
 *   tlog: origin <origin>
 *   tlog: verifier key <vkey>
 *   tlog: listening on http://<host>:<port>
 * (tests parse these); everything else goes to the stderr log. Exit 1 on a bad configuration.
 */
import { type Config, ConfigError, HelpShown, parseConfig } from './config.js';
import { type RunningServer, startServer } from './index.js';
import { LogStateError } from './log.js';
import { KeyError } from './signing/keys.js';
import { StorageError } from './storage/store.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpShown) process.exit(0);
    if (err instanceof ConfigError) {
      process.stderr.write(`tlog: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (err) {
    if (err instanceof KeyError || err instanceof LogStateError || err instanceof StorageError || isListenError(err)) {
      process.stderr.write(`tlog: ${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  process.stdout.write(`tlog: origin ${server.origin}\ntlog: verifier key ${server.verifierKey}\ntlog: listening on ${server.url}\n`);
  server.logger.info({ url: server.url, dataDir: config.dataDir, witnesses: config.witness.length }, 'log server started');
  const shutdown = (signal: string) => {
    server.logger.info({ signal }, 'shutting down: finishing the batch in flight');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        server.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

function isListenError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}

main().catch((err: unknown) => {
  process.stderr.write(`tlog: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
