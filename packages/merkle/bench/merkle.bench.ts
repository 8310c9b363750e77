/**
 * Merkle benchmark, side by side with Go's golang.org/x/mod/sumdb/tlog in the same run:
 * `pnpm --filter @tlog/merkle bench` (BENCH_QUICK=1: 200,000 leaves and 20,000 proofs).
 *
 * (1) append 1,000,000 leaves of 200 bytes (completed nodes stored in per-level flat arrays) and
 *     compute the root;
 * (2) 100,000 inclusion proofs at size 1,000,000 for index (i*7919) % 1e6, each made and verified;
 * (3) 100,000 consistency proofs from size ((i*7919) % 1e6) + 1 to 1,000,000, each made and
 *     verified (the older roots, which a verifier already holds, are computed untimed).
 *
 * go/tlogbench.go does the same work with tlog.StoredHashes/TreeHash, ProveRecord/CheckRecord and
 * ProveTree/CheckTree. It is built untimed and run just before our phases; both sides must reach
 * the same root and the same number of proof hashes, or the bench fails. Without Go (or Debian's
 * x/mod source) the Go column is skipped and our figures are still printed.
 */
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CompactTree,
  type ConsistencyClaim,
  fastHasher,
  type Hash,
  Hasher,
  type InclusionClaim,
  type NodeId,
  proveConsistencySync,
  proveInclusionSync,
  type SyncNodeReader,
  toHex,
  treeRootSync,
  verifyConsistencies,
  verifyInclusions,
} from '../src/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 200_000 : 1_000_000;
const PROOFS = QUICK ? 20_000 : 100_000;
const ENTRY_SIZE = 200;

/**
 * The hasher every timed phase uses: the one place to choose it. The WebAssembly SIMD kernel for
 * batches and for single hashes (its scalar path beats a node:crypto call for a node hash), as the
 * server and the Node client use it.
 */
const hasher = fastHasher();
/** One node:crypto call per hash: the info rows. */
const nodeHasher = new Hasher((d) => crypto.hash('sha256', d, 'buffer'));
/** How many leaves, or proofs, go to the hasher at once. */
const CHUNK = 4096;

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
  leafHash(index: number): Hash {
    return this.levels[0]!.subarray(index * 32, index * 32 + 32);
  }
}

/** The entries, made before timing starts: 4-byte big-endian i, then 196 bytes of i & 0xff (as go/tlogbench.go). */
function entries(): Uint8Array[] {
  const out: Uint8Array[] = new Array(N);
  for (let i = 0; i < N; i++) {
    const e = new Uint8Array(ENTRY_SIZE);
    new DataView(e.buffer).setUint32(0, i);
    e.fill(i & 0xff, 4);
    out[i] = e;
  }
  return out;
}

/** The proof indexes of phase 2 and the older sizes of phase 3 (as go/tlogbench.go). */
const proofIndex = (i: number): number => (i * 7919) % N;
const oldSize = (i: number): number => proofIndex(i) + 1;

// The phases: each a small function over the public API, timed by `timed`.

/** Phase 1: append every entry, keeping completed nodes in the store; returns the tree and its root. */
function appendAll(h: Hasher, data: readonly Uint8Array[], store: FlatStore): { tree: CompactTree; root: Hash } {
  const tree = new CompactTree(0, [], h);
  const levels = store.levels;
  const keep = (level: number, index: number, hash: Hash) => levels[level]!.set(hash, index * 32);
  for (let i = 0; i < data.length; i += CHUNK) tree.pushMany(h.hashLeaves(data.slice(i, i + CHUNK)), keep);
  return { tree, root: tree.root() };
}

/** Phase 2: inclusion proofs at size N, made and verified; returns the number of proof hashes. */
function inclusionProofs(h: Hasher, store: FlatStore, root: Hash): number {
  let hashes = 0;
  for (let i = 0; i < PROOFS; i += CHUNK) {
    const claims: InclusionClaim[] = [];
    for (let j = i; j < Math.min(PROOFS, i + CHUNK); j++) {
      const index = proofIndex(j);
      const proof = proveInclusionSync(store, index, N, h);
      hashes += proof.length;
      claims.push({ index, size: N, leafHash: store.leafHash(index), proof, root });
    }
    verifyInclusions(claims, h);
  }
  return hashes;
}

/** Phase 3: consistency proofs to size N, made and verified against the older roots; returns the number of proof hashes. */
function consistencyProofs(h: Hasher, store: FlatStore, root: Hash, oldRoots: readonly Hash[]): number {
  let hashes = 0;
  for (let i = 0; i < PROOFS; i += CHUNK) {
    const claims: ConsistencyClaim[] = [];
    for (let j = i; j < Math.min(PROOFS, i + CHUNK); j++) {
      const proof = proveConsistencySync(store, oldSize(j), N, h);
      hashes += proof.length;
      claims.push({ size1: oldSize(j), size2: N, proof, root1: oldRoots[j]!, root2: root });
    }
    verifyConsistencies(claims, h);
  }
  return hashes;
}

function timed<T>(run: () => T): { seconds: number; value: T } {
  const t0 = performance.now();
  const value = run();
  return { seconds: (performance.now() - t0) / 1000, value };
}

/** What go/tlogbench.go prints; the proof phases only when asked for. */
interface GoResult {
  go: string;
  n: number;
  proofs: number;
  append: number;
  inclusion?: number;
  consistency?: number;
  root: string;
  inclusionHashes?: number;
  consistencyHashes?: number;
}

const GOPATH = '/usr/share/gocode';
const INSTALL = 'apt-get install golang-go golang-golang-x-mod-dev';

/** Go's side: runs go/tlogbench.go's phase 1, 2 or 3 (phase 1 always runs first, as the proofs need its tree). */
type GoRunner = (phase: 1 | 2 | 3) => Promise<GoResult>;

/** Builds go/tlogbench.go into `dir` (untimed); a string says why Go is skipped. */
function buildGo(dir: string): GoRunner | string {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error) return `no \`go\` command on PATH (${(version.error as NodeJS.ErrnoException).code ?? version.error.message})`;
  const xmod = join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog');
  if (!existsSync(xmod)) return `no golang.org/x/mod source at ${xmod}`;
  const bin = join(dir, 'tlogbench');
  const src = join(dirname(fileURLToPath(import.meta.url)), 'go', 'tlogbench.go');
  const build = spawnSync('go', ['build', '-o', bin, src], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '' },
  });
  if (build.status !== 0) throw new Error(`go build of ${src} failed (${version.stdout.trim()}):\n${build.stderr}`);
  return async (phase) => {
    const args = ['-n', String(N), '-proofs', String(PROOFS), '-phases', String(phase)];
    const { stdout } = await promisify(execFile)(bin, args, { maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout) as GoResult;
    if (r.n !== N || r.proofs !== PROOFS) throw new Error(`tlogbench ran n=${r.n} proofs=${r.proofs}, asked n=${N} proofs=${PROOFS}`);
    return r;
  };
}

/** Fails loudly when Go's side did other work than ours. */
function sameWork(what: string, ours: string | number, go: string | number | undefined): void {
  if (ours !== go) throw new Error(`Go's sumdb/tlog and ours did different work: ${what} is ${ours} here, ${go} in Go`);
}

console.log(
  `merkle benchmark (${QUICK ? 'quick' : 'full'}; node ${process.version}): ${N.toLocaleString('en')} leaves of ${ENTRY_SIZE} bytes, ${PROOFS.toLocaleString('en')} proofs`,
);

// Each Go phase runs just before ours, so that both sides of a ratio see the machine alike.
const goDir = await mkdtemp(join(tmpdir(), 'tlogbench-go-'));
process.once('exit', () => rmSync(goDir, { recursive: true, force: true }));
const go = buildGo(goDir);
const runGo = async (phase: 1 | 2 | 3) => (typeof go === 'string' ? undefined : await go(phase));

const go1 = await runGo(1);
const data = entries();
const store = new FlatStore(N);
const p1 = timed(() => appendAll(hasher, data, store));
const { root, tree } = p1.value;
if (toHex(treeRootSync(store, N, hasher)) !== toHex(root)) throw new Error('stored nodes disagree with the compact tree root');
const oldRoots = Array.from({ length: PROOFS }, (_, i) => treeRootSync(store, oldSize(i), hasher));
// As the log server makes them: the incomplete right-edge subtrees of the current size are kept
// (NodeReader.rangeHash), so making a proof reads stored nodes and hashes nothing.
const rightEdge = { size: N, ranges: tree.rightEdgeRanges() };

const go2 = await runGo(2);
const p2 = timed(() => inclusionProofs(hasher, store, root));
store.rightEdge = rightEdge;
const p2edge = timed(() => inclusionProofs(hasher, store, root));
store.rightEdge = undefined;

const go3 = await runGo(3);
const p3 = timed(() => consistencyProofs(hasher, store, root, oldRoots));
store.rightEdge = rightEdge;
const p3edge = timed(() => consistencyProofs(hasher, store, root, oldRoots));
store.rightEdge = undefined;

// Info: phase 1 with one node:crypto call per hash, and with pure-JS @noble/hashes, against Go's phase 1 above.
const viaNode = timed(() => appendAll(nodeHasher, data, new FlatStore(N)));
if (toHex(viaNode.value.root) !== toHex(root)) throw new Error('the wasm and node:crypto hashers disagree');
const pure = timed(() => appendAll(new Hasher(), data, new FlatStore(N)));
if (toHex(pure.value.root) !== toHex(root)) throw new Error('the wasm and @noble/hashes hashers disagree');

for (const g of [go1, go2, go3]) if (g) sameWork('the root', toHex(root), g.root);
if (go2) sameWork('the number of inclusion proof hashes', p2.value, go2.inclusionHashes);
if (go3) sameWork('the number of consistency proof hashes', p3.value, go3.consistencyHashes);

const k = (n: number) => `${n >= 1000 ? `${n / 1000}k` : n}`;
const size = N >= 1_000_000 ? `${N / 1_000_000}M` : k(N);
const rows: [string, number, number | undefined][] = [
  [`1. append ${size} leaves + root`, p1.seconds, go1?.append],
  [`2. ${k(PROOFS)} inclusion proofs made + verified at size ${size}`, p2.seconds, go2?.inclusion],
  [`3. ${k(PROOFS)} consistency proofs made + verified, to size ${size}`, p3.seconds, go3?.consistency],
  ['2. again, right edge kept (as the server does)', p2edge.seconds, go2?.inclusion],
  ['3. again, right edge kept (as the server does)', p3edge.seconds, go3?.consistency],
  ['1. again, node:crypto one call per hash', viaNode.seconds, go1?.append],
  ['1. again, pure-JS @noble/hashes', pure.seconds, go1?.append],
];
console.log(
  typeof go === 'string'
    ? `\nGo comparison skipped: ${go} (${INSTALL})`
    : `\nGo side: golang.org/x/mod/sumdb/tlog, ${go1!.go}, each phase run just before ours; same root ${toHex(root)}`,
);
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`\n${'phase'.padEnd(w)}  ${'ours (s)'.padStart(8)}  ${'Go (s)'.padStart(8)}  ours/Go`);
for (const [name, ours, goSeconds] of rows) {
  const g = goSeconds === undefined ? '-' : goSeconds.toFixed(2);
  const ratio = goSeconds === undefined ? '-' : (ours / goSeconds).toFixed(2);
  console.log(`${name.padEnd(w)}  ${ours.toFixed(2).padStart(8)}  ${g.padStart(8)}  ${ratio.padStart(7)}`);
}

// Untimed: the hashes each phase needs (proofs made without the right edge, and verified), and
// what one node:crypto hash costs here, to put the figures in context.
let count = 0;
const counting = new Hasher((d) => {
  count++;
  return crypto.hash('sha256', d, 'buffer');
});
inclusionProofs(counting, store, root);
const inclusionHashes = count;
count = 0;
consistencyProofs(counting, store, root, oldRoots);
const consistencyHashes = count;
const pairs = crypto.randomBytes(64 * CHUNK);
const perCall =
  timed(() => {
    for (let i = 0; i < 200_000; i++) nodeHasher.hashChildren(pairs.subarray(0, 32), pairs.subarray(32, 64));
  }).seconds / 200_000;
const perBatched =
  timed(() => {
    for (let i = 0; i < 50; i++) hasher.hashNodes(pairs);
  }).seconds /
  (50 * CHUNK);
const floor = (hashes: number): string =>
  `${hashes.toLocaleString('en')} hashes: ${(hashes * perCall).toFixed(2)} s one node:crypto call each, ${(hashes * perBatched).toFixed(2)} s batched in wasm`;
console.log(
  `\nfloors (a node hash costs ${(perCall * 1e6).toFixed(2)} µs as one node:crypto call, ${(perBatched * 1e6).toFixed(3)} µs batched in the wasm kernel (${hasher.kernel.name}) here):`,
);
console.log(`  phase 1: ${floor(2 * N)} (one leaf and about one node hash per entry; leaf inputs are 201 bytes, a bit dearer)`);
console.log(`  phase 2: ${floor(inclusionHashes)} (making and verifying; avg proof ${(p2.value / PROOFS).toFixed(1)} hashes)`);
console.log(`  phase 3: ${floor(consistencyHashes)} (making and verifying; avg proof ${(p3.value / PROOFS).toFixed(1)} hashes)`);
