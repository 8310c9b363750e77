import { fromBase64, toBase64 } from './encoding.js';
import { checkIndex, MerkleArgumentError, NoteError } from './errors.js';
import type { Hash } from './hash.js';
import { HASH_SIZE } from './hash.js';
import type { NoteVerifier } from './key.js';
import type { Note } from './note.js';
import { checkNoteText, noteTextBytes, openNote } from './note.js';

/** A tlog-checkpoint: the log's origin, tree size, root hash and optional extension lines. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  /** Opaque extension lines, each non-empty and without newline. Usually none. */
  readonly extensions: readonly string[];
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Formats a checkpoint as note text: "origin\nsize\nbase64(root)\n" then each extension line
 * and "\n". Requires a non-empty origin and non-empty extensions without newlines, a safe
 * integer size and a 32-byte root, and a result that is valid note text (see checkNoteText).
 * Throws MerkleArgumentError otherwise.
 */
export function formatCheckpoint(c: Checkpoint): string {
  if (typeof c.origin !== 'string' || c.origin === '' || c.origin.includes('\n')) {
    throw new MerkleArgumentError(`checkpoint origin must be a non-empty single line, got ${JSON.stringify(c.origin)}`);
  }
  checkIndex(c.size, 'checkpoint tree size');
  if (!(c.root instanceof Uint8Array) || c.root.length !== HASH_SIZE) {
    throw new MerkleArgumentError(
      `checkpoint root must be a ${HASH_SIZE}-byte hash, got ${c.root instanceof Uint8Array ? c.root.length + ' bytes' : typeof c.root}`,
    );
  }
  for (const e of c.extensions) {
    if (e === '' || e.includes('\n')) {
      throw new MerkleArgumentError(`checkpoint extension lines must be non-empty single lines, got ${JSON.stringify(e)}`);
    }
  }
  const text = [c.origin, String(c.size), toBase64(c.root), ...c.extensions].join('\n') + '\n';
  noteTextBytes(text, MerkleArgumentError);
  return text;
}

/**
 * Parses checkpoint note text (the note text only, without the blank line and signatures).
 * Requires: valid note text ending in "\n"; a non-empty origin line; the tree size in decimal
 * without leading zeros, at most 2^53-1; the root as base64 of 32 bytes; then zero or more
 * non-empty extension lines. Throws NoteError on any deviation.
 */
export function parseCheckpoint(text: string): Checkpoint {
  checkNoteText(text);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) {
    throw new NoteError(`malformed checkpoint: need at least 3 lines (origin, size, root), got ${lines.length}`);
  }
  const [origin, sizeLine, rootLine] = lines as [string, string, string];
  if (origin === '') throw new NoteError('malformed checkpoint: the origin line is empty');
  if (!DECIMAL.test(sizeLine)) {
    throw new NoteError(`malformed checkpoint: tree size ${JSON.stringify(sizeLine)} is not a decimal number without leading zeros`);
  }
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) {
    throw new NoteError(`checkpoint tree size ${sizeLine} exceeds 2^53-1, which tlog does not support`);
  }
  let root: Uint8Array;
  try {
    root = fromBase64(rootLine);
  } catch (e) {
    throw new NoteError(`malformed checkpoint root ${JSON.stringify(rootLine)}: ${(e as Error).message}`);
  }
  if (root.length !== HASH_SIZE) {
    throw new NoteError(`malformed checkpoint root ${JSON.stringify(rootLine)}: ${root.length} bytes, expected ${HASH_SIZE}`);
  }
  const extensions = lines.slice(3);
  if (extensions.some((e) => e === '')) throw new NoteError('malformed checkpoint: an extension line is empty');
  return { origin, size, root, extensions };
}

/**
 * Opens a signed checkpoint: verifies the log's signature (openNote with just logVerifier),
 * parses the text (parseCheckpoint), and checks that its origin equals `origin`, which
 * defaults to the verifier's key name. Throws SignatureError if the log did not validly sign,
 * NoteError if the note or checkpoint is malformed or the origin differs.
 */
export function openCheckpoint(
  signedNote: string | Uint8Array,
  logVerifier: NoteVerifier,
  origin?: string,
): { checkpoint: Checkpoint; note: Note } {
  const { note } = openNote(signedNote, [logVerifier]);
  const checkpoint = parseCheckpoint(note.text);
  checkOrigin(checkpoint, origin ?? logVerifier.name);
  return { checkpoint, note };
}

/** Throws NoteError unless the checkpoint's origin is `expected`. */
function checkOrigin(checkpoint: Checkpoint, expected: string): void {
  if (checkpoint.origin !== expected) {
    throw new NoteError(
      `checkpoint is for origin ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(expected)}: it is from another log`,
    );
  }
}
