import { readFile } from 'node:fs/promises';
import { type EventFilter, EventFormatError, parseEventFilter } from '@tlog/events';
import { z } from 'zod';
import { ConfigError } from '../../config.js';
import { FEED_FORMATS, type FeedFormat } from '../formats.js';

/** The kinds of sink. */
export const SINK_TYPES = ['webhook', 'splunk-hec', 'syslog'] as const;
/** One of {@link SINK_TYPES}. */
export type SinkType = (typeof SINK_TYPES)[number];

/** Syslog facility 13, "log audit" (RFC 5424 section 6.2.1): the default of syslog sinks. */
export const LOG_AUDIT_FACILITY = 13;

/** What every sink has, whatever its type. */
export interface SinkCommon {
  /** Unique among the sinks; names the sink in routes, logs, metrics and its durable cursor. */
  readonly name: string;
  readonly format: FeedFormat;
  /** Which events it gets (with `tenant` forced when the sink has one). */
  readonly filter: EventFilter;
  /** The tenant whose admins (tenant-bound keys with sinks:admin) see and resume it; it gets only this tenant's events. */
  readonly tenant?: string;
  readonly batch: { readonly maxEvents: number; readonly maxMs: number };
  readonly retry: { readonly initialMs: number; readonly maxMs: number; readonly deadAfterMs: number };
  /** Most time one delivery (an HTTP request, a syslog connect or write) may take. */
  readonly timeoutMs: number;
  /** Where a sink starts when it has no stored cursor: the first event, or after the events published at its first start. */
  readonly from: 'start' | 'now';
}

/** A Standard Webhooks receiver. */
export interface WebhookSinkConfig extends SinkCommon {
  readonly type: 'webhook';
  readonly url: string;
  /** `whsec_` + base64 of 24..64 bytes: the HMAC key. Never logged or shown. */
  readonly secret: string;
}

/** A Splunk HTTP Event Collector. */
export interface SplunkHecSinkConfig extends SinkCommon {
  readonly type: 'splunk-hec';
  /** The collector's base URL: events go to `<url>/services/collector/event`. */
  readonly url: string;
  /** The HEC token. Never logged or shown. */
  readonly token: string;
  readonly index?: string;
  readonly sourcetype: string;
  readonly host?: string;
}

/** An RFC 5424 syslog receiver over TCP (octet-counting framing). */
export interface SyslogSinkConfig extends SinkCommon {
  readonly type: 'syslog';
  /** `tcp://host:port` as given. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly appName: string;
  /** The HOSTNAME field; the machine's host name when absent. */
  readonly hostname?: string;
  readonly facility: number;
}

/** One validated sink. */
export type SinkConfig = WebhookSinkConfig | SplunkHecSinkConfig | SyslogSinkConfig;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** Visible ASCII without spaces (RFC 5424 PRINTUSASCII), between min and max characters. */
const printable = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters without spaces');

const httpUrl = z.string().superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
  else if (u.username !== '' || u.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not hold credentials (user:password@); the secret or token field carries them' });
  }
});

/** Standard Webhooks: `whsec_` and the base64 of a 24..64-byte key (the prefix may be left out). */
const webhookSecret = z.string().superRefine((s, ctx) => {
  const b64 = s.startsWith('whsec_') ? s.slice(6) : s;
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && b64.length % 4 === 0 ? Buffer.from(b64, 'base64').length : -1;
  if (bytes < 24 || bytes > 64) {
    ctx.addIssue({ code: 'custom', message: 'must be whsec_ followed by the standard base64 of a 24..64-byte random key' });
  }
});

const filterInput = z.record(z.string(), z.string()).transform((f, ctx): EventFilter => {
  try {
    return parseEventFilter(f);
  } catch (err) {
    if (!(err instanceof EventFormatError)) throw err;
    ctx.addIssue({ code: 'custom', path: err.path === '' ? [] : [err.path], message: err.message.replace(`${err.path}: `, '') });
    return z.NEVER;
  }
});

const common = {
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1..64 letters, digits, ".", "_" or "-"'),
  format: z.enum(FEED_FORMATS as [FeedFormat, ...FeedFormat[]], { message: `must be one of ${FEED_FORMATS.join(', ')}` }).default('ndjson'),
  filter: filterInput.default({}),
  tenant: printable(128).optional(),
  batch: z
    .strictObject({ maxEvents: int(1, 10_000).default(100), maxMs: int(0, 3_600_000).default(1000) })
    .default({ maxEvents: 100, maxMs: 1000 }),
  retry: z
    .strictObject({
      initialMs: int(1, 3_600_000).default(500),
      maxMs: int(1, 86_400_000).default(60_000),
      deadAfterMs: int(0, 30 * 86_400_000).default(3_600_000),
    })
    .default({ initialMs: 500, maxMs: 60_000, deadAfterMs: 3_600_000 }),
  timeoutMs: int(1, 600_000).default(10_000),
  from: z.enum(['start', 'now'], { message: 'must be "start" or "now"' }).default('start'),
};

const webhookSchema = z.strictObject({ ...common, type: z.literal('webhook'), url: httpUrl, secret: webhookSecret });
const hecSchema = z.strictObject({
  ...common,
  type: z.literal('splunk-hec'),
  url: httpUrl,
  token: printable(1024),
  index: printable(256).optional(),
  sourcetype: printable(256).optional(),
  host: printable(256).optional(),
});
const syslogSchema = z.strictObject({
  ...common,
  type: z.literal('syslog'),
  address: z.string().regex(/^tcp:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, 'must be tcp://host:port'),
  appName: printable(48).default('tlog'),
  hostname: printable(255).optional(),
  facility: int(0, 23).default(LOG_AUDIT_FACILITY),
});
const SCHEMAS = { webhook: webhookSchema, 'splunk-hec': hecSchema, syslog: syslogSchema } as const;

/** The zod path as `a.b[2]`. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** The first issue as `field: what is wrong`, never quoting the value given (it may be a secret). */
function issueText(err: z.ZodError): string {
  const issue = err.issues[0]!;
  const at = pathText(issue.path);
  let what = issue.message;
  if (issue.code === 'unrecognized_keys')
    what = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  else if (issue.code === 'invalid_type' && issue.input === undefined) what = 'is required';
  return at === '' ? what : `${at}: ${what}`;
}

/** The validated sink, with the defaults filled in and the tenant forced into the filter. */
function finish(c: z.output<(typeof SCHEMAS)[SinkType]>, fail: (what: string) => never): SinkConfig {
  if (c.tenant !== undefined && c.filter.tenant !== undefined && c.filter.tenant !== c.tenant) {
    fail("filter.tenant: differs from the sink's tenant; a sink with a tenant gets only that tenant's events (leave filter.tenant out)");
  }
  if (c.retry.initialMs > c.retry.maxMs) fail(`retry.initialMs: is ${c.retry.initialMs}, above retry.maxMs (${c.retry.maxMs})`);
  const filter: EventFilter = c.tenant === undefined ? c.filter : { ...c.filter, tenant: c.tenant };
  if (c.type === 'syslog') {
    const m = /^tcp:\/\/\[?([^\]]+)\]?:([0-9]+)$/.exec(c.address)!;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) fail(`address: the port must be 1..65535, got ${port}`);
    return { ...c, filter, host: m[1]!, port };
  }
  if (c.type === 'splunk-hec') return { ...c, filter, sourcetype: c.sourcetype ?? `tlog:${c.format}` };
  return { ...c, filter };
}

/**
 * Validates the sinks file's content: `{"sinks": [ {name, type, ...}, ... ]}` (see docs and
 * feeds-api). Throws ConfigError naming the sink and the field; no message repeats a value given
 * (a secret or token must never reach a log).
 */
export function parseSinksConfig(value: unknown, where = 'the sinks file'): SinkConfig[] {
  const fail = (what: string): never => {
    throw new ConfigError(`${where} (--sinks-file / TLOG_SINKS_FILE): ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must hold a JSON object {"sinks": [...]}');
  const top = value as Record<string, unknown>;
  const extra = Object.keys(top).filter((k) => k !== 'sinks');
  if (extra.length > 0) fail(`unknown field ${JSON.stringify(extra[0])}; the file holds {"sinks": [...]}`);
  if (!Array.isArray(top.sinks)) fail('"sinks" must be an array of sinks');
  const out: SinkConfig[] = [];
  const names = new Set<string>();
  (top.sinks as unknown[]).forEach((input, i) => {
    const label =
      typeof (input as { name?: unknown } | null)?.name === 'string'
        ? `sink ${JSON.stringify((input as { name: string }).name)} (sinks[${i}])`
        : `sinks[${i}]`;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) fail(`${label}: must be an object`);
    const type = (input as { type?: unknown }).type;
    if (typeof type !== 'string' || !(SINK_TYPES as readonly string[]).includes(type))
      fail(`${label}: type: must be one of ${SINK_TYPES.join(', ')}`);
    const parsed = SCHEMAS[type as SinkType].safeParse(input);
    if (!parsed.success) fail(`${label}: ${issueText(parsed.error)}`);
    const sink = finish(parsed.data!, (what) => fail(`${label}: ${what}`));
    if (names.has(sink.name)) fail(`${label}: name: another sink is named ${JSON.stringify(sink.name)}; names must be unique`);
    names.add(sink.name);
    out.push(sink);
  });
  return out;
}

/** Where in the file JSON.parse stopped, from its message, without the snippet of the file newer engines quote (it may hold a secret). */
function jsonErrorPlace(err: Error): string {
  const at = /at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(err.message);
  if (at === null) return '';
  return at[2] === undefined ? ` at position ${at[1]}` : ` at line ${at[2]} column ${at[3]}`;
}

/** Reads and validates the sinks file (see {@link parseSinksConfig}); ConfigError when it cannot be read or is invalid. */
export async function loadSinksFile(path: string): Promise<SinkConfig[]> {
  const where = `the sinks file ${path}`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read ${where} (--sinks-file / TLOG_SINKS_FILE): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where} (--sinks-file / TLOG_SINKS_FILE) is not valid JSON${jsonErrorPlace(err as Error)}`);
  }
  return parseSinksConfig(value, where);
}
