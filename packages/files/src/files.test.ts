import { chmod, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileExclusive, secretFileProblem, writeFileAtomic } from './index.js';

const temp = () => mkdtemp(join(tmpdir(), 'tlog-files-'));
const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

describe('writeFileAtomic', () => {
  it('creates the directory, replaces content and leaves no temporary files', async () => {
    const dir = await temp();
    const path = join(dir, 'sub', 'state.txt');
    await writeFileAtomic(path, 'one', { mode: 0o644 });
    await writeFileAtomic(path, new TextEncoder().encode('two'), { mode: 0o644 });
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(join(dir, 'sub'))).toEqual(['state.txt']);
  });

  it('concurrent writes leave one complete version', async () => {
    const dir = await temp();
    const path = join(dir, 'state.txt');
    const versions = Array.from({ length: 10 }, (_, i) => `version-${i}-`.repeat(1000));
    await Promise.all(versions.map((v) => writeFileAtomic(path, v, { mode: 0o644 })));
    expect(versions).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['state.txt']);
  });

  it('gives the file exactly the mode asked, also over a file with a wider mode and under any umask', async () => {
    const dir = await temp();
    const path = join(dir, 'secret.key');
    await writeFile(path, 'old secret', { mode: 0o644 });
    await chmod(path, 0o644);
    await writeFileAtomic(path, 'new secret', { mode: 0o600 });
    expect(await modeOf(path)).toBe(0o600);
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(join(dir, 'public.txt'), 'x', { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect(await modeOf(join(dir, 'public.txt'))).toBe(0o644);
  });
});

describe('createFileExclusive', () => {
  it('creates once with the mode asked, then refuses with EEXIST and keeps the first content', async () => {
    const dir = await temp();
    const path = join(dir, 'log.key');
    await createFileExclusive(path, 'first', { mode: 0o600 });
    expect(await modeOf(path)).toBe(0o600);
    await expect(createFileExclusive(path, 'second', { mode: 0o600 })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['log.key']);
  });

  it('lets exactly one of many racing creators win', async () => {
    const dir = await temp();
    const path = join(dir, 'log.key');
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => createFileExclusive(path, `v${i}`, { mode: 0o600 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('secretFileProblem', () => {
  it('accepts 0600 and names group and others readable modes with the chmod fix', async () => {
    const dir = await temp();
    const path = join(dir, 'k');
    await writeFileAtomic(path, 'x', { mode: 0o600 });
    expect(await secretFileProblem(path)).toBeUndefined();
    await chmod(path, 0o640);
    expect(await secretFileProblem(path)).toMatch(/accessible by its group \(mode 640\); run `chmod 600 /);
    await chmod(path, 0o604);
    expect(await secretFileProblem(path)).toMatch(/accessible by others \(mode 604\)/);
    await chmod(path, 0o644);
    expect(await secretFileProblem(path)).toMatch(/its group and others/);
  });
});
