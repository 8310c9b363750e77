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

/** An index as the API answers it: a safe non-negative integer. */
const index = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * An event receipt inside an answer; its fields are checked by parseEventReceipt (@tlog/events)
 * afterwards, so that a bad record is named by its field path.
 */
const eventReceipt = z.object({ record: z.unknown(), salt: z.string(), index, leafHash: z.string(), proof: z.string() });

/** POST /v1/events. */
export const appendEventAnswer = z.object({ index, id: z.string(), leafHash: z.string(), checkpoint: z.string(), receipt: eventReceipt });

/** POST /v1/events/batch[?receipts=1]. */
export const appendEventsAnswer = z.object({
  results: z.array(z.object({ index, id: z.string(), leafHash: z.string() })),
  checkpoint: z.string(),
  receipts: z.array(eventReceipt).optional(),
});

/** GET /v1/events/{id or index}: an event receipt with the checkpoint beside it. */
export const eventAnswer = eventReceipt.extend({ checkpoint: z.string() });

/**
 * The event line: one search result, one line of an ndjson export, the data of a stream's `event`
 * frame (`inclusion` only when proofs were asked). The record is checked by parseServedEvent.
 */
export const eventLine = z.object({
  index,
  leafHash: z.string(),
  record: z.unknown(),
  salt: z.string(),
  inclusion: z.array(z.string()).optional(),
});

/** GET /v1/events (one page of a search). */
export const eventPageAnswer = z.object({
  checkpoint: z.string(),
  events: z.array(eventLine),
  next: z.string().optional(),
});

/** A position of a feed (`after`, a stream frame's id): an index, or -1 for "before the first". */
export const feedPosition = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);

/** The data of an `event: checkpoint` frame of GET /v1/events/stream. */
export const checkpointFrame = z.object({
  size: index,
  checkpoint: z.string(),
  consistency: z.array(z.string()).optional(),
  from: index.optional(),
});

/** The data of an `event: lagged` or `event: closing` frame: where to resume. */
export const resumeFrame = z.object({ after: feedPosition });

/** An RFC 3339 time with a time zone, as the log writes them. */
const time = z.iso.datetime({ offset: true });

/**
 * Who erased an event: an API key (its id and name), or a retention rule (the log names it by
 * its id, or sends the rule itself).
 */
const erasedBy = z.union([
  z.object({ key_id: z.string().min(1), key_name: z.string() }),
  z.object({ rule: z.union([z.string().min(1), z.looseObject({ id: z.string().min(1) })]) }),
]);

/** The tombstone the log keeps where an erased event's record and salt were. */
export const tombstone = z.object({ erased_at: time, reason: z.string().min(1).max(500), by: erasedBy });

/** DELETE /v1/events/{id or index}. */
export const eraseAnswer = z.object({ index, leafHash: z.string(), tombstone });

/** The 410 of GET (or DELETE) /v1/events/{id or index} for an erased event. */
export const erasedAnswer = z.object({
  error: z.string().optional(),
  index,
  leafHash: z.string(),
  tombstone,
  checkpoint: z.string(),
  proof: z.string(),
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
