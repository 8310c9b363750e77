import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every module reachable from a file through relative imports. */
function reachable(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  for (const m of readFileSync(entry, 'utf8').matchAll(/(?:import|export)[^'"]*from\s+'(\.[^']+)'/g)) {
    reachable(resolve(dirname(entry), m[1]!.replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

describe('@tlog/witness', () => {
  it('keeps Node-only code (files, listening) out of its main entry, so the app runs wherever Hono runs', () => {
    const files = [...reachable(join(import.meta.dirname, 'index.ts'))];
    expect(files.map((f) => f.split('/').pop()).sort()).toEqual(['index.ts', 'witness-app.ts', 'witness-state.ts']);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/from\s+'(node:|@hono\/node-server|@tlog\/files|@tlog\/client)/);
  });
});
