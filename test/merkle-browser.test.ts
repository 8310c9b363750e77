/**
 * @tlog/merkle must run unchanged in a browser: bundle it for the browser platform and run
 * the bundle in a bare V8 context that has no Node globals (no process, require or Buffer).
 */

import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, test } from 'vitest';

const entry = fileURLToPath(new URL('../packages/merkle/src/index.ts', import.meta.url));

describe('@tlog/merkle in a browser-like context', () => {
  test('bundles for the browser with no node: imports and verifies a signed checkpoint and a proof', async () => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'tlogMerkle',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => p.startsWith('node:'))).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/require\(["']node:/);

    // Only what every browser has: TextEncoder/TextDecoder and Web Crypto's getRandomValues.
    const context = vm.createContext({
      TextEncoder,
      TextDecoder,
      crypto: { getRandomValues: <T extends ArrayBufferView>(a: T): T => globalThis.crypto.getRandomValues(a) },
    });
    vm.runInContext(code, context);
    const check = vm.runInContext(
      `(() => {
        const m = tlogMerkle;
        const { signerKey, verifierKey } = m.generateEd25519Key('example.com/browser');
        const signer = m.parseSignerKey(signerKey);
        const leaves = [];
        for (let i = 0; i < 13; i++) leaves.push(m.defaultHasher.hashLeaf(new TextEncoder().encode('entry ' + i)));
        const tree = new m.CompactTree();
        tree.appendMany(leaves);
        const text = m.formatCheckpoint({ origin: 'example.com/browser', size: 13, root: tree.root(), extensions: [] });
        const note = m.signNote(text, [signer]);
        const opened = m.openCheckpoint(note, m.parseVerifierKey(verifierKey));
        const reader = { readNodes: (ids) => ids.map(({ level, index }) => m.rootFromLeafHashes(leaves.slice(index << level, (index + 1) << level))) };
        const proof = m.proveInclusionSync(reader, 5, 13);
        m.verifyInclusion(5, 13, leaves[5], proof, opened.checkpoint.root);
        let rejected = false;
        try { m.verifyInclusion(6, 13, leaves[5], proof, opened.checkpoint.root); } catch (e) { rejected = e instanceof m.ProofError; }
        return { size: opened.checkpoint.size, proofLength: proof.length, rejected, hasProcess: typeof process !== 'undefined' };
      })()`,
      context,
    ) as { size: number; proofLength: number; rejected: boolean; hasProcess: boolean };
    expect(check).toEqual({ size: 13, proofLength: 4, rejected: true, hasProcess: false });
  });
});
