/**
 * The wire format of C2SP tlog-witness (https://c2sp.org/tlog-witness), shared by a log that asks
 * witnesses for cosignatures and by a witness that answers: the add-checkpoint request body, the
 * "409 Conflict" text/x.tlog.size body, and (note.ts' formatSignatureLine) the cosignature lines
 * of a 200 answer. Only the encoding lives here: which keys to trust, the witness's state and
 * the consistency check are the caller's.
 */

import { parseCheckpoint } from './checkpoint.js';
import { fromBase64, toBase64 } from './encoding.js';
import { checkIndex, EncodingError, MerkleArgumentError, NoteError } from './errors.js';
import { HASH_SIZE, type Hash } from './hash.js';
import { parseNote } from './note.js';

/** At most this many consistency proof lines in a request (tlog-witness: "MUST NOT send more than 63"). */
export const MAX_WITNESS_PROOF_LINES = 63;

/** The Content-Type of a witness's "409 Conflict" answer, whose body is its latest cosigned size. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

/** A tlog-witness add-checkpoint request body. */
export interface AddCheckpointRequest {
  /** The size of the previous checkpoint the client believes the witness has cosigned (0 if none). */
  readonly oldSize: number;
  /** Consistency proof from oldSize to the checkpoint's size, bottom-up (RFC 6962 SUBPROOF order). */
  readonly proof: readonly Hash[];
  /** The signed checkpoint note, verbatim (text, blank line, signature lines). */
  readonly checkpoint: string;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const OLD_PREFIX = 'old ';
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBody(body: string | Uint8Array, what: string): string {
  if (typeof body === 'string') return body;
  try {
    return utf8Strict.decode(body);
  } catch {
    throw new EncodingError(`${what} is not valid UTF-8`);
  }
}

/** A decimal size without leading zeros, at most 2^53-1; EncodingError naming `what` otherwise. */
function parseSize(text: string, what: string): number {
  if (!DECIMAL.test(text)) {
    throw new EncodingError(`${what} ${JSON.stringify(text.slice(0, 40))} is not a decimal number without leading zeros`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new EncodingError(`${what} ${text} exceeds 2^53-1, which tlog does not support`);
  return n;
}

/** The tree size of a signed checkpoint note; NoteError if it is not one. */
function checkpointSize(checkpoint: string): number {
  return parseCheckpoint(parseNote(checkpoint).text).size;
}

/**
 * Parses an add-checkpoint request body: "old <size>\n", zero to 63 lines each the base64 of a
 * 32-byte hash, an empty line, then the signed checkpoint. Exact, as tlog-witness requires: every
 * line ends in "\n" (no "\r"), the size is decimal without leading zeros (at most 2^53-1), base64
 * is canonical with padding, and the old size is at most the checkpoint's size. The checkpoint must
 * be a well-formed signed note whose text is a checkpoint; it is returned verbatim, unverified:
 * checking its signatures against the trusted keys, the old size against the witness's state,
 * and the proof (which must be empty when the old size is 0 or the checkpoint's size) is the
 * caller's. Throws EncodingError for a malformed body, NoteError for a malformed checkpoint: a
 * witness answers 400 Bad Request to either.
 */
export function parseAddCheckpoint(body: string | Uint8Array): AddCheckpointRequest {
  const s = decodeBody(body, 'add-checkpoint request body');
  const split = s.indexOf('\n\n');
  if (split < 0) {
    throw new EncodingError('add-checkpoint request body: expected an old size line, proof lines, an empty line and a checkpoint');
  }
  const lines = s.slice(0, split).split('\n');
  const first = lines[0]!;
  if (!first.startsWith(OLD_PREFIX)) {
    throw new EncodingError(`add-checkpoint request body: the first line must be "old <size>", got ${JSON.stringify(first.slice(0, 40))}`);
  }
  const oldSize = parseSize(first.slice(OLD_PREFIX.length), 'add-checkpoint old size');
  const proofLines = lines.slice(1);
  if (proofLines.length > MAX_WITNESS_PROOF_LINES) {
    throw new EncodingError(
      `add-checkpoint request body: at most ${MAX_WITNESS_PROOF_LINES} consistency proof lines are allowed, got ${proofLines.length}`,
    );
  }
  const proof = proofLines.map((line, i) => {
    let h: Uint8Array;
    try {
      h = fromBase64(line);
    } catch (e) {
      throw new EncodingError(`add-checkpoint consistency proof line ${i + 1}: ${(e as Error).message}`);
    }
    if (h.length !== HASH_SIZE) {
      throw new EncodingError(`add-checkpoint consistency proof line ${i + 1} is ${h.length} bytes, expected a ${HASH_SIZE}-byte hash`);
    }
    return h;
  });
  const checkpoint = s.slice(split + 2);
  if (checkpoint === '') throw new EncodingError('add-checkpoint request body: the checkpoint is missing after the empty line');
  const size = checkpointSize(checkpoint);
  if (oldSize > size) {
    throw new EncodingError(`add-checkpoint old size ${oldSize} is larger than the checkpoint's size ${size}`);
  }
  return { oldSize, proof, checkpoint };
}

/**
 * Formats an add-checkpoint request body (see parseAddCheckpoint), which parseAddCheckpoint gives
 * back. Requires a safe non-negative oldSize no larger than the checkpoint's size, at most 63
 * 32-byte proof hashes and none when oldSize is 0 or the checkpoint's size, and a checkpoint that
 * is a well-formed signed checkpoint note. Throws MerkleArgumentError otherwise.
 */
export function formatAddCheckpoint(req: AddCheckpointRequest): string {
  checkIndex(req.oldSize, 'add-checkpoint old size');
  if (!Array.isArray(req.proof) || req.proof.length > MAX_WITNESS_PROOF_LINES) {
    throw new MerkleArgumentError(`an add-checkpoint request carries at most ${MAX_WITNESS_PROOF_LINES} proof hashes in an array`);
  }
  if (typeof req.checkpoint !== 'string')
    throw new MerkleArgumentError(`add-checkpoint checkpoint must be a string, got ${typeof req.checkpoint}`);
  let size: number;
  try {
    size = checkpointSize(req.checkpoint);
  } catch (e) {
    if (e instanceof NoteError) throw new MerkleArgumentError(`add-checkpoint checkpoint is not a signed checkpoint: ${e.message}`);
    throw e;
  }
  if (req.oldSize > size)
    throw new MerkleArgumentError(`add-checkpoint old size ${req.oldSize} is larger than the checkpoint's size ${size}`);
  if ((req.oldSize === 0 || req.oldSize === size) && req.proof.length !== 0) {
    throw new MerkleArgumentError(`a consistency proof from size ${req.oldSize} to ${size} is empty, got ${req.proof.length} hashes`);
  }
  let out = `${OLD_PREFIX}${req.oldSize}\n`;
  for (const [i, h] of req.proof.entries()) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new MerkleArgumentError(
        `add-checkpoint proof hash ${i} must be ${HASH_SIZE} bytes, got ${h instanceof Uint8Array ? h.length : typeof h}`,
      );
    }
    out += `${toBase64(h)}\n`;
  }
  return `${out}\n${req.checkpoint}`;
}

/**
 * The body of a witness's "409 Conflict" answer (Content-Type {@link TLOG_SIZE_CONTENT_TYPE}):
 * the size of its latest cosigned checkpoint in decimal, then "\n". Requires a safe non-negative
 * size; MerkleArgumentError otherwise.
 */
export function formatTlogSize(size: number): string {
  checkIndex(size, 'tree size');
  return `${size}\n`;
}

/**
 * Parses the body of a witness's "409 Conflict" answer: a decimal size without leading zeros
 * (at most 2^53-1) followed by exactly one "\n", nothing else. Throws EncodingError otherwise.
 * (The caller checks that the Content-Type is {@link TLOG_SIZE_CONTENT_TYPE}.)
 */
export function parseTlogSize(body: string | Uint8Array): number {
  const s = decodeBody(body, 'text/x.tlog.size body');
  if (!s.endsWith('\n')) throw new EncodingError(`text/x.tlog.size body ${JSON.stringify(s.slice(0, 40))} does not end in a newline`);
  return parseSize(s.slice(0, -1), 'text/x.tlog.size');
}
