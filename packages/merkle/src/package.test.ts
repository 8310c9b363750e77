/**
 * The package's own rules, checked on its sources: it depends on @noble only, its shipped code
 * (every non-test file in src) imports nothing from Node and uses no Node globals, so it bundles
 * for browsers, it has no `any`, and everything index.ts exports carries a doc comment.
 * (test/merkle-browser.test.ts additionally bundles it and runs it without Node globals.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const srcDir = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.dirname(srcDir);
const sourceFiles = readdirSync(srcDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.bench.ts'))
  .sort();
const parsed = new Map(
  sourceFiles.map((f) => [f, ts.createSourceFile(f, readFileSync(path.join(srcDir, f), 'utf8'), ts.ScriptTarget.Latest, true)]),
);

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((c) => walk(c, visit));
}

/** Every module specifier: static imports and re-exports, dynamic import(), require(). */
function specifiers(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  walk(sf, (n) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.arguments.length > 0 && ts.isStringLiteralLike(n.arguments[0]!)) {
      if (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require')) {
        out.push(n.arguments[0].text);
      }
    }
  });
  return out;
}

function hasDoc(node: ts.Node): boolean {
  return ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d) && (ts.getTextOfJSDocComment(d.comment) ?? '').trim() !== '');
}

/** The declarations a module exports directly, by name (declarations with an export modifier). */
function ownExports(sf: ts.SourceFile): Map<string, ts.Node> {
  const out = new Map<string, ts.Node>();
  for (const st of sf.statements) {
    if (!ts.canHaveModifiers(st) || !(ts.getModifiers(st) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) out.set(d.name.text, d);
    } else if (
      (ts.isFunctionDeclaration(st) ||
        ts.isClassDeclaration(st) ||
        ts.isInterfaceDeclaration(st) ||
        ts.isTypeAliasDeclaration(st) ||
        ts.isEnumDeclaration(st)) &&
      st.name
    ) {
      out.set(st.name.text, st);
    }
  }
  return out;
}

/** What index.ts exports, resolved to the declaring module: name -> [file, declaration]. */
function publicApi(): Map<string, [string, ts.Node]> {
  const index = parsed.get('index.ts')!;
  const api = new Map<string, [string, ts.Node]>();
  for (const [name, node] of ownExports(index)) api.set(name, ['index.ts', node]);
  for (const st of index.statements) {
    if (!ts.isExportDeclaration(st) || !st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const file = st.moduleSpecifier.text.replace(/^\.\//, '').replace(/\.js$/, '.ts');
    const module = parsed.get(file);
    if (module === undefined) throw new Error(`index.ts re-exports ${st.moduleSpecifier.text}, which is not a source file here`);
    const own = ownExports(module);
    if (st.exportClause === undefined) {
      for (const [name, node] of own) api.set(name, [file, node]);
    } else if (ts.isNamedExports(st.exportClause)) {
      for (const el of st.exportClause.elements) {
        const name = (el.propertyName ?? el.name).text;
        const node = own.get(name);
        if (node === undefined) throw new Error(`index.ts re-exports ${name} from ${file}, which does not declare it`);
        api.set(el.name.text, [file, node]);
      }
    }
  }
  return api;
}

describe('package rules', () => {
  test('depends on @noble/hashes and @noble/ed25519 only, with index.ts as the one entry point', () => {
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(pkg.dependencies as object).sort()).toEqual(['@noble/ed25519', '@noble/hashes']);
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toBeUndefined();
    expect(Object.keys(pkg.exports as object)).toEqual(['.']);
    expect(sourceFiles).toContain('index.ts');
  });

  test('shipped sources import only each other and @noble, never node: or a Node builtin', () => {
    const bad: string[] = [];
    for (const [file, sf] of parsed) {
      for (const s of specifiers(sf)) {
        const ok = /^\.\/[a-z0-9]+\.js$/.test(s) || s === '@noble/ed25519' || /^@noble\/hashes\/[a-z0-9]+\.js$/.test(s);
        if (!ok) bad.push(`${file}: ${s}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('shipped sources use no Node globals (Buffer, process, require, __dirname, setImmediate)', () => {
    const nodeGlobals = new Set(['Buffer', 'process', 'require', '__dirname', '__filename', 'setImmediate', 'global']);
    const bad: string[] = [];
    for (const [file, sf] of parsed) {
      walk(sf, (n) => {
        if (ts.isIdentifier(n) && nodeGlobals.has(n.text))
          bad.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${n.text}`);
      });
    }
    expect(bad).toEqual([]);
  });

  test('shipped sources have no `any` type', () => {
    const bad: string[] = [];
    for (const [file, sf] of parsed) {
      walk(sf, (n) => {
        if (n.kind === ts.SyntaxKind.AnyKeyword) bad.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`);
      });
    }
    expect(bad).toEqual([]);
  });

  test('every name index.ts exports has a doc comment', () => {
    const api = publicApi();
    expect(api.size).toBeGreaterThan(60);
    // A sample of each module, so a broken resolution cannot pass vacuously.
    for (const name of [
      'verifyInclusion',
      'CompactTree',
      'parseTilePath',
      'encodeEntryBundle',
      'openNote',
      'parseVerifierKey',
      'NoteVerifier',
      'formatCheckpoint',
      'verifyCosignature',
      'verifyTlogProof',
      'TileHashReader',
      'RootMismatchError',
      'Hasher',
      'fromBase64',
    ]) {
      expect(api.has(name), name).toBe(true);
    }
    const missing = [...api].filter(([, [, node]]) => !hasDoc(node)).map(([name, [file]]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });
});
