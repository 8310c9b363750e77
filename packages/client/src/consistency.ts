/** Consistency between checkpoints: proofs from the JSON API or from tiles, rollbacks and forks (internal). */
import type { Hash } from '@tlog/merkle';
import { bytesEqual, proveConsistency, toBase64, treeRoot, verifyConsistency } from '@tlog/merkle';
import { consistencyAnswer, decodeHash, parseAnswer } from './api-answers.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ArgumentError, LogClientError, LogMisbehaviourError, ProtocolError } from './errors.js';
import { FORK_DETAILS } from './fork-evidence.js';
import { fetchJson, joinUrl } from './http.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';
import type { ProofSource, ProofSourceChooser } from './proof-source.js';
import { readTiles, tileReader } from './tiles.js';

/** What {@link consistencyProof} proves: `to` extends `from`. */
export interface ConsistencyRequest {
  /** The older (trusted) checkpoint. */
  readonly from: VerifiedCheckpoint;
  /** The newer (candidate) checkpoint; requires from's size <= to's size. */
  readonly to: VerifiedCheckpoint;
  /** Where the proof comes from (default 'auto'). */
  readonly source?: ProofSource;
}

/**
 * Consistency proof from `from` to `to`, verified against both roots. Equal sizes with different
 * roots is LogMisbehaviourError('fork'). A proof that does not verify is 'fork' if the candidate's
 * own tiles show its tree differs from the trusted one at the trusted size (see
 * {@link explainFailedProof}), 'bad-proof' otherwise.
 */
export async function consistencyProof(log: LogContext, chooser: ProofSourceChooser, request: ConsistencyRequest): Promise<Hash[]> {
  const { from, to } = request;
  const a = from.checkpoint.size;
  const b = to.checkpoint.size;
  if (a > b) throw new ArgumentError(`a consistency proof needs from.size <= to.size, got ${a} > ${b}`);
  if (a === b || a === 0) {
    await verifiedConsistency(log, { from, to, proof: [] });
    return [];
  }
  const proof = await chooser.run(request.source, {
    api: async () => {
      const url = joinUrl(log.url, `v1/proof/consistency?from=${a}&to=${b}`);
      const answer = parseAnswer(consistencyAnswer, await fetchJson(log.http, url), url);
      if (answer.from !== a || answer.to !== b) {
        throw new ProtocolError(`${url} answered for sizes ${answer.from} to ${answer.to}, not the ones asked`, { url });
      }
      return answer.proof.map((p) => decodeHash(p, url));
    },
    tiles: () => readTiles(log, { at: to, trusted: from.note }, (reader) => proveConsistency(reader, a, b, log.hasher)),
  });
  await verifiedConsistency(log, { from, to, proof });
  return proof;
}

/**
 * Verifies a consistency proof from `from` to `to` against both roots (requires from.size <=
 * to.size, ArgumentError otherwise): equal sizes with different roots is 'fork'; a proof that
 * does not verify is 'fork' or 'bad-proof' as {@link explainFailedProof} finds.
 */
export async function verifiedConsistency(
  log: LogContext,
  claim: { readonly from: VerifiedCheckpoint; readonly to: VerifiedCheckpoint; readonly proof: readonly Hash[] },
): Promise<void> {
  const { from, to, proof } = claim;
  const a = from.checkpoint.size;
  const b = to.checkpoint.size;
  if (a > b) throw new ArgumentError(`a consistency proof needs from.size <= to.size, got ${a} > ${b}`);
  if (a === b && !bytesEqual(from.checkpoint.root, to.checkpoint.root)) {
    throw misbehaviour(log, {
      kind: 'fork',
      message: `two signed checkpoints of size ${a} have different roots ${toBase64(from.checkpoint.root)} and ${toBase64(to.checkpoint.root)}`,
      evidence: { trusted: from.note, candidate: to.note, details: { [FORK_DETAILS.size]: a } },
    });
  }
  if (a === b || a === 0) return;
  try {
    verifyConsistency(a, b, proof, from.checkpoint.root, to.checkpoint.root, log.hasher);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw await explainFailedProof(log, { from, to, proof, cause: e });
  }
}

/**
 * A consistency proof from `from` to the larger `to` did not verify: was the proof wrong, or did
 * the log sign a tree that does not extend the trusted one? The candidate's own tiles, each
 * authenticated against `to`, say: the root of their first from.size leaves is the root the log
 * committed to for that size when it signed `to`. If it differs from the trusted root, the log
 * signed two trees of one size: 'fork', with evidence that proves it on its own (both signed
 * notes, the recomputed root, and a consistency proof from it to `to`'s root). If it is the
 * trusted root, the tree is consistent and only the served proof was wrong: 'bad-proof'. If the
 * tiles do not authenticate or cannot be read, nothing more is known: 'bad-proof'.
 */
async function explainFailedProof(
  log: LogContext,
  failure: { readonly from: VerifiedCheckpoint; readonly to: VerifiedCheckpoint; readonly proof: readonly Hash[]; readonly cause: unknown },
): Promise<LogMisbehaviourError> {
  const { from, to, cause } = failure;
  const a = from.checkpoint.size;
  const b = to.checkpoint.size;
  const badProof = (finding: string) =>
    misbehaviour(log, {
      kind: 'bad-proof',
      message: `the checkpoint of size ${b} is not proven consistent with the trusted one of size ${a}: ${errorMessage(cause)}; ${finding}`,
      evidence: { trusted: from.note, candidate: to.note, proof: failure.proof.map(toBase64), details: { forkCheck: finding } },
      cause,
    });
  const reader = tileReader(log, to);
  let recomputed: Hash;
  let proof: Hash[];
  try {
    recomputed = await treeRoot(reader, a, log.hasher);
    if (bytesEqual(recomputed, from.checkpoint.root)) {
      return badProof(
        `the candidate's own tiles give the trusted root at size ${a}, so its tree is consistent and only the proof is wrong`,
      );
    }
    proof = await proveConsistency(reader, a, b, log.hasher);
    verifyConsistency(a, b, proof, recomputed, to.checkpoint.root, log.hasher);
  } catch (e) {
    if (isDataError(e) || e instanceof LogMisbehaviourError)
      return badProof(`the candidate's tiles do not authenticate against it either (${errorMessage(e)})`);
    if (e instanceof LogClientError) return badProof(`the candidate's tiles could not be read to look for a fork (${errorMessage(e)})`);
    throw notDataError(e);
  }
  return misbehaviour(log, {
    kind: 'fork',
    message:
      `the log signed two different trees of size ${a}: the trusted checkpoint has root ${toBase64(from.checkpoint.root)}, ` +
      `but the tree of its signed checkpoint of size ${b} has root ${toBase64(recomputed)} there (from its own tiles)`,
    evidence: {
      trusted: from.note,
      candidate: to.note,
      proof: proof.map(toBase64),
      details: {
        [FORK_DETAILS.size]: a,
        [FORK_DETAILS.recomputedRoot]: toBase64(recomputed),
        servedProof: failure.proof.map(toBase64).join(' '),
      },
    },
    cause,
  });
}

/**
 * Checks that `candidate` may replace `trusted`: a smaller size is a rollback, the same size with
 * another root a fork, a larger size needs a verified consistency proof (returned; empty when
 * there is nothing to prove). With no trusted checkpoint, accepts the candidate.
 */
export async function verifyUpdate(
  log: LogContext,
  chooser: ProofSourceChooser,
  request: { readonly trusted: VerifiedCheckpoint | undefined; readonly candidate: VerifiedCheckpoint; readonly source?: ProofSource },
): Promise<Hash[]> {
  const { trusted, candidate } = request;
  if (trusted === undefined) return [];
  const a = trusted.checkpoint.size;
  const b = candidate.checkpoint.size;
  if (b < a) {
    throw misbehaviour(log, {
      kind: 'rollback',
      message: `the log rolled back: it now serves a signed checkpoint of size ${b}, smaller than the trusted size ${a}`,
      evidence: { trusted: trusted.note, candidate: candidate.note },
    });
  }
  return consistencyProof(log, chooser, {
    from: trusted,
    to: candidate,
    ...(request.source === undefined ? {} : { source: request.source }),
  });
}
