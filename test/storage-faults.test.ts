/**
 * The log fails closed on storage faults, end to end on a real data dir: it refuses to start on
 * a store it must not serve (saying why in one line), never generates a new key over an existing
 * log, never signs a rollback or a fork, answers 503 (not damaged data, not 500) for damage it
 * meets at runtime, and `tlog-server verify` says where storage is corrupt.
 */
import { spawn } from 'node:child_process';
import { chmod, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auditLog, LogClient, LogMisbehaviourError } from '@tlog/client';
import { encodeEntryBundle, openCheckpoint, parseVerifierKey } from '@tlog/merkle';
import { afterAll, describe, expect, it } from 'vitest';
import { runServer, spawnServer, tempDataDir } from './support/server.js';

const octet = { 'content-type': 'application/octet-stream' };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await tempDataDir();
  dirs.push(d);
  return d;
}

/** Starts a server on `dir`, appends `n` entries in batches of `per`, and stops it; returns its verifier key and last checkpoint. */
async function seed(dir: string, n: number, per = 100, tag = 'seed') {
  const s = await spawnServer({ dataDir: dir });
  let checkpoint = '';
  for (let i = 0; i < n; i += per) {
    const entries = Array.from({ length: Math.min(per, n - i) }, (_, j) => new TextEncoder().encode(`${tag} ${i + j}`));
    const res = await fetch(`${s.url}/v1/entries/batch`, { method: 'POST', body: Buffer.from(encodeEntryBundle(entries)), headers: octet });
    expect(res.status).toBe(200);
    checkpoint = ((await res.json()) as { checkpoint: string }).checkpoint;
  }
  return { s, vkey: s.vkey, checkpoint };
}

/** Runs `tlog-server verify --data-dir dir`. */
function verify(dir: string) {
  return runServer(['verify', '--data-dir', dir]);
}

/** The refusal line: exactly one line on stderr, starting with "tlog: ". */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tlog: /);
  return lines[0]!;
}

describe('startup refusals', () => {
  it('refuses to start, and never makes a new key, when log.key is gone but the log is there', async () => {
    const dir = await dataDir();
    const { s, vkey } = await seed(dir, 10);
    expect(await s.stop()).toBe(0);
    await rm(join(dir, 'log.key'));
    const r = await runServer(['--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/holds a log, but its signing key .*log\.key is missing; restore the key from a backup/);
    expect((await readFile(join(dir, 'log.vkey'), 'utf8')).trim()).toBe(vkey);
    expect(await readdir(dir)).not.toContain('log.key');
  });

  it('refuses a key that is not the one log.vkey names', async () => {
    const dir = await dataDir();
    const { s } = await seed(dir, 3);
    expect(await s.stop()).toBe(0);
    const other = await dataDir();
    const o = await spawnServer({ dataDir: other });
    expect(await o.stop()).toBe(0);
    await cp(join(other, 'log.key'), join(dir, 'log.key'));
    const r = await runServer(['--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/log\.vkey names the key .* but the signing key .* is .*: the data dir was made with another key/);
  });

  it('refuses a database directory without CURRENT instead of signing an empty tree over it', async () => {
    const dir = await dataDir();
    const { s } = await seed(dir, 20);
    expect(await s.stop()).toBe(0);
    await rm(join(dir, 'db', 'CURRENT'));
    const before = (await readdir(join(dir, 'db'))).sort();
    const r = await runServer(['--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/db is not an intact LevelDB database: it has files but no CURRENT file/);
    expect((await readdir(join(dir, 'db'))).sort()).toEqual(before);
  });

  it('refuses a deleted database: the checkpoint record says what was signed', async () => {
    const dir = await dataDir();
    const { s } = await seed(dir, 20);
    expect(await s.stop()).toBe(0);
    await rm(join(dir, 'db'), { recursive: true });
    const r = await runServer(['--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/the database .*db is missing, but this log has signed a checkpoint of size 20/);
    expect(await readdir(dir)).not.toContain('db'); // refused before anything was created
  });

  it('after a crash, refuses a write-ahead log with flipped bytes and leaves it untouched', async () => {
    const dir = await dataDir();
    const { s } = await seed(dir, 300, 10);
    await s.kill();
    const logs = (await readdir(join(dir, 'db'))).filter((n) => n.endsWith('.log'));
    const newest = join(dir, 'db', logs.sort().at(-1)!);
    const bytes = await readFile(newest);
    for (let i = 0; i < 8; i++) bytes[bytes.length - 200 + i]! ^= 0xff;
    await writeFile(newest, bytes);
    const r = await runServer(['--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(
      /storage is corrupt: LevelDB's write-ahead log .*\.log is damaged at byte [0-9]+ \(checksum mismatch\)/,
    );
    expect(await readFile(newest)).toEqual(bytes);
  });

  it('refuses an older copy of the database (a restored backup): no rollback, no fork', async () => {
    const dir = await dataDir();
    const first = await seed(dir, 50);
    expect(await first.s.stop()).toBe(0);
    const backup = await dataDir();
    await cp(join(dir, 'db'), join(backup, 'db'), { recursive: true });
    const second = await spawnServer({ dataDir: dir });
    const res = await fetch(`${second.url}/v1/entries`, { method: 'POST', body: 'after the backup', headers: octet });
    expect(res.status).toBe(200);
    expect(await second.stop()).toBe(0);
    await rm(join(dir, 'db'), { recursive: true });
    await cp(join(backup, 'db'), join(dir, 'db'), { recursive: true });
    const r = await runServer(['--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(
      /the store is behind the last checkpoint this log signed: it holds 50 entries, but a checkpoint of size 51 was signed/,
    );
  });

  it('warns loudly about a signing key readable by others, prints --version, and says in one line why it cannot listen', async () => {
    const dir = await dataDir();
    const { s } = await seed(dir, 1);
    expect(await s.stop()).toBe(0);
    await chmod(join(dir, 'log.key'), 0o644);
    const warned = await spawnServer({ dataDir: dir });
    expect(warned.stderr()).toMatch(
      /^tlog: WARNING: the secret key file .*log\.key is accessible by its group and others \(mode 644\); run `chmod 600 /m,
    );

    const busy = await runServer(['--port', new URL(warned.url).port, '--data-dir', await dataDir()]);
    expect(busy.code).toBe(1);
    expect(oneLine(busy.stderr)).toMatch(/cannot listen on 127\.0\.0\.1:[0-9]+: the port is in use/);
    expect(await warned.stop()).toBe(0);

    const host = await runServer(['--port', '0', '--host', 'no-such-host.invalid', '--data-dir', await dataDir()]);
    expect(host.code).toBe(1);
    expect(oneLine(host.stderr)).toMatch(/cannot listen on no-such-host\.invalid:0: the host name does not resolve/);

    const v = await runServer(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^[0-9]+\.[0-9]+\.[0-9]+$/);
  });
});

describe('damage found at runtime', () => {
  it('serves 503, not a corrupted tile; the audit does not blame the log; verify names the damage', async () => {
    const dir = await dataDir();
    const { s, vkey } = await seed(dir, 600);
    const tile = new Uint8Array(await (await fetch(`${s.url}/tile/0/001`)).arrayBuffer());
    expect(tile.length).toBe(256 * 32);
    expect(await s.stop()).toBe(0);
    // A clean restart moves LevelDB's log into table files; then flip one bit of tile 0/1 there.
    const again = await spawnServer({ dataDir: dir });
    expect(await again.stop()).toBe(0);
    let damaged = false;
    for (const name of (await readdir(join(dir, 'db'))).filter((n) => n.endsWith('.ldb'))) {
      const bytes = await readFile(join(dir, 'db', name));
      // Three hashes in a row: only the tile holds them so (each is also a leaf index key).
      const at = bytes.indexOf(tile.subarray(64, 160));
      if (at < 0) continue;
      bytes[at + 40]! ^= 0x04;
      await writeFile(join(dir, 'db', name), bytes);
      damaged = true;
    }
    expect(damaged).toBe(true);

    const v = await verify(dir);
    expect(v.code).toBe(3);
    expect(oneLine(v.stderr)).toMatch(/storage is corrupt at tile 0\/1: its checksum does not match/);

    const s2 = await spawnServer({ dataDir: dir });
    const res = await fetch(`${s2.url}/tile/0/001`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/could not read or write its storage/);
    expect((await fetch(`${s2.url}/tile/0/000`)).status).toBe(200);
    const client = new LogClient({ url: s2.url, vkey });
    const at = await client.latestCheckpoint();
    const audit = await auditLog(client, at).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(audit).toBeInstanceOf(Error);
    expect(audit).not.toBeInstanceOf(LogMisbehaviourError);
    expect(String(audit)).toMatch(/503/);
    expect(s2.stderr()).toMatch(/storage is corrupt at tile 0\/1/);
    expect(await s2.stop()).toBe(0);
  });

  it('answers 503 (never 500) for a truncated table file, and refuses to start when it holds what startup reads', async () => {
    const dir = await dataDir();
    const tablesNow = async () => new Set((await readdir(join(dir, 'db'))).filter((n) => n.endsWith('.ldb')));
    // Each start moves LevelDB's log into a new table file (and fewer than four keep compaction
    // away): table A gets entries 0..599 and the format record, table B entries 600..1199.
    const first = await seed(dir, 600);
    expect(await first.s.stop()).toBe(0);
    const second = await spawnServer({ dataDir: dir });
    const a = await tablesNow();
    expect(a.size).toBe(1);
    const more = Array.from({ length: 600 }, (_, i) => new TextEncoder().encode(`more ${i}`));
    expect(
      (await fetch(`${second.url}/v1/entries/batch`, { method: 'POST', body: Buffer.from(encodeEntryBundle(more)), headers: octet }))
        .status,
    ).toBe(200);
    expect(await second.stop()).toBe(0);
    const third = await spawnServer({ dataDir: dir });
    const b = [...(await tablesNow())].filter((n) => !a.has(n));
    expect(b).toHaveLength(1);
    // One more commit, which the next start moves into a third table: it completes a tile, so the
    // state and every tile on the right edge (all that startup reads but the format) are there.
    const last = Array.from({ length: 80 }, (_, i) => new TextEncoder().encode(`last ${i}`));
    expect(
      (await fetch(`${third.url}/v1/entries/batch`, { method: 'POST', body: Buffer.from(encodeEntryBundle(last)), headers: octet })).status,
    ).toBe(200);
    expect(await third.stop()).toBe(0);

    const tableB = join(dir, 'db', b[0]!);
    await writeFile(tableB, (await readFile(tableB)).subarray(0, 1000));
    const s2 = await spawnServer({ dataDir: dir });
    for (const path of ['/tile/0/003', '/tile/entries/003', '/v1/entries/900', '/v1/proof/inclusion?index=900&treeSize=1280']) {
      const res = await fetch(s2.url + path);
      expect(res.status, path).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(/could not read or write its storage/);
    }
    expect((await fetch(`${s2.url}/tile/0/004`)).status).toBe(200); // found in the newer table first
    expect((await fetch(`${s2.url}/checkpoint`)).status).toBe(200);
    expect(s2.stderr()).toMatch(/LevelDB: /);
    expect(s2.stderr()).not.toMatch(/"level":50,.*internal error/);
    expect(await s2.stop()).toBe(0);

    // Table A holds the format record every start reads: starting is refused, in one line.
    const tableA = join(dir, 'db', [...a][0]!);
    await writeFile(tableA, (await readFile(tableA)).subarray(0, 1000));
    const r = await runServer(['--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^tlog: reading from the store failed \(LevelDB: /);
  });

  it('verify passes an intact store and refuses to run beside the live server', async () => {
    const dir = await dataDir();
    const { s, checkpoint } = await seed(dir, 700, 70);
    const busy = await verify(dir);
    expect(busy.code).toBe(1);
    expect(oneLine(busy.stderr)).toMatch(/another tlog server is using this --data-dir/);
    expect(await s.stop()).toBe(0);
    const ok = await verify(dir);
    expect(ok.code, ok.stderr).toBe(0);
    const size = openCheckpoint(checkpoint, parseVerifierKey(s.vkey)).checkpoint.size;
    expect(ok.stdout).toMatch(
      new RegExp(`^storage OK: ${size} entries of tlog\\.localhost/log hash to root .*, as signed; 3 entry bundles, [0-9]+ tiles`),
    );
  });
});

describe('a full disk', () => {
  it('answers 503 while full, then accepts writes again once space is freed, and shuts down cleanly', async () => {
    const mountPoint = await dataDir();
    const mounted = await new Promise<boolean>((resolve) => {
      const m = spawn('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint], { stdio: 'ignore' });
      m.on('error', () => resolve(false));
      m.on('exit', (code) => resolve(code === 0));
    });
    if (!mounted) {
      console.warn('skipping the full-disk test: this machine does not let the test mount a small tmpfs');
      return;
    }
    try {
      const dir = join(mountPoint, 'data');
      const s = await spawnServer({ dataDir: dir });
      const filler = join(mountPoint, 'filler');
      // Leave a little room, then fill it with entries until the log says it cannot write.
      await writeFile(filler, new Uint8Array(5 * 1024 * 1024 - 400 * 1024));
      const acked: number[] = [];
      let refused: { status: number; error: string } | undefined;
      for (let i = 0; i < 400 && refused === undefined; i++) {
        const res = await fetch(`${s.url}/v1/entries`, { method: 'POST', body: new Uint8Array(16 * 1024).fill(i % 251), headers: octet });
        if (res.status === 200) acked.push(((await res.json()) as { index: number }).index);
        else refused = { status: res.status, error: ((await res.json()) as { error: string }).error };
      }
      expect(refused?.status).toBe(503);
      expect((await fetch(`${s.url}/checkpoint`)).status).toBe(200);
      await rm(filler);
      let after: Response | undefined;
      for (let i = 0; after?.status !== 200; i++) {
        expect(i, `still refusing after the disk was freed: ${s.stderr().slice(-500)}`).toBeLessThan(600);
        await new Promise((r) => setTimeout(r, 100));
        after = await fetch(`${s.url}/v1/entries`, { method: 'POST', body: 'after the disk was freed', headers: octet });
      }
      const index = ((await after.json()) as { index: number }).index;
      expect(index).toBeGreaterThanOrEqual(acked.length);
      expect(await s.stop()).toBe(0);
      const v = await verify(dir);
      expect(v.code, v.stderr).toBe(0);
    } finally {
      await new Promise<void>((resolve) => spawn('umount', [mountPoint], { stdio: 'ignore' }).on('exit', () => resolve()));
    }
  });
});
