/**
 * Making inclusion and consistency proofs (RFC 6962 PATH and SUBPROOF) and tree roots from
 * stored complete subtrees. Verifying them is verify.ts.
 *
 * Making a proof happens in two steps so that storage is hit once: first the NodeIds of every
 * complete (perfect) subtree the proof needs are computed, then they are read in a single
 * `readNodes` call, then the proof is assembled. A proof element that is an incomplete
 * right-edge subtree (its range runs into the end of the tree) is not stored anywhere; its
 * hash is computed by combining the complete subtrees that tile its range, as Go's
 * golang.org/x/mod/sumdb/tlog does.
 */
import { checkIndex, MerkleArgumentError } from './errors.js';
import { defaultHasher, HASH_SIZE, type Hash, type Hasher } from './hash.js';
import { isPow2, largestPow2Below, pushRange } from './treemath.js';

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
