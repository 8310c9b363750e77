/** The C2SP tlog-witness server: every error answer of the spec, cosignatures, persistence, races. */

import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Hash, NoteVerifier } from '@tlog/merkle';
import {
  formatAddCheckpoint,
  formatCheckpoint,
  fromBase64,
  generateCosignatureKey,
  generateEd25519Key,
  parseCosignerKey,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  proveConsistencySync,
  signNote,
  toBase64,
  verifyCosignature,
} from '@tlog/merkle';
import { createWitnessApp, MAX_WITNESS_BODY } from '@tlog/witness';
import { FileWitnessState } from '@tlog/witness/node';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryTree } from './support/fake-log.js';
import { describeVectors, signedNoteVectors } from './support/vectors.js';

const ORIGIN = 'example.com/witnessed-log';
const logKey = generateEd25519Key(ORIGIN, new Uint8Array(32).fill(11));
const wrongKey = generateEd25519Key(ORIGIN, new Uint8Array(32).fill(12));
const witnessKey = generateCosignatureKey('witness.example/w1', new Uint8Array(32).fill(13));
const enc = new TextEncoder();

const tree = new MemoryTree(Array.from({ length: 40 }, (_, i) => enc.encode(`e${i}`)));
const forked = new MemoryTree([...tree.entries.slice(0, 10), ...Array.from({ length: 30 }, (_, i) => enc.encode(`f${i}`))]);

function signed(t: MemoryTree, size: number, key = logKey.signerKey, origin = ORIGIN): string {
  return signNote(formatCheckpoint({ origin, size, root: t.root(size), extensions: [] }), [parseSignerKey(key)]);
}
/** A request body as written on the wire, also the ones formatAddCheckpoint refuses to write (a witness must refuse them too). */
function body(oldSize: number, proof: readonly Hash[], checkpoint: string): string {
  return `old ${oldSize}\n${proof.map((h) => `${toBase64(h)}\n`).join('')}\n${checkpoint}`;
}
function proof(t: MemoryTree, a: number, b: number): Hash[] {
  return a === 0 || a === b ? [] : proveConsistencySync(t.reader, a, b);
}

function makeApp(dir: string, logs = new Map<string, NoteVerifier[]>([[ORIGIN, [parseVerifierKey(logKey.verifierKey)]]])) {
  const app = createWitnessApp({
    cosigner: parseCosignerKey(witnessKey.signerKey),
    logs,
    state: new FileWitnessState(dir),
    now: () => 1_700_000_000,
  });
  return async (b: string) => {
    const res = await app.request('/add-checkpoint', { method: 'POST', body: b });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
}

function cosignatureOf(checkpoint: string, responseBody: string) {
  const text = parseNote(checkpoint).text;
  const [sig] = parseNote(text + '\n' + responseBody).signatures;
  return verifyCosignature(text, sig!, witnessKey.verifierKey);
}

describe('tlog-witness add-checkpoint', () => {
  let dir: string;
  let post: ReturnType<typeof makeApp>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlog-witness-'));
    post = makeApp(dir);
  });

  it('is sent the bodies the log itself writes (merkle formatAddCheckpoint), byte for byte', () => {
    expect(body(5, proof(tree, 5, 10), signed(tree, 10))).toBe(
      formatAddCheckpoint({ oldSize: 5, proof: proof(tree, 5, 10), checkpoint: signed(tree, 10) }),
    );
  });

  it('cosigns a first checkpoint and consistent growth; cosignatures verify', async () => {
    const cp5 = signed(tree, 5);
    const r1 = await post(body(0, [], cp5));
    expect(r1.status).toBe(200);
    expect(r1.text).toMatch(/^\u2014 witness\.example\/w1 [A-Za-z0-9+/=]+\n$/);
    expect(cosignatureOf(cp5, r1.text).timestamp).toBe(1_700_000_000);
    const cp20 = signed(tree, 20);
    const r2 = await post(body(5, proof(tree, 5, 20), cp20));
    expect(r2.status).toBe(200);
    expect(cosignatureOf(cp20, r2.text).timestamp).toBe(1_700_000_000);
    // The same checkpoint again is fine (old size = size, same root).
    expect((await post(body(20, [], cp20))).status).toBe(200);
    // A cosignature for one checkpoint does not verify for another.
    expect(() => cosignatureOf(cp5, r2.text)).toThrow();
  });

  it('404 for an unknown origin', async () => {
    const other = generateEd25519Key('other.example/log');
    expect((await post(body(0, [], signed(tree, 5, other.signerKey, 'other.example/log')))).status).toBe(404);
  });

  it('403 when no known key signed', async () => {
    expect((await post(body(0, [], signed(tree, 5, wrongKey.signerKey)))).status).toBe(403);
  });

  it.each([
    ['garbage', 'hello'],
    ['a bad old line', `old x\n\n${signed(tree, 5)}`],
    ['a malformed checkpoint', 'old 0\n\nnot a checkpoint\n'],
    ['old size above the checkpoint size', body(6, [], signed(tree, 5))],
    ['a bad proof line', `old 0\n***\n\n${signed(tree, 5)}`],
  ])('400 for %s', async (_name, b) => {
    expect((await post(b)).status).toBe(400);
  });

  it('409 with the current size when the old size does not match', async () => {
    expect((await post(body(0, [], signed(tree, 5)))).status).toBe(200);
    const r = await post(body(0, [], signed(tree, 8)));
    expect(r.status).toBe(409);
    expect(r.type).toBe('text/x.tlog.size');
    expect(r.text).toBe('5\n');
    expect((await post(body(3, proof(tree, 3, 8), signed(tree, 8)))).text).toBe('5\n');
  });

  it('409 for the same size with another root', async () => {
    expect((await post(body(0, [], signed(tree, 20)))).status).toBe(200);
    const r = await post(body(20, [], signed(forked, 20)));
    expect(r.status).toBe(409);
    expect(r.text).toBe('20\n');
  });

  it('422 for a consistency proof that does not verify, and the state is unchanged', async () => {
    expect((await post(body(0, [], signed(tree, 20)))).status).toBe(200);
    expect((await post(body(20, proof(forked, 20, 30), signed(forked, 30)))).status).toBe(422);
    const tampered = proof(tree, 20, 30).map((h) => h.slice());
    tampered[0]![0]! ^= 1;
    expect((await post(body(20, tampered, signed(tree, 30)))).status).toBe(422);
    expect((await post(body(20, [], signed(tree, 30)))).status).toBe(422);
    expect((await post(body(20, proof(tree, 20, 30), signed(tree, 30)))).status).toBe(200);
  });

  it('persists its state across a restart', async () => {
    expect((await post(body(0, [], signed(tree, 12)))).status).toBe(200);
    const restarted = makeApp(dir);
    const r = await restarted(body(0, [], signed(tree, 15)));
    expect(r.status).toBe(409);
    expect(r.text).toBe('12\n');
    expect((await restarted(body(12, proof(tree, 12, 15), signed(tree, 15)))).status).toBe(200);
    const file = new FileWitnessState(dir).pathFor(ORIGIN);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ origin: ORIGIN, size: 15 });
  });

  it('serializes concurrent requests: one old size, one winner', async () => {
    expect((await post(body(0, [], signed(tree, 10)))).status).toBe(200);
    const sizes = [20, 30, 40, 25, 35];
    const results = await Promise.all(sizes.map((s) => post(body(10, proof(tree, 10, s), signed(tree, s)))));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const winner = sizes[results.findIndex((r) => r.status === 200)]!;
    for (const r of results) if (r.status !== 200) expect(r.text).toBe(`${winner}\n`);
  });

  it('403 when the known key signature is invalid; signatures of unknown keys are ignored', async () => {
    const good = signed(tree, 5);
    // Same key name and ID, altered signature bytes: a bad signature by the known key.
    const lines = good.split('\n');
    const sigLine = lines.findIndex((l) => l.startsWith('\u2014 '));
    const blob = Buffer.from(lines[sigLine]!.split(' ')[2]!, 'base64');
    blob[10]! ^= 1;
    lines[sigLine] = `\u2014 ${ORIGIN} ${blob.toString('base64')}`;
    expect((await post(body(0, [], lines.join('\n')))).status).toBe(403);
    // A valid log signature plus a signature by a key the witness does not know: cosigned.
    const stranger = generateEd25519Key('stranger.example/key');
    const text = parseNote(good).text;
    const withStranger = signNote(text, [parseSignerKey(stranger.signerKey), parseSignerKey(logKey.signerKey)]);
    const r = await post(body(0, [], withStranger));
    expect(r.status).toBe(200);
    expect(cosignatureOf(withStranger, r.text).timestamp).toBe(1_700_000_000);
  });

  it('409 with size 0 when it never cosigned for the log, and 422 for a proof from size 0', async () => {
    const r = await post(body(4, proof(tree, 4, 8), signed(tree, 8)));
    expect(r).toMatchObject({ status: 409, type: 'text/x.tlog.size', text: '0\n' });
    expect((await post(body(0, proof(tree, 4, 8), signed(tree, 8)))).status).toBe(422);
    expect((await post(body(0, [], signed(tree, 8)))).status).toBe(200);
  });

  it('never rolls back: a smaller checkpoint is 400 or 409, and the state keeps the larger one', async () => {
    expect((await post(body(0, [], signed(tree, 20)))).status).toBe(200);
    expect((await post(body(20, [], signed(tree, 10)))).status).toBe(400);
    const r = await post(body(10, [], signed(tree, 10)));
    expect(r).toMatchObject({ status: 409, text: '20\n' });
    expect((await new FileWitnessState(dir).get(ORIGIN))?.size).toBe(20);
  });

  it('answers only after the state is stored: a failed write gives no cosignature', async () => {
    const failing = createWitnessApp({
      cosigner: parseCosignerKey(witnessKey.signerKey),
      logs: new Map([[ORIGIN, [parseVerifierKey(logKey.verifierKey)]]]),
      state: { get: () => Promise.resolve(undefined), set: () => Promise.reject(new Error('disk full')) },
    });
    const res = await failing.request('/add-checkpoint', { method: 'POST', body: body(0, [], signed(tree, 5)) });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('\u2014');
  });

  it('persists atomically: one complete state file, no temporary files left', async () => {
    for (const [from, to] of [
      [0, 3],
      [3, 9],
      [9, 27],
    ] as const)
      expect((await post(body(from, proof(tree, from, to), signed(tree, to)))).status).toBe(200);
    expect(await readdir(dir)).toEqual([basename(new FileWitnessState(dir).pathFor(ORIGIN))]);
    const stored = JSON.parse(await readFile(new FileWitnessState(dir).pathFor(ORIGIN), 'utf8')) as Record<string, unknown>;
    expect(stored).toEqual({ origin: ORIGIN, size: 27, root: Buffer.from(tree.root(27)).toString('base64'), checkpoint: signed(tree, 27) });
  });

  it('405 for other methods, 413 for an oversized body', async () => {
    const app = createWitnessApp({ cosigner: parseCosignerKey(witnessKey.signerKey), logs: new Map(), state: new FileWitnessState(dir) });
    const get = await app.request('/add-checkpoint');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const big = await app.request('/add-checkpoint', { method: 'POST', body: `old 0\n\n${'x'.repeat(MAX_WITNESS_BODY)}` });
    expect(big.status).toBe(413);
  });
});

describeVectors('tlog-witness add-checkpoint against the litewitness vector', () => {
  it('witnesses the sigsum log of the litewitness vector (1 -> 3)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-witness-vector-'));
    const v = signedNoteVectors().witnessAddCheckpoint;
    const note = (c: { size: number; root: string; signature: string }) =>
      `${v.origin}\n${c.size}\n${c.root}\n\n\u2014 ${v.origin} ${c.signature}\n`;
    const vpost = makeApp(dir, new Map([[v.origin, [parseVerifierKey(v.verifierKey)]]]));
    expect((await vpost(body(0, [], note(v.checkpoints[0]!)))).status).toBe(200);
    const proof13 = v.consistencyProof1to3.map((h) => fromBase64(h));
    const bad = proof13.map((h) => h.slice());
    bad[1]![5]! ^= 1;
    expect((await vpost(body(1, bad, note(v.checkpoints[1]!)))).status).toBe(422);
    const ok = await vpost(body(1, proof13, note(v.checkpoints[1]!)));
    expect(ok.status).toBe(200);
    expect(cosignatureOf(note(v.checkpoints[1]!), ok.text).timestamp).toBe(1_700_000_000);
  });
});

describe('tlog witness keygen and serve (built CLI)', () => {
  const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');
  it('creates a key, serves add-checkpoint, and stops on SIGTERM', async () => {
    expect(existsSync(CLI), 'run `npx tsc -b` first').toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'tlog-witness-cli-'));
    const keyFile = join(dir, 'witness.key');
    const keygen = spawn(process.execPath, [CLI, 'witness', 'keygen', '--name', 'witness.example/cli', '--out', keyFile]);
    let vkey = '';
    keygen.stdout.on('data', (d: Buffer) => (vkey += d.toString()));
    expect(await new Promise((r) => keygen.on('close', r))).toBe(0);
    vkey = vkey.trim();
    expect(readFileSync(`${keyFile}.pub`, 'utf8').trim()).toBe(vkey);

    const server = spawn(process.execPath, [
      CLI,
      'witness',
      'serve',
      '--key',
      keyFile,
      '--log',
      `${ORIGIN}=${logKey.verifierKey}`,
      '--port',
      '0',
      '--state',
      join(dir, 'state'),
    ]);
    let stderr = '';
    server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const url = await new Promise<string>((res, rej) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) res(m[1]!);
        });
        server.on('exit', (code) => rej(new Error(`witness exited with ${code}`)));
      });
      const cp = signed(tree, 7);
      const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: body(0, [], cp) });
      expect(res.status).toBe(200);
      const text = parseNote(cp).text;
      const [sig] = parseNote(text + '\n' + (await res.text())).signatures;
      expect(verifyCosignature(text, sig!, vkey).timestamp).toBeGreaterThan(1_600_000_000);
      const conflict = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: body(0, [], signed(tree, 9)) });
      expect(conflict.status).toBe(409);
      expect(await conflict.text()).toBe('7\n');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await new Promise((r) => server.on('close', r))).toBe(0);
    // The key keygen wrote is the owner's alone: no warning.
    expect(stderr).toBe('');
  });
});

describe('tlog witness serve: failures are one line, an exposed key is a warning', () => {
  const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });
  async function keyFile(mode: number): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-witness-serve-'));
    const path = join(dir, 'witness.key');
    await writeFile(path, witnessKey.signerKey + '\n', { mode });
    await chmod(path, mode);
    return path;
  }
  const serveArgs = (key: string, ...more: string[]) => [
    'witness',
    'serve',
    '--key',
    key,
    '--log',
    `${ORIGIN}=${logKey.verifierKey}`,
    '--state',
    join(dirnameOf(key), 'state'),
    ...more,
  ];
  const dirnameOf = (p: string) => p.slice(0, p.lastIndexOf('/'));

  it('a busy port: exit 1, one line naming the port and the fix', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address() as AddressInfo;
    try {
      const r = await run(serveArgs(await keyFile(0o600), '--port', String(port)));
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `tlog: error: cannot listen on 127.0.0.1:${port}: port ${port} is already in use; stop what listens there or choose another port\n`,
      );
      expect(r.stdout).toBe('');
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  it('a host name that does not resolve: exit 1, one line', async () => {
    const r = await run(serveArgs(await keyFile(0o600), '--port', '0', '--host', 'no-such-host.invalid'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^tlog: error: cannot listen on no-such-host\.invalid:0: the host name "no-such-host\.invalid" does not resolve/,
    );
  });

  it.skipIf(process.platform === 'win32')('a key file readable by group or others: one warning line, then it serves', async () => {
    const key = await keyFile(0o644);
    const server = spawn(process.execPath, [CLI, ...serveArgs(key, '--port', '0')]);
    let stderr = '';
    server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await new Promise<void>((res, rej) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('listening on')) res();
        });
        server.on('exit', (code) => rej(new Error(`witness exited with ${code}: ${stderr}`)));
      });
    } finally {
      server.kill('SIGTERM');
    }
    expect(await new Promise((r) => server.on('close', r))).toBe(0);
    expect(stderr).toBe(
      `tlog: WARNING: the secret key file ${key} is accessible by its group and others (mode 644); run \`chmod 600 ${key}\`\n`,
    );
  });
});
