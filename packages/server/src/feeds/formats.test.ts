import { readFileSync } from 'node:fs';
import { canonicalEvent, type EventInput, type EventRecord, eventCommitment, eventEntry, parseEventInput } from '@tlog/events';
import { defaultHasher, fromBase64, toBase64 } from '@tlog/merkle';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { encodePage } from '../events/event-search.js';
import type { FeedEvent } from './feed-event.js';
import {
  cloudEventSource,
  eventLine,
  FEED_FORMATS,
  formatLine,
  OCSF_ACTIVITY_VERBS,
  ocsfActivityId,
  toCloudEvent,
  toOcsf,
} from './formats.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const UTF8 = new TextEncoder();
const ctx = { origin: 'tlog.localhost/log' };

/** A record as the log stores it: the input validated (defaults filled in), with its id and received_at. */
function recordOf(input: object, id: string, receivedAt: string): EventRecord {
  const parsed: EventInput = parseEventInput(input);
  return { ...parsed, id, received_at: receivedAt };
}

/**
 * The feed event of `record` at `index`, its salt, commitment and leaf hash computed as the log
 * does, and the record as the log reads it back: parsed from its canonical form (so -0 is 0).
 */
function feedEvent(record: EventRecord, index: number): FeedEvent {
  const salt = new Uint8Array(32).fill(index % 251);
  const canonical = canonicalEvent(record);
  const leaf = defaultHasher.hashLeaf(eventEntry(eventCommitment(salt, canonical)));
  const stored = JSON.parse(new TextDecoder().decode(canonical)) as EventRecord;
  return { index, leafHash: toBase64(leaf), record: stored, canonical, salt: toBase64(salt) };
}

/** What a consumer does with an extracted event line: recompute the leaf hash from record + salt. */
function leafHashOf(line: { record: unknown; salt: string }): string {
  const canonical = canonicalEvent(line.record as EventRecord);
  return toBase64(defaultHasher.hashLeaf(eventEntry(eventCommitment(fromBase64(line.salt), canonical))));
}

/** Whether `needle` occurs in `hay` as a contiguous run of bytes. */
function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
}

const full = recordOf(
  {
    action: 'document.delete',
    actor: { type: 'user', id: 'u-1', name: 'Zoë 渡辺 🦊' },
    targets: [
      { type: 'document', id: 'd-42', name: 'Q3 plan — draft' },
      { type: 'folder', id: 'f/7' },
      { type: 'team', id: 't-9', name: 'ops' },
    ],
    outcome: 'success',
    occurred_at: '2026-12-01T18:04:05.123456+05:30',
    tenant: 'acme',
    context: { ip: '2001:db8::1', user_agent: 'Mozilla/5.0 (X11; Linux) 🦊', request_id: 'req-7', location: 'Zürich, CH' },
    metadata: { reason: 'retention \u2028 policy', nested: { n: 1.5, big: 1e21, list: [true, null, 'ü', -0] }, '\u00e9': 'é', a: 1 },
    id: 'ev-full',
  },
  'ev-full',
  '2026-12-01T12:34:06.000Z',
);
const minimal = recordOf(
  { action: 'user.login', actor: { type: 'api_key', id: 'k1' }, occurred_at: '2026-12-01T18:04:05Z' },
  'ev-min',
  '2026-12-01T18:04:06.001Z',
);
const failed = recordOf(
  {
    action: 'role.grant',
    actor: { type: 'admin', id: 'root' },
    outcome: 'failure',
    occurred_at: '2026-12-01T18:04:05.5-08:00',
    targets: [{ type: 'user', id: 'u-2' }],
  },
  '0190a5d0-aaaa-7bbb-8ccc-0123456789ab',
  '2026-12-02T02:04:06.000Z',
);
const unknownOutcome = recordOf(
  {
    action: 'sinks.deliver',
    actor: { type: 'system', id: 'sink:siem' },
    occurred_at: '2026-12-01T18:04:05.000Z',
    context: { ip: '10.0.0.1' },
  },
  'ev-unknown',
  '2026-12-01T18:04:05.000Z',
);

const EVENTS: readonly (readonly [string, FeedEvent])[] = [
  ['every optional field, unicode', feedEvent(full, 0)],
  ['minimal fields', feedEvent(minimal, 1)],
  ['a failure', feedEvent(failed, 2_000_000_000)],
  ['outcome unknown', feedEvent(unknownOutcome, 3)],
];

const parseLine = (b: Uint8Array): Record<string, unknown> => JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b));

describe('formats', () => {
  it('lists every format, and formatLine makes each as one line', () => {
    expect(FEED_FORMATS).toEqual(['ndjson', 'cloudevents', 'ocsf']);
    for (const f of FEED_FORMATS) {
      const line = formatLine(f, EVENTS[0]![1], ctx);
      expect(line.includes(0x0a)).toBe(false);
      // Every format carries the stored canonical bytes of the record.
      expect(containsBytes(line, EVENTS[0]![1].canonical)).toBe(true);
    }
    expect(() => formatLine('xml' as never, EVENTS[0]![1], ctx)).toThrow(/unknown feed format "xml"/);
  });
});

describe('ndjson', () => {
  it.each(EVENTS)('is a search result byte for byte (%s)', (_, e) => {
    const page = encodePage({ checkpoint: 'c', events: [e] });
    const prefix = UTF8.encode('{"checkpoint":"c","events":[');
    expect(Buffer.from(page.subarray(0, prefix.length))).toEqual(Buffer.from(prefix));
    const result = page.subarray(prefix.length, page.length - 2);
    expect(Buffer.from(formatLine('ndjson', e, ctx))).toEqual(Buffer.from(result));
    expect(Buffer.from(eventLine(e))).toEqual(Buffer.from(result));
  });
  it('copies the stored bytes rather than serializing the record again', () => {
    const e = EVENTS[0]![1];
    // Stored bytes that JSON.stringify(record) would not give: the line must hold them as they are.
    const stored = UTF8.encode(` ${new TextDecoder().decode(e.canonical)} `);
    const line = formatLine('ndjson', { ...e, canonical: stored }, ctx);
    expect(containsBytes(line, stored)).toBe(true);
    expect(containsBytes(formatLine('cloudevents', { ...e, canonical: stored }, ctx), stored)).toBe(true);
    expect(containsBytes(formatLine('ocsf', { ...e, canonical: stored }, ctx), stored)).toBe(true);
  });
});

describe('cloudevents', () => {
  // The CloudEvents JSON schema from the spec repository (see testdata/README.md), checked with
  // ajv beside the `cloudevents` package's own validation.
  const schema = JSON.parse(readFileSync(new URL('./testdata/cloudevents.json', import.meta.url), 'utf8')) as object;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validateSchema = ajv.compile(schema);

  it.each(EVENTS)('is a valid CloudEvent carrying the event line (%s)', (_, e) => {
    const line = formatLine('cloudevents', e, ctx);
    const obj = parseLine(line);
    expect(obj).toEqual(toCloudEvent(e, ctx));

    expect(() => new CloudEvent(obj, true)).not.toThrow();
    expect(new CloudEvent(obj, true).validate()).toBe(true);
    expect(validateSchema(obj), JSON.stringify(validateSchema.errors)).toBe(true);
    for (const k of Object.keys(obj)) {
      if (k !== 'data') expect(k).toMatch(/^[a-z0-9]{1,20}$/);
    }

    const r = e.record;
    expect(obj).toMatchObject({
      specversion: '1.0',
      id: r.id,
      source: r.tenant === undefined ? 'tlog://tlog.localhost/log' : `tlog://tlog.localhost/log?tenant=${r.tenant}`,
      type: `dev.tlog.audit.${r.action}`,
      time: r.occurred_at,
      datacontenttype: 'application/json',
      tlogindex: e.index,
      tlogleafhash: e.leafHash,
      tlogsalt: e.salt,
      tlogoutcome: r.outcome,
    });
    // The CloudEvents Integer type is 32-bit.
    expect(Number.isInteger(obj.tlogindex) && (obj.tlogindex as number) <= 2 ** 31 - 1).toBe(true);
    expect(obj.subject).toBe(r.targets[0] === undefined ? undefined : `${r.targets[0].type}/${r.targets[0].id}`);
    expect(obj.tlogtenant).toBe(r.tenant);

    // The consumer's extraction gives back the event line, and it verifies.
    const extracted = { index: obj.tlogindex, leafHash: obj.tlogleafhash, record: obj.data, salt: obj.tlogsalt as string };
    expect(Buffer.from(canonicalEvent(extracted.record as EventRecord))).toEqual(Buffer.from(e.canonical));
    expect(leafHashOf(extracted)).toBe(e.leafHash);
    expect(parseLine(eventLine(e))).toEqual(extracted);
  });

  it('is read by the cloudevents package as a structured-mode HTTP message', () => {
    const e = EVENTS[0]![1];
    const body = new TextDecoder().decode(formatLine('cloudevents', e, ctx));
    const ce = HTTP.toEvent({
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      body,
    }) as CloudEvent<EventRecord>;
    expect(ce.id).toBe(e.record.id);
    expect(ce.type).toBe('dev.tlog.audit.document.delete');
    expect(ce.data).toEqual(e.record);
    expect(ce.tlogindex).toBe(e.index);
    expect(Buffer.from(canonicalEvent(ce.data!))).toEqual(Buffer.from(e.canonical));
  });

  it('both validations refuse what is not a CloudEvent', () => {
    const good = toCloudEvent(EVENTS[0]![1], ctx);
    for (const b of [
      { ...good, source: 'tlog://a b' },
      { ...good, time: '2026-12-01 18:04' },
      { ...good, time: 'yesterday' },
    ]) {
      expect(validateSchema(b)).toBe(false);
      expect(() => new CloudEvent(b, true)).toThrow();
    }
    // The package fills in a missing id (a UUID) and the schema knows no extensions: each catches its own.
    const { type: _, ...noType } = good;
    expect(validateSchema(noType)).toBe(false);
    expect(validateSchema({ ...good, id: '' })).toBe(false);
    expect(() => new CloudEvent({ ...good, tlogIndex: 1 }, true)).toThrow(/extension name/);
    expect(() => new CloudEvent({ ...good, tlogindex: 1.5 }, true)).toThrow(/extension value/);
  });

  it.each([
    ['tlog.localhost/log', 'tlog://tlog.localhost/log'],
    ['localhost:8080', 'tlog://localhost:8080'],
    ['example.com/audit#1?x=%', 'tlog://example.com/audit%231%3Fx=%25'],
    ['beispiel.de/prüfung', 'tlog://beispiel.de/pr%C3%BCfung'],
  ])('takes the source from the origin %s', (origin, source) => {
    expect(cloudEventSource(origin)).toBe(source);
    expect(validateSchema({ ...toCloudEvent(EVENTS[1]![1], { origin }) })).toBe(true);
    expect(toCloudEvent(EVENTS[1]![1], { origin }).source).toBe(source);
    expect(decodeURIComponent(source.slice('tlog://'.length))).toBe(origin);
  });

  it('puts the tenant in the source: ids are unique within a tenant, source + id must be unique', () => {
    const a = feedEvent({ ...minimal, tenant: 'acme' }, 7);
    const b = feedEvent({ ...minimal, tenant: 'a&b=c?#%/é' }, 8);
    const none = feedEvent(minimal, 9);
    const sources = [a, b, none].map((e) => toCloudEvent(e, ctx).source);
    expect(sources).toEqual([
      'tlog://tlog.localhost/log?tenant=acme',
      'tlog://tlog.localhost/log?tenant=a%26b%3Dc%3F%23%25%2F%C3%A9',
      'tlog://tlog.localhost/log',
    ]);
    for (const e of [a, b, none]) expect(validateSchema(toCloudEvent(e, ctx))).toBe(true);
    expect(new URLSearchParams(new URL(sources[1]!).search).get('tenant')).toBe('a&b=c?#%/é');
    expect(cloudEventSource('tlog.localhost/log', 'acme')).toBe(sources[0]);
  });
});

/** The OCSF schema extract (testdata/README.md says how it was made): per class and object, each attribute's requirement, type, enum and sibling. */
interface OcsfAttribute {
  readonly requirement: 'required' | 'recommended' | 'optional';
  readonly type: string;
  readonly is_array?: boolean;
  readonly enum?: Readonly<Record<string, string>>;
  readonly sibling?: string;
}
interface OcsfShape {
  readonly attributes: Readonly<Record<string, OcsfAttribute>>;
  readonly constraints?: { readonly at_least_one?: readonly string[] };
}
interface OcsfExtract {
  readonly version: string;
  readonly class: OcsfShape & {
    readonly class_uid: number;
    readonly category_uid: number;
    readonly caption: string;
    readonly category_caption: string;
  };
  readonly objects: Readonly<Record<string, OcsfShape>>;
}
const OCSF = JSON.parse(readFileSync(new URL('./testdata/ocsf-1.3.0-api-activity.json', import.meta.url), 'utf8')) as OcsfExtract;

/**
 * What OCSF 1.3.0 requires of an API Activity event (github.com/ocsf/ocsf-schema at tag 1.3.0):
 * the class's own required attributes (events/application/api.json: actor, api, src_endpoint),
 * those of its base (events/base_event.json: metadata, severity_id, with includes/classification.json:
 * activity_id, category_uid, class_uid, type_uid, and includes/occurrence.json: time; the cloud
 * profile's `cloud` only applies with that profile, which tlog does not use), and of the objects
 * the mapping fills: objects/metadata.json (product, version), objects/product.json (vendor_name),
 * objects/api.json (operation), objects/request.json (uid).
 */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  api_activity: ['activity_id', 'actor', 'api', 'category_uid', 'class_uid', 'metadata', 'severity_id', 'src_endpoint', 'time', 'type_uid'],
  metadata: ['product', 'version'],
  product: ['vendor_name'],
  api: ['operation'],
  request: ['uid'],
};
/**
 * The "at least one of" constraints of the objects the mapping fills (objects/actor.json,
 * objects/user.json, objects/network_endpoint.json, objects/_entity.json for product and
 * resource_details), also at tag 1.3.0.
 */
const AT_LEAST_ONE: Readonly<Record<string, readonly string[]>> = {
  actor: ['process', 'user', 'invoked_by', 'session', 'app_name', 'app_uid'],
  user: ['account', 'name', 'uid'],
  network_endpoint: ['ip', 'uid', 'name', 'hostname', 'svc_name', 'instance_uid', 'interface_uid', 'interface_name'],
  product: ['name', 'uid'],
  resource_details: ['name', 'uid'],
};

/** Where `value` breaks the OCSF shape: undefined attributes, wrong types, missing required attributes, broken constraints, enum siblings. */
function ocsfProblems(value: Record<string, unknown>, shape: OcsfShape, path: string, top: boolean): string[] {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(shape.attributes)) {
    if (spec.requirement === 'required' && value[name] === undefined) out.push(`${path}${name}: required, absent`);
  }
  const one = shape.constraints?.at_least_one;
  if (one !== undefined && !one.some((n) => value[n] !== undefined)) out.push(`${path.slice(0, -1)}: needs one of ${one.join(', ')}`);
  for (const [name, v] of Object.entries(value)) {
    const spec = shape.attributes[name];
    if (spec === undefined) {
      out.push(`${path}${name}: not an attribute here`);
      continue;
    }
    if (top && name === 'unmapped') continue;
    const items = spec.is_array ? (Array.isArray(v) ? v : [undefined]) : [v];
    if (spec.is_array && !Array.isArray(v)) out.push(`${path}${name}: not an array`);
    items.forEach((item, i) => {
      const at = `${path}${name}${spec.is_array ? `[${i}]` : ''}`;
      const object = OCSF.objects[spec.type];
      if (object !== undefined) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) out.push(`${at}: not an object`);
        else out.push(...ocsfProblems(item as Record<string, unknown>, object, `${at}.`, false));
      } else if (['integer_t', 'long_t', 'timestamp_t'].includes(spec.type)) {
        if (!Number.isSafeInteger(item)) out.push(`${at}: not an integer`);
      } else if (['string_t', 'ip_t'].includes(spec.type)) {
        if (typeof item !== 'string') out.push(`${at}: not a string`);
      } else if (spec.type !== 'object' && spec.type !== 'json_t') {
        out.push(`${at}: type ${spec.type} not checked by this test`);
      }
    });
    if (spec.enum !== undefined && !(String(v) in spec.enum) && name !== 'class_uid' && name !== 'category_uid') {
      out.push(`${path}${name}: ${String(v)} not in its enum`);
    }
    // An enum's sibling holds its caption, or the source's own value for Other (99).
    if (spec.enum !== undefined && spec.sibling !== undefined && v !== 99 && spec.enum[String(v)] !== undefined) {
      if (value[spec.sibling] !== undefined && value[spec.sibling] !== spec.enum[String(v)]) {
        out.push(`${path}${spec.sibling}: ${String(value[spec.sibling])} is not the caption of ${name} ${String(v)}`);
      }
    }
  }
  return out;
}

describe('ocsf', () => {
  it('checks against the schema extract of the OCSF version it names', () => {
    expect(OCSF.version).toBe('1.3.0');
    expect(OCSF.class.class_uid).toBe(6003);
    expect(OCSF.class.category_uid).toBe(6);
    const required = (s: OcsfShape) =>
      Object.entries(s.attributes)
        .filter(([, a]) => a.requirement === 'required')
        .map(([n]) => n)
        .sort();
    expect(required(OCSF.class)).toEqual([...REQUIRED.api_activity!].sort());
    for (const [name, shape] of Object.entries(OCSF.objects)) expect(required(shape), name).toEqual([...(REQUIRED[name] ?? [])].sort());
    for (const [name, shape] of Object.entries(OCSF.objects)) expect(shape.constraints?.at_least_one, name).toEqual(AT_LEAST_ONE[name]);
  });

  it.each(EVENTS)('is an API Activity carrying the event line (%s)', (_, e) => {
    const line = formatLine('ocsf', e, ctx);
    const obj = parseLine(line);
    expect(obj).toEqual(toOcsf(e, ctx));
    expect(ocsfProblems(obj, OCSF.class, '', true)).toEqual([]);
    for (const n of REQUIRED.api_activity!) expect(obj[n], n).toBeDefined();

    const r = e.record;
    const activity = obj.activity_id as number;
    expect(obj.class_uid).toBe(6003);
    expect(obj.category_uid).toBe(6);
    expect(obj.type_uid).toBe(6003 * 100 + activity);
    expect(obj.type_name).toBe(`API Activity: ${obj.activity_name as string}`);
    expect(obj.time).toBe(Date.parse(r.occurred_at));
    expect(obj.metadata).toMatchObject({
      version: '1.3.0',
      product: { name: 'tlog', vendor_name: 'tlog' },
      uid: r.id,
      logged_time: Date.parse(r.received_at),
      original_time: r.occurred_at,
      sequence: e.index,
      log_name: ctx.origin,
    });
    expect((obj.metadata as Record<string, unknown>).tenant_uid).toBe(r.tenant);
    expect(obj.api).toEqual({ operation: r.action, ...(r.context.request_id ? { request: { uid: r.context.request_id } } : {}) });
    expect(obj.src_endpoint).toEqual(r.context.ip !== undefined ? { ip: r.context.ip } : { name: 'unknown' });
    expect(obj.resources).toEqual(r.targets.length === 0 ? undefined : r.targets.map((t) => ({ uid: t.id, type: t.type, name: t.name })));
    expect((obj.actor as { user: object }).user).toMatchObject({
      uid: r.actor.id,
      ...(r.actor.name !== undefined ? { name: r.actor.name } : {}),
    });

    // The consumer's extraction: unmapped.tlog is the event line, byte for byte, and it verifies.
    const unmapped = obj.unmapped as Record<string, unknown>;
    expect(containsBytes(line, UTF8.encode(`"unmapped":`))).toBe(true);
    expect(containsBytes(line, eventLine(e))).toBe(true);
    const tlog = unmapped.tlog as { index: number; leafHash: string; record: unknown; salt: string };
    expect(tlog).toEqual(parseLine(eventLine(e)));
    expect(Buffer.from(canonicalEvent(tlog.record as EventRecord))).toEqual(Buffer.from(e.canonical));
    expect(leafHashOf(tlog)).toBe(e.leafHash);
    expect(unmapped.metadata).toEqual(Object.keys(r.metadata).length > 0 ? r.metadata : undefined);
    expect(unmapped.context).toEqual(r.context.location !== undefined ? { location: r.context.location } : undefined);
  });

  it('maps every field of a full record', () => {
    const o = toOcsf(EVENTS[0]![1], ctx);
    expect(o).toMatchObject({
      activity_id: 4,
      activity_name: 'Delete',
      type_uid: 600304,
      severity_id: 1,
      severity: 'Informational',
      status_id: 1,
      status: 'Success',
      timezone_offset: 330,
      message: 'document.delete by user/u-1 on document/d-42 and 2 more: success',
      actor: { user: { uid: 'u-1', name: 'Zoë 渡辺 🦊', type_id: 1, type: 'User' } },
      http_request: { user_agent: 'Mozilla/5.0 (X11; Linux) 🦊' },
      src_endpoint: { ip: '2001:db8::1' },
      unmapped: { context: { location: 'Zürich, CH' } },
    });
    expect(o.metadata.tenant_uid).toBe('acme');
  });

  it('maps the outcome to status and severity', () => {
    const of = (i: number) => toOcsf(EVENTS[i]![1], ctx);
    expect([of(0).status_id, of(0).status, of(0).severity_id]).toEqual([1, 'Success', 1]);
    expect([of(2).status_id, of(2).status, of(2).severity_id, of(2).severity]).toEqual([2, 'Failure', 2, 'Low']);
    expect([of(3).status_id, of(3).status, of(3).severity_id]).toEqual([0, 'Unknown', 1]);
    expect(of(2).timezone_offset).toBe(-480);
    expect(of(1).timezone_offset).toBe(0);
  });

  it('keeps a minimal record minimal', () => {
    const o = toOcsf(EVENTS[1]![1], ctx);
    expect(o.src_endpoint).toEqual({ name: 'unknown' });
    expect(o.actor.user).toEqual({ uid: 'k1', type_id: 99, type: 'api_key' });
    expect(o.activity_id).toBe(99);
    expect(o.activity_name).toBe('login');
    expect(o.type_uid).toBe(600399);
    expect(Object.keys(o.unmapped)).toEqual(['tlog']);
    for (const k of ['resources', 'http_request'] as const) expect(o[k]).toBeUndefined();
    expect(o.api.request).toBeUndefined();
    expect(o.metadata.tenant_uid).toBeUndefined();
  });

  it.each([
    ['document.create', 1],
    ['user.created', 1],
    ['member.add', 1],
    ['report.view', 2],
    ['events.search', 2],
    ['events.export', 2],
    ['file.download', 2],
    ['settings.update', 3],
    ['role.grant', 3],
    ['role.revoke', 3],
    ['key.rotate', 3],
    ['user.password.reset', 3],
    ['document.delete', 4],
    ['member.removed', 4],
    ['event.erase', 4],
    ['user.login', 99],
    ['sinks.deliver', 99],
    ['delete.confirm', 99],
  ] as const)('maps the action %s to activity %d', (action, id) => {
    expect(ocsfActivityId(action)).toBe(id);
  });

  it('docs/feeds.md lists the verbs of each activity as the code maps them', () => {
    const doc = readFileSync(new URL('../../../../docs/feeds.md', import.meta.url), 'utf8');
    for (const id of [1, 2, 3, 4] as const) {
      const row = new RegExp(`^\\| ${id} \`[A-Za-z]+\`\\s*\\| ([^|]+)\\|$`, 'm').exec(doc);
      expect(row, `the row of activity ${id}`).not.toBeNull();
      const documented = row![1]!.trim().split(', ');
      expect(documented).toEqual(OCSF_ACTIVITY_VERBS[id].split(' '));
      for (const verb of documented) expect(ocsfActivityId(`thing.${verb}`)).toBe(id);
    }
  });

  it('the shape check can fail', () => {
    const o = JSON.parse(JSON.stringify(toOcsf(EVENTS[0]![1], ctx))) as Record<string, unknown>;
    const broken = structuredClone(o) as Record<string, Record<string, unknown>>;
    delete broken.api!.operation;
    broken.actor!.user = { type: 'User' };
    broken.src_endpoint = {};
    (broken as Record<string, unknown>).extra = 1;
    (broken as Record<string, unknown>).status = 'Failure';
    (broken as Record<string, unknown>).time = '2026-12-01';
    expect(ocsfProblems(broken, OCSF.class, '', true).sort()).toEqual(
      [
        'actor.user: needs one of account, name, uid',
        'api.operation: required, absent',
        'extra: not an attribute here',
        'src_endpoint: needs one of ip, uid, name, hostname, svc_name, instance_uid, interface_uid, interface_name',
        'status: Failure is not the caption of status_id 1',
        'time: not an integer',
      ].sort(),
    );
    const { metadata: _, ...noMetadata } = o;
    expect(ocsfProblems(noMetadata, OCSF.class, '', true)).toEqual(['metadata: required, absent']);
  });
});
