import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { StorageCorruptError } from '../storage/store.js';
import { RandomPool } from './random-pool.js';

/** Bytes of an AES-256-GCM key, nonce and tag. */
const KEY_SIZE = 32;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
/** Bytes of a keyed-hash index term. */
export const TERM_SIZE = 16;

/**
 * The keys events are stored under, all derived from the log's data key: an AES-256-GCM key for
 * records and an HMAC-SHA-256 key for index terms (so an index key reveals neither the value it
 * stands for nor, across fields, whether two values are equal).
 */
export class EventCipher {
  private readonly sealKey: Buffer;
  private readonly termKey: Buffer;
  /** Where nonces come from (each used once). */
  private readonly random = new RandomPool();

  /** @param dataKey the log's 32-byte data key (see {@link openDataKey}) */
  constructor(dataKey: Uint8Array) {
    if (dataKey.length !== KEY_SIZE) throw new RangeError(`a data key is ${KEY_SIZE} bytes, got ${dataKey.length}`);
    this.sealKey = Buffer.from(hkdfSync('sha256', dataKey, new Uint8Array(0), 'tlog events: record encryption v1', KEY_SIZE));
    this.termKey = Buffer.from(hkdfSync('sha256', dataKey, new Uint8Array(0), 'tlog events: index terms v1', KEY_SIZE));
  }

  /** `plaintext` encrypted and authenticated, bound to `aad` (e.g. the record's key): nonce || ciphertext || tag. */
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    return sealWith(this.sealKey, plaintext, aad, this.random.take(NONCE_SIZE));
  }

  /** The plaintext of {@link EventCipher.seal}; StorageCorruptError naming `what` when it does not authenticate. */
  open(sealed: Uint8Array, aad: Uint8Array, what: () => string): Uint8Array {
    const out = openWith(this.sealKey, sealed, aad);
    if (out === undefined) {
      throw new StorageCorruptError(`storage is corrupt at ${what()}: it does not decrypt (altered, or written under another key)`);
    }
    return out;
  }

  /** The index term of `value` in index `field`: HMAC-SHA-256(term key, field || 0x00 || value), first 16 bytes. */
  term(field: string, value: string): Uint8Array {
    const mac = createHmac('sha256', this.termKey).update(field).update(ZERO).update(value).digest();
    return new Uint8Array(mac.buffer, mac.byteOffset, TERM_SIZE);
  }
}

const ZERO = Buffer.of(0);

function sealWith(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_SIZE)): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const body = c.update(plaintext);
  const last = c.final();
  const tag = c.getAuthTag();
  const out = new Uint8Array(NONCE_SIZE + body.length + last.length + TAG_SIZE);
  out.set(nonce, 0);
  out.set(body, NONCE_SIZE);
  out.set(last, NONCE_SIZE + body.length);
  out.set(tag, out.length - TAG_SIZE);
  return out;
}

function openWith(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < NONCE_SIZE + TAG_SIZE) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_SIZE));
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    const body = d.update(sealed.subarray(NONCE_SIZE, sealed.length - TAG_SIZE));
    const last = d.final();
    if (last.length === 0) return body;
    const out = new Uint8Array(body.length + last.length);
    out.set(body);
    out.set(last, body.length);
    return out;
  } catch {
    return undefined;
  }
}

/** What wraps the data key: its format version. */
const WRAP_VERSION = 1;
const WRAP_AAD = new TextEncoder().encode('tlog data key v1');

/** A new random data key. */
export function newDataKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_SIZE));
}

/** The data key encrypted under the master key, as stored: version || nonce || ciphertext || tag. */
export function wrapDataKey(dataKey: Uint8Array, masterKey: Uint8Array): Uint8Array {
  const sealed = sealWith(masterKey, dataKey, WRAP_AAD);
  const out = new Uint8Array(1 + sealed.length);
  out[0] = WRAP_VERSION;
  out.set(sealed, 1);
  return out;
}

/** The data key from its wrapped form, or undefined when `masterKey` does not open it. */
export function unwrapDataKey(wrapped: Uint8Array, masterKey: Uint8Array): Uint8Array | undefined {
  if (wrapped[0] !== WRAP_VERSION) return undefined;
  const key = openWith(masterKey, wrapped.subarray(1), WRAP_AAD);
  return key?.length === KEY_SIZE ? key : undefined;
}
