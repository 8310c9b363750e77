import { checkIndex, MerkleArgumentError, NoteError, SignatureError } from './errors.js';
import type { NoteSigner, NoteVerifier } from './key.js';
import {
  ALG_COSIGNATURE_V1,
  cosignatureTimestamp,
  decodeCosignerKey,
  ed25519Seed,
  encodeKeyPair,
  formatKeyId,
  parseCosignatureVerifierKey,
  signCosignatureV1,
} from './key.js';
import type { NoteSignature } from './note.js';
import { checkNoteText, noteTextBytes } from './note.js';

/**
 * A tlog-cosignature/v1 (type 0x04) cosigner, e.g. a witness.
 * As a NoteSigner, `sign(text)` cosigns with the current time, so signNote works with it.
 */
export interface Cosigner extends NoteSigner {
  /**
   * Cosigns checkpoint note text (ending in "\n") at timestamp (POSIX seconds, default now).
   * Returns the signature line's contents: signature = timestamp (uint64 BE) || Ed25519 signature.
   * Throws MerkleArgumentError if the text is not valid note text or the timestamp is not a
   * non-negative safe integer.
   */
  cosign(checkpointText: string, timestamp?: number): NoteSignature;
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Generates a cosignature/v1 key pair for a cosigner name (valid key name).
 * seed: optional 32-byte Ed25519 seed; random otherwise (MerkleArgumentError for an invalid name or seed).
 * signerKey is "PRIVATE+KEY+name+keyid+base64(0x04 || seed)" (this package's format, mirroring
 * Go's note keys; keep it secret); verifierKey is the C2SP vkey "name+keyid+base64(0x04 || public key)".
 * The key ID is computed over the 0x04 public key, as tlog-cosignature requires.
 */
export function generateCosignatureKey(name: string, seed?: Uint8Array): { signerKey: string; verifierKey: string } {
  return encodeKeyPair(name, ALG_COSIGNATURE_V1, ed25519Seed(seed));
}

/**
 * Parses a cosigner key "PRIVATE+KEY+name+keyid+base64(0x04 || 32-byte seed)" (as made by
 * generateCosignatureKey). Throws NoteError if malformed, of another type, or if the key ID
 * does not match the 0x04 public key.
 */
export function parseCosignerKey(signerKey: string): Cosigner {
  const { name, keyId, seed } = decodeCosignerKey(signerKey);
  const cosign = (checkpointText: string, timestamp: number = now()): NoteSignature => {
    checkIndex(timestamp, 'cosignature timestamp');
    const text = noteTextBytes(checkpointText, MerkleArgumentError);
    return { name, keyId, signature: signCosignatureV1(seed, text, timestamp) };
  };
  return {
    name,
    keyId,
    sign: (message: Uint8Array) => signCosignatureV1(seed, message, now()),
    cosign,
  };
}

/**
 * Verifies a cosignature/v1 signature on checkpoint note text (ending in "\n") and returns its
 * timestamp. verifierKey is a 0x04 vkey string or a verifier from parseVerifierKey of one.
 * Throws SignatureError if the signature's name or key ID is not the verifier's, or it does not
 * verify; NoteError if the key is malformed or not a cosignature key, or if the (valid)
 * signature's timestamp is beyond 2^53-1, which tlog's numbers cannot hold.
 */
export function verifyCosignature(
  checkpointText: string,
  signature: NoteSignature,
  verifierKey: string | NoteVerifier,
): { timestamp: number } {
  let verifier: NoteVerifier;
  if (typeof verifierKey === 'string') {
    verifier = parseCosignatureVerifierKey(verifierKey);
  } else {
    verifier = verifierKey;
  }
  const id = `${verifier.name}+${formatKeyId(verifier.keyId)}`;
  if (signature.name !== verifier.name || signature.keyId !== verifier.keyId) {
    throw new SignatureError(`cosignature is by ${signature.name}+${formatKeyId(signature.keyId)}, not by the expected cosigner ${id}`);
  }
  const text = checkNoteText(checkpointText);
  if (!verifier.verify(text, signature.signature)) {
    throw new SignatureError(`invalid cosignature by ${id}: the checkpoint or timestamp was altered, or another key signed`);
  }
  const timestamp = cosignatureTimestamp(signature.signature);
  if (timestamp === undefined) {
    throw new NoteError(`cosignature by ${id} is valid but its timestamp exceeds 2^53-1 seconds, which tlog does not support`);
  }
  return { timestamp };
}
