import type { ExtensionRange } from '../storage/store.js';
import { StorageCorruptError } from '../storage/store.js';
import type { RetentionRule } from './governance.js';

/** Who erased an event: an API key (by its id and name, never its secret), or a retention rule. */
export type ErasedBy = { readonly key_id: string; readonly key_name: string } | { readonly rule: RetentionRule };

/**
 * What is left of an erased event beside its leaf: when, why and by whom it was erased. It holds
 * nothing of the event itself (the reason is the eraser's text: it should name no person).
 */
export interface Tombstone {
  /** RFC 3339 UTC, milliseconds. */
  readonly erased_at: string;
  readonly reason: string;
  readonly by: ErasedBy;
}

/** A tombstone as stored: the tombstone, and the keyed-hash term of the event's tenant (so a tenant-bound key sees only its own tombstones). */
interface StoredTombstone extends Tombstone {
  readonly tenant_term?: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const ENCODE = new TextEncoder();

/** The stored value of a tombstone: JSON `{erased_at, reason, by, tenant_term?}` (the term in base64). */
export function encodeTombstone(t: Tombstone, tenantTerm: Uint8Array | undefined): Uint8Array {
  const stored: StoredTombstone = {
    erased_at: t.erased_at,
    reason: t.reason,
    by: t.by,
    ...(tenantTerm === undefined ? {} : { tenant_term: Buffer.from(tenantTerm).toString('base64') }),
  };
  return ENCODE.encode(JSON.stringify(stored));
}

/** A stored tombstone read back: the public tombstone and the tenant term (base64), if any. StorageCorruptError when it is not one. */
export function decodeTombstone(value: Uint8Array, index: number): { tombstone: Tombstone; tenantTerm: string | undefined } {
  let v: StoredTombstone;
  try {
    v = JSON.parse(UTF8.decode(value)) as StoredTombstone;
  } catch (err) {
    throw new StorageCorruptError(`storage is corrupt at the tombstone of event ${index}: it is not JSON (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || typeof v.erased_at !== 'string' || typeof v.reason !== 'string' || typeof v.by !== 'object') {
    throw new StorageCorruptError(`storage is corrupt at the tombstone of event ${index}: it is not a tombstone`);
  }
  return { tombstone: { erased_at: v.erased_at, reason: v.reason, by: v.by }, tenantTerm: v.tenant_term };
}

/**
 * The event asked for was erased: its record and salt are gone, its leaf (a commitment) is still
 * in the tree, and its inclusion still verifies. Maps to 410 with every field below.
 */
export class EventErasedError extends Error {
  override readonly name: string = 'EventErasedError';
  readonly index: number;
  /** The leaf hash, standard base64. */
  readonly leafHash: string;
  readonly tombstone: Tombstone;
  /** The published checkpoint `proof` is against. */
  readonly checkpoint: string;
  /** The c2sp.org/tlog-proof@v1 text of the leaf's inclusion in `checkpoint`. */
  readonly proof: string;
  /** Whether the erased event belonged to this tenant (a keyed-hash comparison: the tenant itself is not kept). */
  readonly inTenant: (tenant: string) => boolean;

  constructor(what: {
    index: number;
    leafHash: string;
    tombstone: Tombstone;
    checkpoint: string;
    proof: string;
    inTenant: (tenant: string) => boolean;
  }) {
    super(`event ${what.index} was erased at ${what.tombstone.erased_at}; its leaf stays in the log and its inclusion still verifies`);
    this.index = what.index;
    this.leafHash = what.leafHash;
    this.tombstone = what.tombstone;
    this.checkpoint = what.checkpoint;
    this.proof = what.proof;
    this.inTenant = what.inTenant;
  }

  /** The 410 answer's body. */
  toJSON(): { error: string; index: number; leafHash: string; tombstone: Tombstone; checkpoint: string; proof: string } {
    return {
      error: this.message,
      index: this.index,
      leafHash: this.leafHash,
      tombstone: this.tombstone,
      checkpoint: this.checkpoint,
      proof: this.proof,
    };
  }
}

/** An erasure refused: the event is under a legal hold, or inside the minimum retention. Nothing was changed. Maps to 423. */
export class ErasureRefusedError extends Error {
  override readonly name: string = 'ErasureRefusedError';
}

/**
 * The key ranges erasures deleted from, to compact: per one-byte key prefix (E, p, r, w), the
 * smallest range holding every deleted key. Compacting a range rewrites only the tables that
 * overlap it, so a few erasures cost a few small compactions, not a rewrite of the store.
 */
export class ErasedRanges {
  private readonly byPrefix = new Map<number, { lo: Uint8Array; hi: Uint8Array }>();

  /** Notes deleted keys. */
  add(keys: readonly Uint8Array[]): void {
    for (const k of keys) {
      const r = this.byPrefix.get(k[0]!);
      if (r === undefined) this.byPrefix.set(k[0]!, { lo: k, hi: k });
      else {
        if (Buffer.compare(k, r.lo) < 0) r.lo = k;
        if (Buffer.compare(k, r.hi) > 0) r.hi = k;
      }
    }
  }

  /** The ranges noted so far ([lo, hi || 0x00), so `hi` is inside), and forgets them. */
  take(): ExtensionRange[] {
    const out: ExtensionRange[] = [];
    for (const { lo, hi } of this.byPrefix.values()) {
      const lt = new Uint8Array(hi.length + 1);
      lt.set(hi);
      out.push({ gte: lo, lt });
    }
    this.byPrefix.clear();
    return out;
  }
}
