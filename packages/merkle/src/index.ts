/**
 * @tlog/merkle: RFC 6962/9162 Merkle trees, C2SP tlog-tiles, signed notes, checkpoints,
 * cosignatures and tlog-proof receipts. Pure TypeScript; runs unchanged in Node and browsers.
 * The full contract is docs/merkle-api.md.
 */
export * from './hash.js';
export * from './errors.js';
export * from './encoding.js';
export { keyId, generateEd25519Key, parseSignerKey, verifierKeyOf, parseVerifierKey, cosignatureMessage, isValidKeyName } from './key.js';
export type { NoteSigner, NoteVerifier, Ed25519SignerFactory } from './key.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './cosignature.js';
export * from './proof.js';
export * from './compact.js';
export * from './tile.js';
export * from './bundle.js';
export * from './tilereader.js';
export * from './tlogproof.js';
