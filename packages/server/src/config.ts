import { isValidKeyName, parseVerifierKey } from '@tlog/merkle';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { SCOPES } from './auth/principal.js';
import { parseRateLimit } from './auth/rate-limit.js';
import { GovernanceInputError, MAX_RETENTION_DAYS, parseRetentionSpec, type RetentionRuleInput } from './events/governance.js';

/** The origin used when neither --origin nor an existing key names one. */
export const DEFAULT_ORIGIN = 'tlog.localhost/log';

/**
 * Default most entries per POST /v1/entries/batch. A request's memory grows with its entry
 * count (the decoded views, the sequencer's per-entry records, the answer's indexes), so this
 * bounds the worst single batch of tiny entries; see test/memory.test.ts for the measurement.
 */
export const DEFAULT_MAX_BATCH_ENTRIES = 4096;
/** Default most entries per batch with receipts=1: each receipt is about 1 KB of JSON. */
export const DEFAULT_MAX_RECEIPT_ENTRIES = 2048;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** An on/off setting: true from a flag given without a value, or 1/true and 0/false from the environment. */
const onOff = z
  .union([z.boolean(), z.enum(['1', 'true', '0', 'false'])], { error: 'must be 1, true, 0 or false' })
  .transform((v) => v === true || v === '1' || v === 'true')
  .default(false);

const rateLimitSpec = z
  .union([z.string(), z.object({ scope: z.enum(SCOPES), limit: z.object({ rate: z.number(), burst: z.number() }) })])
  .transform((v, ctx) => {
    const s = typeof v === 'string' ? v : `${v.scope}=${v.limit.rate}/${v.limit.burst}`;
    try {
      return parseRateLimit(s, SCOPES);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** A witness the log asks for cosignatures: its tlog-witness submission prefix and cosignature verifier key. */
export interface WitnessConfig {
  readonly url: string;
  readonly verifierKey: string;
}

const witnessSpec = z.union([z.string(), z.object({ url: z.string(), verifierKey: z.string() })]).transform((v, ctx): WitnessConfig => {
  const s = typeof v === 'string' ? v : `${v.url}=${v.verifierKey}`;
  // <url>=<vkey>: split at the first '=' (witness URLs have no '=', key base64 may end in '=').
  const eq = s.indexOf('=');
  const url = eq < 0 ? '' : s.slice(0, eq);
  const verifierKey = eq < 0 ? '' : s.slice(eq + 1);
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
    parseVerifierKey(verifierKey);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" is not <http(s) url>=<witness verifier key> (${(err as Error).message})`,
    });
    return z.NEVER;
  }
  return { url: url.replace(/\/+$/, ''), verifierKey };
});

const retentionSpec = z.union([z.string(), z.object({ days: z.number() }).loose()]).transform((v, ctx): RetentionRuleInput => {
  if (typeof v !== 'string') return v as RetentionRuleInput;
  try {
    return parseRetentionSpec(v);
  } catch (err) {
    if (!(err instanceof GovernanceInputError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
    return z.NEVER;
  }
});

/**
 * The server's whole configuration: one schema; every field has exactly one flag and one
 * environment variable (see {@link CONFIG_OPTIONS}); flags win over the environment.
 */
export const ConfigSchema = z
  .object({
    port: int(0, 65535).default(8080),
    host: z.string().min(1).default('127.0.0.1'),
    dataDir: z.string().min(1).default('./data'),
    origin: z.string().refine(isValidKeyName, 'must be a key name: non-empty, no spaces, no "+"').optional(),
    keyFile: z.string().min(1).optional(),
    masterKeyFile: z.string().min(1).optional(),
    batchMaxEntries: int(1, 1 << 20).default(4096),
    batchMaxBytes: int(65_536, 1 << 30).default(4 * 1024 * 1024),
    batchIntervalMs: int(0, 60_000).default(0),
    poolMaxEntries: int(1, 100_000_000).default(65_536),
    poolMaxBytes: int(65_536, 2 ** 40).default(64 * 1024 * 1024),
    maxBatchBytes: int(65_537, 1 << 30).default(4 * 1024 * 1024),
    maxBatchEntries: int(1, 1 << 20).default(DEFAULT_MAX_BATCH_ENTRIES),
    maxReceiptEntries: int(1, 1 << 20).default(DEFAULT_MAX_RECEIPT_ENTRIES),
    tileCacheTiles: int(16, 10_000_000).default(4096),
    entryCacheBytes: int(0, 2 ** 40).default(32 * 1024 * 1024),
    witness: z.array(witnessSpec).default([]),
    witnessQuorum: int(0, 100).optional(),
    witnessTimeoutMs: int(1, 600_000).default(5000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    privateTree: onOff,
    openEntries: onOff,
    rateLimit: z.array(rateLimitSpec).default([]),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    metricsPublic: onOff,
    minRetentionDays: int(0, MAX_RETENTION_DAYS).default(0),
    retention: z.array(retentionSpec).default([]),
    expiryIntervalMs: int(1000, 86_400_000).default(60_000),
    expiryRate: int(1, 100_000).default(200),
    streamHeartbeatMs: int(100, 3_600_000).default(15_000),
    streamStallMs: int(1000, 3_600_000).default(60_000),
    maxStreams: int(1, 100_000).default(1000),
    maxExports: int(1, 10_000).default(16),
    sinksFile: z.string().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.witnessQuorum !== undefined && c.witnessQuorum > c.witness.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['witnessQuorum'],
        message: `is ${c.witnessQuorum} but only ${c.witness.length} witness(es) are configured`,
      });
    }
    if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
      const [given, missing] = c.tlsCert === undefined ? ['tlsKey', '--tls-cert / TLOG_TLS_CERT'] : ['tlsCert', '--tls-key / TLOG_TLS_KEY'];
      ctx.addIssue({
        code: 'custom',
        path: [given],
        message: `is given without ${missing}: HTTPS needs both the certificate and its private key; give both or neither`,
      });
    }
    c.retention.forEach((r, i) => {
      if (r.days < c.minRetentionDays) {
        ctx.addIssue({
          code: 'custom',
          path: ['retention', i],
          message: `keeps events ${r.days} days, below the minimum retention of ${c.minRetentionDays} days (--min-retention-days)`,
        });
      }
    });
  });

/** Validated configuration. */
export type Config = z.output<typeof ConfigSchema>;
/** Configuration as given (all optional; strings are coerced). */
export type ConfigInput = z.input<typeof ConfigSchema>;

type Key = keyof ConfigInput;

/** One flag and one environment variable per config field. */
export const CONFIG_OPTIONS: readonly { key: Key; flag: string; env: string; description: string; repeatable?: boolean }[] = [
  { key: 'port', flag: '--port <port>', env: 'PORT', description: 'TCP port (0 picks a free one) [8080]' },
  { key: 'host', flag: '--host <host>', env: 'HOST', description: 'interface to listen on; 0.0.0.0 for all [127.0.0.1]' },
  { key: 'dataDir', flag: '--data-dir <dir>', env: 'DATA_DIR', description: 'LevelDB and signing key directory [./data]' },
  {
    key: 'origin',
    flag: '--origin <origin>',
    env: 'LOG_ORIGIN',
    description: `checkpoint origin and key name [the key's name, else ${DEFAULT_ORIGIN}]`,
  },
  {
    key: 'keyFile',
    flag: '--key <file>',
    env: 'LOG_KEY_FILE',
    description: 'signer key file (PRIVATE+KEY+...) [<data-dir>/log.key, generated]',
  },
  {
    key: 'masterKeyFile',
    flag: '--master-key-file <file>',
    env: 'TLOG_MASTER_KEY_FILE',
    description: 'master key file (32 bytes, base64) that wraps the key events are encrypted under [<data-dir>/master.key, generated]',
  },
  { key: 'batchMaxEntries', flag: '--batch-max-entries <n>', env: 'BATCH_MAX_ENTRIES', description: 'most new entries per commit [4096]' },
  {
    key: 'batchMaxBytes',
    flag: '--batch-max-bytes <n>',
    env: 'BATCH_MAX_BYTES',
    description: 'most new entry bytes per commit; a larger single request commits alone [4 MiB]',
  },
  {
    key: 'batchIntervalMs',
    flag: '--batch-interval-ms <ms>',
    env: 'BATCH_INTERVAL_MS',
    description: 'least time between commit starts; 0 commits as soon as the last commit ends (group commit) [0]',
  },
  {
    key: 'poolMaxEntries',
    flag: '--pool-max-entries <n>',
    env: 'POOL_MAX_ENTRIES',
    description: 'most entries waiting; each costs a few hundred bytes of memory; beyond it 503 [65536]',
  },
  {
    key: 'poolMaxBytes',
    flag: '--pool-max-bytes <n>',
    env: 'POOL_MAX_BYTES',
    description: 'most entry bytes waiting; beyond it 503 [64 MiB]',
  },
  {
    key: 'maxBatchBytes',
    flag: '--max-batch-bytes <n>',
    env: 'MAX_BATCH_BYTES',
    description: 'largest POST /v1/entries/batch body [4 MiB]',
  },
  {
    key: 'maxBatchEntries',
    flag: '--max-batch-entries <n>',
    env: 'MAX_BATCH_ENTRIES',
    description: `most entries in one POST /v1/entries/batch (and at most --pool-max-entries); beyond it 413 [${DEFAULT_MAX_BATCH_ENTRIES}]`,
  },
  {
    key: 'maxReceiptEntries',
    flag: '--max-receipt-entries <n>',
    env: 'MAX_RECEIPT_ENTRIES',
    description: `most entries in one batch asking for receipts (receipts=1); beyond it 413 [${DEFAULT_MAX_RECEIPT_ENTRIES}]`,
  },
  {
    key: 'tileCacheTiles',
    flag: '--tile-cache-tiles <n>',
    env: 'TILE_CACHE_TILES',
    description: 'full hash tiles kept in memory, 16 KiB each [4096]',
  },
  {
    key: 'entryCacheBytes',
    flag: '--entry-cache-bytes <n>',
    env: 'ENTRY_CACHE_BYTES',
    description: 'full entry bundles kept in memory [32 MiB]',
  },
  {
    key: 'witness',
    flag: '--witness <url=vkey>',
    env: 'WITNESSES',
    description: 'witness to ask for cosignatures (repeatable; env: space or comma separated)',
    repeatable: true,
  },
  {
    key: 'witnessQuorum',
    flag: '--witness-quorum <n>',
    env: 'WITNESS_QUORUM',
    description: 'cosignatures needed to call a checkpoint witnessed [all witnesses]',
  },
  {
    key: 'witnessTimeoutMs',
    flag: '--witness-timeout-ms <ms>',
    env: 'WITNESS_TIMEOUT_MS',
    description: 'how long a commit waits for witnesses [5000]',
  },
  { key: 'logLevel', flag: '--log-level <level>', env: 'LOG_LEVEL', description: 'pino level for the stderr log [info]' },
  {
    key: 'privateTree',
    flag: '--private-tree',
    env: 'TLOG_PRIVATE_TREE',
    description: 'tree reads (checkpoint, tiles, bundles, /v1/log, proofs, entries) need an API key with events:read too [off]',
  },
  {
    key: 'openEntries',
    flag: '--open-entries',
    env: 'TLOG_OPEN_ENTRIES',
    description: 'POST /v1/entries needs no API key (a CT-style public log) [off]',
  },
  {
    key: 'rateLimit',
    flag: '--rate-limit <scope=rate[/burst]>',
    env: 'TLOG_RATE_LIMITS',
    description: 'requests a second per API key for a scope, e.g. events:read=50/100 (repeatable; env: space or comma separated) [none]',
    repeatable: true,
  },
  {
    key: 'tlsCert',
    flag: '--tls-cert <file>',
    env: 'TLOG_TLS_CERT',
    description: 'PEM certificate (chain) to serve HTTPS with, with --tls-key; re-read on SIGHUP [plain HTTP]',
  },
  { key: 'tlsKey', flag: '--tls-key <file>', env: 'TLOG_TLS_KEY', description: "PEM private key of --tls-cert's certificate" },
  {
    key: 'metricsPublic',
    flag: '--metrics-public',
    env: 'TLOG_METRICS_PUBLIC',
    description: 'serve GET /metrics without an API key (env: 1/true/0/false) [needs a key with metrics:read]',
  },
  {
    key: 'minRetentionDays',
    flag: '--min-retention-days <n>',
    env: 'TLOG_MIN_RETENTION_DAYS',
    description: 'no event is erased sooner than this many days after it was received, by anyone; fixed for the process [0]',
  },
  {
    key: 'retention',
    flag: '--retention <spec>',
    env: 'TLOG_RETENTION',
    description:
      'a retention rule, days=<n>[,tenant=<t>][,action=<prefix>][,id=<id>]: the initial rules while none were set through the API (repeatable; env: ";" separated)',
    repeatable: true,
  },
  {
    key: 'expiryIntervalMs',
    flag: '--expiry-interval-ms <ms>',
    env: 'TLOG_EXPIRY_INTERVAL_MS',
    description: 'time between rounds of the job that erases expired events [60000]',
  },
  {
    key: 'expiryRate',
    flag: '--expiry-rate <n>',
    env: 'TLOG_EXPIRY_RATE',
    description: 'most events the expiry job erases per second [200]',
  },
  {
    key: 'streamHeartbeatMs',
    flag: '--stream-heartbeat-ms <ms>',
    env: 'TLOG_STREAM_HEARTBEAT_MS',
    description: 'a live event stream sends a heartbeat comment after this long without frames [15000]',
  },
  {
    key: 'streamStallMs',
    flag: '--stream-stall-ms <ms>',
    env: 'TLOG_STREAM_STALL_MS',
    description: 'a live event stream whose client reads nothing for this long is disconnected [60000]',
  },
  {
    key: 'maxStreams',
    flag: '--max-streams <n>',
    env: 'TLOG_MAX_STREAMS',
    description: 'most live event streams served at once, per log [1000]',
  },
  {
    key: 'maxExports',
    flag: '--max-exports <n>',
    env: 'TLOG_MAX_EXPORTS',
    description: 'most event exports served at once, per log [16]',
  },
  {
    key: 'sinksFile',
    flag: '--sinks-file <file>',
    env: 'TLOG_SINKS_FILE',
    description: 'JSON file of the sinks that push events to webhooks, Splunk HEC or syslog, {"sinks": [...]} (see docs/sinks.md) [none]',
  },
];

/** The configuration is invalid; the message names the flag / variable and what is wrong. */
export class ConfigError extends Error {
  /** @param message what is wrong, naming the flag and environment variable */
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Thrown for --help: the text was printed, exit 0. */
export class HelpShown extends Error {}

/**
 * Parses flags (argv without node and script) and environment variables into a validated
 * Config. Flags win over the environment; empty variables count as unset. Throws ConfigError
 * naming the offending flag and variable, or HelpShown after printing --help.
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  write: (s: string) => void = (s) => process.stdout.write(s),
): Config {
  const program = new Command('tlog-server')
    .description(
      'tlog log server: LevelDB storage, signed checkpoints, C2SP tlog-tiles and a JSON API. Also: `tlog-server verify --data-dir <dir>` checks the stored log (--help for its flags), `tlog-server --version`',
    )
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr: () => {} })
    .allowExcessArguments(false);
  const attribute = new Map<Key, string>();
  for (const o of CONFIG_OPTIONS) {
    const opt = new Option(o.flag, `${o.description} (env ${o.env})`);
    if (o.repeatable === true) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    attribute.set(o.key, opt.attributeName());
    program.addOption(opt);
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') throw new HelpShown();
      throw new ConfigError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const flags = program.opts<Record<string, unknown>>();
  const input: Record<string, unknown> = {};
  for (const o of CONFIG_OPTIONS) {
    const fromFlag = flags[attribute.get(o.key)!];
    const fromEnv = env[o.env];
    if (fromFlag !== undefined) input[o.key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '') {
      if (o.key === 'retention') input[o.key] = fromEnv.split(';').filter((s) => s.trim() !== '');
      else input[o.key] = o.repeatable === true ? fromEnv.split(/[\s,]+/).filter((s) => s !== '') : fromEnv;
    }
  }
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const o = CONFIG_OPTIONS.find((x) => x.key === issue.path[0]);
    const where = o === undefined ? 'configuration' : `${o.flag.split(' ')[0]} / ${o.env}`;
    const given = o === undefined ? '' : ` (got ${JSON.stringify(input[o.key])})`;
    throw new ConfigError(`invalid ${where}${given}: ${issue.message}`);
  }
  return parsed.data;
}
