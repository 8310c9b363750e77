import { type EventRecord, type JsonValue, timestampMs } from '@tlog/events';
import type { FeedEvent } from '../feed-event.js';
import type { FormatContext } from '../formats.js';
import { eventLine, withRawMember } from './json-bytes.js';

/** The OCSF schema version the lines follow (https://schema.ocsf.io/1.3.0/classes/api_activity). */
export const OCSF_VERSION = '1.3.0';
/** OCSF category Application Activity. */
const CATEGORY_UID = 6;
/** OCSF class API Activity: category_uid * 1000 + 3. */
const CLASS_UID = 6003;

/** API Activity's activity_id: Unknown, Create, Read, Update, Delete, Other. */
export type OcsfActivityId = 0 | 1 | 2 | 3 | 4 | 99;
const ACTIVITY_NAMES: Readonly<Record<OcsfActivityId, string>> = {
  0: 'Unknown',
  1: 'Create',
  2: 'Read',
  3: 'Update',
  4: 'Delete',
  99: 'Other',
};

/**
 * The verbs each CRUD activity_id stands for (space-separated), in present and past tense. An
 * action's verb is its last dot-separated part (`document.delete` -> `delete`); any other verb is
 * Other (99). docs/feeds.md lists the same table, and a test holds the two equal.
 */
export const OCSF_ACTIVITY_VERBS: Readonly<Record<1 | 2 | 3 | 4, string>> = {
  1: 'create created add added insert inserted register registered upload uploaded import imported invite invited issue issued',
  2: 'read get view viewed list listed search searched query queried fetch fetched describe described export exported download downloaded access accessed',
  3:
    'update updated modify modified edit edited change changed set patch patched replace replaced rename renamed move moved reset ' +
    'restore restored rotate rotated grant granted revoke revoked assign assigned unassign unassigned enable enabled disable disabled ' +
    'lock locked unlock unlocked suspend suspended',
  4: 'delete deleted remove removed destroy destroyed erase erased purge purged drop dropped',
};
const ACTIVITY_OF_VERB: ReadonlyMap<string, OcsfActivityId> = new Map(
  ([1, 2, 3, 4] as const).flatMap((id) => OCSF_ACTIVITY_VERBS[id].split(' ').map((v) => [v, id] as const)),
);

/** The verb of an action: its last dot-separated part. */
function verbOf(action: string): string {
  return action.slice(action.lastIndexOf('.') + 1);
}

/** The API Activity activity_id of an action, from its verb: Create, Read, Update, Delete, or Other (99). */
export function ocsfActivityId(action: string): OcsfActivityId {
  return ACTIVITY_OF_VERB.get(verbOf(action)) ?? 99;
}

const STATUS = { success: [1, 'Success'], failure: [2, 'Failure'], unknown: [0, 'Unknown'] } as const;
/** OCSF user type_id by actor type: User, Admin, System; any other type is Other (99) and keeps its name. */
const USER_TYPES: ReadonlyMap<string, readonly [1 | 2 | 3, string]> = new Map([
  ['user', [1, 'User']],
  ['admin', [2, 'Admin']],
  ['system', [3, 'System']],
]);

/** An OCSF 1.3.0 API Activity (class 6003) event as tlog writes it. */
export interface OcsfApiActivity {
  readonly category_uid: 6;
  readonly category_name: 'Application Activity';
  readonly class_uid: 6003;
  readonly class_name: 'API Activity';
  readonly activity_id: OcsfActivityId;
  /** The activity's caption, or the action's verb when activity_id is Other. */
  readonly activity_name: string;
  /** class_uid * 100 + activity_id. */
  readonly type_uid: number;
  readonly type_name: string;
  /** occurred_at, milliseconds since the epoch. */
  readonly time: number;
  /** occurred_at's offset from UTC in minutes; absent beyond OCSF's range of +-18 hours. */
  readonly timezone_offset?: number;
  /** 1 Informational, 2 Low for a failure. */
  readonly severity_id: 1 | 2;
  readonly severity: 'Informational' | 'Low';
  readonly status_id: 0 | 1 | 2;
  readonly status: 'Unknown' | 'Success' | 'Failure';
  readonly message: string;
  readonly metadata: {
    readonly version: typeof OCSF_VERSION;
    readonly product: { readonly name: 'tlog'; readonly vendor_name: 'tlog' };
    readonly uid: string;
    readonly original_time: string;
    readonly logged_time: number;
    readonly sequence: number;
    readonly log_name: string;
    readonly log_provider: 'tlog';
    readonly tenant_uid?: string;
  };
  readonly actor: {
    readonly user: { readonly uid: string; readonly name?: string; readonly type_id: 1 | 2 | 3 | 99; readonly type: string };
  };
  readonly api: { readonly operation: string; readonly request?: { readonly uid: string } };
  /** The context's IP, or `name: "unknown"` when the event gives none (OCSF requires a source endpoint). */
  readonly src_endpoint: { readonly ip: string } | { readonly name: 'unknown' };
  readonly http_request?: { readonly user_agent: string };
  readonly resources?: readonly { readonly uid: string; readonly type: string; readonly name?: string }[];
  readonly unmapped: {
    /** The context's location (OCSF's location object wants a city, country, postal code or region). */
    readonly context?: { readonly location: string };
    /** The record's metadata, when it has any. */
    readonly metadata?: { readonly [key: string]: JsonValue };
    /** The event line's fields: the record as it is, so the line stays verifiable. */
    readonly tlog: { readonly index: number; readonly leafHash: string; readonly record: EventRecord; readonly salt: string };
  };
}

type OcsfHead = Omit<OcsfApiActivity, 'unmapped'>;
type OcsfUnmapped = Omit<OcsfApiActivity['unmapped'], 'tlog'>;

/** Minutes east of UTC of an RFC 3339 date-time (`Z`, `+hh:mm` or `-hh:mm` at its end). */
function offsetMinutes(time: string): number | undefined {
  const m = /([+-])(\d\d):(\d\d)$/.exec(time);
  if (m === null) return /[Zz]$/.test(time) ? 0 : undefined;
  const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return Math.abs(minutes) <= 1080 ? minutes : undefined;
}

/** A one-sentence summary: `document.delete by user/alice on document/d-42 and 2 more: success`. */
function messageOf(r: EventRecord): string {
  const first = r.targets[0];
  const on = first === undefined ? '' : ` on ${first.type}/${first.id}${r.targets.length > 1 ? ` and ${r.targets.length - 1} more` : ''}`;
  return `${r.action} by ${r.actor.type}/${r.actor.id}${on}: ${r.outcome}`;
}

/** Every OCSF attribute but `unmapped`, in the order they go out. */
function head(e: FeedEvent, ctx: FormatContext): OcsfHead {
  const r = e.record;
  const activity = ocsfActivityId(r.action);
  const activityName = activity === 99 ? verbOf(r.action) : ACTIVITY_NAMES[activity];
  const [statusId, status] = STATUS[r.outcome];
  const failed = r.outcome === 'failure';
  const offset = offsetMinutes(r.occurred_at);
  const [userTypeId, userType] = USER_TYPES.get(r.actor.type.toLowerCase()) ?? [99, r.actor.type];
  return {
    category_uid: CATEGORY_UID,
    category_name: 'Application Activity',
    class_uid: CLASS_UID,
    class_name: 'API Activity',
    activity_id: activity,
    activity_name: activityName,
    type_uid: CLASS_UID * 100 + activity,
    type_name: `API Activity: ${activityName}`,
    time: timestampMs(r.occurred_at),
    ...(offset !== undefined ? { timezone_offset: offset } : {}),
    severity_id: failed ? 2 : 1,
    severity: failed ? 'Low' : 'Informational',
    status_id: statusId,
    status,
    message: messageOf(r),
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'tlog', vendor_name: 'tlog' },
      uid: r.id,
      original_time: r.occurred_at,
      logged_time: timestampMs(r.received_at),
      sequence: e.index,
      log_name: ctx.origin,
      log_provider: 'tlog',
      ...(r.tenant !== undefined ? { tenant_uid: r.tenant } : {}),
    },
    actor: {
      user: { uid: r.actor.id, ...(r.actor.name !== undefined ? { name: r.actor.name } : {}), type_id: userTypeId, type: userType },
    },
    api: { operation: r.action, ...(r.context.request_id !== undefined ? { request: { uid: r.context.request_id } } : {}) },
    src_endpoint: r.context.ip !== undefined ? { ip: r.context.ip } : { name: 'unknown' },
    ...(r.context.user_agent !== undefined ? { http_request: { user_agent: r.context.user_agent } } : {}),
    ...(r.targets.length > 0
      ? { resources: r.targets.map((t) => ({ uid: t.id, type: t.type, ...(t.name !== undefined ? { name: t.name } : {}) })) }
      : {}),
  };
}

/** What of the record OCSF has no place for, besides `tlog`. */
function unmappedOf(r: EventRecord): OcsfUnmapped {
  return {
    ...(r.context.location !== undefined ? { context: { location: r.context.location } } : {}),
    ...(Object.keys(r.metadata).length > 0 ? { metadata: r.metadata } : {}),
  };
}

/**
 * The event as an OCSF 1.3.0 API Activity (class_uid 6003), as a plain object. `unmapped.tlog`
 * holds the event line's fields, the record as it is: that is what a consumer verifies.
 */
export function toOcsf(e: FeedEvent, ctx: FormatContext): OcsfApiActivity {
  return {
    ...head(e, ctx),
    unmapped: { ...unmappedOf(e.record), tlog: { index: e.index, leafHash: e.leafHash, record: e.record, salt: e.salt } },
  };
}

/** {@link toOcsf} as one JSON line (UTF-8, no newline); `unmapped.tlog` is the event line byte for byte. */
export function ocsfLine(e: FeedEvent, ctx: FormatContext): Uint8Array {
  const unmapped = withRawMember(JSON.stringify(unmappedOf(e.record)), 'tlog', eventLine(e));
  return withRawMember(JSON.stringify(head(e, ctx)), 'unmapped', unmapped);
}
