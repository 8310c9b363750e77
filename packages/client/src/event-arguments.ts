/**
 * The caller's side of the event methods (internal): events, filters and options checked before
 * anything is sent, each refusal an ArgumentError naming the field at fault.
 */
import type { EventFilter, EventInput } from '@tlog/events';
import { canonicalEvent, EventFormatError, parseEventFilter, parseEventInput } from '@tlog/events';
import { checkBackoff } from './backoff.js';
import { checkIndex } from './checks.js';
import { ArgumentError } from './errors.js';
import type { EventExportOptions, ExportQuery } from './event-export.js';
import type { EventTailOptions, TailQuery } from './event-tail.js';
import type { EventOrder, EventSearchOptions, NewEvent } from './events.js';
import { DEFAULT_EVENT_PAGE_SIZE, MAX_EVENT_BATCH, MAX_EVENT_PAGE_SIZE } from './events.js';
import { checkFeedFormat } from './feed-lines.js';

/** When sizing an event, these stand in for what the log adds: an id as long as a UUIDv7, and a received_at (fixed length). */
const PLACEHOLDER_ID = '00000000-0000-7000-8000-000000000000';
const PLACEHOLDER_RECEIVED_AT = '2000-01-01T00:00:00.000Z';

/**
 * Validates an event before it is sent (the field path prefixed by `prefix`, e.g. `[3]`), with
 * its defaults filled in, including that its canonical form fits once the log adds its id and
 * received_at.
 */
export function checkNewEvent(value: unknown, prefix = ''): EventInput {
  try {
    const input = parseEventInput(value, prefix);
    canonicalEvent({ ...input, id: input.id ?? PLACEHOLDER_ID, received_at: PLACEHOLDER_RECEIVED_AT });
    return input;
  } catch (e) {
    if (!(e instanceof EventFormatError)) throw e;
    const where = e.path === '' && prefix !== '' ? `${prefix}: ` : '';
    throw new ArgumentError(`the event is not valid: ${where}${e.message}`, { cause: e });
  }
}

/** Validates 1 to {@link MAX_EVENT_BATCH} events for one batch, each named by its position. */
export function checkNewEvents(values: readonly NewEvent[]): EventInput[] {
  if (!Array.isArray(values) || values.length === 0 || values.length > MAX_EVENT_BATCH) {
    throw new ArgumentError(`a batch holds 1 to ${MAX_EVENT_BATCH} events, got ${Array.isArray(values) ? values.length : typeof values}`);
  }
  return values.map((e, i) => checkNewEvent(e, `[${i}]`));
}

/** A search filter, validated (absent and empty fields dropped). */
export function checkFilter(filter: EventFilter): EventFilter {
  if (typeof filter !== 'object' || filter === null) throw new ArgumentError(`an event filter is an object, got ${String(filter)}`);
  try {
    return parseEventFilter(filter as { readonly [name: string]: string | undefined });
  } catch (e) {
    if (!(e instanceof EventFormatError)) throw e;
    throw new ArgumentError(`the event filter is not valid: ${e.message}`, { cause: e });
  }
}

/** Which event GET /v1/events/{id or index} asks for. */
export type EventKey =
  | { readonly index: number }
  | {
      readonly id: string;
      /** The tenant the id is looked up in; none when absent. */
      readonly tenant?: string;
    };

/**
 * The event named by an id (looked up in `tenant`) or an index (a number, or a string of digits:
 * an id is never only digits).
 */
export function checkEventKey(idOrIndex: string | number, tenant: string | undefined): EventKey {
  if (typeof idOrIndex === 'number') return { index: checkIndex(idOrIndex, 'the event index') };
  if (typeof idOrIndex !== 'string' || idOrIndex === '') {
    throw new ArgumentError(`an event is named by its id or its index, got ${JSON.stringify(idOrIndex)}`);
  }
  if (/^[0-9]+$/.test(idOrIndex)) return { index: checkIndex(Number(idOrIndex), 'the event index') };
  if (tenant === undefined) return { id: idOrIndex };
  const checked = checkFilter({ tenant }).tenant;
  if (checked === undefined) throw new ArgumentError('the tenant must not be empty');
  return { id: idOrIndex, tenant: checked };
}

/** A search, validated: the filter, the order, the page size and whether the log sends proofs. */
export interface SearchQuery {
  readonly filter: EventFilter;
  readonly order: EventOrder;
  readonly pageSize: number;
  readonly proofs: boolean;
}

/** Validates a search's filter and options. */
export function checkSearch(filter: EventFilter, options: EventSearchOptions): SearchQuery {
  const order = options.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw new ArgumentError(`the order is asc or desc, got ${JSON.stringify(order)}`);
  const pageSize = options.pageSize ?? DEFAULT_EVENT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_EVENT_PAGE_SIZE) {
    throw new ArgumentError(`the page size is 1..${MAX_EVENT_PAGE_SIZE}, got ${String(pageSize)}`);
  }
  return { filter: checkFilter(filter), order, pageSize, proofs: options.proofs !== false };
}

/** A feed position (`after`): an integer >= -1, where -1 is before the first event. */
function checkAfter(after: number, what: string): number {
  if (!Number.isSafeInteger(after) || after < -1) throw new ArgumentError(`${what} must be an integer >= -1, got ${String(after)}`);
  return after;
}

/** Validates an export's filter, after, format and limit. */
export function checkExport(options: EventExportOptions): ExportQuery {
  const { limit } = options;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new ArgumentError(`the limit must be an integer >= 1, got ${String(limit)}`);
  }
  return {
    filter: checkFilter(options.filter ?? {}),
    after: checkAfter(options.after ?? -1, 'after'),
    format: checkFeedFormat(options.format),
    limit,
    verify: options.verify !== false,
  };
}

/** Validates a tail's filter, after and reconnection options. */
export function checkTail(filter: EventFilter, options: EventTailOptions): TailQuery {
  checkBackoff(options.reconnect);
  return {
    filter: checkFilter(filter),
    after: options.after === undefined ? undefined : checkAfter(options.after, 'after'),
  };
}
