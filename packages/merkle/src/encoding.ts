import { EncodingError } from './errors.js';
import type { Hash } from './hash.js';
// HASH_SIZE is hash.ts's, which is SHA256_SIZE; taken from sha256kernel.ts so that this module does not
// import hash.ts, whose defaultHasher decodes the WebAssembly kernel with fromBase64 as it loads.
import { SHA256_SIZE as HASH_SIZE } from './sha256kernel.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// The value of each ASCII character in base64, -1 if it is not in the alphabet. Frozen, as every
// module-level table: nothing can change it under another caller.
const B64_INDEX: readonly number[] = Object.freeze(Array.from({ length: 128 }, (_, c) => B64.indexOf(String.fromCharCode(c))));

// Decodes ASCII bytes to a string; stateless (no streaming), so safe to share.
const ASCII = new TextDecoder('latin1');

/** The code of '=', base64's padding. */
const EQUALS = 0x3d;

/**
 * Standard base64 (RFC 4648 §4) with padding. The characters are written as codes and decoded
 * into a string in one call: no string is grown by concatenation, which leaves a rope that
 * JSON.stringify must flatten and garbage in proportion to the input (2.5x slower on 64 KiB).
 */
export function toBase64(b: Uint8Array): string {
  return ASCII.decode(base64Codes(b));
}

/** The base64 character codes of b. */
function base64Codes(b: Uint8Array): Uint8Array {
  const n = b.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out[o++] = B64.charCodeAt(v >> 18);
    out[o++] = B64.charCodeAt((v >> 12) & 63);
    out[o++] = B64.charCodeAt((v >> 6) & 63);
    out[o++] = B64.charCodeAt(v & 63);
  }
  if (i < n) {
    const two = n - i === 2;
    const v = (b[i]! << 16) | (two ? b[i + 1]! << 8 : 0);
    out[o++] = B64.charCodeAt(v >> 18);
    out[o++] = B64.charCodeAt((v >> 12) & 63);
    out[o++] = two ? B64.charCodeAt((v >> 6) & 63) : EQUALS;
    out[o++] = EQUALS;
  }
  return out;
}

/**
 * Decodes strict standard base64: padding required, no whitespace, no URL-safe alphabet,
 * and unused trailing bits must be zero (so every byte string has exactly one encoding).
 * Throws EncodingError naming the problem.
 */
export function fromBase64(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new EncodingError(`invalid base64: length ${s.length} is not a multiple of 4`);
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      let v: number;
      if (c === 61 /* = */ && i + 4 === s.length && j >= 4 - pad) v = 0;
      else {
        v = c < 128 ? B64_INDEX[c]! : -1;
        if (v < 0) throw new EncodingError(`invalid base64: unexpected character ${JSON.stringify(s[i + j])} at offset ${i + j}`);
      }
      n = (n << 6) | v;
    }
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
    if (i + 4 === s.length && ((pad === 1 && (n & 0xff) !== 0) || (pad === 2 && (n & 0xffff) !== 0))) {
      throw new EncodingError('invalid base64: non-zero padding bits (non-canonical encoding)');
    }
  }
  return out;
}

/** Lower-case hex. */
export function toHex(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i++) out += b[i]!.toString(16).padStart(2, '0');
  return out;
}

/** Decodes hex (either case). Throws EncodingError on odd length or a non-hex character. */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new EncodingError(`invalid hex string of length ${s.length}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Decodes a base64 hash: exactly 32 bytes, or EncodingError saying how many it got. */
export function hashFromBase64(s: string): Hash {
  const b = fromBase64(s);
  if (b.length !== HASH_SIZE)
    throw new EncodingError(`a hash must be ${HASH_SIZE} bytes, got ${b.length} (from base64 ${JSON.stringify(s.slice(0, 60))})`);
  return b;
}

/** Constant-shape byte equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
