import type { Checkpoint, Hash, Hasher, TlogProof } from '@tlog/merkle';
import { parseCheckpoint, parseNote, parseTlogProof, parseVerifierKey, verifyTlogProof } from '@tlog/merkle';
import { errorMessage } from './checks.js';
import { ArgumentError, VerificationError } from './errors.js';
import { isDataError, notDataError } from './merkle-errors.js';

/** Witness policy for {@link verifyReceipt}. */
export interface ReceiptWitnessPolicy {
  /** Verifier keys (cosignature/v1 or Ed25519) of the witnesses whose cosignatures count. */
  readonly witnesses?: readonly string[];
  /** How many of those witnesses must have cosigned; default 0, or all of them if witnesses are given and quorum is not. */
  readonly quorum?: number;
  /** The expected origin; default: the name of the log key that verifies. */
  readonly origin?: string;
  /** Hasher for the leaf and proof hashes. */
  readonly hasher?: Hasher;
}

/** What an offline receipt check established. */
export interface VerifiedReceiptInfo {
  /** The checkpoint the entry is proven to be in. */
  readonly checkpoint: Checkpoint;
  /** The entry's index. */
  readonly index: number;
  /** The entry's RFC 6962 leaf hash. */
  readonly leafHash: Hash;
  /** The trusted log key (as given) that signed the checkpoint. */
  readonly logKey: string;
}

/**
 * Offline check of a c2sp.org/tlog-proof@v1 receipt: the checkpoint in it is signed by one of
 * trustedKeys (log verifier key strings) for its origin, by at least `quorum` of the witnesses,
 * and `entry` is at the receipt's index in that tree. Throws VerificationError with the reason,
 * or ArgumentError if a key or the quorum given is not valid.
 */
export function verifyReceipt(
  receipt: string | Uint8Array | TlogProof,
  entry: Uint8Array,
  trustedKeys: string | readonly string[],
  policy: ReceiptWitnessPolicy = {},
): VerifiedReceiptInfo {
  const keys = typeof trustedKeys === 'string' ? [trustedKeys] : trustedKeys;
  if (keys.length === 0) throw new ArgumentError('no trusted log key given: pass the log verifier key (name+keyid+base64)');
  let proof: TlogProof;
  let origin: string;
  try {
    proof = typeof receipt === 'string' || receipt instanceof Uint8Array ? parseTlogProof(receipt) : receipt;
    origin = parseCheckpoint(parseNote(proof.checkpoint).text).origin;
  } catch (e) {
    // Only the receipt is given here: whatever parsing refuses is the receipt's bytes.
    if (!isDataError(e)) throw notDataError(e);
    throw new VerificationError(`the receipt is malformed: ${errorMessage(e)}`, { cause: e });
  }
  const witnesses = (policy.witnesses ?? []).map((k) => parseKey(k, 'witness'));
  const quorum = policy.quorum ?? witnesses.length;
  if (!Number.isSafeInteger(quorum) || quorum < 0 || quorum > witnesses.length) {
    throw new ArgumentError(`the witness quorum must be between 0 and the ${witnesses.length} witness keys given, got ${String(quorum)}`);
  }
  // Only keys named for the receipt's origin can sign it (a key's name is the origin it signs for), unless an origin is pinned.
  const candidates = keys
    .map((k) => ({ key: k, verifier: parseKey(k, 'log') }))
    .filter((c) => policy.origin !== undefined || c.verifier.name === origin);
  if (candidates.length === 0) {
    throw new VerificationError(
      `the receipt is for the log ${JSON.stringify(origin)}, but no trusted log key has that name; if the log's key is named otherwise, give the origin explicitly`,
    );
  }
  let lastError: unknown;
  for (const { key, verifier } of candidates) {
    try {
      const r = verifyTlogProof(proof, entry, { log: verifier, origin: policy.origin ?? origin, witnesses, quorum }, policy.hasher);
      return { ...r, logKey: key };
    } catch (e) {
      if (!isDataError(e)) throw notDataError(e);
      lastError = e;
    }
  }
  throw new VerificationError(`the receipt does not verify: ${errorMessage(lastError)}`, { cause: lastError });
}

function parseKey(k: string, what: string) {
  try {
    return parseVerifierKey(k.trim());
  } catch (e) {
    throw new ArgumentError(`the ${what} verifier key ${JSON.stringify(k.slice(0, 80))} is not valid: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}
