/**
 * Inclusion and consistency proofs: making them from stored complete subtrees, and verifying
 * them per RFC 9162 §2.1.3.2 / §2.1.4.2 (plus transparency-dev/merkle's subtree proofs).
 *
 * Making a proof happens in two steps so that storage is hit once: first the NodeIds of every
 * complete (perfect) subtree the proof needs are computed, then they are read in a single
 * `readNodes` call, then the proof is assembled. A proof element that is an incomplete
 * right-edge subtree (its range runs into the end of the tree) is not stored anywhere; its
 * hash is computed by combining the complete subtrees that tile its range, as Go's
 * golang.org/x/mod/sumdb/tlog does.
 */
import { bytesEqual } from './encoding.js';
import { checkIndex, MerkleArgumentError, ProofError, RootMismatchError } from './errors.js';
import { defaultHasher, HASH_SIZE, type Hash, type Hasher } from './hash.js';
import { bitCeil, bitLengthXor, isPow2, largestPow2Below, POW2, popcount, pushRange, shiftRight, trailingZeros } from './treemath.js';

/** A perfect subtree: leaves [index << level, (index + 1) << level). Level 0 = leaf hashes. */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/**
 * Reads stored hashes of complete subtrees, in the order asked. May be sync or async.
 * Precondition for implementers: return exactly one 32-byte hash per id, in order (the proof
 * makers throw MerkleArgumentError otherwise: a broken reader is the caller's bug); every id
 * asked for by this package is a complete subtree of the tree the caller named.
 */
export interface NodeReader {
  readNodes(ids: readonly NodeId[]): readonly Hash[] | Promise<readonly Hash[]>;
  /**
   * Optional: the hash of the incomplete subtree [start, end) (end is the size of the tree the
   * caller named) when the reader has it at hand, e.g. a log keeping the right edge of its
   * current tree; undefined to have it computed from the complete subtrees that tile it. Every
   * proof at a given size needs some of the same ones, so caching them saves hashing per proof.
   */
  rangeHash?(start: number, end: number): Hash | undefined;
}

/** A NodeReader that answers synchronously (in-memory stores, caches). Same contract. */
export interface SyncNodeReader {
  readNodes(ids: readonly NodeId[]): readonly Hash[];
  /** As {@link NodeReader.rangeHash}. */
  rangeHash?(start: number, end: number): Hash | undefined;
}

// ---------------------------------------------------------------------------------------------
// Planning: which stored nodes a proof needs.

/**
 * The stored nodes to read, and for each proof element (bottom-up) how many consecutive ids
 * combine into it (1 for a complete subtree, more for an incomplete right-edge one, 0 when the
 * reader's rangeHash gave the element, which is then in `given`).
 */
interface ProofPlan {
  readonly ids: NodeId[];
  readonly counts: number[];
  readonly given?: (Hash | undefined)[];
}

/**
 * Turns the top-down ranges [los[i], his[i]) into a bottom-up plan. The ranges live in the
 * caller's locals, never in module state: reader.rangeHash may itself make proofs (re-enter).
 */
function planFromRanges(
  los: readonly number[],
  his: readonly number[],
  reader: { rangeHash?(start: number, end: number): Hash | undefined },
): ProofPlan {
  const n = los.length;
  const ids: NodeId[] = [];
  const counts: number[] = new Array<number>(n);
  let given: (Hash | undefined)[] | undefined;
  for (let i = n - 1, j = 0; i >= 0; i--, j++) {
    const lo = los[i]!;
    const hi = his[i]!;
    if (reader.rangeHash !== undefined && !isPow2(hi - lo)) {
      const h = reader.rangeHash(lo, hi);
      if (h !== undefined) {
        if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
          throw new MerkleArgumentError(
            `NodeReader.rangeHash(${lo}, ${hi}) returned a ${h?.length ?? 'missing'}-byte value; hashes must be ${HASH_SIZE} bytes`,
          );
        }
        (given ??= new Array<Hash | undefined>(n))[j] = h;
        counts[j] = 0;
        continue;
      }
    }
    const before = ids.length;
    pushRange(lo, hi, ids);
    counts[j] = ids.length - before;
  }
  return given === undefined ? { ids, counts } : { ids, counts, given };
}

/** RFC 6962 PATH(m, D[0:n]) as ranges; requires 0 <= index < size. */
function planInclusion(index: number, size: number, reader: NodeReader): ProofPlan {
  const los: number[] = [];
  const his: number[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPow2Below(hi - lo);
    if (index < lo + k) {
      los.push(lo + k);
      his.push(hi);
      hi = lo + k;
    } else {
      los.push(lo);
      his.push(lo + k);
      lo += k;
    }
  }
  return planFromRanges(los, his, reader);
}

/** RFC 6962 SUBPROOF(m, D[0:n], true) as ranges; requires 0 < size1 <= size2. */
function planConsistency(size1: number, size2: number, reader: NodeReader): ProofPlan {
  const los: number[] = [];
  const his: number[] = [];
  let lo = 0;
  let hi = size2;
  let whole = true; // RFC 6962's b: the subtree [lo, hi) is where the old tree ends
  while (size1 !== hi) {
    const k = largestPow2Below(hi - lo);
    if (size1 <= lo + k) {
      los.push(lo + k);
      his.push(hi);
      hi = lo + k;
    } else {
      los.push(lo);
      his.push(lo + k);
      lo += k;
      whole = false;
    }
  }
  if (!whole) {
    // [lo, size1) is a perfect subtree of the old tree; its hash is part of the proof.
    los.push(lo);
    his.push(hi);
  }
  return planFromRanges(los, his, reader);
}

function checkReadResult(ids: readonly NodeId[], hashes: readonly Hash[]): void {
  if (!Array.isArray(hashes) || hashes.length !== ids.length) {
    throw new MerkleArgumentError(
      `NodeReader returned ${Array.isArray(hashes) ? hashes.length : 'no array of'} hashes for ${ids.length} node ids; it must return one per id, in order`,
    );
  }
  for (let i = 0; i < hashes.length; i++) {
    const h = hashes[i]!;
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      const id = ids[i]!;
      throw new MerkleArgumentError(
        `NodeReader returned a ${h?.length ?? 'missing'}-byte value for node (level ${id.level}, index ${id.index}); hashes must be ${HASH_SIZE} bytes`,
      );
    }
  }
}

/** Combines the read hashes into the proof elements the plan describes. */
function assemble(plan: ProofPlan, hashes: readonly Hash[], hasher: Hasher): Hash[] {
  checkReadResult(plan.ids, hashes);
  const counts = plan.counts;
  const out = new Array<Hash>(counts.length);
  let p = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) {
      out[i] = plan.given![i]!;
      continue;
    }
    let h = hashes[p + c - 1]!;
    // An incomplete subtree's hash: the MTH split always puts the largest piece on the left.
    for (let j = c - 2; j >= 0; j--) h = hasher.hashChildren(hashes[p + j]!, h);
    out[i] = h;
    p += c;
  }
  return out;
}

function checkInclusionArgs(index: number, size: number): void {
  checkIndex(index, 'index');
  checkIndex(size, 'tree size');
  if (index >= size)
    throw new MerkleArgumentError(`index ${index} is not in a tree of size ${size}: an inclusion proof needs 0 <= index < size`);
}

function checkConsistencyArgs(size1: number, size2: number): void {
  checkIndex(size1, 'size1');
  checkIndex(size2, 'size2');
  if (size1 > size2)
    throw new MerkleArgumentError(
      `size1 ${size1} is larger than size2 ${size2}: a consistency proof goes from an older (smaller) tree to a newer one`,
    );
  if (size1 === 0) {
    throw new MerkleArgumentError(
      'a consistency proof from the empty tree (size1 = 0) is meaningless: every tree extends it; verify the newer checkpoint directly',
    );
  }
}

function rootPlan(size: number): ProofPlan {
  const ids: NodeId[] = [];
  pushRange(0, size, ids);
  return { ids, counts: [ids.length] };
}

/**
 * Makes the inclusion proof (RFC 6962 PATH, bottom-up) of leaf `index` in the tree of `size`
 * leaves, with one `readNodes` call. Requires 0 <= index < size (MerkleArgumentError otherwise).
 * Returned hashes may be the very arrays the reader returned.
 */
export async function proveInclusion(reader: NodeReader, index: number, size: number, hasher: Hasher = defaultHasher): Promise<Hash[]> {
  checkInclusionArgs(index, size);
  const plan = planInclusion(index, size, reader);
  return assemble(plan, await reader.readNodes(plan.ids), hasher);
}

/** Synchronous {@link proveInclusion}; same preconditions. */
export function proveInclusionSync(reader: SyncNodeReader, index: number, size: number, hasher: Hasher = defaultHasher): Hash[] {
  checkInclusionArgs(index, size);
  const plan = planInclusion(index, size, reader);
  return assemble(plan, reader.readNodes(plan.ids), hasher);
}

/**
 * Makes the consistency proof (RFC 6962 SUBPROOF(m, D[n], true), bottom-up) from the tree of
 * `size1` leaves to the tree of `size2`, with one `readNodes` call.
 * Requires 0 < size1 <= size2 (MerkleArgumentError otherwise); equal sizes give an empty proof.
 */
export async function proveConsistency(reader: NodeReader, size1: number, size2: number, hasher: Hasher = defaultHasher): Promise<Hash[]> {
  checkConsistencyArgs(size1, size2);
  if (size1 === size2) return [];
  const plan = planConsistency(size1, size2, reader);
  return assemble(plan, await reader.readNodes(plan.ids), hasher);
}

/** Synchronous {@link proveConsistency}; same preconditions. */
export function proveConsistencySync(reader: SyncNodeReader, size1: number, size2: number, hasher: Hasher = defaultHasher): Hash[] {
  checkConsistencyArgs(size1, size2);
  if (size1 === size2) return [];
  const plan = planConsistency(size1, size2, reader);
  return assemble(plan, reader.readNodes(plan.ids), hasher);
}

/**
 * The root of the tree of `size` leaves, from its stored complete subtrees (one per set bit of
 * size), read in one call. Size 0 gives SHA-256("") without reading. Requires a safe integer size (MerkleArgumentError otherwise).
 */
export async function treeRoot(reader: NodeReader, size: number, hasher: Hasher = defaultHasher): Promise<Hash> {
  checkIndex(size, 'tree size');
  if (size === 0) return hasher.emptyRoot();
  const plan = rootPlan(size);
  return assemble(plan, await reader.readNodes(plan.ids), hasher)[0]!;
}

/** Synchronous {@link treeRoot}; same preconditions. */
export function treeRootSync(reader: SyncNodeReader, size: number, hasher: Hasher = defaultHasher): Hash {
  checkIndex(size, 'tree size');
  if (size === 0) return hasher.emptyRoot();
  const plan = rootPlan(size);
  return assemble(plan, reader.readNodes(plan.ids), hasher)[0]!;
}

// ---------------------------------------------------------------------------------------------
// Verification. Every malformed input is a ProofError: a verifier's caller branches on
// "does not verify", whatever the reason.

function proofNumber(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new ProofError(`${what} must be an integer in [0, 2^53-1], got ${String(n)}`);
  return n;
}

function proofHash(h: Hash, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new ProofError(`${what} must be a ${HASH_SIZE}-byte hash, got ${h instanceof Uint8Array ? `${h.length} bytes` : typeof h}`);
  }
}

function proofBytes(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array)) throw new ProofError(`${what} must be a Uint8Array, got ${h === null ? 'null' : typeof h}`);
}

function proofHashes(proof: readonly Hash[], from: number): void {
  if (!Array.isArray(proof)) throw new ProofError('proof must be an array of hashes');
  for (let i = from; i < proof.length; i++) proofHash(proof[i]!, `proof[${i}]`);
}

/** Go's decompInclProof: [inner, border] lengths of the inclusion proof of index in size. */
function innerProofSize(index: number, size: number): number {
  return bitLengthXor(index, size - 1);
}

function inclusionProofLength(index: number, size: number): number {
  const inner = innerProofSize(index, size);
  return inner + popcount(shiftRight(index, inner));
}

/**
 * The root that an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-5).
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
  proofNumber(index, 'index');
  proofNumber(size, 'tree size');
  if (index >= size) throw new ProofError(`index ${index} is not in a tree of size ${size}: need 0 <= index < size`);
  proofHash(leafHash, 'leaf hash');
  proofHashes(proof, 0);
  const want = inclusionProofLength(index, size);
  if (proof.length !== want) {
    throw new ProofError(`an inclusion proof for index ${index} in a tree of size ${size} has ${want} hashes, got ${proof.length}`);
  }
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i]!;
    if (fn % 2 === 1 || fn === sn) {
      r = hasher.hashChildren(p, r);
      // Climb past the levels where this node has no right sibling (the right edge).
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = hasher.hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Unreachable with the length check above; kept as RFC 9162's own final test.
  if (sn !== 0) throw new ProofError(`inclusion proof for index ${index} in tree size ${size} is too short`);
  return r;
}

/**
 * Verifies that `leafHash` is leaf `index` of the tree of `size` leaves whose root is `root`
 * (RFC 9162 §2.1.3.2). Requires 0 <= index < size. Throws ProofError if the proof is malformed,
 * RootMismatchError if it leads to another root; returns nothing on success.
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
  const computed = rootFromInclusionProof(index, size, leafHash, proof, hasher);
  if (!bytesEqual(computed, root)) throw new RootMismatchError(root, computed, `inclusion proof for index ${index} in tree size ${size}`);
}

function consistencyProofLength(size1: number, size2: number): number {
  const inner = innerProofSize(size1 - 1, size2);
  const border = popcount(shiftRight(size1 - 1, inner));
  return (isPow2(size1) ? 0 : 1) + inner - trailingZeros(size1) + border;
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1`
 * leaves with root `root1` (RFC 9162 §2.1.4.2). Requires 0 < size1 <= size2; for equal sizes
 * the proof must be empty and the roots equal. Throws ProofError if malformed,
 * RootMismatchError if a computed root differs; returns nothing on success.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Hash[],
  root1: Hash,
  root2: Hash,
  hasher: Hasher = defaultHasher,
): void {
  proofNumber(size1, 'size1');
  proofNumber(size2, 'size2');
  if (size2 < size1) throw new ProofError(`size2 ${size2} is smaller than size1 ${size1}: a log never shrinks`);
  if (size1 === 0) {
    throw new ProofError(
      'a consistency proof from the empty tree (size1 = 0) is meaningless: every tree extends it; verify the newer checkpoint directly',
    );
  }
  if (!Array.isArray(proof)) throw new ProofError('proof must be an array of hashes');
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
  proofHashes(proof, 0);
  const want = consistencyProofLength(size1, size2);
  if (proof.length !== want) {
    throw new ProofError(`a consistency proof from size ${size1} to ${size2} has ${want} hashes, got ${proof.length}`);
  }
  // Step 2: when size1 is a power of two the old root is itself a node of the new tree and is
  // not sent; it seeds the walk instead of proof[0].
  const seeded = isPow2(size1);
  const seed = seeded ? root1 : proof[0]!;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = seed;
  let sr = seed;
  for (let i = seeded ? 0 : 1; i < proof.length; i++) {
    const c = proof[i]!;
    if (sn === 0) throw new ProofError(`consistency proof from size ${size1} to ${size2} is too long`);
    if (fn % 2 === 1 || fn === sn) {
      fr = hasher.hashChildren(c, fr);
      sr = hasher.hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hasher.hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofError(`consistency proof from size ${size1} to ${size2} is too short`);
  if (!bytesEqual(fr, root1)) throw new RootMismatchError(root1, fr, `consistency proof from size ${size1} (old root)`);
  if (!bytesEqual(sr, root2)) throw new RootMismatchError(root2, sr, `consistency proof to size ${size2} (new root)`);
}

// ---------------------------------------------------------------------------------------------
// Subtree proofs (transparency-dev/merkle proof/verify.go; the MTC draft's subtrees).

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
  const computed = rootFromInclusionProof(index - start, end - start, leafHash, proof, hasher);
  if (!bytesEqual(computed, root))
    throw new RootMismatchError(root, computed, `inclusion proof for index ${index} in subtree [${start}, ${end})`);
}

// The three chain helpers of transparency-dev/merkle, over proof[from, to) without slicing.
function chainInner(hasher: Hasher, seed: Hash, proof: readonly Hash[], from: number, to: number, index: number): Hash {
  for (let i = from; i < to; i++) {
    seed = index % 2 === 0 ? hasher.hashChildren(seed, proof[i]!) : hasher.hashChildren(proof[i]!, seed);
    index = Math.floor(index / 2);
  }
  return seed;
}

function chainInnerRight(hasher: Hasher, seed: Hash, proof: readonly Hash[], from: number, to: number, index: number): Hash {
  for (let i = from; i < to; i++) {
    if (index % 2 === 1) seed = hasher.hashChildren(proof[i]!, seed);
    index = Math.floor(index / 2);
  }
  return seed;
}

function chainBorderRight(hasher: Hasher, seed: Hash, proof: readonly Hash[], from: number, to: number): Hash {
  for (let i = from; i < to; i++) seed = hasher.hashChildren(proof[i]!, seed);
  return seed;
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
  if (!Array.isArray(proof)) throw new ProofError('proof must be an array of hashes');
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
  proofHashes(proof, 0);
  if (proof.length === 0) throw new ProofError(`empty proof for subtree [${start}, ${end}) of tree size ${size}`);
  const what = `consistency proof for subtree [${start}, ${end}) of tree size ${size}`;
  let computed: Hash;
  if (end === size) {
    // The subtree is on the right edge: its ancestors' left siblings lead to the root.
    const level = bitLengthXor(end - 1, start);
    const want = popcount(shiftRight(start, level));
    if (proof.length !== want) throw new ProofError(`a ${what} has ${want} hashes, got ${proof.length}`);
    computed = chainBorderRight(hasher, subtreeRoot, proof, 0, proof.length);
  } else {
    const forkLevel = innerProofSize(end - 1, size);
    const border = popcount(shiftRight(end - 1, forkLevel));
    const shift = trailingZeros(end - start);
    const inner = forkLevel - shift;
    // A perfect subtree is itself the seed; otherwise proof[0] is its rightmost perfect part.
    const perfect = end - start === POW2[shift];
    const p0 = perfect ? 0 : 1;
    const seed = perfect ? subtreeRoot : proof[0]!;
    if (proof.length !== p0 + inner + border) throw new ProofError(`a ${what} has ${p0 + inner + border} hashes, got ${proof.length}`);
    const mask = shiftRight(end - 1, shift);
    if (!perfect) {
      // Rebuild the subtree hash from the proof's nodes that lie inside it.
      const h = bitLengthXor(end - 1, start);
      const subInner = Math.min(h, forkLevel) - shift;
      const subBorder = Math.max(0, border - popcount(shiftRight(end - 1, h)));
      let hash1 = chainInnerRight(hasher, seed, proof, p0, p0 + subInner, mask);
      hash1 = chainBorderRight(hasher, hash1, proof, p0 + inner, p0 + inner + subBorder);
      if (!bytesEqual(hash1, subtreeRoot)) throw new RootMismatchError(subtreeRoot, hash1, `${what} (subtree root)`);
    }
    computed = chainInner(hasher, seed, proof, p0, p0 + inner, mask);
    computed = chainBorderRight(hasher, computed, proof, p0 + inner, proof.length);
  }
  if (!bytesEqual(computed, root)) throw new RootMismatchError(root, computed, what);
}
