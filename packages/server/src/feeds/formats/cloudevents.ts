import type { EventOutcome, EventRecord } from '@tlog/events';
import type { CloudEventV1 } from 'cloudevents';
import type { FeedEvent } from '../feed-event.js';
import type { FormatContext } from '../formats.js';
import { withRawMember } from './json-bytes.js';

/** What every tlog CloudEvent's `type` starts with; the event's action follows. */
export const CLOUDEVENTS_TYPE_PREFIX = 'dev.tlog.audit.';

/** The context attributes of a tlog event as a CloudEvent: everything but `data`. */
export interface TlogCloudEventAttributes {
  readonly specversion: '1.0';
  /** The record's id. */
  readonly id: string;
  /** `tlog://`, the log's origin, and `?tenant=` and the tenant if any: {@link cloudEventSource}. */
  readonly source: string;
  /** {@link CLOUDEVENTS_TYPE_PREFIX} and the record's action. */
  readonly type: string;
  /** The first target as `type/id`; absent when the event names no target. */
  readonly subject?: string;
  /** The record's occurred_at, as written. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  /** The event's index in the log. */
  readonly tlogindex: number;
  /** The leaf hash, standard base64. */
  readonly tlogleafhash: string;
  /** The salt, standard base64. */
  readonly tlogsalt: string;
  /** The record's tenant; absent when it has none. */
  readonly tlogtenant?: string;
  /** The record's outcome. */
  readonly tlogoutcome: EventOutcome;
}

/** A tlog event as a CloudEvents 1.0 event (a `CloudEventV1` of the `cloudevents` package): the attributes, and the record itself as `data`. */
export interface TlogCloudEvent extends TlogCloudEventAttributes {
  readonly data: EventRecord;
}

/** RFC 3986 characters a URI path takes as they are (unreserved, sub-delims, `:`, `@` and `/`). */
const URI_AS_IS = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu;

/**
 * The CloudEvents `source` of a log's events: `tlog://` followed by its origin, each character a
 * URI does not take as it is (`%`, `#`, `?`, non-ASCII...) percent-encoded as UTF-8, so that
 * `tlog://example.com/audit` is the source of the log `example.com/audit`; for an event of a
 * tenant, `?tenant=` and the tenant (percent-encoded) follow. The tenant is part of the source
 * because event ids are unique within a tenant only, and CloudEvents wants source + id unique.
 */
export function cloudEventSource(origin: string, tenant?: string): string {
  if (origin.length === 0) throw new RangeError('a log origin is never empty');
  const log = `tlog://${origin.replace(URI_AS_IS, encodeURIComponent)}`;
  return tenant === undefined ? log : `${log}?tenant=${encodeURIComponent(tenant)}`;
}

/** The CloudEvents `type` of an event: {@link CLOUDEVENTS_TYPE_PREFIX} and its action, e.g. `dev.tlog.audit.user.login`. */
export function cloudEventType(action: string): string {
  return CLOUDEVENTS_TYPE_PREFIX + action;
}

/**
 * The attributes, in the order they go out. Built by hand rather than with the `cloudevents`
 * package's CloudEvent class, whose JSON serializes the record again (we copy its stored bytes)
 * and rewrites `time` in UTC with milliseconds (we keep occurred_at as the client wrote it); it
 * was also about 1.5 times slower per line. The type is checked against the package's
 * `CloudEventV1`, and the tests check every line with the package's validation and the spec's
 * JSON schema.
 */
function attributes(e: FeedEvent, ctx: FormatContext): TlogCloudEventAttributes {
  const r = e.record;
  const first = r.targets[0];
  return {
    specversion: '1.0',
    id: r.id,
    source: cloudEventSource(ctx.origin, r.tenant),
    type: cloudEventType(r.action),
    ...(first !== undefined ? { subject: `${first.type}/${first.id}` } : {}),
    time: r.occurred_at,
    datacontenttype: 'application/json',
    tlogindex: e.index,
    tlogleafhash: e.leafHash,
    tlogsalt: e.salt,
    ...(r.tenant !== undefined ? { tlogtenant: r.tenant } : {}),
    tlogoutcome: r.outcome,
  };
}

/**
 * The event as a CloudEvents 1.0 event in structured JSON mode, as a plain object; the record is
 * `data` as it is. The event line is {index: tlogindex, leafHash: tlogleafhash, record: data,
 * salt: tlogsalt}.
 */
export function toCloudEvent(e: FeedEvent, ctx: FormatContext): TlogCloudEvent {
  return { ...attributes(e, ctx), data: e.record } satisfies CloudEventV1<EventRecord>;
}

/** {@link toCloudEvent} as one JSON line (UTF-8, no newline), `data` the record's stored canonical bytes. */
export function cloudEventLine(e: FeedEvent, ctx: FormatContext): Uint8Array {
  return withRawMember(JSON.stringify(attributes(e, ctx)), 'data', e.canonical);
}
