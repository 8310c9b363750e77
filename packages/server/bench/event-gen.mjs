// Realistic audit events for the events benchmark (events.bench.ts and its load generator,
// load.mjs), as JSON text of about 400-480 bytes. Plain JavaScript so that load.mjs, run by node
// without a TypeScript loader, imports it too; event-gen.d.mts declares it.
//
// Every event is distinct (a counter runs through its request_id and occurred_at) and the same
// seed gives the same events. The distribution, for a log of `logSize` events:
// - NEEDLE_ACTORS needle actors (`svc-needle-00` ...) each act in exactly NEEDLE_EVENTS events,
//   spread evenly over the log: the selective search.
// - about BROAD_SHARE of the events have the action BROAD_ACTION: the broad search.
// - the rest: 24 other actions and 50,000 user actors at random (about 20 events each at 1M),
//   1 or 2 targets among 200,000 resources, outcomes 92% success, 6% failure, 2% unknown.

/** How many needle actors the log holds. */
export const NEEDLE_ACTORS = 16;
/** How many events each needle actor has. */
export const NEEDLE_EVENTS = 100;
/** The action of the broad search. */
export const BROAD_ACTION = 'document.exported';
/** The share of events with BROAD_ACTION. */
export const BROAD_SHARE = 0.1;

/** The id of needle actor `k`. */
export function needleActor(k) {
  return `svc-needle-${String(k).padStart(2, '0')}`;
}

const ACTIONS = [
  'user.login',
  'user.logout',
  'user.password_changed',
  'user.mfa_enabled',
  'user.invited',
  'role.granted',
  'role.revoked',
  'document.created',
  'document.viewed',
  'document.updated',
  'document.deleted',
  'document.shared',
  'folder.created',
  'folder.moved',
  'project.created',
  'project.archived',
  'api_key.created',
  'api_key.revoked',
  'billing.invoice.paid',
  'billing.plan.changed',
  'webhook.delivered',
  'webhook.failed',
  'settings.updated',
  'export.requested',
];
const TARGET_TYPES = ['document', 'folder', 'project', 'api_key', 'role'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'tlog-sdk/0.1.0 node/20.20.2 (linux; x64)',
];
const SOURCES = ['web', 'api', 'cli', 'sso'];
const PLANS = ['free', 'team', 'business', 'enterprise'];
const START_MS = Date.parse('2026-11-01T00:00:00.000Z');

/** mulberry32: a small, fast, seeded PRNG; floats in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n, w) => String(n).padStart(w, '0');

/**
 * A generator of events: `next()` gives the next event's JSON text. Events are built as text
 * (no JSON.stringify) so that making them costs little beside the server's work.
 *
 * @param {{ seed: number, logSize?: number }} options logSize places the needle actors (default 1,000,000)
 */
export function eventGenerator({ seed, logSize = 1_000_000 }) {
  const rand = prng(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const step = Math.max(NEEDLE_ACTORS, Math.floor(logSize / NEEDLE_EVENTS));
  const tag = (seed >>> 0).toString(36);
  const counts = { events: 0, broad: 0, needle: 0 };
  let i = 0;
  const target = () => {
    const type = pick(TARGET_TYPES);
    return `{"type":"${type}","id":"${type}-${pad(Math.floor(rand() * 200_000), 6)}"}`;
  };
  return {
    counts,
    next() {
      const n = i++;
      const needle = n % step < NEEDLE_ACTORS ? n % step : undefined;
      const broad = rand() < BROAD_SHARE;
      const action = broad ? BROAD_ACTION : pick(ACTIONS);
      const user = Math.floor(rand() * 50_000);
      const actor =
        needle === undefined
          ? `{"type":"user","id":"user-${pad(user, 5)}","name":"User ${user}"}`
          : `{"type":"service","id":"${needleActor(needle)}","name":"Needle service ${needle}"}`;
      const targets = rand() < 0.5 ? `[${target()}]` : `[${target()},${target()}]`;
      const r = rand();
      const outcome = r < 0.92 ? 'success' : r < 0.98 ? 'failure' : 'unknown';
      const occurredAt = new Date(START_MS + n * 50 + Math.floor(rand() * 50)).toISOString();
      const ip = `10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`;
      counts.events++;
      if (broad) counts.broad++;
      if (needle !== undefined) counts.needle++;
      return (
        `{"action":"${action}","actor":${actor},"targets":${targets},"outcome":"${outcome}","occurred_at":"${occurredAt}",` +
        `"context":{"ip":"${ip}","user_agent":"${pick(AGENTS)}","request_id":"req-${tag}-${n.toString(36)}"},` +
        `"metadata":{"source":"${pick(SOURCES)}","plan":"${pick(PLANS)}","attempt":${1 + Math.floor(rand() * 3)}}}`
      );
    },
  };
}
