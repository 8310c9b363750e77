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
import { bitCeil, bitLengthXor, popcount, shiftRight, trailingZeros } from './treemath.js';

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

// The chains are generators: each yields the (left, right) pair it needs hashed and resumes with
// the node hash. runSteps feeds one proof's steps to Hasher.hashChildren; runStepsMany advances
// many proofs together, one Hasher.hashNodes call per round, so a batch kernel hashes the same
// step of every proof at once. One algorithm either way.

/** A computation that yields node hashes to compute: [left, right] out, SHA-256(0x01||left||right) in. */
type HashSteps<T> = Generator<readonly [Hash, Hash], T, Hash>;

/** Runs a computation one node hash at a time. */
function runSteps<T>(steps: HashSteps<T>, hasher: Hasher): T {
  let r = steps.next();
  while (r.done !== true) r = steps.next(hasher.hashChildren(r.value[0], r.value[1]));
  return r.value;
}

/**
 * Runs many computations together: each round gathers the pending node hash of every unfinished
 * one and computes them in one Hasher.hashNodes call. A computation that throws stops the run
 * with its error.
 */
function runStepsMany<T>(all: readonly HashSteps<T>[], hasher: Hasher): T[] {
  const n = all.length;
  const results = new Array<T>(n);
  let pending: number[] = [];
  let pairs: (readonly [Hash, Hash])[] = [];
  for (let i = 0; i < n; i++) {
    const r = all[i]!.next();
    if (r.done === true) results[i] = r.value;
    else {
      pending.push(i);
      pairs.push(r.value);
    }
  }
  let buf = new Uint8Array(pending.length * 2 * HASH_SIZE);
  while (pending.length > 0) {
    const m = pending.length;
    const input = buf.subarray(0, m * 2 * HASH_SIZE);
    for (let j = 0; j < m; j++) {
      const pair = pairs[j]!;
      input.set(pair[0], 2 * j * HASH_SIZE);
      input.set(pair[1], (2 * j + 1) * HASH_SIZE);
    }
    const hashes = hasher.hashNodes(input);
    const still: number[] = [];
    const next: (readonly [Hash, Hash])[] = [];
    for (let j = 0; j < m; j++) {
      const i = pending[j]!;
      const r = all[i]!.next(hashes.subarray(j * HASH_SIZE, (j + 1) * HASH_SIZE));
      if (r.done === true) results[i] = r.value;
      else {
        still.push(i);
        next.push(r.value);
      }
    }
    pending = still;
    pairs = next;
    if (buf.length < pending.length * 2 * HASH_SIZE) buf = new Uint8Array(pending.length * 2 * HASH_SIZE);
  }
  return results;
}

/** Hashes seed up through proof[from, to): each hash is a right sibling where index's bit is 0, a left one where it is 1. */
function* chainInner(seed: Hash, proof: readonly Hash[], from: number, to: number, index: number): HashSteps<Hash> {
  for (let i = from; i < to; i++) {
    seed = yield index % 2 === 0 ? [seed, proof[i]!] : [proof[i]!, seed];
    index = Math.floor(index / 2);
  }
  return seed;
}

/** As chainInner, taking only the left siblings: the hash of the same subtree in the older, smaller tree. */
function* chainInnerRight(seed: Hash, proof: readonly Hash[], from: number, to: number, index: number): HashSteps<Hash> {
  for (let i = from; i < to; i++) {
    if (index % 2 === 1) seed = yield [proof[i]!, seed];
    index = Math.floor(index / 2);
  }
  return seed;
}

/** Hashes seed up the tree's right border: every proof[from, to) hash is a left sibling. */
function* chainBorderRight(seed: Hash, proof: readonly Hash[], from: number, to: number): HashSteps<Hash> {
  for (let i = from; i < to; i++) seed = yield [proof[i]!, seed];
  return seed;
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
  return runSteps(inclusionRoot(index, size, leafHash, proof), hasher);
}

/** rootFromInclusionProof's checks, then its hashing as steps. */
function* inclusionRoot(index: number, size: number, leafHash: Hash, proof: readonly Hash[]): HashSteps<Hash> {
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
  const res = yield* chainInner(leafHash, proof, 0, inner, index);
  return yield* chainBorderRight(res, proof, inner, proof.length);
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
  runSteps(inclusionCheck({ index, size, leafHash, proof, root }), hasher);
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
 * Verifies many inclusion proofs: exactly verifyInclusion for each claim (the same checks and
 * errors; the first claim that fails throws), but the proofs are hashed together, level by level,
 * one Hasher.hashNodes call per level across every proof, which a batch kernel computes several
 * hashes at a time. For receipts, search results, audits.
 */
export function verifyInclusions(claims: readonly InclusionClaim[], hasher: Hasher = defaultHasher): void {
  if (!Array.isArray(claims)) throw new ProofError('claims must be an array');
  runStepsMany(claims.map(inclusionCheck), hasher);
}

/** verifyInclusion as steps. */
function* inclusionCheck(c: InclusionClaim): HashSteps<void> {
  proofHash(c.root, 'root');
  const computed = yield* inclusionRoot(c.index, c.size, c.leafHash, c.proof);
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
  const computed = runSteps(inclusionRoot(index - start, end - start, leafHash, proof), hasher);
  if (!bytesEqual(computed, root))
    throw new RootMismatchError(root, computed, `inclusion proof for index ${index} in subtree [${start}, ${end})`);
}

// ---------------------------------------------------------------------------------------------
// Consistency

/**
 * The root of the tree of `size` leaves that a consistency proof for the subtree [start, end)
 * leads to, after checking that the proof also rebuilds `subtreeRoot` (RootMismatchError if not).
 * transparency-dev/merkle's RootFromConsistencyProof, generalised to subtrees as its
 * VerifySubtreeConsistency; with start = 0 it is an ordinary consistency proof from size `end`.
 * Requires a valid subtree with end < size, or 0 < start and end = size; 32-byte hashes; a
 * non-empty proof (the caller handles the cases whose proof is empty).
 */
function* rootFromConsistencyProof(
  start: number,
  end: number,
  size: number,
  proof: readonly Hash[],
  subtreeRoot: Hash,
  what: string,
): HashSteps<Hash> {
  if (end === size) {
    // The subtree is on the right edge: its ancestors' left siblings lead to the root.
    const level = bitLengthXor(end - 1, start);
    const want = popcount(shiftRight(start, level));
    if (proof.length !== want) throw new ProofError(`a ${what} has ${want} hashes, got ${proof.length}`);
    return yield* chainBorderRight(subtreeRoot, proof, 0, proof.length);
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
  if (!perfect) {
    // Rebuild the subtree's own hash from the proof's hashes that lie inside it: the left siblings
    // below the subtree's top (height h above the leaves), and the border hashes under it.
    const h = bitLengthXor(end - 1, start);
    const subInner = Math.min(h, forkLevel) - shift;
    const subBorder = Math.max(0, border - popcount(shiftRight(end - 1, h)));
    let hash1 = yield* chainInnerRight(seed, proof, p0, p0 + subInner, mask);
    hash1 = yield* chainBorderRight(hash1, proof, p0 + inner, p0 + inner + subBorder);
    if (!bytesEqual(hash1, subtreeRoot))
      throw new RootMismatchError(subtreeRoot, hash1, `${what} (${start === 0 ? 'old' : 'subtree'} root)`);
  }
  const hash2 = yield* chainInner(seed, proof, p0, p0 + inner, mask);
  return yield* chainBorderRight(hash2, proof, p0 + inner, proof.length);
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
  runSteps(consistencyCheck({ size1, size2, proof, root1, root2 }), hasher);
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
 * Verifies many consistency proofs: exactly verifyConsistency for each claim (the same checks and
 * errors; the first claim that fails throws), hashed together as {@link verifyInclusions} does.
 */
export function verifyConsistencies(claims: readonly ConsistencyClaim[], hasher: Hasher = defaultHasher): void {
  if (!Array.isArray(claims)) throw new ProofError('claims must be an array');
  runStepsMany(claims.map(consistencyCheck), hasher);
}

/** verifyConsistency as steps. */
function* consistencyCheck(c: ConsistencyClaim): HashSteps<void> {
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
    return;
  }
  proofHash(root1, 'root1');
  proofHash(root2, 'root2');
  proofHashes(proof);
  if (proof.length === 0) throw new ProofError(`empty consistency proof from size ${size1} to ${size2}`);
  const what = `consistency proof from size ${size1} to ${size2}`;
  const computed = yield* rootFromConsistencyProof(0, size1, size2, proof, root1, what);
  if (!bytesEqual(computed, root2)) throw new RootMismatchError(root2, computed, `${what} (new root)`);
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
  const computed = runSteps(rootFromConsistencyProof(start, end, size, proof, subtreeRoot, what), hasher);
  if (!bytesEqual(computed, root)) throw new RootMismatchError(root, computed, what);
}
