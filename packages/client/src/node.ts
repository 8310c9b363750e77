/**
 * Node-only part of @tlog/client: the trusted-state store, a node:crypto hasher and
 * key-argument loading.
 */

import { hash as nodeHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Hasher, wasmSha256Kernel } from '@tlog/merkle';
import { ArgumentError } from './errors.js';

export { fileSlug } from '@tlog/files';
export * from './trusted-state.js';

/**
 * The fastest Hasher on Node: single hashes on node:crypto (one call costs less than the
 * WebAssembly kernel's four-lane pass for one message), batches (leaf lists, tree levels, many
 * proofs) on the WebAssembly SIMD kernel, several times faster per hash; node:crypto for both
 * where WebAssembly SIMD does not run.
 */
export function createNodeHasher(): Hasher {
  return new Hasher((d) => nodeHash('sha256', d, 'buffer'), wasmSha256Kernel());
}

/**
 * A key given on the command line: the key string itself, or the path of a file holding it
 * (first non-empty line, trimmed). ArgumentError if the argument or the file is empty. The key
 * itself is not checked (parse it with parseVerifierKey or give it to a LogClient).
 */
export function readKeyArgument(value: string): string {
  if (existsSync(value)) {
    const line = readFileSync(value, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0);
    if (line === undefined) throw new ArgumentError(`the key file ${value} is empty`);
    return line;
  }
  if (value.trim() === '') throw new ArgumentError('an empty key was given');
  return value.trim();
}
