/**
 * Node-only part of @tlog/client: the trusted-state store, a node:crypto hasher and
 * key-argument loading.
 */

import { hash as nodeHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fastHasher, type Hasher } from '@tlog/merkle';
import { ArgumentError } from './errors.js';

export { fileSlug } from '@tlog/files';
export * from './trusted-state.js';

/**
 * The fastest Hasher on Node: the WebAssembly SIMD kernel for batches (leaf lists, tree levels,
 * many proofs; several times faster per hash than a node:crypto call) and for single node hashes
 * (its scalar path costs less than a node:crypto call); node:crypto where WebAssembly SIMD does
 * not run.
 */
export function createNodeHasher(): Hasher {
  return fastHasher((d) => nodeHash('sha256', d, 'buffer'));
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
