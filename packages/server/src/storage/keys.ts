/**
 * LevelDB key layout. Keys are binary, with fixed-width big-endian numbers so that ranges sort
 * in tree order:
 *
 *   's'                              tree state {size, edge, checkpoint} (JSON, UTF-8)
 *   'w'                              latest cosigned checkpoint (text), best effort
 *   'v'                              the storage format (one byte: 2)
 *   'f'                              the leaf-hash Bloom filter saved at the last clean shutdown,
 *                                    tagged with its tree size (derived data; rebuilt when stale)
 *   't' level:u8 index:u64           hash tile at its latest width (width * 32 bytes); grows in
 *                                    place until full, then never changes
 *   'e' bundle:u64 start:u8          a run of entries of entry bundle `bundle` starting at
 *                                    position `start`, entry-bundle encoded; a bundle is the
 *                                    concatenation of its runs in key order
 *   'h' leafHash:32                  leaf-hash index -> entry index (u64), for deduplication and
 *                                    proofs by hash
 *   'x' ...                          extensions (secondary indexes), written in the same batch
 *
 * Every value is followed by a CRC-32 of its key and value (4 bytes, big-endian), checked on
 * every read (see level-store.ts). Numbers are safe integers (< 2^53) written as two uint32
 * halves.
 */
export const STATE_KEY = Uint8Array.of(0x73); // 's'
export const WITNESSED_KEY = Uint8Array.of(0x77); // 'w'
export const FILTER_KEY = Uint8Array.of(0x66); // 'f'
export const FORMAT_KEY = Uint8Array.of(0x76); // 'v'
const TILE = 0x74; // 't'
const ENTRIES = 0x65; // 'e'
const LEAF = 0x68; // 'h'
/** The key range of the leaf-hash index: [LEAF_FIRST, LEAF_END). */
export const LEAF_FIRST = Uint8Array.of(LEAF);
export const LEAF_END = Uint8Array.of(LEAF + 1);
const EXTENSION = 0x78; // 'x'

/** Writes a safe integer as 8 bytes big-endian at `offset`. */
export function writeU64(out: Uint8Array, offset: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  out[offset] = hi >>> 24;
  out[offset + 1] = hi >>> 16;
  out[offset + 2] = hi >>> 8;
  out[offset + 3] = hi;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = lo >>> 16;
  out[offset + 6] = lo >>> 8;
  out[offset + 7] = lo;
}

/** Reads 8 bytes big-endian at `offset` as a number; refuses values beyond 2^53-1. */
export function readU64(b: Uint8Array, offset: number): number {
  if (b.length < offset + 8) throw new RangeError(`need 8 bytes at offset ${offset}, have ${b.length - offset}`);
  const hi = ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
  const lo = ((b[offset + 4]! << 24) | (b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!) >>> 0;
  const n = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(n)) throw new RangeError(`stored number at offset ${offset} exceeds 2^53-1`);
  return n;
}

/** Key of hash tile (level, index). */
export function tileKey(level: number, index: number): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = TILE;
  k[1] = level;
  writeU64(k, 2, index);
  return k;
}

/** Key of the run of bundle `bundle` starting at `start` (0..255). */
export function entriesKey(bundle: number, start: number): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = ENTRIES;
  writeU64(k, 1, bundle);
  k[9] = start;
  return k;
}

/** Key of the leaf-hash index record for `leafHash` (32 bytes). */
export function leafKey(leafHash: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + leafHash.length);
  k[0] = LEAF;
  k.set(leafHash, 1);
  return k;
}

/** Key of an extension record: 'x' followed by the caller's key. */
export function extensionKey(key: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + key.length);
  k[0] = EXTENSION;
  k.set(key, 1);
  return k;
}

/** An index as the 8-byte value of a leaf-hash record. */
export function encodeIndex(index: number): Uint8Array {
  const v = new Uint8Array(8);
  writeU64(v, 0, index);
  return v;
}
