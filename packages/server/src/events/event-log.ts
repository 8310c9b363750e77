import { createHash } from 'node:crypto';
import {
  type EventInput,
  type EventReceipt,
  type EventRecord,
  eventLeaf,
  SALT_SIZE,
  type Sha256Chunks,
  saltText,
  timestampMs,
} from '@tlog/events';
import { toBase64 } from '@tlog/merkle';
import { Mutex } from 'async-mutex';
import canonicalize from 'canonicalize';
import { v7 as uuidv7 } from 'uuid';
import type { Log } from '../log.js';
import { NotFoundError } from '../log.js';
import type { Published } from '../publisher.js';
import type { BatchExtension } from '../sequencer.js';
import { encodeIndex } from '../storage/keys.js';
import { type LogStore, StorageCorruptError } from '../storage/store.js';
import { decodeTombstone, ErasedRanges, EventErasedError, encodeTombstone, type Tombstone } from './erasure.js';
import type { EventCipher } from './event-cipher.js';
import {
  actionTerm,
  catalogKey,
  eventKey,
  FIELD,
  idKey,
  indexOfKey,
  MAX_MS,
  OUTCOME_TERM,
  occurredKey,
  postingKey,
  postingPrefix,
  receivedKey,
  receivedRange,
  timeOfKey,
  tombstoneKey,
} from './event-keys.js';
import {
  type EventPage,
  firstKey,
  type ScanRequest,
  type ScanResult,
  type SearchContext,
  type SearchRequest,
  scanEvents,
  searchEvents,
} from './event-search.js';
import { RandomPool } from './random-pool.js';

/**
 * What a read of `index` answers when the entry there is no event. Also what a key bound to a
 * tenant is answered for another tenant's event, so that the two cannot be told apart: one message.
 */
export function noEventAt(index: number): NotFoundError {
  return new NotFoundError(`there is no event at index ${index}: the entry there is not an event`);
}

/**
 * A stored event as decrypted: its record is parsed from the canonical bytes when first read (an
 * export of every event copies the bytes and never needs it). A record that is not JSON throws
 * StorageCorruptError then.
 */
class OpenedEvent implements StoredEvent {
  #record: EventRecord | undefined;

  constructor(
    readonly index: number,
    readonly salt: Uint8Array,
    readonly canonical: Uint8Array,
  ) {}

  get record(): EventRecord {
    if (this.#record === undefined) {
      try {
        this.#record = JSON.parse(UTF8.decode(this.canonical)) as EventRecord;
      } catch (err) {
        throw new StorageCorruptError(`storage is corrupt at event ${this.index}: its record is not JSON (${(err as Error).message})`);
      }
    }
    return this.#record;
  }
}

/** An event with the same id (in the same tenant) was logged with other content; nothing was written. Maps to 409. */
export class EventConflictError extends Error {
  override readonly name: string = 'EventConflictError';
}

/** An event as stored: its record and salt, at its index. */
export interface StoredEvent {
  readonly index: number;
  readonly record: EventRecord;
  readonly salt: Uint8Array;
  /** The record's canonical form as stored (UTF-8 JSON). */
  readonly canonical: Uint8Array;
}

/** What appending events gives: per event (in input order) its index, id and leaf hash, and the checkpoint holding them all. */
export interface AppendedEvents {
  readonly results: readonly { readonly index: number; readonly id: string; readonly leafHash: string }[];
  readonly published: Published;
  /** With receipts asked for: one per event, in input order. */
  readonly receipts?: readonly EventReceipt[];
}

/** An event the sequencer has yet to commit: everything its records need but its index. */
interface PendingEvent {
  /** salt || JCS(record), the plaintext of its event record. */
  readonly plaintext: Uint8Array;
  readonly idTerm: Uint8Array;
  readonly prefixes: readonly Uint8Array[];
  readonly receivedMs: number;
  readonly occurredMs: number;
  readonly action: string;
}

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Random bytes an event takes: its salt, and the random part of a UUIDv7 id. */
const RANDOM_PER_EVENT = SALT_SIZE + 16;

/** SHA-256 through node:crypto: about three times @noble's on a record. */
const nodeSha256: Sha256Chunks = (chunks) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return new Uint8Array(h.digest());
};
const EMPTY = new Uint8Array(0);

/**
 * The events waiting for their commit, and the commit hook that stores them: every commit that
 * adds an event's entry also writes, in the same atomic batch, its encrypted record, its postings,
 * its time keys and its idempotency record. Made before the Log (whose sequencers call the hook).
 */
export class PendingEvents {
  private readonly waiting = new Map<string, PendingEvent>();

  /** @param cipher encrypts records (bound to their key) */
  constructor(private readonly cipher: EventCipher) {}

  /** The commit hook; give it to the Log as an extension. */
  readonly extension: BatchExtension = (batch, added) => {
    if (this.waiting.size === 0) return;
    let actions: Set<string> | undefined;
    for (const a of added) {
      const p = this.waiting.get(LATIN1.decode(a.entry));
      if (p === undefined) continue;
      const key = eventKey(a.index);
      batch.putExtension(key, this.cipher.seal(p.plaintext, key));
      batch.putExtension(idKey(p.idTerm), encodeIndex(a.index));
      for (const prefix of p.prefixes) batch.putExtension(postingKey(prefix, a.index), EMPTY);
      batch.putExtension(receivedKey(p.receivedMs, a.index), EMPTY);
      batch.putExtension(occurredKey(p.occurredMs, a.index), EMPTY);
      (actions ??= new Set()).add(p.action);
    }
    for (const action of actions ?? []) batch.putExtension(catalogKey(action), EMPTY);
  };

  /**
   * Registers events under their entries (as latin1 strings), so the commit that adds those
   * entries stores them; call it before the entries are submitted. Returns what removes them again.
   */
  hold(entries: readonly Uint8Array[], events: readonly PendingEvent[]): () => void {
    const keys = entries.map((e) => LATIN1.decode(e));
    for (let i = 0; i < keys.length; i++) this.waiting.set(keys[i]!, events[i]!);
    return () => {
      for (const k of keys) this.waiting.delete(k);
    };
  }
}

/** The record without `received_at`, canonical: what "the same content" compares. */
function contentOf(record: EventInput): string {
  const { received_at: _received, ...rest } = record as EventRecord;
  return canonicalize(rest) ?? '';
}

/** What an {@link EventLog} tells its owner (for metrics). */
export interface EventLogHooks {
  /** Told how many new events (idempotent repeats not counted) an append made durable. Must not throw. */
  readonly onAppended?: (events: number) => void;
}

/**
 * Audit events on a log: appends them as salted commitments with their encrypted records and
 * indexes (see event-keys.ts), reads them back with receipts, and searches them.
 */
export class EventLog {
  /** Idempotency terms (hex) of events being appended now, and when their append settles. */
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Where salts and the random bits of ids come from. */
  private readonly random = new RandomPool();
  /** The last received_at given out, in ms (undefined until read from the store): received_at never decreases along the log. */
  private lastReceivedMs: number | undefined;
  /** Erasures run one at a time: each reads the event, then deletes what it read. */
  private readonly eraseLock = new Mutex();
  /** What erasures deleted and no compaction has yet removed from the files. */
  private readonly erased = new ErasedRanges();
  /** Told of each erasure once it is durable (caches of records drop the event). */
  private readonly erasedListeners: ((index: number) => void)[] = [];

  private constructor(
    private readonly log: Log,
    private readonly cipher: EventCipher,
    private readonly pending: PendingEvents,
    private readonly hooks: EventLogHooks,
  ) {}

  /** The events of `log`, whose sequencers run `pending.extension`. */
  static open(log: Log, cipher: EventCipher, pending: PendingEvents, hooks: EventLogHooks = {}): EventLog {
    return new EventLog(log, cipher, pending, hooks);
  }

  /**
   * The received_at of the last event logged, in ms (0 for none), read once, on the first
   * append: reading it at startup would make a damaged table anywhere in the store stop the
   * server from starting, where every other read of damage answers 503.
   */
  private async lastReceived(): Promise<number> {
    if (this.lastReceivedMs !== undefined) return this.lastReceivedMs;
    const key = await firstKey(this.store, receivedRange(0, MAX_MS), true);
    this.lastReceivedMs = Math.max(this.lastReceivedMs ?? 0, key === undefined ? 0 : timeOfKey(key));
    return this.lastReceivedMs;
  }

  private get store(): LogStore {
    return this.log.currentStore;
  }

  /**
   * Appends validated events (all or nothing) and resolves once they are durably committed and
   * published. An event whose `id` is already logged in its tenant with the same content keeps
   * its original index; with other content the whole call fails with EventConflictError. Throws
   * EventFormatError / EventTooLargeError for a record that has no canonical form or is too large,
   * and what Log.append throws.
   */
  async append(inputs: readonly EventInput[], withReceipts: boolean): Promise<AppendedEvents> {
    const n = inputs.length;
    const idTerms = inputs.map((e) => (e.id === undefined ? undefined : this.idTerm(e.id, e.tenant)));
    const idHex = idTerms.map((t) => (t === undefined ? undefined : Buffer.from(t).toString('hex')));
    // Within the batch: a repeated id must repeat the event, and then is that event.
    const firstOf = new Map<string, number>();
    const sameAs = new Array<number | undefined>(n);
    for (let i = 0; i < n; i++) {
      const h = idHex[i];
      if (h === undefined) continue;
      const j = firstOf.get(h);
      if (j === undefined) firstOf.set(h, i);
      else if (contentOf(inputs[j]!) !== contentOf(inputs[i]!)) {
        throw new EventConflictError(`[${i}].id: the batch holds the id ${JSON.stringify(inputs[i]!.id)} twice with different content`);
      } else sameAs[i] = j;
    }
    const last = await this.lastReceived();
    // Ids already logged, after any append of the same ids in flight has settled. Looked up again
    // whenever an append of one of them started meanwhile: the check just before the entries are
    // submitted (with no await between) is what makes one id one event.
    const own = [...firstOf.entries()];
    let existing: Map<number, StoredEvent>; // input position -> the logged event
    for (;;) {
      const busy = own.map(([h]) => this.inflight.get(h)).filter((p) => p !== undefined);
      if (busy.length > 0) await Promise.allSettled(busy);
      const stored = await this.store.readExtensions(own.map(([, i]) => idKey(idTerms[i]!)));
      const at: { i: number; index: number }[] = [];
      stored.forEach((v, k) => {
        if (v !== undefined) at.push({ i: own[k]![1], index: indexOfKey(v) });
      });
      const events = at.length === 0 ? [] : await this.readEvents(at.map((x) => x.index));
      existing = new Map();
      for (let k = 0; k < at.length; k++) {
        const { i, index } = at[k]!;
        const ev = events[k];
        if (ev === undefined) {
          const [tomb] = await this.store.readExtensions([tombstoneKey(index)]);
          if (tomb !== undefined) {
            throw new EventConflictError(
              `${n > 1 ? `[${i}].` : ''}id: an event with the id ${JSON.stringify(inputs[i]!.id)} was logged (index ${index}) and has since been erased; an id is never reused: send the event with a new id`,
            );
          }
          throw new StorageCorruptError(`storage is corrupt at event ${index}: its id is indexed but it is missing`);
        }
        if (contentOf(ev.record) !== contentOf(inputs[i]!)) {
          throw new EventConflictError(
            `${n > 1 ? `[${i}].` : ''}id: an event with the id ${JSON.stringify(inputs[i]!.id)} was already logged (index ${ev.index}) with other content`,
          );
        }
        existing.set(i, ev);
      }
      if (!own.some(([h]) => this.inflight.has(h))) break;
    }

    // The new events. From here to log.append nothing awaits: received_at is taken and the entries
    // are submitted in one step, so along the log received_at never decreases.
    const now = Math.max(Date.now(), last, this.lastReceivedMs ?? 0);
    const receivedAt = new Date(now).toISOString();
    const fresh: number[] = [];
    const records = new Array<EventRecord | undefined>(n);
    const salts = new Array<Uint8Array | undefined>(n);
    const entries: Uint8Array[] = [];
    const pend: PendingEvent[] = [];
    let newCount = 0;
    for (let i = 0; i < n; i++) if (!existing.has(i) && sameAs[i] === undefined) newCount++;
    const random = newCount === 0 ? undefined : this.random.take(newCount * RANDOM_PER_EVENT);
    for (let i = 0; i < n; i++) {
      if (existing.has(i) || sameAs[i] !== undefined) continue;
      const input = inputs[i]!;
      const at = fresh.length * RANDOM_PER_EVENT;
      const salt = random!.subarray(at, at + SALT_SIZE);
      const id = input.id ?? uuidv7({ msecs: now, random: random!.subarray(at + SALT_SIZE, at + RANDOM_PER_EVENT) });
      const record: EventRecord = { ...input, id, received_at: receivedAt };
      const leaf = eventLeaf(record, salt, nodeSha256);
      const plaintext = new Uint8Array(SALT_SIZE + leaf.canonical.length);
      plaintext.set(salt);
      plaintext.set(leaf.canonical, SALT_SIZE);
      records[i] = record;
      salts[i] = salt;
      fresh.push(i);
      entries.push(leaf.entry);
      pend.push({
        plaintext,
        idTerm: idTerms[i] ?? this.idTerm(record.id, record.tenant),
        prefixes: this.prefixesOf(record),
        receivedMs: now,
        occurredMs: timestampMs(record.occurred_at),
        action: record.action,
      });
    }
    let published: Published;
    let freshReceipts: readonly string[] | undefined;
    const indexes = new Array<number>(n);
    const leafHashes = new Array<string>(n);
    if (entries.length > 0) {
      this.lastReceivedMs = now;
      // Held before they are submitted: the commit that adds them must find them, however soon it runs.
      const release = this.pending.hold(entries, pend);
      const appended = this.log.append(entries, withReceipts);
      appended.then(release, release);
      for (const i of fresh) {
        const h = idHex[i];
        if (h !== undefined) this.inflight.set(h, appended);
      }
      try {
        const r = await appended;
        this.hooks.onAppended?.(fresh.length);
        published = r.published;
        freshReceipts = r.receipts;
        fresh.forEach((i, k) => {
          indexes[i] = r.indexes[k]!;
          leafHashes[i] = toBase64(r.leafHashes[k]!);
        });
      } finally {
        for (const i of fresh) {
          const h = idHex[i];
          if (h !== undefined && this.inflight.get(h) === appended) this.inflight.delete(h);
        }
      }
    } else {
      let need = 0;
      for (const ev of existing.values()) need = Math.max(need, ev.index + 1);
      published = await this.log.waitPublished(need);
    }
    const old = [...existing.keys()];
    if (old.length > 0) {
      const hashes = await this.log.leafHashes(old.map((i) => existing.get(i)!.index));
      old.forEach((i, k) => {
        const ev = existing.get(i)!;
        indexes[i] = ev.index;
        leafHashes[i] = toBase64(hashes[k]!);
        records[i] = ev.record;
        salts[i] = ev.salt;
      });
    }
    for (let i = 0; i < n; i++) {
      const j = sameAs[i];
      if (j === undefined) continue;
      indexes[i] = indexes[j]!;
      leafHashes[i] = leafHashes[j]!;
      records[i] = records[j];
      salts[i] = salts[j];
    }
    const results = indexes.map((index, i) => ({ index, id: records[i]!.id, leafHash: leafHashes[i]! }));
    if (!withReceipts) return { results, published };
    const receiptOf = new Map<number, string>();
    fresh.forEach((i, k) => {
      receiptOf.set(indexes[i]!, freshReceipts![k]!);
    });
    const receipts: EventReceipt[] = [];
    for (let i = 0; i < n; i++) {
      const index = indexes[i]!;
      let proof = receiptOf.get(index);
      if (proof === undefined) {
        proof = await this.log.receipt(index, published);
        receiptOf.set(index, proof);
      }
      receipts.push({ record: records[i]!, salt: saltText(salts[i]!), index, leafHash: leafHashes[i]!, proof });
    }
    return { results, published, receipts };
  }

  /** The term of an idempotency key: ids are unique within a tenant (none: ''). */
  private idTerm(id: string, tenant: string | undefined): Uint8Array {
    return this.cipher.term('id', `${tenant ?? ''}\u0000${id}`);
  }

  /** The posting prefixes of a record: its action, actor, each distinct target, tenant and outcome. */
  private prefixesOf(record: EventRecord): Uint8Array[] {
    const out = [
      postingPrefix(FIELD.action, actionTerm(record.action)),
      postingPrefix(FIELD.actor, this.cipher.term('actor', record.actor.id)),
      postingPrefix(FIELD.outcome, Uint8Array.of(OUTCOME_TERM[record.outcome])),
    ];
    for (const id of new Set(record.targets.map((t) => t.id))) out.push(postingPrefix(FIELD.target, this.cipher.term('target', id)));
    if (record.tenant !== undefined) out.push(postingPrefix(FIELD.tenant, this.cipher.term('tenant', record.tenant)));
    return out;
  }

  /** The stored events at these indexes (undefined where none), decrypted, in the order asked. */
  async readEvents(indexes: readonly number[]): Promise<(StoredEvent | undefined)[]> {
    const keys = indexes.map(eventKey);
    const values = await this.store.readExtensions(keys);
    return values.map((v, k) => (v === undefined ? undefined : this.openEvent(indexes[k]!, keys[k]!, v)));
  }

  /** Decrypts the stored event record `value` under `key` (the event at `index`); its record is parsed when first read. */
  private openEvent(index: number, key: Uint8Array, value: Uint8Array): StoredEvent {
    const plain = this.cipher.open(value, key, () => `event ${index}`);
    if (plain.length <= SALT_SIZE) throw new StorageCorruptError(`storage is corrupt at event ${index}: its record is empty`);
    return new OpenedEvent(index, plain.subarray(0, SALT_SIZE), plain.subarray(SALT_SIZE));
  }

  /** The index of the event with this id in `tenant` (none: undefined), or undefined. */
  async findId(id: string, tenant: string | undefined): Promise<number | undefined> {
    const [v] = await this.store.readExtensions([idKey(this.idTerm(id, tenant))]);
    return v === undefined ? undefined : indexOfKey(v);
  }

  /**
   * The event at `index`, or with `id` in `tenant`, in the published tree, with a receipt
   * against the published checkpoint. NotFoundError when there is none.
   */
  async get(
    ref: { readonly index: number } | { readonly id: string; readonly tenant?: string },
  ): Promise<EventReceipt & { checkpoint: string }> {
    const published = this.log.published;
    const index = 'index' in ref ? ref.index : await this.findId(ref.id, ref.tenant);
    const what =
      'index' in ref
        ? `at index ${ref.index}`
        : `with id ${JSON.stringify(ref.id)}${ref.tenant === undefined ? '' : ` in tenant ${JSON.stringify(ref.tenant)}`}`;
    if (index === undefined || index >= published.size)
      throw new NotFoundError(`there is no event ${what} in the published tree (size ${published.size})`);
    const [ev] = await this.readEvents([index]);
    if (ev === undefined) {
      await this.throwIfErased(index);
      throw 'index' in ref ? noEventAt(index) : new NotFoundError(`there is no event ${what}: the entry there is not an event`);
    }
    const [leafHash] = await this.log.leafHashes([index]);
    const proof = await this.log.receipt(index, published);
    return { record: ev.record, salt: saltText(ev.salt), index, leafHash: toBase64(leafHash!), checkpoint: published.checkpoint, proof };
  }

  /** Throws EventErasedError (with a receipt of the leaf against the published checkpoint) when the event at `index` was erased. */
  private async throwIfErased(index: number): Promise<void> {
    const [stored] = await this.store.readExtensions([tombstoneKey(index)]);
    if (stored === undefined) return;
    const { tombstone, tenantTerm } = decodeTombstone(stored, index);
    const published = this.log.published;
    const [leafHash] = await this.log.leafHashes([index]);
    const proof = await this.log.receipt(index, published);
    throw new EventErasedError({
      index,
      leafHash: toBase64(leafHash!),
      tombstone,
      checkpoint: published.checkpoint,
      proof,
      inTenant: (tenant) => tenantTerm !== undefined && tenantTerm === Buffer.from(this.cipher.term('tenant', tenant)).toString('base64'),
    });
  }

  /**
   * Erases the event at `index` (in the published tree): deletes its record and salt, its
   * postings and its time keys, and writes its tombstone, in one atomic, durable write. Its leaf,
   * and so every checkpoint and proof, is unchanged; its idempotency record stays, so its id
   * answers "erased" and is never reused. Erasures run one at a time. `check`, called with the
   * event just before the write (its throw cancels the erasure), is where callers refuse
   * (holds, tenants) and record their intent. Unless `compact` is false, the deleted records
   * are then compacted out of the store's files; otherwise call {@link EventLog.compactErased}.
   *
   * Throws NotFoundError when there is no event at `index`, EventErasedError when it was already
   * erased, and what `check` and the store throw.
   */
  async erase(
    index: number,
    tombstone: Tombstone,
    opts: { readonly check?: (event: StoredEvent) => void | Promise<void>; readonly compact?: boolean } = {},
  ): Promise<{ index: number; leafHash: string; tombstone: Tombstone }> {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`an event index is a safe integer >= 0, got ${index}`);
    await this.eraseLock.runExclusive(async () => {
      const published = this.log.published;
      if (index >= published.size)
        throw new NotFoundError(`there is no event at index ${index} in the published tree (size ${published.size})`);
      const [ev] = await this.readEvents([index]);
      if (ev === undefined) {
        await this.throwIfErased(index);
        throw noEventAt(index);
      }
      await opts.check?.(ev);
      const record = ev.record;
      const deletes = [
        eventKey(index),
        ...this.prefixesOf(record).map((p) => postingKey(p, index)),
        receivedKey(timestampMs(record.received_at), index),
        occurredKey(timestampMs(record.occurred_at), index),
      ];
      const tenantTerm = record.tenant === undefined ? undefined : this.cipher.term('tenant', record.tenant);
      await this.store.updateExtensions([{ key: tombstoneKey(index), value: encodeTombstone(tombstone, tenantTerm) }], deletes);
      this.erased.add(deletes);
      for (const listener of this.erasedListeners) listener(index);
    });
    if (opts.compact !== false) await this.compactErased();
    const [leafHash] = await this.log.leafHashes([index]);
    return { index, leafHash: toBase64(leafHash!), tombstone };
  }

  /** Calls `listener` with the index of each event erased from now on, once its erasure is durable. Must not throw. */
  onErased(listener: (index: number) => void): void {
    this.erasedListeners.push(listener);
  }

  /** Compacts the store over what erasures deleted since the last compaction, so none of it is left in its files. */
  async compactErased(): Promise<void> {
    const ranges = this.erased.take();
    for (let i = 0; i < ranges.length; i++) {
      try {
        await this.store.compactExtensions(ranges[i]!);
      } catch (err) {
        // Left for the next compaction: the records are deleted, only not yet gone from the files.
        for (const r of ranges.slice(i)) this.erased.add([r.gte, r.lt.subarray(0, r.lt.length - 1)]);
        throw err;
      }
    }
  }

  /** The tombstone of the event at `index`, or undefined when it was not erased. */
  async tombstone(index: number): Promise<Tombstone | undefined> {
    const [stored] = await this.store.readExtensions([tombstoneKey(index)]);
    return stored === undefined ? undefined : decodeTombstone(stored, index).tombstone;
  }

  /** The store the events are in now (it is replaced when the log reopens it). */
  get currentStore(): LogStore {
    return this.store;
  }

  /** One page of a search (see event-search.ts), over the published tree. */
  search(request: SearchRequest): Promise<EventPage> {
    return searchEvents(this.searchContext(), request);
  }

  /** One step of a walk through matching events, oldest first (see scanEvents); `upTo` is at most the published size. */
  scan(request: ScanRequest): Promise<ScanResult> {
    const size = this.log.published.size;
    if (request.upTo > size) throw new RangeError(`a scan reads up to the published size ${size}, not ${request.upTo}`);
    return scanEvents(this.searchContext(), request);
  }

  private searchContext(): SearchContext {
    return {
      store: this.store,
      cipher: this.cipher,
      published: this.log.published,
      readEvents: (ix) => this.readEvents(ix),
      openEvent: (key, value) => this.openEvent(indexOfKey(key), key, value),
      leafHashes: (ix) => this.log.leafHashes(ix),
      inclusionProof: (index, size) => this.log.inclusionProof(index, size),
    };
  }
}
