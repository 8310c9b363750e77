/**
 * Node-only part of @tlog/client: the trusted-state store, a node:crypto hasher and
 * key-argument loading.
 */

import { hash as nodeHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Hasher } from '@tlog/merkle';

export * from './trusted-state.js';

/** A Hasher on node:crypto's SHA-256 (faster than the pure-JS default). */
export function createNodeHasher(): Hasher {
  return new Hasher((d) => nodeHash('sha256', d, 'buffer'));
}

/**
 * A key given on the command line: the key string itself, or the path of a file holding it
 * (first non-empty line, trimmed). Throws if the argument is empty.
 */
export function readKeyArgument(value: string): string {
  if (existsSync(value)) {
    const line = readFileSync(value, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0);
    if (line === undefined) throw new Error(`the key file ${value} is empty`);
    return line;
  }
  if (value.trim() === '') throw new Error('an empty key was given');
  return value.trim();
}
