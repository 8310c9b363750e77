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
 *
 * Postings and time keys have empty values. Everything of an event is written in the commit
 * that adds its leaf.
 */
export const DATA_KEY = Uint8Array.of(0x4b); // 'K'
const EVENT = 0x45; // 'E'
const ID = 0x49; // 'I'
const POSTING = 0x70; // 'p'
const RECEIVED = 0x72; // 'r'
const OCCURRED = 0x77; // 'w'
const CATALOG = 0x63; // 'c'

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
