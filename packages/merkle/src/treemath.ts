/**
 * Integer bit arithmetic on `number`s up to 2^53 - 1 (internal; not exported from index.ts).
 *
 * JavaScript's bitwise operators truncate to 32 bits, and tree sizes may exceed 2^32, so
 * these helpers split values into 32-bit halves or use exact double arithmetic instead.
 * All inputs are non-negative safe integers; callers check that at the API boundary.
 */

import type { NodeId } from './prove.js';

const TWO_32 = 0x1_0000_0000;

/** POW2[k] = 2^k exactly, for k in 0..64. Frozen: shared by every caller. */
export const POW2: readonly number[] = Object.freeze(Array.from({ length: 65 }, (_, k) => 2 ** k));

/** floor(log2(x)) for x >= 1. */
export function floorLog2(x: number): number {
  if (x < TWO_32) return 31 - Math.clz32(x);
  return 63 - Math.clz32(Math.floor(x / TWO_32));
}

/** Number of bits needed to write x (0 for 0). */
export function bitLength(x: number): number {
  return x === 0 ? 0 : floorLog2(x) + 1;
}

/** Bit length of (a XOR b): the height at which the tree paths to leaves a and b meet. */
export function bitLengthXor(a: number, b: number): number {
  const ah = Math.floor(a / TWO_32);
  const bh = Math.floor(b / TWO_32);
  const hx = (ah ^ bh) >>> 0;
  if (hx !== 0) return 64 - Math.clz32(hx);
  const lx = ((a - ah * TWO_32) ^ (b - bh * TWO_32)) >>> 0;
  return 32 - Math.clz32(lx);
}

function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Number of set bits of x. */
export function popcount(x: number): number {
  const h = Math.floor(x / TWO_32);
  return popcount32(h) + popcount32((x - h * TWO_32) >>> 0);
}

/** Number of trailing zero bits of x; 64 for x = 0. */
export function trailingZeros(x: number): number {
  if (x === 0) return 64;
  const l = (x % TWO_32) >>> 0;
  if (l !== 0) return 31 - Math.clz32(l & -l);
  const h = Math.floor(x / TWO_32) >>> 0;
  return 63 - Math.clz32(h & -h);
}

/** floor(x / 2^k). */
export function shiftRight(x: number, k: number): number {
  return Math.floor(x / POW2[k]!);
}

/** True if x is a power of two (x >= 1). */
export function isPow2(x: number): boolean {
  return x > 0 && POW2[floorLog2(x)] === x;
}

/** The largest power of two strictly less than x, for x >= 2 (RFC 6962's k). */
export function largestPow2Below(x: number): number {
  return POW2[floorLog2(x - 1)]!;
}

/** The smallest power of two >= x, for x >= 1. */
export function bitCeil(x: number): number {
  return x <= 1 ? 1 : POW2[floorLog2(x - 1) + 1]!;
}

/**
 * Appends the complete subtrees that exactly tile the leaf range [lo, hi), left to right
 * (largest first). Requires lo to be a multiple of the largest power of two <= hi - lo, which
 * holds for every range a proof or a root asks for (they all start at a node boundary).
 */
export function pushRange(lo: number, hi: number, ids: NodeId[]): void {
  while (lo < hi) {
    let level = floorLog2(hi - lo);
    const tz = trailingZeros(lo);
    if (tz < level) level = tz;
    const width = POW2[level]!;
    ids.push({ level, index: lo / width });
    lo += width;
  }
}
