/** Inclusion proofs, from the JSON API or from authenticated tiles, always verified (internal). */
import type { Hash } from '@tlog/merkle';
import { bytesEqual, proveInclusion, TILE_WIDTH, toBase64, verifyInclusion } from '@tlog/merkle';
import { decodeHash, inclusionAnswer, parseAnswer } from './api-answers.js';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { checkIndex, errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ArgumentError, LogFetchError, NotFoundError, ProtocolError } from './errors.js';
import { fetchJson, joinUrl } from './http.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';
import type { ProofOptions, ProofSourceChooser } from './proof-source.js';
import { readTiles, tileReader } from './tiles.js';

/** A verified proof that leafHash is the leaf at index in the tree of size treeSize. */
export interface InclusionProof {
  /** The leaf's index. */
  readonly index: number;
  /** The size of the tree it is proven in. */
  readonly treeSize: number;
  /** The leaf's RFC 6962 hash. */
  readonly leafHash: Hash;
  /** Bottom-up proof hashes (RFC 6962 PATH). */
  readonly proof: readonly Hash[];
}

/** Options of {@link inclusionProofForLeafHash}. */
export interface LeafHashProofOptions extends ProofOptions {
  /** Where the leaf is, if known: saves scanning the tiles when proofs come from tiles. */
  readonly index?: number;
}

/**
 * Verifies an inclusion proof against `at`; one that does not verify is
 * LogMisbehaviourError('bad-proof'), its message naming the proof by `about.what` (e.g. "(from
 * api)") and its evidence carrying `about.details` beside the index, size and leaf hash.
 */
export function verifiedInclusion(
  log: LogContext,
  at: VerifiedCheckpoint,
  claim: { readonly index: number; readonly leafHash: Hash; readonly proof: readonly Hash[] },
  about: { readonly what: string; readonly details: Readonly<Record<string, string | number>> },
): InclusionProof {
  const { index, leafHash, proof } = claim;
  const size = at.checkpoint.size;
  try {
    verifyInclusion(index, size, leafHash, proof, at.checkpoint.root, log.hasher);
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw misbehaviour(log, {
      kind: 'bad-proof',
      message: `the inclusion proof ${about.what} for index ${index} in size ${size} does not verify: ${errorMessage(e)}`,
      evidence: {
        candidate: at.note,
        proof: proof.map(toBase64),
        details: { index, treeSize: size, leafHash: toBase64(leafHash), ...about.details },
      },
      cause: e,
    });
  }
  return { index, treeSize: size, leafHash, proof };
}

/** {@link verifiedInclusion} of a proof from the JSON API or from tiles. */
function checkInclusion(
  log: LogContext,
  at: VerifiedCheckpoint,
  claim: { readonly index: number; readonly leafHash: Hash; readonly proof: Hash[]; readonly source: 'api' | 'tiles' },
): InclusionProof {
  return verifiedInclusion(log, at, claim, { what: `(from ${claim.source})`, details: { source: claim.source } });
}

/** Proof that the entry at index is in `at` (requires index < at's size, ArgumentError otherwise). */
export async function inclusionProof(
  log: LogContext,
  chooser: ProofSourceChooser,
  request: { readonly index: number; readonly at: VerifiedCheckpoint; readonly source?: ProofOptions['source'] },
): Promise<InclusionProof> {
  const { index, at } = request;
  const size = at.checkpoint.size;
  checkIndex(index, 'index');
  if (index >= size) throw new ArgumentError(`index ${index} is not in a tree of size ${size}`);
  return chooser.run(request.source, {
    api: async () => {
      const url = joinUrl(log.url, `v1/proof/inclusion?index=${index}&treeSize=${size}`);
      const answer = parseAnswer(inclusionAnswer, await fetchJson(log.http, url), url);
      if (answer.index !== index || answer.treeSize !== size) {
        throw new ProtocolError(`${url} answered for index ${answer.index} in size ${answer.treeSize}, not the ones asked`, { url });
      }
      return checkInclusion(log, at, {
        index,
        leafHash: decodeHash(answer.leafHash, url),
        proof: answer.proof.map((p) => decodeHash(p, url)),
        source: 'api',
      });
    },
    tiles: () =>
      readTiles(log, { at }, async (reader) => {
        const proof = await proveInclusion(reader, index, size, log.hasher);
        const [leafHash] = await reader.readNodes([{ level: 0, index }]);
        return checkInclusion(log, at, { index, leafHash: leafHash!, proof, source: 'tiles' });
      }),
  });
}

/** The index of the leaf with this hash in `at`, scanning its authenticated level-0 tiles; NotFoundError if absent. */
async function findLeaf(log: LogContext, leafHash: Hash, at: VerifiedCheckpoint): Promise<number> {
  const size = at.checkpoint.size;
  const reader = tileReader(log, at);
  for (let start = 0; start < size; start += TILE_WIDTH) {
    const width = Math.min(TILE_WIDTH, size - start);
    const ids = Array.from({ length: width }, (_, i) => ({ level: 0, index: start + i }));
    const hashes = await readTiles(log, { at, reader }, (r) => r.readNodes(ids));
    const i = hashes.findIndex((h) => bytesEqual(h, leafHash));
    if (i >= 0) return start + i;
  }
  throw new NotFoundError(`leaf hash ${toBase64(leafHash)} is not in the tree of size ${size}`);
}

/**
 * Proof that the leaf with this hash is in `at`. With the API the log finds the index; with
 * tiles the index is `options.index` if given, otherwise the authenticated level-0 tiles are
 * scanned (O(size)). NotFoundError when the tree does not have the leaf. A 404 from the API is
 * "no such leaf" only if the log has the API: a proof of index 0 tells, the first time.
 */
export async function inclusionProofForLeafHash(
  log: LogContext,
  chooser: ProofSourceChooser,
  request: LeafHashProofOptions & { readonly leafHash: Hash; readonly at: VerifiedCheckpoint },
): Promise<InclusionProof> {
  const { leafHash, at } = request;
  const size = at.checkpoint.size;
  if (size === 0) throw new NotFoundError(`leaf hash ${toBase64(leafHash)} is not in the empty tree`);
  if (request.index !== undefined) checkIndex(request.index, 'index');
  return chooser.run(request.source, {
    api: async () => {
      const url = joinUrl(log.url, `v1/proof/inclusion?leafHash=${encodeURIComponent(toBase64(leafHash))}&treeSize=${size}`);
      let body: unknown;
      try {
        body = await fetchJson(log.http, url);
      } catch (e) {
        if (!(e instanceof LogFetchError) || e.status !== 404) throw e;
        if (chooser.apiKnown !== true) {
          // Throws the endpoint's own 404 if the log has no JSON proof API at all.
          await inclusionProof(log, chooser, { index: 0, at, source: 'api' });
          chooser.learn(true);
        }
        throw new NotFoundError(`leaf hash ${toBase64(leafHash)} is not in the tree of size ${size} (${errorMessage(e)})`, { cause: e });
      }
      const answer = parseAnswer(inclusionAnswer, body, url);
      if (answer.treeSize !== size || answer.index >= size) {
        throw new ProtocolError(
          `${url} answered index ${answer.index} in size ${answer.treeSize}, which does not fit the asked size ${size}`,
          {
            url,
          },
        );
      }
      return checkInclusion(log, at, { index: answer.index, leafHash, proof: answer.proof.map((p) => decodeHash(p, url)), source: 'api' });
    },
    tiles: async () => {
      const index = request.index ?? (await findLeaf(log, leafHash, at));
      if (index >= size) throw new ArgumentError(`index ${index} is not in a tree of size ${size}`);
      const p = await inclusionProof(log, chooser, { index, at, source: 'tiles' });
      if (!bytesEqual(p.leafHash, leafHash)) {
        throw new NotFoundError(`the leaf at index ${index} is ${toBase64(p.leafHash)}, not ${toBase64(leafHash)}`);
      }
      return p;
    },
  });
}
