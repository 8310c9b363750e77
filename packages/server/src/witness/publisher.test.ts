import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatNote,
  fromBase64,
  generateCosignatureKey,
  type Hash,
  openNote,
  parseCheckpoint,
  parseCosignerKey,
  parseNote,
  parseVerifierKey,
  verifyConsistency,
  verifyTlogProof,
} from '@tlog/merkle';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogServer, type LogServer } from '../index.js';

const w1 = generateCosignatureKey('w1.example');
const w2 = generateCosignatureKey('w2.example');

/** A minimal in-memory tlog-witness: checks old size and the consistency proof, then cosigns. */
function fakeWitness(signerKey: string) {
  const cosigner = parseCosignerKey(signerKey);
  let size = 0;
  let root: Hash | undefined;
  const requests: string[] = [];
  const handler = async (body: string): Promise<Response> => {
    requests.push(body);
    const blank = body.indexOf('\n\n');
    const head = body.slice(0, blank).split('\n');
    const old = Number(head[0]!.slice(4));
    const proof = head.slice(1).map(fromBase64);
    const note = body.slice(blank + 2);
    const cp = parseCheckpoint(parseNote(note).text);
    if (old !== size) return new Response(`${size}\n`, { status: 409, headers: { 'content-type': 'text/x.tlog.size' } });
    if (old > 0) verifyConsistency(old, cp.size, proof, root!, cp.root);
    size = cp.size;
    root = cp.root;
    const sig = cosigner.cosign(parseNote(note).text);
    const line = formatNote({ text: 'x\n', signatures: [sig] }).slice('x\n\n'.length);
    return new Response(line, { status: 200 });
  };
  return { handler, requests, size: () => size };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function serverWith(quorum: number, down: boolean): Promise<{ s: LogServer; a: ReturnType<typeof fakeWitness> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-wit-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const a = fakeWitness(w1.signerKey);
  const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url.startsWith('http://w1.example/')) return a.handler(String(init?.body));
    if (down) throw new Error('connection refused');
    return new Response('nope', { status: 500 });
  }) as typeof fetch;
  const s = await createLogServer(
    {
      dataDir: dir,
      batchIntervalMs: 0,
      logLevel: 'silent',
      witness: [`http://w1.example=${w1.verifierKey}`, `http://w2.example=${w2.verifierKey}`],
      witnessQuorum: quorum,
      witnessTimeoutMs: 2000,
      openEntries: true,
    },
    undefined,
    { fetch: fetchStub },
  );
  cleanup.push(() => s.close());
  return { s, a };
}

describe('witness policy', () => {
  it('publishes checkpoints cosigned by the quorum; receipts carry the cosignature', async () => {
    const { s, a } = await serverWith(1, true);
    const post = (b: string) => s.app.request('/v1/entries', { method: 'POST', body: new TextEncoder().encode(b) });
    const first = (await (await post('one')).json()) as { receipt: string; witnessed: boolean };
    expect(first.witnessed).toBe(true);
    const second = (await (await post('two')).json()) as { receipt: string; witnessed: boolean; checkpoint: string };
    expect(second.witnessed).toBe(true);
    const policy = { log: parseVerifierKey(s.verifierKey), witnesses: [parseVerifierKey(w1.verifierKey)], quorum: 1 };
    verifyTlogProof(second.receipt, new TextEncoder().encode('two'), policy);
    // The second request carried a consistency proof from the witness's size 1.
    expect(a.requests.at(-1)).toMatch(/^old 1\n/);
    const cp = await (await s.app.request('/checkpoint')).text();
    expect(openNote(cp, [parseVerifierKey(w1.verifierKey)]).verified).toHaveLength(1);
    expect(((await (await s.app.request('/v1/log')).json()) as { witnessed: boolean }).witnessed).toBe(true);
  });

  it('without the quorum: entries stay committed, answered log-signed with witnessed: false', async () => {
    const { s } = await serverWith(2, false);
    const res = await s.app.request('/v1/entries', { method: 'POST', body: new TextEncoder().encode('lonely') });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { index: number; receipt: string; witnessed: boolean };
    expect(body.witnessed).toBe(false);
    verifyTlogProof(body.receipt, new TextEncoder().encode('lonely'), { log: parseVerifierKey(s.verifierKey) });
    expect(s.log.published.size).toBe(1);
  });
});
