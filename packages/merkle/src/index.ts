/**
 * @tlog/merkle: RFC 6962/9162 Merkle trees, C2SP tlog-tiles, signed notes, checkpoints,
 * cosignatures and tlog-proof receipts. Pure TypeScript; runs unchanged in Node and browsers.
 * The full contract is docs/merkle-api.md.
 */

export * from './bundle.js';
export * from './checkpoint.js';
export * from './compact.js';
export * from './cosignature.js';
export * from './encoding.js';
export {
  checkIndex,
  EncodingError,
  MerkleArgumentError,
  MerkleDataError,
  MerkleError,
  NoteError,
  ProofError,
  RootMismatchError,
  SignatureError,
} from './errors.js';
export * from './hash.js';
export type { Ed25519SignerFactory, NoteSigner, NoteVerifier } from './key.js';
export { cosignatureMessage, generateEd25519Key, isValidKeyName, keyId, parseSignerKey, parseVerifierKey, verifierKeyOf } from './key.js';
export type { Note, NoteSignature } from './note.js';
export {
  checkNoteText,
  formatNote,
  formatSignatureLine,
  MAX_NOTE_SIGNATURES,
  MAX_NOTE_SIZE,
  openNote,
  parseNote,
  signNote,
} from './note.js';
export * from './prove.js';
export type { Sha256Kernel } from './sha256kernel.js';
export { fallbackSha256Kernel } from './sha256kernel.js';
export { wasmSha256Kernel } from './sha256wasm.js';
export * from './tile.js';
export * from './tilereader.js';
export * from './tlogproof.js';
export * from './verify.js';
export * from './witness.js';
