/** The JSON answers of the log's API, as the client expects them (internal). */
import type { Hash } from '@tlog/merkle';
import { hashFromBase64 } from '@tlog/merkle';
import { z } from 'zod';
import { errorMessage } from './checks.js';
import { ProtocolError } from './errors.js';

/** POST /v1/entries. */
export const submitAnswer = z.object({
  index: z.number().int().nonnegative(),
  leafHash: z.string(),
  checkpoint: z.string(),
  receipt: z.string(),
});

/** POST /v1/entries/batch?receipts=1. */
export const batchAnswer = z.object({
  count: z.number().int().nonnegative(),
  indexes: z.array(z.number().int().nonnegative()),
  checkpoint: z.string(),
  receipts: z.array(z.string()),
});

/** GET /v1/proof/inclusion. */
export const inclusionAnswer = z.object({
  index: z.number().int().nonnegative(),
  treeSize: z.number().int().nonnegative(),
  leafHash: z.string(),
  proof: z.array(z.string()),
});

/** GET /v1/proof/consistency. */
export const consistencyAnswer = z.object({
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  proof: z.array(z.string()),
});

/** GET /v1/log (only the field the client reads). */
export const logAnswer = z.object({ verifierKey: z.string() });

/** The JSON body as the schema says, or a ProtocolError naming what is wrong in it. */
export function parseAnswer<T>(schema: z.ZodType<T>, body: unknown, url: string): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    throw new ProtocolError(
      `${url} answered JSON of an unexpected shape: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { url },
    );
  }
  return r.data;
}

/** A base64 hash from an answer, or a ProtocolError. */
export function decodeHash(b64: string, url: string): Hash {
  try {
    return hashFromBase64(b64);
  } catch (e) {
    throw new ProtocolError(`${url} answered a hash that is not 32 bytes of base64: ${errorMessage(e)}`, { url, cause: e });
  }
}
