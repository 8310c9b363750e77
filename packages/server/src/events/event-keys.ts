import { readU64, writeU64 } from '../storage/keys.js';

/**
 * The layout of events inside the store's extension namespace (each key below follows the
 * store's own 'x'). Numbers are u64 big-endian, so keys sort in log and time order; terms are
 * keyed hashes (see EventCipher.term) except for actions and outcomes.
 *
 *   'K'                                  the data key, wrapped by the master key
 *   'E' index                            the event: AES-256-GCM(salt || JCS(record)), bound to this key
 *   'I' term(tenant, id)                 the idempotency key -> index (u64)
 *   'p' 'a' action 0x00 index            posting: events of this action
 *   'p' 'u' term(actor id) index         posting: events of this actor
 *   'p' 't' term(target id) index        posting: events naming this target (one per target)
 *   'p' 'n' term(tenant) index           posting: events of this tenant
 *   'p' 'o' outcome index                posting: events with this outcome (s, f or u)
 *   'r' received_ms index                events by received_at (never decreasing with the index)
 *   'w' occurred_ms index                events by occurred_at
 *   'c' action                           the actions seen (for prefix searches)
 *   'T' index                            the tombstone of an erased event (JSON, see erasure.ts)
 *   'g' 'r'                              governance: the retention rules (JSON)
 *   'g' 'h' hold id                      governance: a legal hold, AES-256-GCM-sealed like a record
 *   'g' 'x'                              governance: the expiry job's cursors (JSON)
 *   'g' 's' sink name                    a sink's delivery cursor (JSON, see feeds/sinks/sink-cursors.ts)
 *
 * Postings and time keys have empty values. Everything of an event is written in the commit
 * that adds its leaf; erasing it deletes its 'E' record, postings and time keys and writes its
 * 'T' tombstone in one write, keeping its 'I' record (a keyed hash, no personal data) so that
 * its id still answers "erased" and is never reused.
 */
export const DATA_KEY = Uint8Array.of(0x4b); // 'K'
const EVENT = 0x45; // 'E'
const ID = 0x49; // 'I'
const POSTING = 0x70; // 'p'
const RECEIVED = 0x72; // 'r'
const OCCURRED = 0x77; // 'w'
const CATALOG = 0x63; // 'c'
const TOMBSTONE = 0x54; // 'T'
const GOVERNANCE = 0x67; // 'g'

/** The posting lists, by the one-letter field that names them in the key. */
export const FIELD = { action: 0x61, actor: 0x75, target: 0x74, tenant: 0x6e, outcome: 0x6f } as const;

/** The outcome's byte in its posting key. */
export const OUTCOME_TERM = { success: 0x73, failure: 0x66, unknown: 0x75 } as const;

const utf8 = new TextEncoder();

function concat(head: readonly number[], ...parts: Uint8Array[]): Uint8Array {
  let n = head.length;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  out.set(head, 0);
  let off = head.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  writeU64(b, 0, n);
  return b;
}

/** Key of the event at `index`. */
export function eventKey(index: number): Uint8Array {
  return concat([EVENT], u64(index));
}

/** The range of all event keys. */
export const EVENT_RANGE = { gte: Uint8Array.of(EVENT), lt: Uint8Array.of(EVENT + 1) } as const;

/** Key of an idempotency record. */
export function idKey(term: Uint8Array): Uint8Array {
  return concat([ID], term);
}

/** The prefix of a posting list: 'p' field term. */
export function postingPrefix(field: number, term: Uint8Array): Uint8Array {
  return concat([POSTING, field], term);
}

/** The term of an action in its posting key: the action and a 0x00 (no action holds one, so prefixes of two actions never collide). */
export function actionTerm(action: string): Uint8Array {
  return concat([], utf8.encode(action), Uint8Array.of(0));
}

/** Key of a posting: the prefix followed by the index. */
export function postingKey(prefix: Uint8Array, index: number): Uint8Array {
  return concat([], prefix, u64(index));
}

/** The index a posting or time key ends with. */
export function indexOfKey(key: Uint8Array): number {
  return readU64(key, key.length - 8);
}

/** Key of an event in the received_at order. */
export function receivedKey(ms: number, index: number): Uint8Array {
  return concat([RECEIVED], u64(ms), u64(index));
}

/** The time in milliseconds a received or occurred key holds. */
export function timeOfKey(key: Uint8Array): number {
  return readU64(key, 1);
}

/** The range of the received_at keys with times in [fromMs, toMs). */
export function receivedRange(fromMs: number, toMs: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: concat([RECEIVED], u64(fromMs)), lt: concat([RECEIVED], u64(toMs)) };
}

/** Key of an event in the occurred_at order. */
export function occurredKey(ms: number, index: number): Uint8Array {
  return concat([OCCURRED], u64(ms), u64(index));
}

/** The range of the occurred_at keys with times in [fromMs, toMs). */
export function occurredRange(fromMs: number, toMs: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: concat([OCCURRED], u64(fromMs)), lt: concat([OCCURRED], u64(toMs)) };
}

/** Key of an action in the catalog of actions. */
export function catalogKey(action: string): Uint8Array {
  return concat([CATALOG], utf8.encode(action));
}

/** The catalog range of the actions starting with `prefix`. */
export function catalogRange(prefix: string): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: catalogKey(prefix), lt: concat([CATALOG], utf8.encode(prefix), Uint8Array.of(0xff)) };
}

/** The action a catalog key names. */
export function actionOfCatalogKey(key: Uint8Array): string {
  return new TextDecoder().decode(key.subarray(1));
}

/** The largest time a u64 key field holds here (2^53 - 1 ms: far beyond year 9999). */
export const MAX_MS = Number.MAX_SAFE_INTEGER;

/** Key of the tombstone of the erased event at `index`. */
export function tombstoneKey(index: number): Uint8Array {
  return concat([TOMBSTONE], u64(index));
}

/** Key of the retention rules. */
export const RETENTION_KEY = Uint8Array.of(GOVERNANCE, 0x72); // 'g' 'r'
/** Key of the expiry job's cursors. */
export const EXPIRY_CURSOR_KEY = Uint8Array.of(GOVERNANCE, 0x78); // 'g' 'x'
const HOLD = [GOVERNANCE, 0x68] as const; // 'g' 'h'

/** Key of the legal hold `id`. */
export function holdKey(id: string): Uint8Array {
  return concat(HOLD, utf8.encode(id));
}

/** The range of all legal holds. */
export const HOLD_RANGE = { gte: Uint8Array.of(...HOLD), lt: Uint8Array.of(GOVERNANCE, 0x69) } as const;

/** The hold id a hold key names. */
export function holdIdOfKey(key: Uint8Array): string {
  return new TextDecoder().decode(key.subarray(HOLD.length));
}

const SINK = [GOVERNANCE, 0x73] as const; // 'g' 's'

/** Key of the delivery cursor of the sink `name` (kept in the access log's store, beside the governance records). */
export function sinkCursorKey(name: string): Uint8Array {
  return concat(SINK, utf8.encode(name));
}
