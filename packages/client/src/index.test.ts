import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every module reachable from a file through relative imports. */
function reachable(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const src = readFileSync(entry, 'utf8');
  for (const m of src.matchAll(/(?:import|export)[^'"]*from\s+'(\.[^']+)'/g)) {
    reachable(resolve(dirname(entry), m[1]!.replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

describe('the browser entry point', () => {
  it('reaches no node: module (those belong in node.ts)', () => {
    const files = [...reachable(join(import.meta.dirname, 'index.ts'))];
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/from\s+'node:/);
  });
});

describe('the package', () => {
  it('is an SDK: no HTTP server framework, no CLI libraries (those are @tlog/witness and @tlog/cli)', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      bin?: unknown;
    };
    expect(Object.keys(pkg.dependencies ?? {}).sort()).toEqual(['@tlog/files', '@tlog/merkle', 'zod']);
    expect(pkg.bin).toBeUndefined();
  });
});
