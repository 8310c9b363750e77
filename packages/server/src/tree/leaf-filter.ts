import { HASH_SIZE, type Hash } from '@tlog/merkle';

/** Bits per entry of each segment: with 7 probes, about 0.8% false positives. */
const BITS_PER_ENTRY = 10;
const PROBES = 7;
/** Capacity of the first segment; each next one doubles, so a log of n leaves has ~log2(n / 2^20) segments. */
const FIRST_CAPACITY = 1 << 20;
const MAGIC = 'tlog-leaf-filter/v1';

interface Segment {
  readonly capacity: number;
  readonly bits: number;
  readonly words: Uint32Array;
  count: number;
}

function newSegment(capacity: number): Segment {
  const bits = capacity * BITS_PER_ENTRY;
  return { capacity, bits, words: new Uint32Array(Math.ceil(bits / 32)), count: 0 };
}

/**
 * A Bloom filter over every leaf hash in the log, so that deduplication asks the store only
 * about entries that might already be there (about 1 in 100 new ones) instead of every entry.
 *
 * Leaf hashes are SHA-256 outputs, uniformly random, so the probe positions are simply seven
 * 32-bit words of the hash scaled to the segment size: no extra hashing. The filter grows as a
 * series of segments, each twice the capacity of the one before, and answers "maybe" when any
 * segment does.
 *
 * Contract: `add` must be called for every committed leaf before the commit's waiters are told
 * (no false negatives, ever). Until {@link LeafFilter.ready} is true (while it is rebuilt after
 * an unclean shutdown) `mightContain` answers true for everything, which sends every lookup to
 * the store: slower, never wrong.
 */
export class LeafFilter {
  private segments: Segment[] = [newSegment(FIRST_CAPACITY)];
  private _ready: boolean;
  private generation = 0;

  /** @param ready false when the filter still has to be filled by a rebuild */
  constructor(ready: boolean) {
    this._ready = ready;
  }

  /** True once the filter holds every committed leaf hash. */
  get ready(): boolean {
    return this._ready;
  }

  /** Number of leaf hashes added. */
  get count(): number {
    let n = 0;
    for (const s of this.segments) n += s.count;
    return n;
  }

  /** Forgets everything and waits for a rebuild (after a commit whose outcome is unknown). */
  reset(): void {
    this.segments = [newSegment(FIRST_CAPACITY)];
    this._ready = false;
    this.generation++;
  }

  /**
   * Fills the filter from a scan of every stored leaf hash (LogStore.scanLeafHashes), then marks it ready. Leaves
   * committed meanwhile are added by their commits, so a scan from any snapshot taken after this
   * call starts completes the set. A reset() during the scan abandons it.
   */
  async rebuild(source: { scanLeafHashes(onBatch: (leafHashes: Hash[]) => void): Promise<void> }): Promise<void> {
    const generation = this.generation;
    await source.scanLeafHashes((hashes) => {
      if (this.generation === generation) for (const h of hashes) this.add(h);
    });
    if (this.generation === generation) this._ready = true;
  }

  /** Adds a 32-byte leaf hash. */
  add(h: Hash): void {
    let seg = this.segments[this.segments.length - 1]!;
    if (seg.count >= seg.capacity) {
      seg = newSegment(seg.capacity * 2);
      this.segments.push(seg);
    }
    seg.count++;
    const w = seg.words;
    for (let i = 0; i < PROBES; i++) {
      const p = position(h, i, seg.bits);
      w[p >>> 5] = w[p >>> 5]! | (1 << (p & 31));
    }
  }

  /** False only if the hash was certainly never added (and the filter is ready). */
  mightContain(h: Hash): boolean {
    if (!this._ready) return true;
    for (const seg of this.segments) {
      const w = seg.words;
      let all = true;
      for (let i = 0; i < PROBES && all; i++) {
        const p = position(h, i, seg.bits);
        all = (w[p >>> 5]! & (1 << (p & 31))) !== 0;
      }
      if (all) return true;
    }
    return false;
  }

  /** The filter as bytes, tagged with the tree size it describes (saved at a clean shutdown). */
  serialize(size: number): Uint8Array {
    const header = new TextEncoder().encode(MAGIC);
    let total = header.length + 1 + 8 + 4;
    for (const s of this.segments) total += 16 + s.words.byteLength;
    const out = new Uint8Array(total);
    const v = new DataView(out.buffer);
    out.set(header);
    let o = header.length + 1;
    setU64(v, o, size);
    v.setUint32(o + 8, this.segments.length);
    o += 12;
    for (const s of this.segments) {
      setU64(v, o, s.capacity);
      setU64(v, o + 8, s.count);
      o += 16;
      out.set(new Uint8Array(s.words.buffer, s.words.byteOffset, s.words.byteLength), o);
      o += s.words.byteLength;
    }
    return out;
  }

  /**
   * A ready filter from {@link LeafFilter.serialize}'s bytes, if they describe exactly the tree
   * of `size` leaves; undefined otherwise (another size, or not a filter): then rebuild.
   */
  static deserialize(data: Uint8Array, size: number): LeafFilter | undefined {
    const header = new TextEncoder().encode(MAGIC);
    if (data.length < header.length + 13) return undefined;
    for (let i = 0; i < header.length; i++) if (data[i] !== header[i]) return undefined;
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let o = header.length + 1;
    if (getU64(v, o) !== size) return undefined;
    const n = v.getUint32(o + 8);
    o += 12;
    const segments: Segment[] = [];
    for (let i = 0; i < n; i++) {
      if (o + 16 > data.length) return undefined;
      const capacity = getU64(v, o);
      const count = getU64(v, o + 8);
      o += 16;
      const seg = newSegment(capacity);
      if (count > capacity || o + seg.words.byteLength > data.length) return undefined;
      new Uint8Array(seg.words.buffer).set(data.subarray(o, o + seg.words.byteLength));
      seg.count = count;
      o += seg.words.byteLength;
      segments.push(seg);
    }
    if (o !== data.length || segments.length === 0) return undefined;
    const f = new LeafFilter(true);
    f.segments = segments;
    return f;
  }
}

/** Probe i of hash h in a segment of `bits` bits: word i of the hash scaled to [0, bits). */
function position(h: Hash, i: number, bits: number): number {
  const o = (i * 4) % HASH_SIZE;
  const word = ((h[o]! << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) >>> 0;
  return Math.floor((word * bits) / 0x1_0000_0000);
}

function setU64(v: DataView, o: number, n: number): void {
  v.setUint32(o, Math.floor(n / 0x1_0000_0000));
  v.setUint32(o + 4, n >>> 0);
}

function getU64(v: DataView, o: number): number {
  return v.getUint32(o) * 0x1_0000_0000 + v.getUint32(o + 4);
}
