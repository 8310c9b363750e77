import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Mutex } from 'async-mutex';
import { z } from 'zod';
import type { LogStore } from '../storage/store.js';
import { StorageCorruptError } from '../storage/store.js';
import { type Principal, SCOPES, type Scope } from './principal.js';

/**
 * API keys: `tlog_<id>_<secret>`, with a 16-hex-digit id and a 32-byte random secret in base64url.
 * The store keeps SHA-256(secret), never the secret: the secret has 256 bits of entropy, so a
 * fast hash is as strong as a slow one here, and checking a key costs one hash, not a KDF.
 *
 * Records live in the access log's store, extension key 'g' 'k' id, as JSON. All of them are kept in
 * memory (an operator has tens of keys, not millions), so checking a key reads no storage.
 * `last_used_at` is kept in memory and written at most once a minute per key (and at close):
 * a crash loses at most that minute of it, never a key or a revocation.
 */
const KEY_PREFIX = Uint8Array.of(0x67, 0x6b); // 'g' 'k'
const KEY_RANGE = { gte: KEY_PREFIX, lt: Uint8Array.of(0x67, 0x6c) } as const;
const KEY_TEXT = /^tlog_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const LAST_USED_EVERY_MS = 60_000;

const utf8 = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A stored key, as the admin API shows it (without the hash). */
export interface ApiKeyInfo {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly tenant?: string;
  readonly expires_at?: string;
  readonly created_at: string;
  readonly last_used_at?: string;
  readonly revoked_at?: string;
}

const storedSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  tenant: z.string().optional(),
  expires_at: z.string().optional(),
  created_at: z.string(),
  last_used_at: z.string().optional(),
  revoked_at: z.string().optional(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
type StoredKey = z.infer<typeof storedSchema>;

/** What a new key is given. */
export interface NewApiKey {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly tenant?: string | undefined;
  /** When it stops working (ms since the epoch). */
  readonly expiresAt?: number | undefined;
}

/** Why a presented key does not authenticate; never shown to the client (they all answer 401 alike). */
export type KeyRefusal = 'missing' | 'malformed' | 'unknown' | 'invalid' | 'expired' | 'revoked';

/** The outcome of checking a presented key. */
export type KeyCheck =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: KeyRefusal; readonly keyId?: string };

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function keyOf(id: string): Uint8Array {
  const out = new Uint8Array(KEY_PREFIX.length + id.length);
  out.set(KEY_PREFIX);
  out.set(utf8.encode(id), KEY_PREFIX.length);
  return out;
}

function infoOf(k: StoredKey): ApiKeyInfo {
  const { hash: _hash, ...info } = k;
  return info;
}

/** The API keys of a server, in its main log's store. */
export class ApiKeyStore {
  private readonly keys = new Map<string, StoredKey>();
  /** Keys used since their last_used_at was last written. */
  private readonly used = new Set<string>();
  private readonly lastWritten = new Map<string, number>();
  /** When each key was last used (ms), as a number: a check allocates nothing. */
  private readonly lastUsed = new Map<string, number>();
  private readonly writes = new Mutex();

  private constructor(
    private readonly store: () => LogStore,
    private readonly now: () => number,
  ) {}

  /** Loads every key of the store. StorageCorruptError for a record that is not a key. */
  static async open(store: () => LogStore, now: () => number = Date.now): Promise<ApiKeyStore> {
    const s = new ApiKeyStore(store, now);
    const cursor = store().extensionCursor(KEY_RANGE);
    try {
      for (let r = await cursor.next(); r !== undefined; r = await cursor.next()) {
        let parsed: StoredKey;
        try {
          parsed = storedSchema.parse(JSON.parse(UTF8.decode(r.value)));
        } catch (err) {
          throw new StorageCorruptError(`storage is corrupt at an API key record: ${(err as Error).message}`);
        }
        s.keys.set(parsed.id, parsed);
      }
    } finally {
      await cursor.close();
    }
    return s;
  }

  /** A new random key's text, `tlog_<id>_<secret>` (not stored). */
  static newKeyText(): string {
    return `tlog_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  }

  /** How many keys exist (revoked ones included). */
  get size(): number {
    return this.keys.size;
  }

  /**
   * Creates a key and stores its hash durably; the returned `key` text is the only copy of its
   * secret. `before` runs with the new id before anything is stored (to record the creation
   * first); when it throws, no key is made.
   */
  async create(spec: NewApiKey, before?: (id: string) => Promise<void>): Promise<{ readonly key: string; readonly info: ApiKeyInfo }> {
    const key = ApiKeyStore.newKeyText();
    const [, id, secret] = KEY_TEXT.exec(key)!;
    await before?.(id!);
    const info = await this.add(id!, secret!, spec);
    return { key, info };
  }

  /**
   * Stores a key given as text (the bootstrap key read back from admin.key). Throws RangeError
   * when `key` is not a key's text.
   */
  async import(key: string, spec: NewApiKey): Promise<ApiKeyInfo> {
    const m = KEY_TEXT.exec(key);
    if (m === null) throw new RangeError('not an API key (tlog_<16 hex digits>_<43 base64url characters>)');
    return this.add(m[1]!, m[2]!, spec);
  }

  private async add(id: string, secret: string, spec: NewApiKey): Promise<ApiKeyInfo> {
    const record: StoredKey = {
      id,
      name: spec.name,
      scopes: [...spec.scopes],
      ...(spec.tenant !== undefined ? { tenant: spec.tenant } : {}),
      ...(spec.expiresAt !== undefined ? { expires_at: new Date(spec.expiresAt).toISOString() } : {}),
      created_at: new Date(this.now()).toISOString(),
      hash: hashSecret(secret).toString('hex'),
    };
    await this.writes.runExclusive(async () => {
      await this.store().updateExtensions([{ key: keyOf(id), value: utf8.encode(JSON.stringify(record)) }], []);
      this.keys.set(id, record);
    });
    return infoOf(record);
  }

  /** The record of `k` with its last use in memory. */
  private current(k: StoredKey): StoredKey {
    const used = this.lastUsed.get(k.id);
    return used === undefined ? k : { ...k, last_used_at: new Date(used).toISOString() };
  }

  /** Every key, newest first. */
  list(): ApiKeyInfo[] {
    return [...this.keys.values()]
      .map((k) => infoOf(this.current(k)))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  }

  /** One key, or undefined. */
  get(id: string): ApiKeyInfo | undefined {
    const k = this.keys.get(id);
    return k === undefined ? undefined : infoOf(this.current(k));
  }

  /** Revokes a key at once (durably); undefined for an unknown id. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiKeyInfo | undefined> {
    return this.writes.runExclusive(async () => {
      const k = this.keys.get(id);
      if (k === undefined) return undefined;
      if (k.revoked_at !== undefined) return infoOf(k);
      const next: StoredKey = { ...this.current(k), revoked_at: new Date(this.now()).toISOString() };
      await this.store().updateExtensions([{ key: keyOf(id), value: utf8.encode(JSON.stringify(next)) }], []);
      this.keys.set(id, next);
      return infoOf(next);
    });
  }

  /**
   * Checks a presented key text: the same work whether or not the id exists (the hash is
   * always computed and compared in constant time), so timing does not tell which ids exist.
   */
  check(text: string | undefined): KeyCheck {
    if (text === undefined) return { ok: false, reason: 'missing' };
    const m = KEY_TEXT.exec(text);
    if (m === null) return { ok: false, reason: 'malformed' };
    const id = m[1]!;
    const k = this.keys.get(id);
    const presented = hashSecret(m[2]!);
    const stored = k === undefined ? Buffer.alloc(32) : Buffer.from(k.hash, 'hex');
    const same = timingSafeEqual(presented, stored);
    if (k === undefined) return { ok: false, reason: 'unknown', keyId: id };
    if (!same) return { ok: false, reason: 'invalid', keyId: id };
    if (k.revoked_at !== undefined) return { ok: false, reason: 'revoked', keyId: id };
    const now = this.now();
    if (k.expires_at !== undefined && Date.parse(k.expires_at) <= now) return { ok: false, reason: 'expired', keyId: id };
    this.lastUsed.set(id, now);
    this.used.add(id);
    return {
      ok: true,
      principal: { keyId: id, name: k.name, scopes: k.scopes, ...(k.tenant !== undefined ? { tenant: k.tenant } : {}) },
    };
  }

  /** Writes the last_used_at of keys used since it was last written (all of them with `all`, else those older than a minute). */
  async flushLastUsed(all = false): Promise<void> {
    if (this.used.size === 0) return;
    const now = this.now();
    await this.writes.runExclusive(async () => {
      const puts = [];
      for (const id of this.used) {
        if (!all && now - (this.lastWritten.get(id) ?? 0) < LAST_USED_EVERY_MS) continue;
        const k = this.keys.get(id);
        if (k !== undefined) puts.push({ key: keyOf(id), value: utf8.encode(JSON.stringify(this.current(k))) });
        this.used.delete(id);
        this.lastWritten.set(id, now);
      }
      await this.store().updateExtensions(puts, []);
    });
  }
}
