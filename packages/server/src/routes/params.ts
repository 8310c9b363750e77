import { EventFormatError, MAX_ID_LENGTH } from '@tlog/events';
import { type Hash, hashFromBase64 } from '@tlog/merkle';
import { validator } from 'hono/validator';
import { z } from 'zod';
import { echo, httpError } from './errors.js';

/** A decimal index or size: digits only, no leading zeros, at most 2^53-1. */
export const decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal integer without sign or leading zeros')
  .transform((s, ctx) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n)) {
      ctx.addIssue({ code: 'custom', message: 'must be at most 2^53-1' });
      return z.NEVER;
    }
    return n;
  });

/**
 * The `{index or id}` of /v1/events/{ref}: a decimal index, else an event id looked up in
 * `tenant`. 400 for a tenant beside an index, for digits that are no index (an id is never only
 * digits), and an EventFormatError for an id over 128 characters.
 */
export function eventRef(ref: string, tenant: string | undefined): { index: number } | { id: string; tenant?: string } {
  const index = decimal.safeParse(ref);
  if (index.success) {
    if (tenant !== undefined) throw httpError(400, '"tenant" selects among ids; an index names one event already');
    return { index: index.data };
  }
  if (/^[0-9]+$/.test(ref))
    throw httpError(400, `${echo(ref)} is not an index (no leading zeros, at most 2^53-1), nor an id (ids are not only digits)`);
  if (ref.length > MAX_ID_LENGTH) throw new EventFormatError('id', `must be at most ${MAX_ID_LENGTH} characters`);
  return { id: ref, ...(tenant !== undefined ? { tenant } : {}) };
}

/** A standard-base64 32-byte hash. */
export const base64Hash = z.string().transform((s, ctx): Hash => {
  try {
    return hashFromBase64(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be a standard base64 SHA-256 hash (${(err as Error).message})` });
    return z.NEVER;
  }
});

/** An on/off query parameter: `1` or `true` is on; `0`, `false` or absent is off. */
export const flag = z
  .enum(['0', '1', 'true', 'false'])
  .optional()
  .transform((v) => v === '1' || v === 'true');

/** The query of a write that may ask for receipts (`?receipts=1`). */
export const receiptsQuery = z.object({ receipts: flag });

/** No query parameters at all. */
export const noQuery = z.object({});

/**
 * Validates query parameters (or path parameters) with a strict zod object schema; answers 400
 * naming the parameter on failure. Unknown parameters are refused, so typos do not pass silently.
 */
function parseParams<O>(strict: z.ZodObject, params: Record<string, string>): O {
  const r = strict.safeParse(params);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const names = issue.keys.slice(0, 5).map(echo).join(', ');
      throw httpError(400, `unknown query parameter(s): ${names}${issue.keys.length > 5 ? ', …' : ''}`);
    }
    const name = issue.path.length > 0 ? String(issue.path[0]) : 'query';
    const value = params[name];
    const given = typeof value === 'string' ? ` (got ${echo(value)})` : '';
    throw httpError(400, `bad parameter "${name}"${given}: ${issue.message}`);
  }
  return r.data as O;
}

/** Each query parameter given once: 400 naming the first that is repeated (which one would count is anybody's guess). */
function once(query: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw httpError(400, `query parameter ${echo(name)} is given ${value.length} times; give it once`);
    out[name] = value;
  }
  return out;
}

/**
 * Hono's validator for the query string with a zod object schema (see {@link parseParams}):
 * unknown and repeated parameters are refused (400). The handler reads `c.req.valid('query')`.
 */
export function query<S extends z.ZodObject>(schema: S) {
  const strict = schema.strict();
  return validator('query', (value) => parseParams<z.output<S>>(strict, once(value)));
}

/** Hono's validator for path parameters with a zod object schema; the handler reads `c.req.valid('param')`. */
export function param<S extends z.ZodObject>(schema: S) {
  const strict = schema.strict();
  return validator('param', (value: Record<string, string>) => parseParams<z.output<S>>(strict, value));
}
