/**
 * C2SP tlog-tiles entry bundles: each entry as a big-endian uint16 length, then its bytes.
 */
import { checkIndex, EncodingError, MerkleArgumentError } from './errors.js';

/** The largest entry a log accepts: what a uint16 length prefix can express. */
export const MAX_ENTRY_SIZE = 65535;

/** Encodes entries as a bundle. Throws MerkleArgumentError naming the entry if one is over 65535 bytes or not a Uint8Array. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (!(e instanceof Uint8Array)) throw new MerkleArgumentError(`entry ${i} must be a Uint8Array, got ${typeof e}`);
    if (e.length > MAX_ENTRY_SIZE)
      throw new MerkleArgumentError(`entry ${i} is ${e.length} bytes; entries are limited to ${MAX_ENTRY_SIZE} bytes`);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    out[o] = e.length >>> 8;
    out[o + 1] = e.length & 0xff;
    out.set(e, o + 2);
    o += 2 + e.length;
  }
  return out;
}

/**
 * Decodes a bundle into its entries: views into `data`, not copies (a 2,000-entry bulk upload
 * costs no allocation per entry); copy them if `data` will change. With `expectedCount` (e.g. the width of the
 * bundle asked for), exactly that many entries must be present and nothing after them.
 * Throws EncodingError on a truncated length or entry, trailing bytes, or a wrong count (and if data
 * is not a Uint8Array); MerkleArgumentError if expectedCount is not a safe non-negative integer.
 */
export function decodeEntryBundle(data: Uint8Array, expectedCount?: number): Uint8Array[] {
  if (!(data instanceof Uint8Array)) throw new EncodingError(`entry bundle must be a Uint8Array, got ${typeof data}`);
  if (expectedCount !== undefined) checkIndex(expectedCount, 'expected entry count');
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < data.length) {
    if (expectedCount !== undefined && out.length === expectedCount) {
      throw new EncodingError(`entry bundle has ${data.length - o} trailing bytes after its ${expectedCount} entries`);
    }
    if (o + 2 > data.length)
      throw new EncodingError(`entry bundle is truncated: entry ${out.length} has a 1-byte length prefix at offset ${o}`);
    const n = (data[o]! << 8) | data[o + 1]!;
    if (o + 2 + n > data.length) {
      throw new EncodingError(
        `entry bundle is truncated: entry ${out.length} at offset ${o} declares ${n} bytes but only ${data.length - o - 2} remain`,
      );
    }
    out.push(data.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  if (expectedCount !== undefined && out.length !== expectedCount) {
    throw new EncodingError(`entry bundle has ${out.length} entries, expected ${expectedCount}`);
  }
  return out;
}
