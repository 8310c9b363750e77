// SHA-256 (FIPS 180-4) for many independent messages at once, four per call of the compression
// function: lane j of every i32x4 vector belongs to message j; and for one message alone, a
// scalar path (hashOne) in plain i32 code. AssemblyScript, built by
// ../scripts/build-wasm.mjs into src/generated/sha256-wasm.ts; the JavaScript side is
// ../src/sha256wasm.ts, which owns the layout of the I/O region (from ioBase() up).
//
// Memory: the static data below (constants and scratch) sits under __heap_base; the I/O region
// starts at ioBase(). The kernel never grows memory: the caller grows it to fit a chunk before
// calling, and leaves 3 * 64 bytes readable after node pairs and 3 * 32 writable after outputs,
// because the last group of four is computed in full and its unused lanes discarded.

// Round constants and initial hash value.
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV: usize = memory.data<u32>([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

// Scratch: the message schedule (64 vectors), the four lanes' state (8 vectors), one padded
// block per lane, and per-lane (pointer, length) and block counts for hashMany.
const W: usize = memory.data(64 * 16, 16);
const STATE: usize = memory.data(8 * 16, 16);
const PAD: usize = memory.data(4 * 64, 16);
const LANE_PTR: usize = memory.data(16, 16);
const LANE_LEN: usize = memory.data(16, 16);
const LANE_BLOCKS: usize = memory.data(16, 16);

// Scratch of the scalar (one message) path: its schedule (64 words), state (8 words), the padded
// last one or two blocks, and a 65-byte node message (0x01 || pair) for hashNodes' last pair.
const W1: usize = memory.data(64 * 4, 16);
const STATE1: usize = memory.data(8 * 4, 16);
const TAIL1: usize = memory.data(2 * 64, 16);
const NODE1: usize = memory.data(65, 16);

/** Tails of fewer messages than this go through the scalar path (hashOne), one at a time: two scalar passes cost about 1.55 four-lane passes. */
const SCALAR_TAIL: u32 = 2;

/** Start of the caller's I/O region: past the static data, 16-aligned, with a byte before it readable. */
export function ioBase(): usize {
  return (__heap_base + 31) & ~(<usize>15);
}

// Each 32-bit word byte-swapped: SHA-256 reads big-endian words, wasm loads little-endian.
// @ts-ignore: decorator
@inline
function bswap32x4(v: v128): v128 {
  return i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

// @ts-ignore: decorator
@inline
function rotr4(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}

/** Stores the 4x4 transpose of rows a..d (four words of each lane's message) as W[t..t+3], byte-swapped. */
// @ts-ignore: decorator
@inline
function storeTransposed(t: usize, a: v128, b: v128, c: v128, d: v128): void {
  const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd0 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const cd1 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  const p = W + (t << 4);
  v128.store(p, bswap32x4(i64x2.shuffle(ab0, cd0, 0, 2)));
  v128.store(p, bswap32x4(i64x2.shuffle(ab0, cd0, 1, 3)), 16);
  v128.store(p, bswap32x4(i64x2.shuffle(ab1, cd1, 0, 2)), 32);
  v128.store(p, bswap32x4(i64x2.shuffle(ab1, cd1, 1, 3)), 48);
}

/** W[0..15] from one 64-byte block per lane: lane j's block at pj. */
function loadBlocks(p0: usize, p1: usize, p2: usize, p3: usize): void {
  for (let k: usize = 0; k < 64; k += 16) {
    storeTransposed(k >> 2, v128.load(p0 + k), v128.load(p1 + k), v128.load(p2 + k), v128.load(p3 + k));
  }
}

function initState(): void {
  for (let i: usize = 0; i < 32; i += 4) v128.store(STATE + (i << 2), v128.load32_splat(IV + i));
}

/** One compression of W[0..15] into STATE, kept only in the lanes whose mask is all ones. */
function compress(mask: v128): void {
  for (let p = W + 16 * 16; p < W + 64 * 16; p += 16) {
    const w15 = v128.load(p - 15 * 16);
    const w2 = v128.load(p - 2 * 16);
    const s0 = v128.xor(v128.xor(rotr4(w15, 7), rotr4(w15, 18)), i32x4.shr_u(w15, 3));
    const s1 = v128.xor(v128.xor(rotr4(w2, 17), rotr4(w2, 19)), i32x4.shr_u(w2, 10));
    v128.store(p, i32x4.add(i32x4.add(v128.load(p - 16 * 16), s0), i32x4.add(v128.load(p - 7 * 16), s1)));
  }
  let a = v128.load(STATE);
  let b = v128.load(STATE, 16);
  let c = v128.load(STATE, 32);
  let d = v128.load(STATE, 48);
  let e = v128.load(STATE, 64);
  let f = v128.load(STATE, 80);
  let g = v128.load(STATE, 96);
  let h = v128.load(STATE, 112);
  for (let t: usize = 0; t < 64; t++) {
    const s1 = v128.xor(v128.xor(rotr4(e, 6), rotr4(e, 11)), rotr4(e, 25));
    const ch = v128.bitselect(f, g, e);
    const t1 = i32x4.add(i32x4.add(i32x4.add(h, s1), i32x4.add(ch, v128.load32_splat(K + (t << 2)))), v128.load(W + (t << 4)));
    const s0 = v128.xor(v128.xor(rotr4(a, 2), rotr4(a, 13)), rotr4(a, 22));
    const maj = v128.bitselect(c, a, v128.xor(a, b));
    h = g;
    g = f;
    f = e;
    e = i32x4.add(d, t1);
    d = c;
    c = b;
    b = a;
    a = i32x4.add(t1, i32x4.add(s0, maj));
  }
  addState(0, a, mask);
  addState(16, b, mask);
  addState(32, c, mask);
  addState(48, d, mask);
  addState(64, e, mask);
  addState(80, f, mask);
  addState(96, g, mask);
  addState(112, h, mask);
}

// @ts-ignore: decorator
@inline
function addState(offset: usize, x: v128, mask: v128): void {
  const old = v128.load(STATE + offset);
  v128.store(STATE + offset, v128.bitselect(i32x4.add(old, x), old, mask));
}

/** Writes the four lanes' digests, 32 bytes each, from out. */
function storeDigests(out: usize): void {
  for (let half: usize = 0; half < 32; half += 16) {
    const s = STATE + (half << 2);
    const a = v128.load(s);
    const b = v128.load(s, 16);
    const c = v128.load(s, 32);
    const d = v128.load(s, 48);
    const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
    const ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
    const cd0 = i32x4.shuffle(c, d, 0, 4, 1, 5);
    const cd1 = i32x4.shuffle(c, d, 2, 6, 3, 7);
    v128.store(out + half, bswap32x4(i64x2.shuffle(ab0, cd0, 0, 2)));
    v128.store(out + half, bswap32x4(i64x2.shuffle(ab0, cd0, 1, 3)), 32);
    v128.store(out + half, bswap32x4(i64x2.shuffle(ab1, cd1, 0, 2)), 64);
    v128.store(out + half, bswap32x4(i64x2.shuffle(ab1, cd1, 1, 3)), 96);
  }
}

/**
 * One compression of the 64-byte block at p into STATE1, in plain i32 code (i32.rotr is one
 * instruction; an i32x4 rotate is three, but for four lanes). Measured on x86-64 (V8, Node 20):
 * about 0.78 of a four-lane pass, so one message alone comes here, two or more take a pass.
 * Unrolling the rounds by eight made it no faster and the module 570 bytes larger.
 */
function compress1(p: usize): void {
  for (let t: usize = 0; t < 64; t += 4) store<u32>(W1 + t, bswap<u32>(load<u32>(p + t)));
  for (let q = W1 + 16 * 4; q < W1 + 64 * 4; q += 4) {
    const w15 = load<u32>(q - 15 * 4);
    const w2 = load<u32>(q - 2 * 4);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(q, load<u32>(q - 16 * 4) + s0 + load<u32>(q - 7 * 4) + s1);
  }
  let a = load<u32>(STATE1);
  let b = load<u32>(STATE1, 4);
  let c = load<u32>(STATE1, 8);
  let d = load<u32>(STATE1, 12);
  let e = load<u32>(STATE1, 16);
  let f = load<u32>(STATE1, 20);
  let g = load<u32>(STATE1, 24);
  let h = load<u32>(STATE1, 28);
  for (let t: usize = 0; t < 64 * 4; t += 4) {
    const s1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = g ^ (e & (f ^ g));
    const t1 = h + s1 + ch + load<u32>(K + t) + load<u32>(W1 + t);
    const s0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) | (c & (a | b));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + s0 + maj;
  }
  store<u32>(STATE1, load<u32>(STATE1) + a);
  store<u32>(STATE1, load<u32>(STATE1, 4) + b, 4);
  store<u32>(STATE1, load<u32>(STATE1, 8) + c, 8);
  store<u32>(STATE1, load<u32>(STATE1, 12) + d, 12);
  store<u32>(STATE1, load<u32>(STATE1, 16) + e, 16);
  store<u32>(STATE1, load<u32>(STATE1, 20) + f, 20);
  store<u32>(STATE1, load<u32>(STATE1, 24) + g, 24);
  store<u32>(STATE1, load<u32>(STATE1, 28) + h, 28);
}

/**
 * SHA-256 of one message, memory[ptr, ptr + len), by the scalar path; the digest (32 bytes) to
 * out. Whole blocks are read in place, the tail is padded in TAIL1. Reads and writes nothing else.
 */
export function hashOne(ptr: usize, len: u32, out: usize): void {
  memory.copy(STATE1, IV, 32);
  const whole = len & ~63;
  for (let b: usize = 0; b < whole; b += 64) compress1(ptr + b);
  const rest = len - whole; // 0..63
  memory.fill(TAIL1, 0, 128);
  memory.copy(TAIL1, ptr + whole, rest);
  store<u8>(TAIL1 + rest, 0x80);
  // The bit length ends the first tail block if it fits after the 0x80, else a second one.
  const end: usize = rest < 56 ? 64 : 128;
  store<u64>(TAIL1 + end - 8, bswap<u64>(<u64>len << 3));
  compress1(TAIL1);
  if (end == 128) compress1(TAIL1 + 64);
  for (let i: usize = 0; i < 32; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(STATE1 + i)));
}

/**
 * Where lane j's block b is: in place when the message covers it, else the lane's padded block
 * built in PAD (the tail, 0x80, zeros and, in the last block, the bit length), or any readable
 * block when the lane has no block b (its result is masked off).
 */
function blockOf(j: usize, b: u32): usize {
  const ptr = load<u32>(LANE_PTR + (j << 2));
  const len = load<u32>(LANE_LEN + (j << 2));
  const blocks = load<u32>(LANE_BLOCKS + (j << 2));
  const start = b << 6;
  if (start + 64 <= len) return ptr + start;
  const pad = PAD + (j << 6);
  if (b >= blocks) return pad;
  memory.fill(pad, 0, 64);
  const rest = <i32>(len - start); // -8..63: negative when 0x80 fell in the previous block
  if (rest > 0) memory.copy(pad, ptr + start, rest);
  if (rest >= 0) store<u8>(pad + rest, 0x80);
  if (b + 1 == blocks) store<u64>(pad + 56, bswap<u64>(<u64>len << 3));
  return pad;
}

/**
 * SHA-256 of n messages of any lengths: table holds n (pointer, length) pairs of u32, message i
 * is memory[pointer, pointer + length), and its digest goes to out + 32i. Writes up to
 * 32 * (n rounded up to 4) bytes from out.
 */
export function hashMany(table: usize, n: u32, out: usize): void {
  for (let i: u32 = 0; i < n; i += 4) {
    if (n - i < SCALAR_TAIL) {
      // A short tail: the scalar path, message by message, beats a pass with idle lanes.
      for (; i < n; i++) hashOne(load<u32>(table + (i << 3)), load<u32>(table + (i << 3), 4), out + (i << 5));
      return;
    }
    let maxBlocks: u32 = 0;
    for (let j: u32 = 0; j < 4; j++) {
      let ptr: u32 = 0;
      let len: u32 = 0;
      let blocks: u32 = 0;
      if (i + j < n) {
        ptr = load<u32>(table + ((i + j) << 3));
        len = load<u32>(table + ((i + j) << 3), 4);
        blocks = (len + 72) >> 6;
      }
      store<u32>(LANE_PTR + (j << 2), ptr);
      store<u32>(LANE_LEN + (j << 2), len);
      store<u32>(LANE_BLOCKS + (j << 2), blocks);
      if (blocks > maxBlocks) maxBlocks = blocks;
    }
    initState();
    const blockCounts = v128.load(LANE_BLOCKS);
    for (let b: u32 = 0; b < maxBlocks; b++) {
      loadBlocks(blockOf(0, b), blockOf(1, b), blockOf(2, b), blockOf(3, b));
      compress(i32x4.gt_u(blockCounts, i32x4.splat(b)));
    }
    storeDigests(out + (i << 5));
  }
}

/**
 * RFC 6962 node hashes of one tree level: SHA-256(0x01 || pair i) for n contiguous 64-byte
 * pairs from pairs (which must not be 0: the byte before it is read), digest i to out + 32i.
 * Reads up to 64 * (n rounded up to 4) bytes from pairs and writes 32 * that from out.
 */
export function hashNodes(pairs: usize, n: u32, out: usize): void {
  const ones = i32x4.splat(-1);
  for (let i: u32 = 0; i < n; i += 4) {
    const p = pairs + (i << 6);
    if (n - i < SCALAR_TAIL) {
      store<u8>(NODE1, 1);
      for (; i < n; i++) {
        memory.copy(NODE1 + 1, pairs + (i << 6), 64);
        hashOne(NODE1, 65, out + (i << 5));
      }
      return;
    }
    initState();
    // Block 1: 0x01 || pair[0..63): word t is bytes 4t-1..4t+2, so load one byte early and put
    // 0x01 in place of the byte before the pair.
    for (let k: usize = 0; k < 64; k += 16) {
      storeTransposed(k >> 2, v128.load(p + k - 1), v128.load(p + k + 63), v128.load(p + k + 127), v128.load(p + k + 191));
    }
    v128.store(W, v128.or(v128.and(v128.load(W), i32x4.splat(0x00ffffff)), i32x4.splat(0x01000000)));
    compress(ones);
    // Block 2: pair[63] || 0x80 || zeros || the bit length 65 * 8.
    let w0 = i32x4.splat(0);
    w0 = i32x4.replace_lane(w0, 0, load<u8>(p + 63));
    w0 = i32x4.replace_lane(w0, 1, load<u8>(p + 127));
    w0 = i32x4.replace_lane(w0, 2, load<u8>(p + 191));
    w0 = i32x4.replace_lane(w0, 3, load<u8>(p + 255));
    v128.store(W, v128.or(i32x4.shl(w0, 24), i32x4.splat(0x00800000)));
    memory.fill(W + 16, 0, 14 * 16);
    v128.store(W + 15 * 16, i32x4.splat(65 * 8));
    compress(ones);
    storeDigests(out + (i << 5));
  }
}
