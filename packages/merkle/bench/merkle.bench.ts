/**
 * Merkle benchmark: `cd packages/merkle && npx tsx bench/merkle.bench.ts`.
 *
 * (1) append 1,000,000 leaves of 200 bytes (hashLeaf + CompactTree.push, completed nodes
 *     stored in per-level flat arrays) and compute the root;
 * (2) 100,000 inclusion proofs made from that store and verified, at size 1,000,000;
 * (3) 100,000 consistency proofs made from size ((i*7919) % 1e6) + 1 to 1,000,000.
 * Then phase 1 again with the pure-JS default hasher. Go reference figures are printed beside.
 */
import crypto from 'node:crypto';
import {
  CompactTree,
  defaultHasher,
  type Hash,
  Hasher,
  type NodeId,
  proveConsistencySync,
  proveInclusionSync,
  type SyncNodeReader,
  treeRootSync,
  verifyInclusion,
} from '../src/index.js';

const N = 1_000_000;
const PROOFS = 100_000;
const GO = { append: 3.5, inclusion: 2.4, consistency: 0.9 };

/** Completed node hashes, one flat array per level (level l holds N >> l hashes). */
class FlatStore implements SyncNodeReader {
  readonly levels: Uint8Array[] = [];
  /** When set: the incomplete right-edge subtrees of one tree size, as the log server keeps them. */
  rightEdge: { size: number; ranges: ReadonlyMap<number, Hash> } | undefined;
  constructor(n: number) {
    for (let l = 0; n >> l > 0; l++) this.levels.push(new Uint8Array((n >> l) * 32));
  }
  rangeHash(start: number, end: number): Hash | undefined {
    return this.rightEdge?.size === end ? this.rightEdge.ranges.get(start) : undefined;
  }
  readNodes(ids: readonly NodeId[]): Hash[] {
    const out = new Array<Hash>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const o = id.index * 32;
      out[i] = this.levels[id.level]!.subarray(o, o + 32);
    }
    return out;
  }
}

function entries(): Uint8Array[] {
  // Distinct 200-byte entries, made before timing starts.
  const out: Uint8Array[] = new Array(N);
  for (let i = 0; i < N; i++) {
    const e = new Uint8Array(200);
    new DataView(e.buffer).setUint32(0, i);
    e.fill(i & 0xff, 4);
    out[i] = e;
  }
  return out;
}

function phase1(hasher: Hasher, data: readonly Uint8Array[]): { seconds: number; store: FlatStore; root: Hash; tree: CompactTree } {
  const store = new FlatStore(N);
  const t0 = performance.now();
  const tree = new CompactTree(0, [], hasher);
  const levels = store.levels;
  const keep = (level: number, index: number, hash: Hash) => levels[level]!.set(hash, index * 32);
  for (let i = 0; i < N; i++) tree.push(hasher.hashLeaf(data[i]!), keep);
  const root = tree.root();
  return { seconds: (performance.now() - t0) / 1000, store, root, tree };
}

function row(name: string, seconds: number, go?: number): void {
  const ratio = go ? `  (${(seconds / go).toFixed(2)}x Go ${go.toFixed(1)} s)` : '';
  console.log(`${name.padEnd(58)} ${seconds.toFixed(2).padStart(6)} s${ratio}`);
}

function floorEstimate(hasher: Hasher): number {
  // Cost of one node hash (65-byte SHA-256) through the hasher, to put the phases in context.
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const k = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < k; i++) hasher.hashChildren(a, b);
  return (performance.now() - t0) / 1000 / k;
}

const nodeHasher = new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
const data = entries();
console.log(`node ${process.version}, ${N.toLocaleString('en')} leaves of 200 bytes, ${PROOFS.toLocaleString('en')} proofs\n`);

const p1 = phase1(nodeHasher, data);
row('1. append 1M leaves + root (node:crypto)', p1.seconds, GO.append);
if (!Buffer.from(treeRootSync(p1.store, N, nodeHasher)).equals(Buffer.from(p1.root)))
  throw new Error('stored nodes disagree with the compact tree root');

function phase2(): { seconds: number; verifyHashes: number } {
  let hashes = 0;
  const t0 = performance.now();
  for (let i = 0; i < PROOFS; i++) {
    const index = (i * 7919) % N;
    const proof = proveInclusionSync(p1.store, index, N, nodeHasher);
    hashes += proof.length;
    verifyInclusion(index, N, p1.store.levels[0]!.subarray(index * 32, index * 32 + 32), proof, p1.root, nodeHasher);
  }
  return { seconds: (performance.now() - t0) / 1000, verifyHashes: hashes };
}

function phase3(): number {
  const t0 = performance.now();
  for (let i = 0; i < PROOFS; i++) proveConsistencySync(p1.store, ((i * 7919) % N) + 1, N, nodeHasher);
  return (performance.now() - t0) / 1000;
}

const p2 = phase2();
const hashes = p2.verifyHashes;
row('2. 100k inclusion proofs made + verified at size 1M', p2.seconds, GO.inclusion);
const p3 = phase3();
row('3. 100k consistency proofs made, to size 1M', p3, GO.consistency);
// As the log server makes them: the incomplete right-edge subtrees of the current size are kept
// (NodeReader.rangeHash), so making a proof reads stored nodes and hashes nothing.
p1.store.rightEdge = { size: N, ranges: p1.tree.rightEdgeRanges() };
row('2. again, right edge kept (as the server does)', phase2().seconds, GO.inclusion);
row('3. again, right edge kept (as the server does)', phase3(), GO.consistency);
p1.store.rightEdge = undefined;

const pure = phase1(defaultHasher, data);
row('1. again with defaultHasher (pure @noble/hashes)', pure.seconds, GO.append);
if (!Buffer.from(pure.root).equals(Buffer.from(p1.root))) throw new Error('hashers disagree');

// Untimed pass: how many hashes proof making itself needs (right-edge subtrees combined).
let made = 0;
const counting = new Hasher((d) => {
  made++;
  return crypto.hash('sha256', d, 'buffer');
});
for (let i = 0; i < PROOFS; i++) proveInclusionSync(p1.store, (i * 7919) % N, N, counting);
const inclMade = made;
made = 0;
for (let i = 0; i < PROOFS; i++) proveConsistencySync(p1.store, ((i * 7919) % N) + 1, N, counting);
const consMade = made;

const perHash = floorEstimate(nodeHasher);
const floor = (hashCount: number): string =>
  `${hashCount.toLocaleString('en')} hashes x ${(perHash * 1e6).toFixed(2)} µs = ${(hashCount * perHash).toFixed(2)} s`;
console.log(`\nfloors (one node:crypto SHA-256 of 65 bytes costs ${(perHash * 1e6).toFixed(2)} µs here):`);
console.log(`  phase 1: ${floor(2 * N)} (1M leaf + 1M node hashes; leaf inputs are 201 bytes, a bit dearer)`);
console.log(
  `  phase 2: ${floor(hashes + inclMade)} (${hashes.toLocaleString('en')} verifying, ${inclMade.toLocaleString('en')} making; avg proof ${(hashes / PROOFS).toFixed(1)} hashes)`,
);
console.log(`  phase 3: ${floor(consMade)} (making only; none with the right edge kept)`);
