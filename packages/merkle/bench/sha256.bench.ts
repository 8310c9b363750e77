/**
 * SHA-256 kernel benchmark: `cd packages/merkle && npx tsx bench/sha256.bench.ts`.
 * ns per hash, all measured in this run: single 65-byte node hashes (0x01 || left || right) by
 * node:crypto, @noble/hashes and the wasm kernel; then batches of 4096 node hashes (nodeHashes)
 * and of 4096 leaf hashes of 200-byte entries (leafHashes) by each kernel, the Hasher's
 * hashChildren and hashLeaf on the fast hasher, and the wasm module's scalar one-message path
 * against one four-lane pass.
 */
import crypto from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { SHA256_WASM_BASE64 } from '../src/generated/sha256-wasm.js';
import { fallbackSha256Kernel, fastHasher, Hasher, type Sha256Kernel, wasmSha256Kernel } from '../src/index.js';

const BATCH = 4096;

/** Best ns per item over a few rounds of f, which does `items` hashes. */
function measure(items: number, f: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 7; round++) {
    const reps = Math.max(1, Math.round(200_000 / items));
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) f();
    const ns = Number(process.hrtime.bigint() - t0) / (reps * items);
    if (round > 0) best = Math.min(best, ns); // round 0 warms up
  }
  return best;
}

const wasm = wasmSha256Kernel();
if (wasm === undefined) throw new Error('no WebAssembly SIMD here');
const nodeSha256 = (d: Uint8Array): Uint8Array => crypto.hash('sha256', d, 'buffer');
const kernels: Sha256Kernel[] = [fallbackSha256Kernel(nodeSha256, 'node:crypto'), fallbackSha256Kernel(nobleSha256), wasm];

const node = crypto.randomBytes(65);
node[0] = 1;
const pairs = crypto.randomBytes(64 * BATCH);
const entries = Array.from({ length: BATCH }, () => crypto.randomBytes(200));
const out = new Uint8Array(32 * BATCH);
const row = (what: string, ns: number): void => console.log(`${what.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/hash`);

for (const k of kernels)
  row(
    `${k.name} single 65-byte sha256`,
    measure(1, () => k.sha256(node)),
  );
for (const k of kernels)
  row(
    `${k.name} nodeHashes x${BATCH}`,
    measure(BATCH, () => k.nodeHashes(pairs, out)),
  );
for (const k of kernels)
  row(
    `${k.name} leafHashes x${BATCH} (200 B)`,
    measure(BATCH, () => k.leafHashes(entries, out)),
  );
const fast = fastHasher();
const nodeHasher = new Hasher(nodeSha256);
const left = pairs.subarray(0, 32);
const right = pairs.subarray(32, 64);
row(
  'Hasher(node:crypto).hashChildren',
  measure(1, () => nodeHasher.hashChildren(left, right)),
);
row(
  `fastHasher (${fast.kernel.name}).hashChildren`,
  measure(1, () => fast.hashChildren(left, right)),
);
row(
  'Hasher(node:crypto).hashLeaf (200 B)',
  measure(1, () => nodeHasher.hashLeaf(entries[0]!)),
);
row(
  `fastHasher (${fast.kernel.name}).hashLeaf (200 B)`,
  measure(1, () => fast.hashLeaf(entries[0]!)),
);
// The module's exports called directly, without the JavaScript side: one message by the scalar
// path (hashOne) against one four-lane pass (hashMany of four messages of that length, the cost
// a single message had when it took a whole pass), per message length.
const raw = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(SHA256_WASM_BASE64, 'base64')), {}).exports as {
  memory: WebAssembly.Memory;
  ioBase(): number;
  hashMany(table: number, n: number, out: number): void;
  hashOne(ptr: number, len: number, out: number): void;
};
const io = raw.ioBase();
for (const len of [65, 201]) {
  const mem = new DataView(raw.memory.buffer);
  for (let j = 0; j < 4; j++) {
    mem.setUint32(io + 8 * j, io + 256 + 256 * j, true);
    mem.setUint32(io + 8 * j + 4, len, true);
  }
  const oneNs = measure(1, () => raw.hashOne(io + 256, len, io + 128));
  const passNs = measure(1, () => raw.hashMany(io, 4, io + 128));
  row(`wasm hashOne (scalar), ${len} B`, oneNs);
  row(`wasm one 4-lane pass (hashMany x4), ${len} B`, passNs);
  console.log(`  scalar / 4-lane pass at ${len} B: ${(oneNs / passNs).toFixed(2)}`);
}

const t0 = process.hrtime.bigint();
for (let i = 0; i < 100; i++) wasmSha256Kernel();
console.log(`wasmSha256Kernel() (compile + instantiate): ${(Number(process.hrtime.bigint() - t0) / 100 / 1000).toFixed(0)} µs`);
