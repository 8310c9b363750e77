import { fromBase64, toBase64 } from './encoding.js';
import { MerkleArgumentError, type MerkleErrorClass, NoteError, SignatureError } from './errors.js';
import type { NoteSigner, NoteVerifier } from './key.js';
import { formatKeyId, isValidKeyName } from './key.js';

/** One signature line of a note. `signature` is the decoded bytes after the 4-byte key ID. */
export interface NoteSignature {
  readonly name: string;
  /** The 32-bit key ID (unsigned). */
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** A note: its text (ending in "\n") and its signature lines, in order. */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** At most this many signature lines are accepted (as Go's sumdb/note), so parsing stays cheap. */
export const MAX_NOTE_SIGNATURES = 100;
/**
 * At most this many bytes in a signed note. Go's note.Open has no byte limit (only the 100
 * signatures); this bound keeps a hostile note from costing more than ~1 MiB of work.
 */
export const MAX_NOTE_SIZE = 1 << 20;

const utf8 = new TextEncoder();
// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading BOM is part of the text.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const SIG_PREFIX = '\u2014 ';

/** Encodes a string as UTF-8, refusing lone surrogates (which have no UTF-8 encoding). */
function encodeStrict(s: string, what: string, errorClass: MerkleErrorClass): Uint8Array {
  if (LONE_SURROGATE.test(s)) throw new errorClass(`${what} is not valid UTF-8 (it contains a lone UTF-16 surrogate)`);
  return utf8.encode(s);
}

/** Checks the byte-level rules: size, valid UTF-8, no control characters but newline. Returns the text. */
function checkBytes(bytes: Uint8Array, what: string, errorClass: MerkleErrorClass): string {
  if (bytes.length > MAX_NOTE_SIZE) {
    throw new errorClass(`${what} is ${bytes.length} bytes, more than the ${MAX_NOTE_SIZE} accepted`);
  }
  // Bytes below 0x20 never occur inside multi-byte UTF-8 sequences, so a byte scan suffices.
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 && b !== 0x0a) {
      throw new errorClass(`${what} contains control character 0x${b.toString(16).padStart(2, '0')} at byte ${i}; only newline is allowed`);
    }
  }
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw new errorClass(`${what} is not valid UTF-8`);
  }
}

/**
 * checkNoteText's rules, failing with errorClass: data for parsers, arguments for formatters.
 * @internal not exported from index.ts.
 */
export function noteTextBytes(text: string, errorClass: MerkleErrorClass): Uint8Array {
  const bytes = encodeStrict(text, 'note text', errorClass);
  checkBytes(bytes, 'note text', errorClass);
  if (!text.endsWith('\n')) throw new errorClass('note text must end in a newline ("\\n")');
  return bytes;
}

/**
 * Checks that text is acceptable as the text of a signed note: valid UTF-8, no control
 * characters other than newline, ends in "\n", within MAX_NOTE_SIZE. Returns its UTF-8 bytes.
 * Throws NoteError naming the problem: the text is examined as data. (Formatters, which take
 * the text as an argument, apply the same rules but throw MerkleArgumentError.)
 */
export function checkNoteText(text: string): Uint8Array {
  return noteTextBytes(text, NoteError);
}

function signatureLine(name: string, keyId: number, signature: Uint8Array): string {
  const blob = new Uint8Array(4 + signature.length);
  new DataView(blob.buffer).setUint32(0, keyId);
  blob.set(signature, 4);
  return `${SIG_PREFIX}${name} ${toBase64(blob)}\n`;
}

/**
 * One signed-note signature line, "— <name> base64(keyid || signature)\n" (U+2014, space), as
 * formatNote writes them and as a tlog-witness returns cosignatures. Requires a valid key name,
 * a uint32 key ID and a non-empty signature; MerkleArgumentError otherwise.
 */
export function formatSignatureLine(signature: NoteSignature): string {
  checkSignatureParts(signature.name, signature.keyId, signature.signature);
  return signatureLine(signature.name, signature.keyId, signature.signature);
}

/**
 * Parses a signed note's structure without verifying anything: the text (up to and including
 * the newline before the last blank line) and every signature line, duplicates included, in order.
 * Enforces the signed-note rules: valid UTF-8, no control characters except newline, at most
 * MAX_NOTE_SIZE bytes, a blank line before the signatures, each line "— <name> <base64(keyid || sig)>"
 * with a valid name and at least one signature byte, at most MAX_NOTE_SIGNATURES lines.
 * Throws NoteError on any deviation.
 */
export function parseNote(message: string | Uint8Array): Note {
  const bytes = typeof message === 'string' ? encodeStrict(message, 'signed note', NoteError) : message;
  const msg = checkBytes(bytes, 'signed note', NoteError);
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) {
    throw new NoteError('malformed signed note: no blank line separates the text from the signatures');
  }
  const text = msg.slice(0, split + 1);
  let sigs = msg.slice(split + 2);
  if (sigs.length === 0) throw new NoteError('malformed signed note: no signature lines after the blank line');
  if (!sigs.endsWith('\n')) throw new NoteError('malformed signed note: the last signature line does not end in a newline');
  const signatures: NoteSignature[] = [];
  while (sigs.length > 0) {
    const nl = sigs.indexOf('\n');
    const line = sigs.slice(0, nl);
    sigs = sigs.slice(nl + 1);
    if (signatures.length >= MAX_NOTE_SIGNATURES) {
      throw new NoteError(`signed note has more than ${MAX_NOTE_SIGNATURES} signature lines`);
    }
    if (!line.startsWith(SIG_PREFIX)) {
      throw new NoteError(`malformed signature line ${JSON.stringify(line.slice(0, 120))}: it must start with "— " (U+2014, space)`);
    }
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const b64 = sp < 0 ? '' : rest.slice(sp + 1);
    if (!isValidKeyName(name)) {
      throw new NoteError(`malformed signature line ${JSON.stringify(line.slice(0, 120))}: invalid key name`);
    }
    let blob: Uint8Array;
    try {
      blob = fromBase64(b64);
    } catch (e) {
      throw new NoteError(`malformed signature line for ${name}: ${(e as Error).message}`);
    }
    if (blob.length < 5) {
      throw new NoteError(`malformed signature line for ${name}: need a 4-byte key ID and a signature, got ${blob.length} bytes`);
    }
    const keyId = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0);
    signatures.push({ name, keyId, signature: blob.slice(4) });
  }
  return { text, signatures };
}

/**
 * Formats a note as a signed note: text, a blank line, then one "— name base64(keyid || sig)"
 * line per signature, in order. Requires a valid text (see checkNoteText), 1 to
 * MAX_NOTE_SIGNATURES signatures with valid names, uint32 key IDs and non-empty signatures,
 * so that parseNote accepts the result. Throws MerkleArgumentError otherwise.
 */
export function formatNote(note: Note): string {
  noteTextBytes(note.text, MerkleArgumentError);
  if (note.signatures.length === 0) throw new MerkleArgumentError('a signed note needs at least one signature');
  if (note.signatures.length > MAX_NOTE_SIGNATURES) {
    throw new MerkleArgumentError(`a signed note may carry at most ${MAX_NOTE_SIGNATURES} signatures, got ${note.signatures.length}`);
  }
  let out = note.text + '\n';
  for (const s of note.signatures) out += formatSignatureLine(s);
  return out;
}

function checkSignatureParts(name: string, keyId: number, signature: Uint8Array): void {
  if (!isValidKeyName(name)) {
    throw new MerkleArgumentError(`invalid key name ${JSON.stringify(name)}: it must be non-empty, without '+' or spaces`);
  }
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) {
    throw new MerkleArgumentError(`key ID of ${name} must be a uint32, got ${String(keyId)}`);
  }
  if (!(signature instanceof Uint8Array) || signature.length === 0) {
    throw new MerkleArgumentError(`signature by ${name} must be a non-empty Uint8Array`);
  }
}

/**
 * Signs text (valid per checkNoteText: UTF-8, ends in "\n", no control characters but newline)
 * with each signer in order and returns the signed note. Requires at least one signer, each
 * with a valid key name. Throws MerkleArgumentError otherwise.
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  const bytes = noteTextBytes(text, MerkleArgumentError);
  if (signers.length === 0) throw new MerkleArgumentError('signNote needs at least one signer');
  const signatures = signers.map((s) => ({ name: s.name, keyId: s.keyId, signature: s.sign(bytes) }));
  return formatNote({ text, signatures });
}

/**
 * Parses and verifies a signed note against trusted verifiers, as Go's note.Open:
 * - a signature whose (name, key ID) matches no verifier is ignored and listed in `unverified`
 *   (identical repeated lines once);
 * - a signature matching a verifier is checked; if it fails, SignatureError (the whole note is
 *   rejected); only the first signature per known key is considered, later ones are ignored;
 * - if no known key signed, SignatureError.
 * Throws NoteError if the note is malformed (see parseNote); MerkleArgumentError if two different
 * verifiers share a name and key ID (the caller's list of trusted keys is ambiguous).
 * `note` is the parsed note (all lines); `verified` lists the verified signatures, one per key.
 */
export function openNote(
  message: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): { note: Note; verified: NoteSignature[]; unverified: NoteSignature[] } {
  const note = parseNote(message);
  const known = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const k = `${v.name}+${formatKeyId(v.keyId)}`;
    const prev = known.get(k);
    if (prev !== undefined && prev !== v) throw new MerkleArgumentError(`ambiguous verifiers: two keys named ${k}; remove one`);
    known.set(k, v);
  }
  const textBytes = utf8.encode(note.text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  for (const sig of note.signatures) {
    const k = `${sig.name}+${formatKeyId(sig.keyId)}`;
    const v = known.get(k);
    if (v === undefined) {
      const line = signatureLine(sig.name, sig.keyId, sig.signature);
      if (!seenUnverified.has(line)) {
        seenUnverified.add(line);
        unverified.push(sig);
      }
      continue;
    }
    if (seen.has(k)) continue;
    seen.add(k);
    if (!v.verify(textBytes, sig.signature)) {
      throw new SignatureError(`invalid signature by key ${k}: the note was altered or signed by a different key; reject it`);
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    const trusted = [...known.keys()].join(', ') || '(none given)';
    const present = note.signatures.map((s) => `${s.name}+${formatKeyId(s.keyId)}`).join(', ');
    throw new SignatureError(`note is not signed by any trusted key: trusted ${trusted}; signed by ${present}`);
  }
  return { note, verified, unverified };
}
