import type { Checkpoint } from './checkpoint.js';
import { parseCheckpoint } from './checkpoint.js';
import { fromBase64, toBase64 } from './encoding.js';
import { checkIndex, checkInteger, MerkleArgumentError, NoteError, SignatureError } from './errors.js';
import type { Hash, Hasher } from './hash.js';
import { defaultHasher, HASH_SIZE } from './hash.js';
import type { NoteVerifier } from './key.js';
import { formatKeyId } from './key.js';
import { openNote, parseNote } from './note.js';
import { verifyInclusion } from './verify.js';

/** A c2sp.org/tlog-proof@v1 receipt: an entry's index, its inclusion proof, and the signed checkpoint. */
export interface TlogProof {
  /** Optional opaque, unauthenticated application data. */
  readonly extra?: Uint8Array;
  readonly index: number;
  /** Inclusion proof hashes, bottom-up (the leaf's sibling first), as RFC 6962. */
  readonly proof: readonly Hash[];
  /** The checkpoint signed note, verbatim (log signature and any cosignatures). */
  readonly checkpoint: string;
}

/** What a receipt must satisfy: the log's key (and origin), and optionally a witness quorum. */
export interface ReceiptPolicy {
  /** The log's verifier; its signature on the checkpoint is required. */
  readonly log: NoteVerifier;
  /** The expected checkpoint origin; defaults to log.name. */
  readonly origin?: string;
  /** Trusted witness (cosigner) verifiers, e.g. parseVerifierKey of 0x04 keys. */
  readonly witnesses?: readonly NoteVerifier[];
  /** How many distinct witnesses must have validly cosigned; default 0. */
  readonly quorum?: number;
}

/** First line of every tlog-proof. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
// An inclusion proof in a tree of at most 2^53-1 leaves has at most 53 hashes; allow up to 64.
const MAX_PROOF_HASHES = 64;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Formats a receipt: the header line, "extra <base64>" if extra is set, "index <n>", one base64
 * hash per proof line, a blank line, then the checkpoint note verbatim. Requires a safe integer
 * index, 32-byte hashes (at most 64), extra (if set) a Uint8Array, and a checkpoint that parses
 * as a signed note. Throws MerkleArgumentError otherwise.
 */
export function formatTlogProof(p: TlogProof): string {
  return tlogProofFormatter(p.checkpoint)(p.index, p.proof, p.extra);
}

/**
 * Formats receipts against one checkpoint, checking the note once (a log answers many writes
 * with the same checkpoint). Throws MerkleArgumentError if `checkpoint` is not a signed note;
 * the returned function takes the rest of {@link formatTlogProof}'s arguments, with its checks.
 */
export function tlogProofFormatter(checkpoint: string): (index: number, proof: readonly Hash[], extra?: Uint8Array) => string {
  try {
    parseNote(checkpoint);
  } catch (e) {
    if (e instanceof NoteError) throw new MerkleArgumentError(`tlog-proof checkpoint is not a signed note: ${e.message}`);
    throw e;
  }
  return (index, proof, extra) => {
    checkIndex(index, 'tlog-proof index');
    if (!Array.isArray(proof) || proof.length > MAX_PROOF_HASHES) {
      throw new MerkleArgumentError(
        `a tlog-proof holds an array of at most ${MAX_PROOF_HASHES} proof hashes, got ${proof?.length ?? typeof proof}`,
      );
    }
    if (extra !== undefined && !(extra instanceof Uint8Array)) {
      throw new MerkleArgumentError(`tlog-proof extra must be a Uint8Array, got ${typeof extra}`);
    }
    let out = TLOG_PROOF_HEADER + '\n';
    if (extra !== undefined) out += `extra ${toBase64(extra)}\n`;
    out += `index ${index}\n`;
    for (const [i, h] of proof.entries()) {
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
        throw new MerkleArgumentError(
          `tlog-proof hash ${i} is ${h instanceof Uint8Array ? `${h.length} bytes` : typeof h}, expected ${HASH_SIZE} bytes`,
        );
      }
      out += toBase64(h) + '\n';
    }
    return out + '\n' + checkpoint;
  };
}

/**
 * Parses a c2sp.org/tlog-proof@v1 receipt (structure only; verifyTlogProof checks it).
 * Requires: the exact header line; an optional "extra <base64>" line; "index <decimal without
 * leading zeros>" (at most 2^53-1); zero to 64 base64 32-byte hash lines; an empty line; then a
 * checkpoint that parses as a signed note (kept verbatim). Throws NoteError on any deviation.
 */
export function parseTlogProof(text: string | Uint8Array): TlogProof {
  let s: string;
  if (typeof text === 'string') s = text;
  else {
    try {
      s = utf8Strict.decode(text);
    } catch {
      throw new NoteError('tlog-proof is not valid UTF-8');
    }
  }
  let pos = 0;
  // Returns the next line without its newline; NoteError if no complete line is left.
  const nextLine = (what: string): string => {
    const nl = s.indexOf('\n', pos);
    if (nl < 0) throw new NoteError(`malformed tlog-proof: missing ${what} (input ends at byte ${pos})`);
    const line = s.slice(pos, nl);
    pos = nl + 1;
    return line;
  };
  const header = nextLine('header line');
  if (header !== TLOG_PROOF_HEADER) {
    throw new NoteError(
      `not a tlog-proof: the first line is ${JSON.stringify(header.slice(0, 80))}, expected ${JSON.stringify(TLOG_PROOF_HEADER)}`,
    );
  }
  let line = nextLine('index line');
  let extra: Uint8Array | undefined;
  if (line.startsWith('extra ')) {
    try {
      extra = fromBase64(line.slice('extra '.length));
    } catch (e) {
      throw new NoteError(`malformed tlog-proof extra line: ${(e as Error).message}`);
    }
    line = nextLine('index line');
  }
  if (!line.startsWith('index ')) {
    throw new NoteError(`malformed tlog-proof: expected "index <n>", got ${JSON.stringify(line.slice(0, 80))}`);
  }
  const indexText = line.slice('index '.length);
  if (!DECIMAL.test(indexText)) {
    throw new NoteError(`malformed tlog-proof: index ${JSON.stringify(indexText)} is not a decimal number without leading zeros`);
  }
  const index = Number(indexText);
  if (!Number.isSafeInteger(index)) throw new NoteError(`tlog-proof index ${indexText} exceeds 2^53-1, which tlog does not support`);
  const proof: Hash[] = [];
  for (;;) {
    line = nextLine('blank line and checkpoint');
    if (line === '') break;
    if (proof.length >= MAX_PROOF_HASHES) {
      throw new NoteError(`malformed tlog-proof: more than ${MAX_PROOF_HASHES} proof hashes`);
    }
    let h: Uint8Array;
    try {
      h = fromBase64(line);
    } catch (e) {
      throw new NoteError(`malformed tlog-proof hash line ${proof.length + 1}: ${(e as Error).message}`);
    }
    if (h.length !== HASH_SIZE) {
      throw new NoteError(`malformed tlog-proof hash line ${proof.length + 1}: ${h.length} bytes, expected ${HASH_SIZE}`);
    }
    proof.push(h);
  }
  const checkpoint = s.slice(pos);
  if (checkpoint === '') throw new NoteError('malformed tlog-proof: the checkpoint is missing after the blank line');
  parseNote(checkpoint);
  return extra === undefined ? { index, proof, checkpoint } : { extra, index, proof, checkpoint };
}

/**
 * Verifies a receipt offline: the checkpoint is validly signed by policy.log with origin
 * policy.origin (default policy.log.name), at least policy.quorum (default 0) distinct
 * policy.witnesses validly cosigned it, and entry is the leaf at proof.index of that tree.
 * As for any signed note, an invalid signature by any trusted key (log or witness) rejects it.
 * Throws NoteError if malformed, SignatureError for signatures or an unmet quorum, ProofError /
 * RootMismatchError if the inclusion proof does not verify: the receipt is data. The policy is
 * the caller's: a quorum that is not a safe non-negative integer, or a witness key equal to the
 * log's, is a MerkleArgumentError.
 * Returns the checkpoint, the index and the entry's leaf hash.
 */
export function verifyTlogProof(
  proof: string | TlogProof,
  entry: Uint8Array,
  policy: ReceiptPolicy,
  hasher: Hasher = defaultHasher,
): { checkpoint: Checkpoint; index: number; leafHash: Hash } {
  const p = typeof proof === 'string' ? parseTlogProof(proof) : proof;
  checkInteger(p.index, 'tlog-proof index', NoteError);
  const quorum = checkIndex(policy.quorum ?? 0, 'witness quorum');
  const logId = keyName(policy.log);
  // One verifier per (name, key ID): a witness listed twice must not count twice.
  const witnesses = new Map<string, NoteVerifier>();
  for (const w of policy.witnesses ?? []) {
    const id = keyName(w);
    if (id === logId) throw new MerkleArgumentError(`witness key ${id} is the log's own key; a log cannot witness itself`);
    if (!witnesses.has(id)) witnesses.set(id, w);
  }
  const { note, verified } = openNote(p.checkpoint, [policy.log, ...witnesses.values()]);
  const signedBy = new Set(verified.map((s) => `${s.name}+${formatKeyId(s.keyId)}`));
  if (!signedBy.has(logId)) {
    throw new SignatureError(`receipt checkpoint is not signed by the log key ${logId}`);
  }
  const checkpoint = parseCheckpoint(note.text);
  const origin = policy.origin ?? policy.log.name;
  if (checkpoint.origin !== origin) {
    throw new NoteError(`receipt checkpoint is for origin ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(origin)}`);
  }
  const cosigned = [...witnesses.keys()].filter((id) => signedBy.has(id)).length;
  if (cosigned < quorum) {
    throw new SignatureError(
      `receipt checkpoint is cosigned by ${cosigned} of the ${witnesses.size} trusted witnesses, the policy requires ${quorum}`,
    );
  }
  const leafHash = hasher.hashLeaf(entry);
  verifyInclusion(p.index, checkpoint.size, leafHash, p.proof, checkpoint.root, hasher);
  return { checkpoint, index: p.index, leafHash };
}

function keyName(v: NoteVerifier): string {
  return `${v.name}+${formatKeyId(v.keyId)}`;
}
