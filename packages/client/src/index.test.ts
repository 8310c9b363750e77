import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
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
  it('is an SDK: no HTTP server framework, no CLI libraries (those are @tlog/witness and @tlog/cli); an SSE parser for the event stream', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      bin?: unknown;
    };
    expect(Object.keys(pkg.dependencies ?? {}).sort()).toEqual([
      '@tlog/events',
      '@tlog/files',
      '@tlog/merkle',
      'eventsource-parser',
      'zod',
    ]);
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
      'AccessDeniedError',
      'ArgumentError',
      'EventErasedError',
      'ConfigurationError',
      'ExportInterruptedError',
      'LogFetchError',
      'NotFoundError',
      'ProtocolError',
      'VerificationError',
      'StateError',
    ];
    for (const name of thrown) expect(typed, name).toContain(name);
  });
});

describe('the public API', () => {
  it('every name index.ts and node.ts export has a doc comment, and no shipped source uses `any`', () => {
    const entries = ['index.ts', 'node.ts'].map((f) => join(import.meta.dirname, f));
    const program = ts.createProgram(entries, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const undocumented: string[] = [];
    let count = 0;
    for (const entry of entries) {
      const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
      for (const exported of checker.getExportsOfModule(moduleSymbol)) {
        const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        count++;
        const documented = (symbol.declarations ?? []).some((d) => {
          const node = ts.isVariableDeclaration(d) ? d.parent.parent : d;
          return ts.getJSDocCommentsAndTags(node).some((j) => ts.isJSDoc(j) && (ts.getTextOfJSDocComment(j.comment) ?? '').trim() !== '');
        });
        if (!documented) undocumented.push(`${entry.split('/').pop()}: ${exported.name}`);
      }
    }
    expect(count).toBeGreaterThan(30);
    expect(undocumented).toEqual([]);
    const withAny: string[] = [];
    const walk = (sf: ts.SourceFile, n: ts.Node): void => {
      if (n.kind === ts.SyntaxKind.AnyKeyword) withAny.push(`${sf.fileName}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`);
      n.forEachChild((c) => walk(sf, c));
    };
    for (const sf of program.getSourceFiles()) if (sf.fileName.startsWith(import.meta.dirname)) walk(sf, sf);
    expect(withAny).toEqual([]);
  });
});
