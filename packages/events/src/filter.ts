import { z } from 'zod';
import { EventFormatError } from './errors.js';
import type { EventOutcome, EventRecord } from './schema.js';
import { MAX_ACTION_LENGTH, timestampMs } from './schema.js';

/**
 * What a search asks for; every field given must hold (AND). Field names are the query
 * parameters of `GET /v1/events`. Time bounds are RFC 3339: `since` inclusive, `until` exclusive.
 */
export interface EventFilter {
  /** The actor's id. */
  readonly actor?: string;
  /** An action (`user.login`), or a prefix ending in `*` (`user.*`). */
  readonly action?: string;
  /** The id of any of the event's targets. */
  readonly target?: string;
  readonly tenant?: string;
  readonly outcome?: EventOutcome;
  /** `received_at` >= since. */
  readonly since?: string;
  /** `received_at` < until. */
  readonly until?: string;
  /** `occurred_at` >= occurred_since. */
  readonly occurred_since?: string;
  /** `occurred_at` < occurred_until. */
  readonly occurred_until?: string;
}

/** The names of the filter's query parameters, in a fixed order. */
export const FILTER_FIELDS = [
  'actor',
  'action',
  'target',
  'tenant',
  'outcome',
  'since',
  'until',
  'occurred_since',
  'occurred_until',
] as const satisfies readonly (keyof EventFilter)[];

const time = z.iso.datetime({
  offset: true,
  local: false,
  message: 'must be an RFC 3339 date-time with a time zone, e.g. 2026-12-01T00:00:00Z',
});
const id = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const filterSchema = z.strictObject({
  actor: id.optional(),
  action: z
    .string()
    .max(MAX_ACTION_LENGTH + 1, `must be at most ${MAX_ACTION_LENGTH} characters`)
    .regex(/^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)+|[a-z0-9_.-]*\*)$/, 'must be an action (user.login) or a prefix ending in * (user.*)')
    .optional(),
  target: id.optional(),
  tenant: z
    .string()
    .min(1, 'must not be empty')
    .max(128, 'must be at most 128 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters without spaces')
    .optional(),
  outcome: z.enum(['success', 'failure', 'unknown'], { message: 'must be success, failure or unknown' }).optional(),
  since: time.optional(),
  until: time.optional(),
  occurred_since: time.optional(),
  occurred_until: time.optional(),
});

/**
 * Validates a filter (e.g. query parameters; absent and empty-string values are dropped).
 * Throws EventFormatError naming the parameter.
 */
export function parseEventFilter(params: { readonly [name: string]: string | undefined }): EventFilter {
  const present: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') present[k] = v;
  const r = filterSchema.safeParse(present);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys')
      throw new EventFormatError(issue.keys[0] ?? '', `is not a search filter; use ${FILTER_FIELDS.join(', ')}`);
    return fail(String(issue.path[0] ?? ''), issue.message);
  }
  return r.data as EventFilter;
}

function fail(path: string, message: string): never {
  throw new EventFormatError(path, message);
}

/** The filter as query parameters (only the fields given, in {@link FILTER_FIELDS} order). */
export function filterParams(filter: EventFilter): [string, string][] {
  const out: [string, string][] = [];
  for (const k of FILTER_FIELDS) {
    const v = filter[k];
    if (v !== undefined) out.push([k, v]);
  }
  return out;
}

/** The action prefix of a filter's `action` when it ends in `*`, else undefined. */
export function actionPrefix(action: string): string | undefined {
  return action.endsWith('*') ? action.slice(0, -1) : undefined;
}

/** Whether `record` satisfies every field of `filter`. */
export function eventMatches(record: EventRecord, filter: EventFilter): boolean {
  if (filter.actor !== undefined && record.actor.id !== filter.actor) return false;
  if (filter.action !== undefined) {
    const prefix = actionPrefix(filter.action);
    if (prefix === undefined ? record.action !== filter.action : !record.action.startsWith(prefix)) return false;
  }
  if (filter.target !== undefined && !record.targets.some((t) => t.id === filter.target)) return false;
  if (filter.tenant !== undefined && record.tenant !== filter.tenant) return false;
  if (filter.outcome !== undefined && record.outcome !== filter.outcome) return false;
  const received = timestampMs(record.received_at);
  if (filter.since !== undefined && received < timestampMs(filter.since)) return false;
  if (filter.until !== undefined && received >= timestampMs(filter.until)) return false;
  const occurred = timestampMs(record.occurred_at);
  if (filter.occurred_since !== undefined && occurred < timestampMs(filter.occurred_since)) return false;
  if (filter.occurred_until !== undefined && occurred >= timestampMs(filter.occurred_until)) return false;
  return true;
}
