import { type Hash, hashFromBase64 } from '@tlog/merkle';
import { z } from 'zod';
import { httpError } from './errors.js';

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

/** A standard-base64 32-byte hash. */
export const base64Hash = z.string().transform((s, ctx): Hash => {
  try {
    return hashFromBase64(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be a standard base64 SHA-256 hash (${(err as Error).message})` });
    return z.NEVER;
  }
});

/**
 * Validates query parameters (or path parameters) with a zod object schema; answers 400 naming
 * the parameter on failure. Unknown parameters are refused too, so typos do not pass silently.
 */
const strictCache = new WeakMap<z.ZodObject, z.ZodObject>();

export function parseParams<S extends z.ZodObject>(schema: S, params: Record<string, string>): z.output<S> {
  // strict() builds a new schema: do it once per schema, not per request.
  let strict = strictCache.get(schema);
  if (strict === undefined) {
    strict = schema.strict();
    strictCache.set(schema, strict);
  }
  const r = strict.safeParse(params);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw httpError(400, `unknown query parameter(s): ${issue.keys.join(', ')}`);
    }
    const name = issue.path.length > 0 ? String(issue.path[0]) : 'query';
    const given = typeof params[name] === 'string' ? ` (got ${JSON.stringify(params[name])})` : '';
    throw httpError(400, `bad parameter "${name}"${given}: ${issue.message}`);
  }
  return r.data as z.output<S>;
}
