import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.js';

describe('writeFileAtomic', () => {
  it('creates the directory, replaces content and leaves no temporary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-atomic-'));
    const path = join(dir, 'sub', 'state.txt');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, new TextEncoder().encode('two'));
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(join(dir, 'sub'))).toEqual(['state.txt']);
  });
  it('concurrent writes leave one complete version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-atomic-'));
    const path = join(dir, 'state.txt');
    const versions = Array.from({ length: 10 }, (_, i) => `version-${i}-`.repeat(1000));
    await Promise.all(versions.map((v) => writeFileAtomic(path, v)));
    expect(versions).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['state.txt']);
  });
});
