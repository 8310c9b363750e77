import { readdirSync, readFileSync } from 'node:fs';
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

describe('errors', () => {
  it('everything the package throws itself is a typed LogClientError, never a bare Error or RangeError', () => {
    const sources = readdirSync(import.meta.dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(10);
    const thrown = new Set<string>();
    for (const f of sources) {
      const src = readFileSync(join(import.meta.dirname, f), 'utf8');
      for (const m of src.matchAll(/throw new (\w+)\(/g)) thrown.add(m[1]!);
      expect(src, f).not.toMatch(/throw new (Error|RangeError|TypeError)\(/);
    }
    const typed = [
      'ArgumentError',
      'ConfigurationError',
      'LogFetchError',
      'NotFoundError',
      'ProtocolError',
      'VerificationError',
      'StateError',
    ];
    for (const name of thrown) expect(typed, name).toContain(name);
  });
});
