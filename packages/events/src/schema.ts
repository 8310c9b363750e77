import { z } from 'zod';
import { formatError } from './zod-errors.js';

/** Most targets one event names. */
export const MAX_TARGETS = 32;
/** Longest event action. */
export const MAX_ACTION_LENGTH = 128;
/** Longest client-chosen event id (idempotency key). */
export const MAX_ID_LENGTH = 128;
/** Deepest nesting of objects and arrays inside `metadata`. */
export const MAX_METADATA_DEPTH = 16;

/** `noun.verb` (more dot-separated parts allowed), lowercase letters, digits, `_` and `-`. */
const ACTION = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$/;
/** What an event id is made of: characters a URL path segment takes as they are. */
const ID = /^[A-Za-z0-9._~:@+=-]+$/;
/** Visible ASCII without spaces: what a type or a tenant is made of. */
const TOKEN = /^[\x21-\x7e]+$/;
/** Whether `s` has no C0/C1 control characters (they garble logs and terminals). */
function noControls(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false;
  }
  return true;
}

const text = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine(noControls, 'must not contain control characters');
const token = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(TOKEN, 'must be visible ASCII characters without spaces');

/**
 * An RFC 3339 date-time with an explicit offset (`Z` or `+hh:mm`), from 1970 through 9999. Kept
 * as written: the canonical form commits to the client's own string.
 */
const timestamp = z.iso
  .datetime({ offset: true, local: false, message: 'must be an RFC 3339 date-time with a time zone, e.g. 2026-12-01T18:04:05.123Z' })
  .refine((s) => {
    const ms = Date.parse(s);
    return Number.isFinite(ms) && ms >= 0;
  }, 'must be a date-time from 1970 onwards');

/** Who or what an event is about: `{type, id, name?}`. */
const party = z.strictObject({
  type: token(64),
  id: text(256),
  name: text(256).optional(),
});

/** `metadata`: any JSON object, nested at most MAX_METADATA_DEPTH deep. */
const metadata = z.record(z.string(), z.json()).superRefine((value, ctx) => {
  if (depthOf(value) > MAX_METADATA_DEPTH) {
    ctx.addIssue({ code: 'custom', message: `must be nested at most ${MAX_METADATA_DEPTH} levels deep` });
  }
});

const fields = {
  action: z
    .string()
    .max(MAX_ACTION_LENGTH, `must be at most ${MAX_ACTION_LENGTH} characters`)
    .regex(ACTION, 'must be noun.verb: lowercase letters, digits, _ and - in dot-separated parts, e.g. user.login'),
  actor: party,
  targets: z.array(party).max(MAX_TARGETS, `must name at most ${MAX_TARGETS} targets`).default([]),
  outcome: z.enum(['success', 'failure', 'unknown'], { message: 'must be success, failure or unknown' }).default('unknown'),
  occurred_at: timestamp,
  tenant: token(128).optional(),
  context: z
    .strictObject({
      ip: z.union([z.ipv4(), z.ipv6()], { message: 'must be an IPv4 or IPv6 address' }).optional(),
      user_agent: text(1024).optional(),
      request_id: text(256).optional(),
      location: text(256).optional(),
    })
    .default({}),
  metadata: metadata.default({}),
  id: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
    .regex(ID, 'must be letters, digits and . _ ~ : @ + = - only (it goes in a URL path)')
    .refine((s) => !/^[0-9]+$/.test(s), 'must not be only digits (GET /v1/events/{id or index} would read it as an index)')
    .optional(),
};

const inputSchema = z.strictObject(fields);
const recordSchema = z.strictObject({
  ...fields,
  id: fields.id.unwrap(),
  received_at: timestamp,
});

/** One party of an event: the actor or a target. */
export interface EventParty {
  readonly type: string;
  readonly id: string;
  readonly name?: string;
}

/** Where an event came from. */
export interface EventContext {
  readonly ip?: string;
  readonly user_agent?: string;
  readonly request_id?: string;
  readonly location?: string;
}

/** Whether the action succeeded. */
export type EventOutcome = 'success' | 'failure' | 'unknown';

/** A JSON value, as `metadata` holds. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** An event as a client submits it, after validation (defaults filled in; `id` may be absent). */
export interface EventInput {
  readonly action: string;
  readonly actor: EventParty;
  readonly targets: readonly EventParty[];
  readonly outcome: EventOutcome;
  readonly occurred_at: string;
  readonly tenant?: string;
  readonly context: EventContext;
  readonly metadata: { readonly [key: string]: JsonValue };
  readonly id?: string;
}

/** An event as logged: the input with its `id` (the client's, or a UUIDv7) and the server's `received_at`. */
export interface EventRecord extends EventInput {
  readonly id: string;
  /** When the log received the event: RFC 3339 UTC with milliseconds, never decreasing along the log. */
  readonly received_at: string;
}

/**
 * Validates a parsed JSON value as an event to submit: refuses unknown fields (at the top and in
 * `actor`, `targets`, `context`) and fills in the defaults (`targets` [], `outcome` unknown,
 * `context` {}, `metadata` {}). Throws EventFormatError naming the field path, prefixed by
 * `prefix` (e.g. `[3]` for the fourth event of a batch).
 */
export function parseEventInput(value: unknown, prefix = ''): EventInput {
  const r = inputSchema.safeParse(value);
  if (!r.success) throw formatError(r.error, prefix);
  return r.data as EventInput;
}

/** Validates a logged event record (as a receipt or a search answer carries it); EventFormatError otherwise. */
export function parseEventRecord(value: unknown, prefix = ''): EventRecord {
  const r = recordSchema.safeParse(value);
  if (!r.success) throw formatError(r.error, prefix);
  return r.data as EventRecord;
}

/** Milliseconds since the epoch of a validated RFC 3339 date-time. */
export function timestampMs(s: string): number {
  return Date.parse(s);
}

/** How deeply objects and arrays nest in `value` (a scalar is 0), counted without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (d > MAX_METADATA_DEPTH) return d;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
