import type { ApiKeyInfo } from '@tlog/client';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../failure.js';
import type { AdminOptions } from '../options.js';
import { adminFor, collect, withAdminOptions } from '../options.js';

/** Parses --expires: an RFC 3339 time, or `<N>d` for N days from now (N >= 1). */
export function expiresOption(value: string, now = Date.now()): string {
  const days = /^([0-9]+)d$/.exec(value);
  if (days !== null) {
    const n = Number(days[1]);
    if (!Number.isSafeInteger(n) || n < 1 || n > 36_500)
      throw new InvalidArgumentError(`--expires <N>d takes 1 to 36500 days, got ${JSON.stringify(value)}`);
    return new Date(now + n * 86_400_000).toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError(
      `--expires must be an RFC 3339 time with a time zone (2027-01-01T00:00:00Z) or <N>d (90d), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** A key as JSON for --json (the log's field names). */
function keyJson(k: ApiKeyInfo): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    ...(k.tenant === undefined ? {} : { tenant: k.tenant }),
    ...(k.expiresAt === undefined ? {} : { expires_at: k.expiresAt }),
    created_at: k.createdAt,
    ...(k.lastUsedAt === undefined ? {} : { last_used_at: k.lastUsedAt }),
    ...(k.revokedAt === undefined ? {} : { revoked_at: k.revokedAt }),
  };
}

/** A key's state now: revoked, expired or active. */
function keyState(k: ApiKeyInfo, now = Date.now()): string {
  if (k.revokedAt !== undefined) return 'revoked';
  if (k.expiresAt !== undefined && Date.parse(k.expiresAt) <= now) return 'expired';
  return 'active';
}

/** The table of `keys list`: header, minimum width, cell. */
const COLUMNS: readonly { readonly header: string; readonly width: number; readonly cell: (k: ApiKeyInfo) => string }[] = [
  { header: 'ID', width: 16, cell: (k) => k.id },
  { header: 'NAME', width: 20, cell: (k) => k.name },
  { header: 'SCOPES', width: 24, cell: (k) => k.scopes.join(',') },
  { header: 'TENANT', width: 10, cell: (k) => k.tenant ?? '-' },
  { header: 'CREATED_AT', width: 24, cell: (k) => k.createdAt },
  { header: 'EXPIRES_AT', width: 24, cell: (k) => k.expiresAt ?? '-' },
  { header: 'LAST_USED_AT', width: 24, cell: (k) => k.lastUsedAt ?? '-' },
  { header: 'STATE', width: 0, cell: (k) => keyState(k) },
];

function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(COLUMNS[i]!.width)))
    .join(' ')
    .trimEnd();
}

/** Registers `keys create`, `keys list` and `keys revoke` (the API key used needs keys:admin). */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description("manage the log's API keys (needs an API key with the keys:admin scope)");

  withAdminOptions(
    keys.command('create').description('create an API key; its secret is printed once, on standard output (the rest on standard error)'),
  )
    .requiredOption('--name <name>', 'who or what uses the key (1..100 characters)')
    .option(
      '--scope <scope>',
      'a scope (repeatable): entries:write, events:write, events:read, events:erase, sinks:admin, keys:admin, metrics:read, admin',
      collect,
      [],
    )
    .option('--tenant <tenant>', 'bind the key to this tenant: it writes and reads only its events')
    .option('--expires <time>', 'when the key stops working: RFC 3339, or <N>d for N days from now', (v) => expiresOption(v))
    .option('--json', 'print the whole answer, key included, as JSON on standard output')
    .action(async (opts: AdminOptions & { name: string; scope: string[]; tenant?: string; expires?: string; json?: boolean }) => {
      if (opts.scope.length === 0)
        throw new UsageError('give the key at least one --scope (events:read, events:write, keys:admin, admin...)');
      const k = await adminFor(opts).createApiKey({
        name: opts.name,
        scopes: opts.scope,
        ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }),
        ...(opts.expires === undefined ? {} : { expiresAt: opts.expires }),
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ key: k.key, ...keyJson(k) }) + '\n');
        return;
      }
      process.stdout.write(`${k.key}\n`);
      process.stderr.write(
        `created key ${k.id} (${k.name}) with scopes ${k.scopes.join(', ')}${k.tenant === undefined ? '' : ` for tenant ${k.tenant}`}${k.expiresAt === undefined ? '' : `, expiring ${k.expiresAt}`}; store it now: the log shows it only this once\n`,
      );
    });

  withAdminOptions(keys.command('list').description('list the API keys (never their secrets)'))
    .option('--json', 'print NDJSON, one key per line')
    .action(async (opts: AdminOptions & { json?: boolean }) => {
      const list = await adminFor(opts).listApiKeys();
      if (opts.json) {
        for (const k of list) process.stdout.write(JSON.stringify(keyJson(k)) + '\n');
        return;
      }
      process.stdout.write(row(COLUMNS.map((c) => c.header)) + '\n');
      for (const k of list) process.stdout.write(row(COLUMNS.map((c) => c.cell(k))) + '\n');
    });

  withAdminOptions(keys.command('revoke <id>').description('revoke an API key: it stops working at once'))
    .option('--json', 'print {id, revoked_at} as JSON')
    .action(async (id: string, opts: AdminOptions & { json?: boolean }) => {
      const r = await adminFor(opts).revokeApiKey(id);
      if (opts.json) process.stdout.write(JSON.stringify({ id: r.id, revoked_at: r.revokedAt }) + '\n');
      else process.stdout.write(`revoked key ${r.id} at ${r.revokedAt}\n`);
    });
}
