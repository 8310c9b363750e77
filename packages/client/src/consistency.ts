/** Consistency between checkpoints: proofs from the JSON API or from tiles, rollbacks and forks (internal). */
import type { Hash } from '@tlog/merkle';
import { proveConsistency, toBase64, verifyConsistency } from '@tlog/merkle';
import { consistencyAnswer, decodeHash, parseAnswer } from './api-answers.js';
import { bytesEqual } from './bytes.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ArgumentError, ProtocolError } from './errors.js';
import { fetchJson, joinUrl } from './http.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';
import type { ProofSource, ProofSourceChooser } from './proof-source.js';
import { readTiles } from './tiles.js';

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
 * roots is LogMisbehaviourError('fork'); a proof that does not verify is 'bad-proof'.
 */
export async function consistencyProof(log: LogContext, chooser: ProofSourceChooser, request: ConsistencyRequest): Promise<Hash[]> {
  const { from, to } = request;
  const a = from.checkpoint.size;
  const b = to.checkpoint.size;
  if (a > b) throw new ArgumentError(`a consistency proof needs from.size <= to.size, got ${a} > ${b}`);
  if (a === b) {
    if (!bytesEqual(from.checkpoint.root, to.checkpoint.root)) {
      throw misbehaviour(log, {
        kind: 'fork',
        message: `two signed checkpoints of size ${a} have different roots ${toBase64(from.checkpoint.root)} and ${toBase64(to.checkpoint.root)}`,
        evidence: { trusted: from.note, candidate: to.note },
      });
    }
    return [];
  }
  if (a === 0) return [];
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
  try {
    verifyConsistency(a, b, proof, from.checkpoint.root, to.checkpoint.root, log.hasher);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `the checkpoint of size ${b} is not proven consistent with the trusted one of size ${a}: ${errorMessage(e)}`,
      evidence: { trusted: from.note, candidate: to.note, proof: proof.map(toBase64) },
      cause: e,
    });
  }
  return proof;
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
