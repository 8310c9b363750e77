/**
 * Two `tlog witness serve` processes (the built CLI) witnessing the real log server with a
 * quorum of 2: receipts carry both cosignatures and verify offline with that policy; with one
 * witness gone the quorum of 2 is refused while a quorum of 1 still holds.
 */

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LogClient, VerificationError, verifyReceipt } from '@tlog/client';
import { generateCosignatureKey, parseNote, verifyCosignature } from '@tlog/merkle';
import { FileWitnessState } from '@tlog/witness/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpawnedServer } from './support/server.js';
import { spawnServer, tempDataDir } from './support/server.js';

const CLI = resolve(import.meta.dirname, '../packages/cli/dist/cli.js');
const enc = new TextEncoder();

interface Witness {
  readonly name: string;
  readonly vkey: string;
  readonly vkeyFile: string;
  readonly stateDir: string;
  url: string;
  child: ChildProcess;
}

function tlog(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** Starts `tlog witness serve` on a free port for one log and waits for its URL. */
async function startWitness(dir: string, name: string, seed: number, origin: string, logVkey: string): Promise<Witness> {
  const { signerKey, verifierKey } = generateCosignatureKey(name, new Uint8Array(32).fill(seed));
  const keyFile = join(dir, `${seed}.key`);
  const vkeyFile = join(dir, `${seed}.vkey`);
  await writeFile(keyFile, signerKey + '\n', { mode: 0o600 });
  await writeFile(vkeyFile, verifierKey + '\n');
  const stateDir = join(dir, `${seed}-state`);
  const child = spawn(
    process.execPath,
    [CLI, 'witness', 'serve', '--key', keyFile, '--log', `${origin}=${logVkey}`, '--port', '0', '--state', stateDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => rej(new Error(`witness ${name} exited with ${code}: ${err}`)));
  });
  return { name, vkey: verifierKey, vkeyFile, stateDir, url, child };
}

async function stopWitness(w: Witness): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const closed = new Promise((r) => w.child.once('close', r));
  w.child.kill('SIGTERM');
  await closed;
}

describe('two witnesses and a quorum of 2 with the real server', () => {
  let dir: string;
  let server: SpawnedServer | undefined;
  let vkey: string;
  let origin: string;
  let w1: Witness;
  let w2: Witness;

  beforeAll(async () => {
    expect(existsSync(CLI), 'run `npx tsc -b` first').toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'tlog-witness-e2e-'));
    // The log makes its key on first start; the witnesses need it, and the log needs their URLs.
    const dataDir = await tempDataDir();
    const first = await spawnServer({ dataDir });
    vkey = first.vkey;
    origin = first.origin;
    await first.stop();
    w1 = await startWitness(dir, 'witness.example/one', 31, origin, vkey);
    w2 = await startWitness(dir, 'witness.example/two', 32, origin, vkey);
    server = await spawnServer({
      dataDir,
      args: [
        '--witness',
        `${w1.url}=${w1.vkey}`,
        '--witness',
        `${w2.url}=${w2.vkey}`,
        '--witness-quorum',
        '2',
        '--witness-timeout-ms',
        '3000',
      ],
    });
  });
  afterAll(async () => {
    await server?.stop();
    await Promise.all([w1, w2].filter((w) => w !== undefined).map(stopWitness));
  });

  it('receipts carry both cosignatures and verify offline with the quorum, in the SDK and the CLI', async () => {
    const client = new LogClient({ url: server!.url, vkey, origin });
    const entry = enc.encode('witnessed entry');
    const r = await client.submit(entry);
    const policy = { witnesses: [w1.vkey, w2.vkey], quorum: 2 };
    expect(verifyReceipt(r.receipt, entry, vkey, policy).index).toBe(r.index);
    expect(() => verifyReceipt(r.receipt, enc.encode('other bytes'), vkey, policy)).toThrow(VerificationError);

    // Each cosignature verifies with the merkle package over the checkpoint text.
    const note = parseNote(r.checkpoint.note);
    for (const w of [w1, w2]) {
      const sig = note.signatures.find((s) => s.name === w.name);
      expect(sig, `cosignature of ${w.name}`).toBeDefined();
      expect(verifyCosignature(note.text, sig!, w.vkey).timestamp).toBeGreaterThan(1_600_000_000);
    }
    // Each witness persisted the checkpoint it cosigned.
    for (const w of [w1, w2])
      expect((await new FileWitnessState(w.stateDir).get(origin))?.size).toBeGreaterThanOrEqual(r.checkpoint.checkpoint.size);

    const file = join(dir, 'witnessed.txt');
    await writeFile(file, entry);
    await writeFile(`${file}.tlog-proof`, r.receipt);
    const ok = await tlog('verify', file, '--vkey', vkey, '--witness', w1.vkeyFile, '--witness', w2.vkeyFile, '--quorum', '2');
    expect(ok.code, ok.stderr).toBe(0);
    const stranger = generateCosignatureKey('witness.example/stranger').verifierKey;
    const tooMany = await tlog(
      'verify',
      file,
      '--vkey',
      vkey,
      '--witness',
      w1.vkey,
      '--witness',
      w2.vkey,
      '--witness',
      stranger,
      '--quorum',
      '3',
    );
    expect(tooMany.code).toBe(3);
    expect(tooMany.stderr).toMatch(/^tlog: verification failed: .*2 of the 3/);
  });

  it('with one witness gone, the quorum of 2 is refused and a quorum of 1 holds', async () => {
    await stopWitness(w2);
    const client = new LogClient({ url: server!.url, vkey, origin });
    const entry = enc.encode('half witnessed entry');
    const r = await client.submit(entry);
    expect(() => verifyReceipt(r.receipt, entry, vkey, { witnesses: [w1.vkey, w2.vkey], quorum: 2 })).toThrow(/cosigned by 1 of the 2/);
    expect(verifyReceipt(r.receipt, entry, vkey, { witnesses: [w1.vkey, w2.vkey], quorum: 1 }).index).toBe(r.index);
    const state = JSON.parse(await readFile(new FileWitnessState(w1.stateDir).pathFor(origin), 'utf8')) as { size: number };
    expect(state.size).toBe(r.checkpoint.checkpoint.size);
  });
});
