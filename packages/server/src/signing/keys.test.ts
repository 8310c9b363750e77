import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519Key, openNote, parseSignerKey, parseVerifierKey, signNote } from '@tlog/merkle';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyError, loadLogKey, nodeEd25519 } from './keys.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function dir() {
  const d = await mkdtemp(join(tmpdir(), 'tlog-key-'));
  dirs.push(d);
  return d;
}

describe('loadLogKey', () => {
  it('generates a 0600 key once, then reads it back with the same verifier key (many keys, incl. "+" in base64)', async () => {
    for (let i = 0; i < 20; i++) {
      const d = await dir();
      const a = await loadLogKey({ dataDir: d, defaultOrigin: 'example.com/log', mayCreate: true });
      expect(a.created).toBe(true);
      expect((await stat(a.path)).mode & 0o777).toBe(0o600);
      const b = await loadLogKey({ dataDir: d, defaultOrigin: 'ignored/when-key-exists', mayCreate: false });
      expect(b.created).toBe(false);
      expect(b.origin).toBe('example.com/log');
      expect(b.verifierKey).toBe(a.verifierKey);
      const note = signNote('hello\n', [b.signer]);
      expect(openNote(note, [parseVerifierKey(a.verifierKey)]).verified).toHaveLength(1);
    }
  });

  it('reads --key files and refuses missing files, garbage and origin mismatches', async () => {
    const d = await dir();
    const k = generateEd25519Key('k.example/log');
    const file = join(d, 'my.key');
    await writeFile(file, k.signerKey + '\n');
    const loaded = await loadLogKey({ dataDir: d, keyFile: file, defaultOrigin: 'x', mayCreate: false });
    expect(loaded.verifierKey).toBe(k.verifierKey);
    await expect(loadLogKey({ dataDir: d, keyFile: file, origin: 'other/log', defaultOrigin: 'x', mayCreate: false })).rejects.toThrow(
      /is for origin "k.example\/log"/,
    );
    await expect(loadLogKey({ dataDir: d, keyFile: join(d, 'missing'), defaultOrigin: 'x', mayCreate: false })).rejects.toThrow(KeyError);
    await writeFile(file, 'not a key');
    await expect(loadLogKey({ dataDir: d, keyFile: file, defaultOrigin: 'x', mayCreate: false })).rejects.toThrow(
      /does not hold a signer key/,
    );
  });

  it('signs on node:crypto byte for byte as the pure-JS signer does', () => {
    for (let i = 0; i < 20; i++) {
      const { signerKey } = generateEd25519Key(`n${i}.example/log`);
      const fast = parseSignerKey(signerKey, nodeEd25519);
      const pure = parseSignerKey(signerKey);
      const message = new TextEncoder().encode(`checkpoint ${i}\n${'x'.repeat(i * 13)}\n`);
      expect(Buffer.from(fast.sign(message)).toString('hex')).toBe(Buffer.from(pure.sign(message)).toString('hex'));
    }
  });
});
