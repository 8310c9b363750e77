/** Offline check of fork evidence: with only the log's verifier key, see that the log signed two trees of one size. */
import type { Checkpoint, Hash } from '@tlog/merkle';
import { bytesEqual, hashFromBase64, openCheckpoint, parseVerifierKey, toBase64, verifyConsistency } from '@tlog/merkle';
import { errorMessage } from './checks.js';
import { ArgumentError, VerificationError } from './errors.js';
import type { EvidenceRecord } from './evidence-file.js';
import { parseEvidence } from './evidence-file.js';
import { isDataError, notDataError } from './merkle-errors.js';

/**
 * Names of the fork evidence fields in `details` (the proof is in `proof`): `size` is the tree
 * size at which the log signed two trees; `recomputedRoot` (base64) is the root of the first
 * `size` leaves of the candidate's tree, computed from its own authenticated tiles.
 */
export const FORK_DETAILS = { size: 'size', recomputedRoot: 'recomputedRoot' } as const;

/** What {@link verifyForkEvidence} established. */
export interface ForkProof {
  /** The log's origin. */
  readonly origin: string;
  /** The tree size at which the log signed two different trees. */
  readonly size: number;
  /** The two roots the log committed to for that size: the trusted checkpoint's first. */
  readonly roots: readonly [Hash, Hash];
  /** The trusted checkpoint, signed by the log. */
  readonly trusted: Checkpoint;
  /** The other checkpoint, signed by the log. */
  readonly candidate: Checkpoint;
}

/**
 * Checks, offline and with only the log's verifier key, that fork evidence (an evidence file's
 * text or its parsed record, kind 'fork') proves the log signed two different trees of one size:
 * - both signed notes (trusted, candidate) verify under `vkey` for the evidence's origin;
 * - same sizes: their roots differ;
 * - different sizes: details.recomputedRoot differs from the smaller checkpoint's root, and
 *   `proof` is a consistency proof from (smaller size, recomputedRoot) to the larger
 *   checkpoint, so the larger signed tree has recomputedRoot at the smaller size.
 * Throws VerificationError saying what does not hold, ArgumentError if vkey is not a key.
 */
export function verifyForkEvidence(evidence: string | EvidenceRecord, vkey: string): ForkProof {
  let verifier: ReturnType<typeof parseVerifierKey>;
  try {
    verifier = parseVerifierKey(vkey.trim());
  } catch (e) {
    throw new ArgumentError(`the log verifier key ${JSON.stringify(vkey.slice(0, 80))} is not valid: ${errorMessage(e)}`, { cause: e });
  }
  const ev = parseEvidence(evidence);
  if (ev.kind !== 'fork') throw new VerificationError(`the evidence is of kind ${ev.kind}, not fork`);
  const open = (note: string | null, which: string): Checkpoint => {
    if (note === null) throw new VerificationError(`the fork evidence has no ${which} checkpoint`);
    try {
      return openCheckpoint(note, verifier, ev.origin).checkpoint;
    } catch (e) {
      if (!isDataError(e)) throw notDataError(e);
      throw new VerificationError(`the ${which} checkpoint is not signed by ${verifier.name} for ${ev.origin}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  };
  const trusted = open(ev.trusted, 'trusted');
  const candidate = open(ev.candidate, 'candidate');
  const [small, large] = trusted.size <= candidate.size ? [trusted, candidate] : [candidate, trusted];
  if (small.size === large.size) {
    if (bytesEqual(small.root, large.root)) {
      throw new VerificationError(`both checkpoints of size ${small.size} have the root ${toBase64(small.root)}: no fork`);
    }
    return { origin: ev.origin, size: small.size, roots: [trusted.root, candidate.root], trusted, candidate };
  }
  const other = recomputedRoot(ev);
  if (bytesEqual(other, small.root)) {
    throw new VerificationError(`the recomputed root at size ${small.size} equals the signed one: no fork`);
  }
  let proof: Hash[];
  try {
    proof = ev.proof.map((p) => hashFromBase64(p));
  } catch (e) {
    throw new VerificationError(`the fork evidence proof is not base64 hashes: ${errorMessage(e)}`, { cause: e });
  }
  try {
    verifyConsistency(small.size, large.size, proof, other, large.root);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw new VerificationError(
      `the proof does not show that the signed tree of size ${large.size} has root ${toBase64(other)} at size ${small.size}: ${errorMessage(e)}`,
      { cause: e },
    );
  }
  // The trusted checkpoint's tree's root at that size comes first.
  const roots: [Hash, Hash] = small === trusted ? [trusted.root, other] : [other, small.root];
  return { origin: ev.origin, size: small.size, roots, trusted, candidate };
}

function recomputedRoot(ev: EvidenceRecord): Hash {
  const b64 = ev.details[FORK_DETAILS.recomputedRoot];
  if (typeof b64 !== 'string') throw new VerificationError(`the fork evidence has no details.${FORK_DETAILS.recomputedRoot}`);
  try {
    return hashFromBase64(b64);
  } catch (e) {
    throw new VerificationError(`details.${FORK_DETAILS.recomputedRoot} is not a base64 hash: ${errorMessage(e)}`, { cause: e });
  }
}
