/**
 * The package's own rules, checked on its sources: it depends on @noble only, its shipped code
 * (every non-test file in src and src/generated) imports nothing from Node and uses no Node globals, so it bundles
 * for browsers, it has no `any`, everything index.ts exports carries a doc comment, and no module
 * holds mutable state or runs code with effects when imported ("sideEffects": false).
 * (test/merkle-browser.test.ts additionally bundles it and runs it without Node globals.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const srcDir = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.dirname(srcDir);
// src/generated holds what scripts/build-wasm.mjs writes (the WebAssembly kernel as base64): shipped too.
const sourceFiles = [...readdirSync(srcDir), ...readdirSync(path.join(srcDir, 'generated')).map((f) => `generated/${f}`)]
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

/** Strips type assertions and parentheses: `(x as T)` is x. */
function unwrap(e: ts.Expression): ts.Expression {
  while (ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e)) {
    e = e.expression;
  }
  return e;
}

/**
 * Whether a module-level initializer yields a value no caller can change: a primitive (or an
 * expression of primitives), a function, a regex without the stateful g/y flags, a frozen value
 * (`Object.freeze(...)`), or a TextEncoder/TextDecoder (stateless outside streaming). Everything
 * else (arrays, objects, Maps, typed arrays, class instances) could be mutated by one call and
 * seen by the next: an allow-list, so anything new fails here until it is shown to be immutable.
 */
function isImmutableInitializer(init: ts.Expression): boolean {
  const e = unwrap(init);
  if (
    ts.isStringLiteral(e) ||
    ts.isNumericLiteral(e) ||
    ts.isBigIntLiteral(e) ||
    ts.isNoSubstitutionTemplateLiteral(e) ||
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword ||
    e.kind === ts.SyntaxKind.NullKeyword ||
    ts.isIdentifier(e) ||
    ts.isArrowFunction(e) ||
    ts.isFunctionExpression(e)
  ) {
    return true;
  }
  if (ts.isTemplateExpression(e)) return e.templateSpans.every((span) => isImmutableInitializer(span.expression));
  if (ts.isRegularExpressionLiteral(e)) return !/[gy][a-z]*$/.test(e.text.slice(e.text.lastIndexOf('/')));
  if (ts.isPrefixUnaryExpression(e)) return isImmutableInitializer(e.operand);
  if (ts.isBinaryExpression(e)) return isImmutableInitializer(e.left) && isImmutableInitializer(e.right);
  if (ts.isCallExpression(e)) return e.expression.getText() === 'Object.freeze';
  if (ts.isNewExpression(e)) return ['TextEncoder', 'TextDecoder'].includes(e.expression.getText());
  return false;
}

/**
 * Module-level state and import-time effects in one source file: `let`/`var` declarations,
 * const or static class fields whose value could be mutated (see isImmutableInitializer), static
 * blocks, and any statement that is not a declaration (an assignment into another module, such
 * as `ed.hashes.sha512 = ...`, a loop filling a table, a call).
 */
function moduleStateViolations(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const at = (n: ts.Node, what: string) => out.push(`${sf.fileName}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${what}`);
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) {
      const flags = st.declarationList.flags;
      if (!(flags & ts.NodeFlags.Const)) {
        at(st, `module-level ${flags & ts.NodeFlags.Let ? 'let' : 'var'}`);
        continue;
      }
      for (const d of st.declarationList.declarations) {
        if (d.initializer !== undefined && !isImmutableInitializer(d.initializer)) at(d, `module-level mutable value ${d.name.getText()}`);
      }
    } else if (ts.isClassDeclaration(st)) {
      for (const m of st.members) {
        if (ts.isClassStaticBlockDeclaration(m)) at(m, 'static block');
        const isStatic = ts.canHaveModifiers(m) && (ts.getModifiers(m) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
        if (isStatic && ts.isPropertyDeclaration(m) && (m.initializer === undefined || !isImmutableInitializer(m.initializer))) {
          at(m, `static field ${m.name.getText()}`);
        }
      }
    } else if (
      !ts.isImportDeclaration(st) &&
      !ts.isExportDeclaration(st) &&
      !ts.isFunctionDeclaration(st) &&
      !ts.isInterfaceDeclaration(st) &&
      !ts.isTypeAliasDeclaration(st) &&
      !ts.isEmptyStatement(st)
    ) {
      at(st, `statement run at import: ${st.getText().split('\n')[0]!.slice(0, 60)}`);
    }
  }
  return out;
}

const parse = (name: string, text: string): ts.SourceFile => ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);

describe('package rules', () => {
  test('depends on @noble/hashes and @noble/curves only, with index.ts as the one entry point', () => {
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(pkg.dependencies as object).sort()).toEqual(['@noble/curves', '@noble/hashes']);
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toBeUndefined();
    expect(Object.keys(pkg.exports as object)).toEqual(['.']);
    expect(sourceFiles).toContain('index.ts');
  });

  test('shipped sources import only each other and @noble, never node: or a Node builtin', () => {
    const bad: string[] = [];
    for (const [file, sf] of parsed) {
      for (const s of specifiers(sf)) {
        const ok =
          /^\.\/[a-z0-9]+\.js$/.test(s) ||
          s === './generated/sha256-wasm.js' ||
          s === '@noble/curves/ed25519.js' ||
          /^@noble\/hashes\/[a-z0-9]+\.js$/.test(s);
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

  test('no module holds mutable state or has effects when imported ("sideEffects": false)', () => {
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.sideEffects).toBe(false);
    expect(parsed.size).toBeGreaterThan(10);
    expect([...parsed.values()].flatMap(moduleStateViolations)).toEqual([]);
  });

  test('the module-state check finds what it is meant to find', () => {
    const bad = [
      'let last: string | undefined;',
      'var n = 0;',
      'const cache = new Map<string, number>();',
      'const scratch = new Float64Array(128);',
      'const list: number[] = [];',
      'const table = Array.from({ length: 4 }, (_, i) => i);',
      'const options = { strict: true };',
      'const hasher = new Hasher();',
      'const re = /x/g;',
      'ed.hashes.sha512 = sha512;',
      'for (let i = 0; i < 4; i++) TABLE[i] = i;',
      'register();',
      'class A { static cache = new Map(); }',
      'class B { static { setup(); } }',
    ];
    for (const text of bad) expect(moduleStateViolations(parse('bad.ts', text)), text).toHaveLength(1);
    const good = [
      "import { x } from './x.js';",
      'export const SIZE = 32;',
      'const MAX = 1 << 20;',
      "const HEADER = 'c2sp.org/tlog-proof@v1';",
      'const RE = /^[0-9]+$/;',
      'const POW2: readonly number[] = Object.freeze(Array.from({ length: 65 }, (_, k) => 2 ** k));',
      'export const defaultHasher: Hasher = Object.freeze(new Hasher()) as Hasher;',
      'const utf8 = new TextEncoder();',
      'const sign = (seed: Uint8Array) => (m: Uint8Array) => m;',
      'function f(): number { let n = 0; n++; return n; }',
      'class C { private cache = new Map(); static readonly N = 3; }',
      'export interface I { readonly a: number }',
      'export type T = number;',
    ];
    for (const text of good) expect(moduleStateViolations(parse('good.ts', text)), text).toEqual([]);
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
