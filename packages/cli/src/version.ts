import { readFileSync } from 'node:fs';

/** The version of @tlog/cli, read from its package.json (the one place it is written). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
