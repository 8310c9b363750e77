import { type Hash, toBase64 } from '@tlog/merkle';
import {
  type CommitBatch,
  type ExtensionCursor,
  type ExtensionRange,
  type ExtensionRecord,
  type LogStore,
  StorageError,
  type TreeState,
} from './store.js';

/** How the next commit of a {@link MemoryLogStore} fails: before anything is applied, or after applying everything. */
export type CommitFault = 'lost' | 'applied';

interface Data {
  state: TreeState | undefined;
  readonly tiles: Map<string, Uint8Array>;
  readonly runs: Map<number, Map<number, Uint8Array>>;
  readonly leaves: Map<string, number>;
  readonly extensions: Map<string, Uint8Array>;
  witnessed: string | undefined;
  filter: Uint8Array | undefined;
}

type Op = (d: Data) => void;

class MemoryBatch implements CommitBatch {
  readonly ops: Op[] = [];
  get length(): number {
    return this.ops.length;
  }
  putTile(level: number, index: number, data: Uint8Array): void {
    const copy = data.slice();
    this.ops.push((d) => d.tiles.set(`${level}/${index}`, copy));
  }
  putEntries(bundle: number, start: number, encoded: Uint8Array): void {
    const copy = encoded.slice();
    this.ops.push((d) => {
      let runs = d.runs.get(bundle);
      if (runs === undefined) d.runs.set(bundle, (runs = new Map()));
      runs.set(start, copy);
    });
  }
  putLeafIndex(leafHash: Hash, index: number): void {
    const k = toBase64(leafHash);
    this.ops.push((d) => d.leaves.set(k, index));
  }
  putState(state: TreeState): void {
    this.ops.push((d) => {
      d.state = state;
    });
  }
  putExtension(key: Uint8Array, value: Uint8Array): void {
    const k = hexKey(key);
    const copy = value.slice();
    this.ops.push((d) => d.extensions.set(k, copy));
  }
}

/** A key as lowercase hex: hex strings sort as their bytes do. */
function hexKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/**
 * A {@link LogStore} in memory, for tests: the same contract as the LevelDB store, plus fault
 * injection. {@link MemoryLogStore.failNextCommit} makes the next commit reject with the batch
 * either lost or applied (the two outcomes a real store's failed commit may have had), and the
 * store then refuses everything, as LevelDB does after a write error, until it is reopened.
 */
export class MemoryLogStore implements LogStore {
  private readonly data: Data = {
    state: undefined,
    tiles: new Map(),
    runs: new Map(),
    leaves: new Map(),
    extensions: new Map(),
    witnessed: undefined,
    filter: undefined,
  };
  private fault: CommitFault | undefined;
  private broken = false;
  private closed = false;
  /** Commits applied so far. */
  commits = 0;

  /** Makes the next commit fail with the given outcome. */
  failNextCommit(outcome: CommitFault): void {
    this.fault = outcome;
  }

  /** This store, usable again after a failure or close (what reopening a database does). */
  reopen(): MemoryLogStore {
    this.broken = false;
    this.closed = false;
    return this;
  }

  private check(): void {
    if (this.closed) throw new StorageError('the store is closed');
    if (this.broken) throw new StorageError('the store failed earlier and must be reopened');
  }

  async readState(): Promise<TreeState | undefined> {
    this.check();
    return this.data.state;
  }

  async readTiles(ids: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    return ids.map((t) => this.data.tiles.get(`${t.level}/${t.index}`));
  }

  async readBundle(bundle: number): Promise<Uint8Array> {
    this.check();
    const runs = [...(this.data.runs.get(bundle) ?? new Map<number, Uint8Array>()).entries()].sort((a, b) => a[0] - b[0]).map((r) => r[1]);
    const out = new Uint8Array(runs.reduce((n, r) => n + r.length, 0));
    let off = 0;
    for (const r of runs) {
      out.set(r, off);
      off += r.length;
    }
    return out;
  }

  async findLeafHashes(leafHashes: readonly Hash[]): Promise<(number | undefined)[]> {
    this.check();
    return leafHashes.map((h) => this.data.leaves.get(toBase64(h)));
  }

  async readExtensions(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    return keys.map((k) => this.data.extensions.get(hexKey(k)));
  }

  extensionCursor(range: ExtensionRange): ExtensionCursor {
    this.check();
    const gte = hexKey(range.gte);
    const lt = hexKey(range.lt);
    const reverse = range.reverse === true;
    // The snapshot: the range's records as they are now, in the cursor's order.
    const records = [...this.data.extensions.entries()].filter(([k]) => k >= gte && k < lt).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    if (reverse) records.reverse();
    let at = 0;
    return {
      seek: (key) => {
        const k = hexKey(key);
        at = records.findIndex(([r]) => (reverse ? r <= k : r >= k));
        if (at < 0) at = records.length;
      },
      next: async () => {
        this.check();
        const r = records[at];
        if (r === undefined) return undefined;
        at++;
        return { key: Uint8Array.from(Buffer.from(r[0], 'hex')), value: r[1] };
      },
      nextMany: async (max) => {
        this.check();
        const out = records.slice(at, at + max).map(([k, value]) => ({ key: Uint8Array.from(Buffer.from(k, 'hex')), value }));
        at += out.length;
        return out;
      },
      close: async () => {},
    };
  }

  async updateExtensions(puts: readonly ExtensionRecord[], deletes: readonly Uint8Array[]): Promise<void> {
    this.check();
    for (const k of deletes) this.data.extensions.delete(hexKey(k));
    for (const r of puts) this.data.extensions.set(hexKey(r.key), r.value.slice());
  }

  async compactExtensions(_range: ExtensionRange): Promise<void> {
    this.check();
  }

  newBatch(): CommitBatch {
    return new MemoryBatch();
  }

  async commit(batch: CommitBatch): Promise<void> {
    this.check();
    if (!(batch instanceof MemoryBatch)) throw new TypeError('commit needs a batch made by this store’s newBatch()');
    await Promise.resolve();
    const fault = this.fault;
    this.fault = undefined;
    if (fault !== 'lost') {
      for (const op of batch.ops) op(this.data);
      this.commits++;
    }
    if (fault !== undefined) {
      this.broken = true;
      throw new StorageError(`injected commit failure (batch ${fault})`);
    }
  }

  async readWitnessed(): Promise<string | undefined> {
    this.check();
    return this.data.witnessed;
  }

  async putWitnessed(checkpoint: string): Promise<void> {
    this.check();
    this.data.witnessed = checkpoint;
  }

  async scanLeafHashes(onBatch: (leafHashes: Hash[]) => void): Promise<void> {
    this.check();
    onBatch([...this.data.leaves.keys()].map((k) => Uint8Array.from(Buffer.from(k, 'base64'))));
  }

  async readLeafFilter(): Promise<Uint8Array | undefined> {
    this.check();
    return this.data.filter;
  }

  async putLeafFilter(data: Uint8Array): Promise<void> {
    this.check();
    this.data.filter = data.slice();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
