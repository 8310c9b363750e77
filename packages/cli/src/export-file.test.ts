import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBase64 } from '@tlog/merkle';
import { beforeAll, describe, expect, it } from 'vitest';
import { openLineSink, resumeExportFile } from './export-file.js';
import { UsageError } from './failure.js';

let dir: string;
let n = 0;
const file = () => join(dir, `export-${n++}.ndjson`);

/** An ndjson export line of a valid event at `index`. */
function line(index: number): string {
  const record = {
    action: 'user.login',
    actor: { type: 'user', id: 'alice' },
    targets: [],
    outcome: 'success',
    occurred_at: '2026-01-01T00:00:00Z',
    context: {},
    metadata: {},
    id: `ev-${index}`,
    received_at: '2026-01-01T00:00:01.000Z',
  };
  return JSON.stringify({ index, leafHash: toBase64(new Uint8Array(32)), record, salt: toBase64(new Uint8Array(32)) });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tlog-export-file-'));
});

describe('resumeExportFile', () => {
  it('a missing or empty file starts from the beginning', async () => {
    expect(await resumeExportFile(join(dir, 'none.ndjson'), 'ndjson')).toEqual({ after: undefined, truncated: 0, size: 0 });
    const p = file();
    await writeFile(p, '');
    expect(await resumeExportFile(p, 'ndjson')).toEqual({ after: undefined, truncated: 0, size: 0 });
  });

  it('resumes after the index of the last complete line, leaving the file as it is', async () => {
    const p = file();
    const text = `${line(3)}\n${line(7)}\n${line(41)}\n`;
    await writeFile(p, text);
    expect(await resumeExportFile(p, 'ndjson')).toEqual({ after: 41, truncated: 0, size: Buffer.byteLength(text) });
    expect(await readFile(p, 'utf8')).toBe(text);
  });

  it('cuts off an unfinished last line and resumes after the line before it', async () => {
    const p = file();
    const whole = `${line(3)}\n${line(7)}\n`;
    await writeFile(p, `${whole}${line(8).slice(0, 30)}`);
    expect(await resumeExportFile(p, 'ndjson')).toEqual({ after: 7, truncated: 30, size: Buffer.byteLength(whole) });
    expect(await readFile(p, 'utf8')).toBe(whole);
    // A file that is all one unfinished line is emptied.
    const q = file();
    await writeFile(q, line(1).slice(0, 10));
    expect(await resumeExportFile(q, 'ndjson')).toEqual({ after: undefined, truncated: 10, size: 0 });
    expect(await readFile(q, 'utf8')).toBe('');
  });

  it('refuses a file that does not end with a line of the format (another file, another --format)', async () => {
    const p = file();
    await writeFile(p, 'hello\nworld\n');
    await expect(resumeExportFile(p, 'ndjson')).rejects.toThrow(UsageError);
    const q = file();
    await writeFile(q, `${line(1)}\n`);
    await expect(resumeExportFile(q, 'cloudevents')).rejects.toThrow(/does not end with a line of a cloudevents export/);
  });
});

describe('openLineSink', () => {
  it('appends whole lines, buffered, and writes what is queued on close', async () => {
    const p = file();
    await writeFile(p, `${line(1)}\n`);
    const sink = await openLineSink(p);
    for (let i = 2; i < 400; i++) await sink.write(line(i));
    await sink.close();
    const lines = (await readFile(p, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => (JSON.parse(l) as { index: number }).index)).toEqual(Array.from({ length: 399 }, (_, i) => i + 1));
    expect(await resumeExportFile(p, 'ndjson')).toMatchObject({ after: 399, truncated: 0 });
  });
});
