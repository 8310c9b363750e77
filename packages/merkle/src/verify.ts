/**
 * Verifying inclusion and consistency proofs, of whole trees and of subtrees, with one algorithm:
 * transparency-dev/merkle's (proof/verify.go). A proof is split where the path from its leaf (or
 * from the old tree's last leaf) meets the path from the tree's last leaf: below that point
 * ("inner") each proof hash is a sibling on the left or the right, as the index's bits say;
 * above it ("border") every proof hash is a left sibling on the tree's right edge. Making proofs
 * is prove.ts.
 *
 * Every input is data here: whatever is wrong (a negative index, a short hash, a proof of the
 * wrong length, a root that does not match) is a ProofError, or its subclass RootMismatchError,
 * since a verifier's caller branches on "does not verify", whatever the reason.
 */
import { bytesEqual } from './encoding.js';
import { checkInteger, ProofError, RootMismatchError } from './errors.js';
import { defaultHasher, HASH_SIZE, type Hash, type Hasher } from './hash.js';
import { bitCeil, bitLengthXor, POW2, popcount, shiftRight, trailingZeros } from './treemath.js';

function proofNumber(n: number, what: string): number {
  return checkInteger(n, what, ProofError);
}

function proofHash(h: Hash, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new ProofError(`${what} must be a ${HASH_SIZE}-byte hash, got ${h instanceof Uint8Array ? `${h.length} bytes` : typeof h}`);
  }
}

function proofBytes(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array)) throw new ProofError(`${what} must be a Uint8Array, got ${h === null ? 'null' : typeof h}`);
}

function proofArray(proof: readonly Hash[]): void {
  if (!Array.isArray(proof)) throw new ProofError('proof must be an array of hashes');
}

function proofHashes(proof: readonly Hash[]): void {
  proofArray(proof);
  for (let i = 0; i < proof.length; i++) proofHash(proof[i]!, `proof[${i}]`);
}

// ---------------------------------------------------------------------------------------------
// transparency-dev/merkle's decomposition and chain helpers, over proof[from, to) without slicing.

/**
 * decompInclProof: the lengths [inner, border] of the inclusion proof of leaf `index` in a tree
 * of `size` leaves. inner is the height at which the paths to `index` and to `size - 1` meet;
 * border counts the left siblings above it. Requires index < size.
 */
function decompInclProof(index: number, size: number): [inner: number, border: number] {
  const inner = bitLengthXor(index, size - 1);
  return [inner, popcount(shiftRight(index, inner))];
}

// A proof is planned into paths, then the paths are hashed. Planning checks the proof's shape
// and hashes nothing; a path is a seed and the siblings to hash it with, each on the left or the
// right. runPath hashes one path with Hasher.hashChildren; runPaths hashes many together, round
// by round, one Hasher.hashNodes call per round across every path, so a batch kernel hashes the
// same step of every proof at once. One algorithm either way.

/**
 * A path up the tree: from `seed`, hash with each sibling in turn; sibling r is on the left where
 * bit r of `left` is set. Paths have at most 53 steps (sizes are below 2^53), so `left` is an exact
 * integer.
 */
interface Path {
  readonly seed: Hash;
  readonly siblings: readonly Hash[];
  readonly left: number;
}

/** An inclusion proof's path, made without copying the proof: all of it in order, below `inner` sided by index's bits, above it left siblings. */
function inclusionSteps(seed: Hash, proof: readonly Hash[], inner: number, index: number): Path {
  return { seed, siblings: proof, left: (index % POW2[inner]!) + (POW2[proof.length]! - POW2[inner]!) };
}

/** Builds a path step by step from the chains of a proof. */
class HashPath {
  private readonly siblings: Hash[] = [];
  private left = 0;

  constructor(private readonly seed: Hash) {}

  /** The path built (a plain object of one shape for every path, which keeps runPaths' reads monomorphic). */
  path(): Path {
    return { seed: this.seed, siblings: this.siblings, left: this.left };
  }

  private step(sibling: Hash, onLeft: boolean): void {
    if (onLeft) this.left += POW2[this.siblings.length]!;
    this.siblings.push(sibling);
  }

  /** chainInner: up through proof[from, to), each hash a right sibling where index's bit is 0, a left one where it is 1. */
  inner(proof: readonly Hash[], from: number, to: number, index: number): this {
    for (let i = from; i < to; i++) {
      this.step(proof[i]!, index % 2 === 1);
      index = Math.floor(index / 2);
    }
    return this;
  }

  /** chainInnerRight: as inner, taking only the left siblings: the same subtree in the older, smaller tree. */
  innerRight(proof: readonly Hash[], from: number, to: number, index: number): this {
    for (let i = from; i < to; i++) {
      if (index % 2 === 1) this.step(proof[i]!, true);
      index = Math.floor(index / 2);
    }
    return this;
  }

  /** chainBorderRight: up the tree's right border, every proof[from, to) hash a left sibling. */
  border(proof: readonly Hash[], from: number, to: number): this {
    for (let i = from; i < to; i++) this.step(proof[i]!, true);
    return this;
  }
}

/** The hash a path leads to, one node hash at a time. */
function runPath(path: Path, hasher: Hasher): Hash {
  let h = path.seed;
  let left = path.left;
  const { siblings } = path;
  for (let i = 0; i < siblings.length; i++) {
    const bit = left % 2;
    left = (left - bit) / 2;
    h = bit === 1 ? hasher.hashChildren(siblings[i]!, h) : hasher.hashChildren(h, siblings[i]!);
  }
  return h;
}

/** Words (uint32) per hash: the rounds copy hashes a word at a time, making no view per copy. */
const WORDS = HASH_SIZE / 4;
/** Paths hashed together at most: bounds the buffers (about 1.3 KB a path) and keeps them in cache. */
const PATHS_PER_RUN = 4096;

/** The hashes the paths lead to, in order: runPathGroup on groups of at most PATHS_PER_RUN paths. */
function runPaths(paths: readonly Path[], hasher: Hasher): Hash[] {
  if (paths.length <= PATHS_PER_RUN) return runPathGroup(paths, hasher);
  const out: Hash[] = [];
  for (let i = 0; i < paths.length; i += PATHS_PER_RUN) {
    for (const h of runPathGroup(paths.slice(i, i + PATHS_PER_RUN), hasher)) out.push(h);
  }
  return out;
}

/**
 * The hashes the paths lead to, hashed round by round: round r is step r of every path that
 * long, in one kernel call. The paths are taken longest first, so those still going in a round
 * are a prefix, and slot j of the running hashes is the j-th of them: a round's output is the
 * next round's input as it stands. Each path's siblings and sides are first laid out by round,
 * so every round reads them in order from one buffer, a word at a time.
 */
function runPathGroup(paths: readonly Path[], hasher: Hasher): Hash[] {
  const n = paths.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => paths[y]!.siblings.length - paths[x]!.siblings.length);
  const rounds = n === 0 ? 0 : paths[order[0]!]!.siblings.length;
  // Round r has active[r] paths, its siblings from slot roundAt[r] of the layout.
  const active = new Array<number>(rounds);
  const roundAt = new Array<number>(rounds);
  let slots = 0;
  for (let r = 0, m = n; r < rounds; r++) {
    while (paths[order[m - 1]!]!.siblings.length <= r) m--;
    active[r] = m;
    roundAt[r] = slots;
    slots += m;
  }
  const sib = new Uint8Array(slots * HASH_SIZE);
  const sides = new Uint8Array(slots);
  let cur = new Uint8Array(n * HASH_SIZE);
  for (let j = 0; j < n; j++) {
    const p = paths[order[j]!]!;
    cur.set(p.seed, j * HASH_SIZE);
    let left = p.left;
    for (let r = 0; r < p.siblings.length; r++) {
      const at = roundAt[r]! + j;
      sib.set(p.siblings[r]!, at * HASH_SIZE);
      const bit = left % 2;
      sides[at] = bit;
      left = (left - bit) / 2;
    }
  }
  const sib32 = new Uint32Array(sib.buffer);
  let next = new Uint8Array(n * HASH_SIZE);
  const input = new Uint8Array(n * 2 * HASH_SIZE);
  const input32 = new Uint32Array(input.buffer);
  const results = new Array<Hash>(n);
  let done = n; // paths [done, n) of `order` have their final hash
  for (let r = 0; r < rounds; r++) {
    const m = active[r]!;
    for (; done > m; done--) results[order[done - 1]!] = cur.slice((done - 1) * HASH_SIZE, done * HASH_SIZE);
    const cur32 = new Uint32Array(cur.buffer);
    const base = roundAt[r]!;
    for (let j = 0; j < m; j++) {
      // The running hash goes right of a left sibling, else left; the sibling fills the other half.
      const bit = sides[base + j]!;
      const s = (base + j) * WORDS;
      const c = j * WORDS;
      const sibAt = (2 * j + 1 - bit) * WORDS;
      const curAt = (2 * j + bit) * WORDS;
      for (let w = 0; w < WORDS; w++) {
        input32[sibAt + w] = sib32[s + w]!;
        input32[curAt + w] = cur32[c + w]!;
      }
    }
    hasher.kernel.nodeHashes(input.subarray(0, m * 2 * HASH_SIZE), next);
    [cur, next] = [next, cur];
  }
  for (; done > 0; done--) results[order[done - 1]!] = cur.slice((done - 1) * HASH_SIZE, done * HASH_SIZE);
  return results;
}

// ---------------------------------------------------------------------------------------------
// Inclusion

/**
 * The root that an inclusion proof leads to (transparency-dev/merkle RootFromInclusionProof).
 * Requires 0 <= index < size, a 32-byte leaf hash and a proof of exactly the right length;
 * throws ProofError otherwise.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Hash,
  proof: readonly Hash[],
  hasher: Hasher = defaultHasher,
): Hash {
  return runPath(inclusionPath(index, size, leafHash, proof), hasher);
}

/** rootFromInclusionProof's checks, and the path its hashing follows. */
function inclusionPath(index: number, size: number, leafHash: Hash, proof: readonly Hash[]): Path {
  proofNumber(index, 'index');
  proofNumber(size, 'tree size');
  if (index >= size) throw new ProofError(`index ${index} is not in a tree of size ${size}: need 0 <= index < size`);
  proofHash(leafHash, 'leaf hash');
  proofHashes(proof);
  const [inner, border] = decompInclProof(index, size);
  if (proof.length !== inner + border) {
    throw new ProofError(
      `an inclusion proof for index ${index} in a tree of size ${size} has ${inner + border} hashes, got ${proof.length}`,
    );
  }
  return inclusionSteps(leafHash, proof, inner, index);
}

/**
 * Verifies that `leafHash` is leaf `index` of the tree of `size` leaves whose root is `root`
 * (RFC 9162 §2.1.3.2, as transparency-dev/merkle VerifyInclusion). Requires 0 <= index < size.
 * Throws ProofError if the proof is malformed, RootMismatchError if it leads to another root;
 * returns nothing on success.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Hash,
  proof: readonly Hash[],
  root: Hash,
  hasher: Hasher = defaultHasher,
): void {
  proofHash(root, 'root');
  checkInclusionRoot({ index, size, leafHash, proof, root }, runPath(inclusionPath(index, size, leafHash, proof), hasher));
}

/** One inclusion proof to check with {@link verifyInclusions}: verifyInclusion's arguments. */
export interface InclusionClaim {
  readonly index: number;
  readonly size: number;
  readonly leafHash: Hash;
  readonly proof: readonly Hash[];
  readonly root: Hash;
}

/**
 * Verifies many inclusion proofs: verifyInclusion for each claim, with the same checks and
 * errors (a malformed claim is refused before any hashing; then the first claim, in order, whose
 * root differs throws), but the proofs are hashed together, one Hasher.hashNodes call per level
 * across every proof, which a batch kernel computes several hashes at a time. For receipts,
 * search results, audits.
 */
export function verifyInclusions(claims: readonly InclusionClaim[], hasher: Hasher = defaultHasher): void {
  if (!Array.isArray(claims)) throw new ProofError('claims must be an array');
  const paths = claims.map((c) => {
    proofHash(c.root, 'root');
    return inclusionPath(c.index, c.size, c.leafHash, c.proof);
  });
  const roots = runPaths(paths, hasher);
  for (let i = 0; i < claims.length; i++) checkInclusionRoot(claims[i]!, roots[i]!);
}

/** RootMismatchError unless the root a claim's proof leads to is the claimed one. */
function checkInclusionRoot(c: InclusionClaim, computed: Hash): void {
  if (!bytesEqual(computed, c.root))
    throw new RootMismatchError(c.root, computed, `inclusion proof for index ${c.index} in tree size ${c.size}`);
}

/**
 * A subtree [start, end) is valid when some node of a large enough tree covers exactly it plus
 * possibly extra leaves to its right: start is a multiple of bitCeil(end - start).
 */
function checkSubtree(start: number, end: number): void {
  if (start >= end) throw new ProofError(`subtree [${start}, ${end}) is empty or reversed: need start < end`);
  if (start !== 0 && start % bitCeil(end - start) !== 0) {
    throw new ProofError(
      `subtree [${start}, ${end}) is not valid: start must be a multiple of ${bitCeil(end - start)}, the smallest power of two >= end - start`,
    );
  }
}

/**
 * Verifies that `leafHash` is leaf `index` of the subtree [start, end) whose hash is `root`
 * (transparency-dev/merkle VerifySubtreeInclusion). Requires a valid subtree
 * (0 <= start < end, start a multiple of bitCeil(end - start)) and start <= index < end.
 * The proof is the inclusion proof of leaf index - start in a tree of end - start leaves.
 * Throws ProofError / RootMismatchError.
 */
export function verifySubtreeInclusion(
  index: number,
  start: number,
  end: number,
  leafHash: Hash,
  proof: readonly Hash[],
  root: Hash,
  hasher: Hasher = defaultHasher,
): void {
  proofNumber(index, 'index');
  proofNumber(start, 'subtree start');
  proofNumber(end, 'subtree end');
  checkSubtree(start, end);
  if (index < start || index >= end) throw new ProofError(`index ${index} is outside subtree [${start}, ${end})`);
  proofHash(root, 'subtree root');
  const computed = runPath(inclusionPath(index - start, end - start, leafHash, proof), hasher);
  if (!bytesEqual(computed, root))
    throw new RootMismatchError(root, computed, `inclusion proof for index ${index} in subtree [${start}, ${end})`);
}

// ---------------------------------------------------------------------------------------------
// Consistency

/**
 * The paths of a consistency proof for the subtree [start, end) of the tree of `size` leaves:
 * `root` leads to that tree's root and `old`, when the subtree is not perfect, must lead to
 * `subtreeRoot` (else the proof's first hash is taken as its own and needs no check).
 * transparency-dev/merkle's RootFromConsistencyProof, generalised to subtrees as its
 * VerifySubtreeConsistency; with start = 0 it is an ordinary consistency proof from size `end`.
 * Requires a valid subtree with end < size, or 0 < start and end = size; 32-byte hashes; a
 * non-empty proof (the caller handles the cases whose proof is empty).
 */
function consistencyPaths(
  start: number,
  end: number,
  size: number,
  proof: readonly Hash[],
  subtreeRoot: Hash,
  what: string,
): { readonly old?: Path; readonly root: Path } {
  if (end === size) {
    // The subtree is on the right edge: its ancestors' left siblings lead to the root.
    const level = bitLengthXor(end - 1, start);
    const want = popcount(shiftRight(start, level));
    if (proof.length !== want) throw new ProofError(`a ${what} has ${want} hashes, got ${proof.length}`);
    return { root: new HashPath(subtreeRoot).border(proof, 0, proof.length).path() };
  }
  // The proof is a suffix of the inclusion proof of leaf end - 1 in the tree of `size`, from the
  // level where the subtree's largest perfect part sits (`shift`), preceded by that part's hash
  // unless the subtree is itself perfect and so needs none.
  const [forkLevel, border] = decompInclProof(end - 1, size);
  const shift = trailingZeros(end - start);
  const inner = forkLevel - shift; // shift < forkLevel since end < size
  const perfect = end - start === 2 ** shift;
  const p0 = perfect ? 0 : 1;
  const seed = perfect ? subtreeRoot : proof[0]!;
  if (proof.length !== p0 + inner + border) throw new ProofError(`a ${what} has ${p0 + inner + border} hashes, got ${proof.length}`);
  const mask = shiftRight(end - 1, shift);
  const root = new HashPath(seed)
    .inner(proof, p0, p0 + inner, mask)
    .border(proof, p0 + inner, proof.length)
    .path();
  if (perfect) return { root };
  // Rebuild the subtree's own hash from the proof's hashes that lie inside it: the left siblings
  // below the subtree's top (height h above the leaves), and the border hashes under it.
  const h = bitLengthXor(end - 1, start);
  const subInner = Math.min(h, forkLevel) - shift;
  const subBorder = Math.max(0, border - popcount(shiftRight(end - 1, h)));
  const old = new HashPath(seed)
    .innerRight(proof, p0, p0 + subInner, mask)
    .border(proof, p0 + inner, p0 + inner + subBorder)
    .path();
  return { old, root };
}

/** The root a consistency proof leads to, after checking that it also rebuilds subtreeRoot (RootMismatchError if not). */
function rootFromConsistencyProof(
  hasher: Hasher,
  start: number,
  end: number,
  size: number,
  proof: readonly Hash[],
  subtreeRoot: Hash,
  what: string,
): Hash {
  const paths = consistencyPaths(start, end, size, proof, subtreeRoot, what);
  if (paths.old !== undefined) {
    const hash1 = runPath(paths.old, hasher);
    if (!bytesEqual(hash1, subtreeRoot))
      throw new RootMismatchError(subtreeRoot, hash1, `${what} (${start === 0 ? 'old' : 'subtree'} root)`);
  }
  return runPath(paths.root, hasher);
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1`
 * leaves with root `root1` (RFC 9162 §2.1.4.2, as transparency-dev/merkle VerifyConsistency).
 * Requires 0 < size1 <= size2; for equal sizes the proof must be empty and the roots equal.
 * Throws ProofError if malformed, RootMismatchError if a computed root differs; returns nothing
 * on success.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Hash[],
  root1: Hash,
  root2: Hash,
  hasher: Hasher = defaultHasher,
): void {
  const claim = { size1, size2, proof, root1, root2 };
  const paths = consistencyCheck(claim);
  if (paths === undefined) return;
  checkConsistencyRoots(claim, paths.old === undefined ? undefined : runPath(paths.old, hasher), runPath(paths.root, hasher));
}

/** One consistency proof to check with {@link verifyConsistencies}: verifyConsistency's arguments. */
export interface ConsistencyClaim {
  readonly size1: number;
  readonly size2: number;
  readonly proof: readonly Hash[];
  readonly root1: Hash;
  readonly root2: Hash;
}

/**
 * Verifies many consistency proofs: verifyConsistency for each claim, with the same checks and
 * errors (a malformed claim, or one of equal sizes whose roots differ, is refused before any
 * hashing; then the first claim, in order, whose roots differ throws), hashed together as
 * {@link verifyInclusions} does.
 */
export function verifyConsistencies(claims: readonly ConsistencyClaim[], hasher: Hasher = defaultHasher): void {
  if (!Array.isArray(claims)) throw new ProofError('claims must be an array');
  const planned = claims.map(consistencyCheck);
  const paths: Path[] = [];
  for (const p of planned) {
    if (p === undefined) continue;
    if (p.old !== undefined) paths.push(p.old);
    paths.push(p.root);
  }
  const hashes = runPaths(paths, hasher);
  let k = 0;
  for (let i = 0; i < claims.length; i++) {
    const p = planned[i];
    if (p === undefined) continue;
    const hash1 = p.old === undefined ? undefined : hashes[k++]!;
    checkConsistencyRoots(claims[i]!, hash1, hashes[k++]!);
  }
}

/**
 * RootMismatchError unless a consistency claim's proof rebuilds its old root (`hash1`, when the
 * old tree is not perfect and so has a path of its own) and leads to its new root (`computed`).
 */
function checkConsistencyRoots(c: ConsistencyClaim, hash1: Hash | undefined, computed: Hash): void {
  const what = `consistency proof from size ${c.size1} to ${c.size2}`;
  if (hash1 !== undefined && !bytesEqual(hash1, c.root1)) throw new RootMismatchError(c.root1, hash1, `${what} (old root)`);
  if (!bytesEqual(computed, c.root2)) throw new RootMismatchError(c.root2, computed, `${what} (new root)`);
}

/** verifyConsistency's checks, and the paths its hashing follows (undefined when the claim holds without hashing). */
function consistencyCheck(c: ConsistencyClaim): { readonly old?: Path; readonly root: Path } | undefined {
  const { size1, size2, proof, root1, root2 } = c;
  proofNumber(size1, 'size1');
  proofNumber(size2, 'size2');
  if (size2 < size1) throw new ProofError(`size2 ${size2} is smaller than size1 ${size1}: a log never shrinks`);
  if (size1 === 0) {
    throw new ProofError(
      'a consistency proof from the empty tree (size1 = 0) is meaningless: every tree extends it; verify the newer checkpoint directly',
    );
  }
  proofArray(proof);
  if (size1 === size2) {
    // As transparency-dev/merkle (and its test corpus): equal trees only compare their roots.
    proofBytes(root1, 'root1');
    proofBytes(root2, 'root2');
    if (proof.length !== 0)
      throw new ProofError(`sizes are equal (${size1}) so the consistency proof must be empty, got ${proof.length} hashes`);
    if (!bytesEqual(root1, root2)) throw new RootMismatchError(root1, root2, `trees of equal size ${size1}`);
    return undefined;
  }
  proofHash(root1, 'root1');
  proofHash(root2, 'root2');
  proofHashes(proof);
  if (proof.length === 0) throw new ProofError(`empty consistency proof from size ${size1} to ${size2}`);
  return consistencyPaths(0, size1, size2, proof, root1, `consistency proof from size ${size1} to ${size2}`);
}

/**
 * Verifies that the subtree [start, end) with hash `subtreeRoot` is part of the tree of `size`
 * leaves with root `root` (transparency-dev/merkle VerifySubtreeConsistency; with start = 0 it
 * is an ordinary consistency proof). Requires a valid subtree and end <= size. An empty
 * subtree (start = end) is consistent with any tree when its hash is SHA-256("") and the proof
 * is empty. Throws ProofError / RootMismatchError.
 */
export function verifySubtreeConsistency(
  start: number,
  end: number,
  size: number,
  proof: readonly Hash[],
  subtreeRoot: Hash,
  root: Hash,
  hasher: Hasher = defaultHasher,
): void {
  proofNumber(start, 'subtree start');
  proofNumber(end, 'subtree end');
  proofNumber(size, 'tree size');
  proofArray(proof);
  if (end > size) throw new ProofError(`subtree [${start}, ${end}) does not fit in a tree of size ${size}`);
  // The shortcuts below only compare bytes, as transparency-dev/merkle does (its corpus accepts
  // any root there); everything else needs 32-byte hashes.
  proofBytes(subtreeRoot, 'subtree root');
  proofBytes(root, 'root');
  if (start === end) {
    if (proof.length !== 0)
      throw new ProofError(`subtree [${start}, ${end}) is empty so its proof must be empty, got ${proof.length} hashes`);
    const empty = hasher.emptyRoot();
    if (!bytesEqual(subtreeRoot, empty)) throw new RootMismatchError(empty, subtreeRoot, `empty subtree [${start}, ${end})`);
    return;
  }
  checkSubtree(start, end);
  if (start === 0 && end === size) {
    if (proof.length !== 0)
      throw new ProofError(`subtree [0, ${end}) is the whole tree so the proof must be empty, got ${proof.length} hashes`);
    if (!bytesEqual(subtreeRoot, root)) throw new RootMismatchError(root, subtreeRoot, `subtree [0, ${end}) of tree size ${size}`);
    return;
  }
  proofHash(subtreeRoot, 'subtree root');
  proofHash(root, 'root');
  proofHashes(proof);
  if (proof.length === 0) throw new ProofError(`empty proof for subtree [${start}, ${end}) of tree size ${size}`);
  const what = `consistency proof for subtree [${start}, ${end}) of tree size ${size}`;
  const computed = rootFromConsistencyProof(hasher, start, end, size, proof, subtreeRoot, what);
  if (!bytesEqual(computed, root)) throw new RootMismatchError(root, computed, what);
}
