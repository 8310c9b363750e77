import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, toBase64 } from '@tlog/merkle';
import canonicalize from 'canonicalize';
import { EventFormatError, EventTooLargeError } from './errors.js';
import type { EventRecord } from './schema.js';

/** Most bytes of an event's canonical form. */
export const MAX_EVENT_BYTES = 64 * 1024;
/** Bytes of an event's salt. */
export const SALT_SIZE = 32;
/** The domain separator of event commitments, and the first word of an event's entry. */
export const EVENT_DOMAIN = 'tlog-event-v1';

const utf8 = new TextEncoder();
const DOMAIN_BYTES = utf8.encode(EVENT_DOMAIN);
/** `tlog-event-v1 ` + 44 base64 characters + `\n`. */
const ENTRY_SIZE = DOMAIN_BYTES.length + 1 + 44 + 1;

/**
 * The canonical form of an event record: RFC 8785 (JCS) as UTF-8. Throws EventTooLargeError
 * beyond {@link MAX_EVENT_BYTES}, and EventFormatError for what JCS cannot encode (a string with
 * a lone surrogate).
 */
export function canonicalEvent(record: EventRecord): Uint8Array {
  let json: string | undefined;
  try {
    json = canonicalize(record);
  } catch (err) {
    throw new EventFormatError('', `the event cannot be put in canonical form (RFC 8785): ${(err as Error).message}`, { cause: err });
  }
  if (json === undefined) throw new EventFormatError('', 'the event is not a JSON object');
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a short string cannot be too large.
  if (json.length * 3 > MAX_EVENT_BYTES) {
    const n = utf8.encode(json).length;
    if (n > MAX_EVENT_BYTES) throw new EventTooLargeError(n, MAX_EVENT_BYTES);
  }
  return utf8.encode(json);
}

/** SHA-256 of the concatenation of `chunks` (a faster implementation than the default may be given, e.g. node:crypto's). */
export type Sha256Chunks = (chunks: readonly Uint8Array[]) => Uint8Array;

/** SHA-256 with @noble/hashes (runs everywhere). */
const nobleSha256: Sha256Chunks = (chunks) => {
  const h = sha256.create();
  for (const c of chunks) h.update(c);
  return h.digest();
};

const ZERO = Uint8Array.of(0);

/**
 * The commitment to an event: SHA-256("tlog-event-v1" || 0x00 || salt || canonical), where
 * `salt` is 32 random bytes kept beside the record and `canonical` is {@link canonicalEvent}.
 */
export function eventCommitment(salt: Uint8Array, canonical: Uint8Array, hash: Sha256Chunks = nobleSha256): Uint8Array {
  if (salt.length !== SALT_SIZE) throw new RangeError(`an event salt is ${SALT_SIZE} bytes, got ${salt.length}`);
  return hash([DOMAIN_BYTES, ZERO, salt, canonical]);
}

/** The log entry of an event: the text `tlog-event-v1 <base64 commitment>\n` as bytes. */
export function eventEntry(commitment: Uint8Array): Uint8Array {
  if (commitment.length !== 32) throw new RangeError(`an event commitment is 32 bytes, got ${commitment.length}`);
  return utf8.encode(`${EVENT_DOMAIN} ${toBase64(commitment)}\n`);
}

/** The commitment an entry carries when it has the shape of an event entry, else undefined. */
export function parseEventEntry(entry: Uint8Array): Uint8Array | undefined {
  if (entry.length !== ENTRY_SIZE || entry[ENTRY_SIZE - 1] !== 0x0a || entry[DOMAIN_BYTES.length] !== 0x20) return undefined;
  for (let i = 0; i < DOMAIN_BYTES.length; i++) if (entry[i] !== DOMAIN_BYTES[i]) return undefined;
  try {
    const c = fromBase64(new TextDecoder().decode(entry.subarray(DOMAIN_BYTES.length + 1, ENTRY_SIZE - 1)));
    return c.length === 32 ? c : undefined;
  } catch {
    return undefined;
  }
}

/** An event's canonical form, commitment and log entry. */
export interface EventLeaf {
  readonly canonical: Uint8Array;
  readonly commitment: Uint8Array;
  readonly entry: Uint8Array;
}

/** {@link canonicalEvent}, {@link eventCommitment} and {@link eventEntry} of one record. */
export function eventLeaf(record: EventRecord, salt: Uint8Array, hash: Sha256Chunks = nobleSha256): EventLeaf {
  const canonical = canonicalEvent(record);
  const commitment = eventCommitment(salt, canonical, hash);
  return { canonical, commitment, entry: eventEntry(commitment) };
}
