import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, toBase64 } from './encoding.js';
import { checkIndex, MerkleArgumentError, NoteError } from './errors.js';

// Ed25519 is @noble/curves', which carries its own SHA-512: signing and verifying need no global
// configuration (unlike @noble/ed25519's synchronous API), so importing this module changes nothing.

/** Signs note texts with one key. `sign` returns the signature bytes that follow the 4-byte key ID. */
export interface NoteSigner {
  /** The key name, as written on the signature line. */
  readonly name: string;
  /** The 32-bit key ID (unsigned). */
  readonly keyId: number;
  /** Signs message (the whole note text, final newline included). */
  sign(message: Uint8Array): Uint8Array;
}

/** Verifies signatures by one key. `verify` never throws on bad signatures: it returns false. */
export interface NoteVerifier {
  /** The key name, as written on the signature line. */
  readonly name: string;
  /** The 32-bit key ID (unsigned). */
  readonly keyId: number;
  /** Reports whether signature (the bytes after the key ID) is a valid signature of message by this key. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** Signature type byte of plain Ed25519 note signatures (C2SP signed-note). */
export const ALG_ED25519 = 0x01;
/** Signature type byte of timestamped Ed25519 witness cosignatures (C2SP tlog-cosignature v1). */
export const ALG_COSIGNATURE_V1 = 0x04;

const ED25519_KEY_SIZE = 32;
const ED25519_SIG_SIZE = 64;
/** Length of a cosignature/v1 blob after the key ID: uint64 timestamp + Ed25519 signature. */
export const COSIGNATURE_V1_SIZE = 8 + ED25519_SIG_SIZE;

const utf8 = new TextEncoder();
// Go's unicode.IsSpace: the Unicode White_Space property (note: not U+FEFF, unlike JS \s).
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Reports whether name is a valid signed-note key name: non-empty, well-formed Unicode
 * (so valid UTF-8), no '+' and no Unicode space characters.
 */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name !== '' && !name.includes('+') && !UNICODE_SPACE.test(name) && !LONE_SURROGATE.test(name);
}

/**
 * Throws MerkleArgumentError unless name is a valid key name (see isValidKeyName).
 * @internal for key generation, where the name is the caller's argument.
 */
export function checkKeyName(name: string): string {
  if (!isValidKeyName(name)) {
    throw new MerkleArgumentError(
      `invalid key name ${JSON.stringify(name)}: it must be non-empty and contain no '+' and no spaces (e.g. "example.com/log")`,
    );
  }
  return name;
}

/**
 * The signed-note key ID: the first 4 bytes, big-endian, of SHA-256(name || 0x0A || keyBytes).
 * keyBytes is the signature type byte followed by the public key (e.g. 0x01 || 32-byte Ed25519 key).
 * Returns an unsigned 32-bit integer.
 */
export function keyId(name: string, keyBytes: Uint8Array): number {
  const n = utf8.encode(name);
  const buf = new Uint8Array(n.length + 1 + keyBytes.length);
  buf.set(n, 0);
  buf[n.length] = 0x0a;
  buf.set(keyBytes, n.length + 1);
  const h = sha256(buf);
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

/** Eight lower-case hex digits of a key ID, as in key strings. */
export function formatKeyId(id: number): string {
  return id.toString(16).padStart(8, '0');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A decoded key string: name, claimed key ID, and the key bytes (type byte first). */
interface KeyParts {
  readonly name: string;
  readonly keyId: number;
  readonly alg: number;
  readonly material: Uint8Array;
}

/**
 * Splits "name+hex8+base64" (after any PRIVATE+KEY+ prefix) like Go's note package.
 * `what` names the kind of key in messages; private key material is never echoed.
 */
function splitKey(s: string, what: string, echo: boolean): KeyParts {
  const shown = echo ? ` ${JSON.stringify(s.length > 200 ? s.slice(0, 200) + '...' : s)}` : '';
  const i = s.indexOf('+');
  const j = i < 0 ? -1 : s.indexOf('+', i + 1);
  if (j < 0) throw new NoteError(`malformed ${what}${shown}: expected "name+keyid+base64"`);
  const name = s.slice(0, i);
  const hex = s.slice(i + 1, j);
  const b64 = s.slice(j + 1);
  if (!isValidKeyName(name)) {
    throw new NoteError(`malformed ${what}${shown}: invalid key name (must be non-empty, without '+' or spaces)`);
  }
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) {
    throw new NoteError(`malformed ${what}${shown}: the key ID must be 8 hex digits, got ${JSON.stringify(hex)}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(b64);
  } catch (e) {
    throw new NoteError(`malformed ${what}${shown}: bad base64 key data (${(e as Error).message})`);
  }
  if (bytes.length === 0) throw new NoteError(`malformed ${what}${shown}: empty key data`);
  return { name, keyId: parseInt(hex, 16) >>> 0, alg: bytes[0]!, material: bytes.subarray(1) };
}

const PRIVATE_PREFIX = 'PRIVATE+KEY+';

/** Decodes "PRIVATE+KEY+name+keyid+base64(alg || seed)"; the caller checks alg and the key ID. */
function splitSignerKey(signerKey: string): KeyParts {
  if (!signerKey.startsWith(PRIVATE_PREFIX)) {
    throw new NoteError('malformed signer key: it must start with "PRIVATE+KEY+" (was a verifier key passed instead?)');
  }
  return splitKey(signerKey.slice(PRIVATE_PREFIX.length), 'signer key', false);
}

/** Derives (and checks) the signer's public key and its key ID for the key's algorithm. */
function ed25519SeedKey(parts: KeyParts, expectedAlg: number): { seed: Uint8Array; keyBytes: Uint8Array } {
  if (parts.material.length !== ED25519_KEY_SIZE) {
    throw new NoteError(
      `malformed signer key for ${parts.name}: an Ed25519 seed is ${ED25519_KEY_SIZE} bytes, got ${parts.material.length}`,
    );
  }
  const seed = Uint8Array.from(parts.material);
  const keyBytes = concat(Uint8Array.of(expectedAlg), ed25519.getPublicKey(seed));
  const id = keyId(parts.name, keyBytes);
  if (id !== parts.keyId) {
    throw new NoteError(
      `signer key for ${parts.name} claims key ID ${formatKeyId(parts.keyId)} but its public key has ID ${formatKeyId(id)}: the key is corrupt`,
    );
  }
  return { seed, keyBytes };
}

function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIG_SIZE) return false;
  try {
    // zip215: false is RFC 8032's strict verification (canonical encodings), the closest to Go's crypto/ed25519.
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Returns a copy of seed after checking it is 32 bytes (MerkleArgumentError otherwise), or a
 * random seed if undefined.
 * @internal
 */
export function ed25519Seed(seed: Uint8Array | undefined): Uint8Array {
  if (seed === undefined) return ed25519.utils.randomSecretKey();
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_KEY_SIZE) {
    throw new MerkleArgumentError(
      `an Ed25519 seed must be ${ED25519_KEY_SIZE} bytes, got ${seed instanceof Uint8Array ? seed.length : typeof seed}`,
    );
  }
  return Uint8Array.from(seed);
}

/**
 * Encodes a key pair of the given type as Go-format key strings.
 * @internal shared by generateEd25519Key and generateCosignatureKey.
 */
export function encodeKeyPair(name: string, alg: number, seed: Uint8Array): { signerKey: string; verifierKey: string } {
  checkKeyName(name);
  const keyBytes = concat(Uint8Array.of(alg), ed25519.getPublicKey(seed));
  const id = formatKeyId(keyId(name, keyBytes));
  return {
    signerKey: `${PRIVATE_PREFIX}${name}+${id}+${toBase64(concat(Uint8Array.of(alg), seed))}`,
    verifierKey: `${name}+${id}+${toBase64(keyBytes)}`,
  };
}

/**
 * Generates an Ed25519 note key pair for a key name (valid per isValidKeyName).
 * seed: optional 32-byte Ed25519 seed (deterministic keys for tests); random otherwise.
 * Throws MerkleArgumentError for an invalid name or a seed of the wrong length.
 * Returns Go-compatible strings: signerKey "PRIVATE+KEY+name+keyid+base64(0x01 || seed)"
 * (keep it secret) and verifierKey "name+keyid+base64(0x01 || public key)".
 */
export function generateEd25519Key(name: string, seed?: Uint8Array): { signerKey: string; verifierKey: string } {
  return encodeKeyPair(name, ALG_ED25519, ed25519Seed(seed));
}

/**
 * Makes an Ed25519 (RFC 8032) signing function from a 32-byte seed. The default is pure
 * `@noble/curves`; on Node pass one built on node:crypto, which signs about 8x faster.
 * Ed25519 is deterministic, so every correct implementation gives the same signature bytes.
 */
export type Ed25519SignerFactory = (seed: Uint8Array) => (message: Uint8Array) => Uint8Array;

const nobleEd25519: Ed25519SignerFactory = (seed) => (message) => ed25519.sign(message, seed);

/** Parses a Go-format Ed25519 signer key and checks its key ID; shared by the exports below. */
function ed25519SignerParts(signerKey: string): { parts: KeyParts; seed: Uint8Array; keyBytes: Uint8Array } {
  const parts = splitSignerKey(signerKey);
  if (parts.alg !== ALG_ED25519) {
    throw new NoteError(
      `signer key for ${parts.name} has signature type 0x${parts.alg.toString(16).padStart(2, '0')}; only Ed25519 (0x01) note keys are supported here` +
        (parts.alg === ALG_COSIGNATURE_V1 ? ' (use parseCosignerKey for cosignature/v1 keys)' : ''),
    );
  }
  return { parts, ...ed25519SeedKey(parts, ALG_ED25519) };
}

/**
 * Parses a Go-format Ed25519 signer key "PRIVATE+KEY+name+keyid+base64(0x01 || 32-byte seed)".
 * Throws NoteError if it is malformed, of another type, or its key ID does not match its public key.
 * Cosigner keys (type 0x04) are parsed by parseCosignerKey instead.
 * @param makeSigner the Ed25519 implementation to sign with; defaults to @noble/curves' Ed25519.
 */
export function parseSignerKey(signerKey: string, makeSigner: Ed25519SignerFactory = nobleEd25519): NoteSigner {
  const { parts, seed } = ed25519SignerParts(signerKey);
  return { name: parts.name, keyId: parts.keyId, sign: makeSigner(seed) };
}

/**
 * The verifier key "name+keyid+base64(0x01 || public key)" that checks signatures made with a
 * Go-format Ed25519 signer key. Throws NoteError as parseSignerKey does.
 */
export function verifierKeyOf(signerKey: string): string {
  const { parts, keyBytes } = ed25519SignerParts(signerKey);
  return `${parts.name}+${formatKeyId(parts.keyId)}+${toBase64(keyBytes)}`;
}

/**
 * Decodes a cosigner signer key "PRIVATE+KEY+name+keyid+base64(0x04 || seed)" into its parts.
 * @internal used by parseCosignerKey.
 */
export function decodeCosignerKey(signerKey: string): { name: string; keyId: number; seed: Uint8Array } {
  const parts = splitSignerKey(signerKey);
  if (parts.alg !== ALG_COSIGNATURE_V1) {
    throw new NoteError(
      `cosigner key for ${parts.name} has signature type 0x${parts.alg.toString(16).padStart(2, '0')}, expected 0x04 (cosignature/v1)`,
    );
  }
  const { seed } = ed25519SeedKey(parts, ALG_COSIGNATURE_V1);
  return { name: parts.name, keyId: parts.keyId, seed };
}

const COSIGNATURE_HEADER = 'cosignature/v1\ntime ';

/**
 * The message a cosignature/v1 signs: "cosignature/v1\ntime <timestamp>\n" followed by the
 * checkpoint note text. Requires checkpointText to end in "\n" and timestamp to be a
 * non-negative safe integer (POSIX seconds); MerkleArgumentError otherwise.
 */
export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  checkIndex(timestamp, 'cosignature timestamp');
  if (typeof checkpointText !== 'string' || !checkpointText.endsWith('\n')) {
    throw new MerkleArgumentError('the cosigned checkpoint text must end in a newline');
  }
  return utf8.encode(`${COSIGNATURE_HEADER}${timestamp}\n${checkpointText}`);
}

/** Same as cosignatureMessage but over the text's bytes, as verifiers receive them. */
function cosignatureMessageBytes(text: Uint8Array, timestamp: number | bigint): Uint8Array {
  return concat(utf8.encode(`${COSIGNATURE_HEADER}${timestamp}\n`), text);
}

/**
 * Reads the big-endian uint64 timestamp at the start of a cosignature/v1 blob.
 * Returns undefined if the blob is too short or the value exceeds 2^53-1 (tlog keeps numbers safe).
 * @internal
 */
export function cosignatureTimestamp(blob: Uint8Array): number | undefined {
  if (blob.length < 8) return undefined;
  const hi = ((blob[0]! << 24) | (blob[1]! << 16) | (blob[2]! << 8) | blob[3]!) >>> 0;
  const lo = ((blob[4]! << 24) | (blob[5]! << 16) | (blob[6]! << 8) | blob[7]!) >>> 0;
  const t = hi * 2 ** 32 + lo;
  return Number.isSafeInteger(t) ? t : undefined;
}

/**
 * Signs a checkpoint text as cosignature/v1: returns timestamp (uint64 BE) || Ed25519 signature.
 * @internal used by the Cosigner from parseCosignerKey.
 */
export function signCosignatureV1(seed: Uint8Array, checkpointText: Uint8Array, timestamp: number): Uint8Array {
  checkIndex(timestamp, 'cosignature timestamp');
  const sig = ed25519.sign(cosignatureMessageBytes(checkpointText, timestamp), seed);
  const out = new Uint8Array(COSIGNATURE_V1_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(timestamp / 2 ** 32));
  view.setUint32(4, timestamp >>> 0);
  out.set(sig, 8);
  return out;
}

/**
 * Parses a verifier key "name+keyid+base64(type || public key)".
 * Supported types: 0x01 (Ed25519 note signatures) and 0x04 (cosignature/v1: the verifier checks
 * the timestamped signature over "cosignature/v1\ntime <ts>\n" + note text, so openNote can
 * verify witness cosignatures too). Throws NoteError if the key is malformed, of another type,
 * or its key ID does not match.
 */
export function parseVerifierKey(verifierKey: string): NoteVerifier {
  if (verifierKey.startsWith(PRIVATE_PREFIX)) {
    throw new NoteError('got a signer key (PRIVATE+KEY+...) where a verifier key was expected; never publish signer keys');
  }
  const parts = splitKey(verifierKey, 'verifier key', true);
  const keyBytes = concat(Uint8Array.of(parts.alg), parts.material);
  const id = keyId(parts.name, keyBytes);
  if (id !== parts.keyId) {
    throw new NoteError(
      `verifier key for ${parts.name} claims key ID ${formatKeyId(parts.keyId)} but its key data has ID ${formatKeyId(id)}: the key is corrupt or altered`,
    );
  }
  if (parts.alg !== ALG_ED25519 && parts.alg !== ALG_COSIGNATURE_V1) {
    throw new NoteError(
      `verifier key for ${parts.name} has unsupported signature type 0x${parts.alg.toString(16).padStart(2, '0')}; supported: 0x01 (Ed25519), 0x04 (cosignature/v1)`,
    );
  }
  if (parts.material.length !== ED25519_KEY_SIZE) {
    throw new NoteError(`verifier key for ${parts.name}: an Ed25519 public key is ${ED25519_KEY_SIZE} bytes, got ${parts.material.length}`);
  }
  const pub = Uint8Array.from(parts.material);
  const verify =
    parts.alg === ALG_ED25519
      ? (message: Uint8Array, signature: Uint8Array) => ed25519Verify(pub, message, signature)
      : (message: Uint8Array, signature: Uint8Array) => {
          if (signature.length !== COSIGNATURE_V1_SIZE) return false;
          // The exact uint64 (timestamps up to 2^63-1 are valid), so a cosignature from far in
          // the future still verifies rather than passing for a forgery.
          const ts = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
          return ed25519Verify(pub, cosignatureMessageBytes(message, ts), signature.subarray(8));
        };
  return { name: parts.name, keyId: parts.keyId, verify };
}

/**
 * Parses a verifier key that must be of cosignature/v1 type (0x04); NoteError otherwise.
 * @internal used by verifyCosignature.
 */
export function parseCosignatureVerifierKey(verifierKey: string): NoteVerifier {
  const v = parseVerifierKey(verifierKey);
  const alg = splitKey(verifierKey, 'verifier key', true).alg;
  if (alg !== ALG_COSIGNATURE_V1) {
    throw new NoteError(
      `verifier key for ${v.name} has signature type 0x${alg.toString(16).padStart(2, '0')}, not a cosignature/v1 (0x04) key`,
    );
  }
  return v;
}
