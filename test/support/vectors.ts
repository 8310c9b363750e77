/**
 * The one loader of the reference vectors in `<repo>/../shared/vectors` (see its README.md), for
 * every suite that reads them: the @tlog/merkle tests (imported by relative path) and the
 * end-to-end ones here. It finds the directory, reads and parses the files, and types them.
 *
 * Conformance is not optional: declare vector suites with {@link describeVectors}. When the
 * directory is missing, such a suite is skipped with the reason in its name on a developer's
 * machine, but FAILS, naming the missing path, when the `CI` environment variable is set (to
 * any non-empty value), so that CI can never pass by silently not checking against the vectors.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'vitest';

/** The repository root: this file is test/support/vectors.ts. */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of the shared vectors: `<repo>/../shared/vectors`. */
export const VECTORS_DIR: string = path.resolve(repoRoot, '../shared/vectors');

/** The files the suites read, relative to VECTORS_DIR. All must be there for the vectors to count as present. */
const REQUIRED = ['tlog-reference.json', 'signed-note.json', 'transparency-dev-merkle/testdata'] as const;

/** What is missing, as absolute paths (VECTORS_DIR itself if it is not there at all); empty when the vectors are all there. */
export function missingVectors(): string[] {
  if (!existsSync(VECTORS_DIR)) return [VECTORS_DIR];
  return REQUIRED.map((p) => path.join(VECTORS_DIR, p)).filter((p) => !existsSync(p));
}

/** True when every vector file the suites read is present. */
export const VECTORS_PRESENT: boolean = missingVectors().length === 0;

/** True when running under CI (the `CI` environment variable is set and non-empty). */
export function inCI(): boolean {
  return (process.env.CI ?? '') !== '';
}

/**
 * Declares a suite that needs the vectors. With the vectors present it is `describe(name, body)`.
 * Without them it is skipped, with the reason in its name, unless CI is set: then it is a suite
 * whose one test fails naming the missing path. `body` is only run when the vectors are present,
 * so it may load them at collection time.
 */
export function describeVectors(name: string, body: () => void): void {
  if (VECTORS_PRESENT) {
    describe(name, body);
    return;
  }
  const missing = missingVectors().join(', ');
  if (inCI()) {
    describe(name, () => {
      test(`the reference vectors are required in CI (not found: ${missing})`, () => {
        throw new Error(
          `conformance vectors not found: ${missing}. Under CI the suites must run against the reference vectors in ` +
            '<repo>/../shared/vectors: restore them (they are not optional there), or unset CI to skip these suites locally.',
        );
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: ${missing} not found; this fails under CI)`, () => {
    test('needs the reference vectors', () => {});
  });
}

/** The names in a folder of the vectors (relative to VECTORS_DIR; '' for the top), sorted: for inventory tests. */
export function vectorFiles(folder = ''): string[] {
  return readdirSync(path.join(VECTORS_DIR, folder)).sort();
}

function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(path.join(VECTORS_DIR, relative), 'utf8')) as T;
}

// ---------------------------------------------------------------------------------------------
// tlog-reference.json (Go's sumdb/tlog and sumdb/note)

/** An inclusion proof of tlog-reference.json; hashes in hex, bottom-up. */
export interface InclusionVector {
  index: number;
  treeSize: number;
  leafHash: string;
  root: string;
  proof: string[];
}

/** A consistency proof of tlog-reference.json; hashes in hex, bottom-up. */
export interface ConsistencyVector {
  from: number;
  to: number;
  fromRoot: string;
  toRoot: string;
  proof: string[];
}

/** A hash tile or entry bundle of tlog-reference.json: its tlog-tiles path and its bytes in hex. */
export interface PathVector {
  path: string;
  hex: string;
}

/** tlog-reference.json: a 1,100-leaf tree with its roots, proofs, tiles, bundles and signed checkpoints. */
export interface TlogReference {
  about: string;
  /** Entry i, in hex (0 to 300 bytes). */
  leaves: string[];
  leafHashes: string[];
  /** The root of every size 0..1100, in hex, keyed by the size in decimal. */
  roots: Record<string, string>;
  inclusion: InclusionVector[];
  consistency: ConsistencyVector[];
  tiles: PathVector[];
  entryBundles: PathVector[];
  signedNote: { origin: string; signerKey: string; verifierKey: string; checkpoints: { treeSize: number; root: string; note: string }[] };
  rfc6962Example: { leaves: string[]; rootsBySize: string[] };
}

/** Reads and parses tlog-reference.json (call it inside a {@link describeVectors} body). */
export function tlogReference(): TlogReference {
  return readJson<TlogReference>('tlog-reference.json');
}

// ---------------------------------------------------------------------------------------------
// signed-note.json (Go's sumdb/note, C2SP, Sunlight, litewitness)

/** A cosignature/v1 example of signed-note.json. */
export interface CosignatureVector {
  source: string;
  verifierKey: string;
  checkpointBody: string;
  signatureLine: string;
  timestamp: number;
  signedMessage?: string;
}

/** signed-note.json: signed notes, a Go signer key, cosignatures and a witness add-checkpoint example. */
export interface SignedNoteVectors {
  about: string;
  signedNote: [
    { source: string; verifierKeys: string[]; signerKey: string; text: string; signatureLines: string[]; note: string },
    { source: string; verifierKeys: string[]; note: string },
  ];
  cosignatureV1: CosignatureVector[];
  witnessAddCheckpoint: {
    source: string;
    logPublicKeyHex: string;
    origin: string;
    verifierKey: string;
    checkpoints: { size: number; root: string; signature: string }[];
    consistencyProof1to3: string[];
  };
}

/** Reads and parses signed-note.json (call it inside a {@link describeVectors} body). */
export function signedNoteVectors(): SignedNoteVectors {
  return readJson<SignedNoteVectors>('signed-note.json');
}

// ---------------------------------------------------------------------------------------------
// transparency-dev-merkle/testdata (JSON probes)

/** Absolute path of the transparency-dev/merkle probe folders (inclusion, consistency, ...). */
export const TRANSPARENCY_DEV_DIR: string = path.join(VECTORS_DIR, 'transparency-dev-merkle/testdata');

/** One transparency-dev/merkle probe: hashes in base64; the other fields depend on the kind. */
export interface TransparencyDevProbe {
  desc: string;
  wantErr: boolean;
  proof: string[] | null;
  [field: string]: unknown;
}

/** The probe files under `under` (a path relative to TRANSPARENCY_DEV_DIR), recursively, sorted, relative to TRANSPARENCY_DEV_DIR. */
export function transparencyDevFiles(under = ''): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(TRANSPARENCY_DEV_DIR, rel)).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (statSync(path.join(TRANSPARENCY_DEV_DIR, child)).isDirectory()) walk(child);
      else if (name.endsWith('.json')) out.push(child);
    }
  };
  walk(under);
  return out;
}

/** Reads and parses one probe file (relative to TRANSPARENCY_DEV_DIR). */
export function transparencyDevProbe(file: string): TransparencyDevProbe {
  return JSON.parse(readFileSync(path.join(TRANSPARENCY_DEV_DIR, file), 'utf8')) as TransparencyDevProbe;
}
