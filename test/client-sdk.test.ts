import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry } from '@tlog/client';
import {
  ArgumentError,
  auditLog,
  ConfigurationError,
  formatEvidence,
  LogClient,
  LogFetchError,
  LogMisbehaviourError,
  NotFoundError,
  ProtocolError,
  parseEvidence,
  verifyForkEvidence,
  verifyReceipt,
} from '@tlog/client';
import { StateError, TrustedStateStore } from '@tlog/client/node';
import { defaultHasher, encodeEntryBundle, generateEd25519Key, toBase64 } from '@tlog/merkle';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeLog } from './support/fake-log.js';

const enc = new TextEncoder();
let log: FakeLog;

/** A local port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function client(): LogClient {
  return new LogClient({ url: log.url, vkey: log.vkey });
}

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function misbehaviour(p: Promise<unknown>): Promise<LogMisbehaviourError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LogMisbehaviourError);
  return e as LogMisbehaviourError;
}

beforeAll(async () => {
  log = await FakeLog.start();
});
afterAll(async () => {
  await log.stop();
});
beforeEach(() => {
  log.reset();
  log.grow(600);
});

describe('LogClient against an honest log', () => {
  it('verifies the latest checkpoint', async () => {
    const { checkpoint, note } = await client().latestCheckpoint();
    expect(checkpoint.size).toBe(600);
    expect(checkpoint.origin).toBe(log.origin);
    expect(toBase64(checkpoint.root)).toBe(toBase64(log.honest.root()));
    expect(note).toBe(log.checkpoint());
  });

  it('submits, verifies the receipt, and the receipt verifies offline', async () => {
    const entry = enc.encode('hello receipt');
    const r = await client().submit(entry);
    expect(r.index).toBe(600);
    expect(toBase64(r.leafHash)).toBe(toBase64(defaultHasher.hashLeaf(entry)));
    expect(verifyReceipt(r.receipt, entry, log.vkey).index).toBe(600);
    expect(() => verifyReceipt(r.receipt, enc.encode('other'), log.vkey)).toThrow();
  });

  it('submits a batch and verifies every receipt', async () => {
    const entries = [enc.encode('b0'), enc.encode(''), enc.encode('b2')];
    const rs = await client().submitBatch(entries);
    expect(rs.map((r) => r.index)).toEqual([600, 601, 602]);
    rs.forEach((r, i) => {
      expect(verifyReceipt(r.receipt, entries[i]!, log.vkey).index).toBe(600 + i);
    });
    log.faults.tamperProofs = true;
    expect((await misbehaviour(client().submitBatch([enc.encode('x'), enc.encode('y')]))).kind).toBe('bad-proof');
  });

  it('gives the same verified inclusion proofs from the API and from tiles', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    for (const index of [0, 255, 256, 511, 599]) {
      const api = await c.inclusionProof(index, at);
      const tiles = await c.inclusionProof(index, at, { source: 'tiles' });
      expect(tiles.proof.map(toBase64)).toEqual(api.proof.map(toBase64));
      expect(toBase64(tiles.leafHash)).toBe(toBase64(defaultHasher.hashLeaf(enc.encode(`entry-${index}`))));
    }
    const leaf = defaultHasher.hashLeaf(enc.encode('entry-300'));
    expect((await c.inclusionProofForLeafHash(leaf, at)).index).toBe(300);
    expect((await c.inclusionProofForLeafHash(leaf, at, { source: 'tiles' })).index).toBe(300);
    await expect(c.inclusionProof(600, at)).rejects.toThrow(ArgumentError);
  });

  it('computes proofs from tiles without touching the JSON proof endpoints', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    const old = c.openCheckpoint(log.sign(log.honest, 100));
    log.requests.length = 0;
    await c.inclusionProof(42, at, { source: 'tiles' });
    await c.consistencyProof(old, at, { source: 'tiles' });
    expect(log.requests.some((p) => p.startsWith('/v1/'))).toBe(false);
    expect(log.requests.some((p) => p.startsWith('/tile/'))).toBe(true);
  });

  it('gives the same verified consistency proofs from the API and from tiles', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    for (const size of [0, 1, 255, 256, 257, 599, 600]) {
      const old = c.openCheckpoint(log.sign(log.honest, size));
      const api = await c.consistencyProof(old, at);
      const tiles = await c.consistencyProof(old, at, { source: 'tiles' });
      expect(tiles.map(toBase64)).toEqual(api.map(toBase64));
    }
  });

  it('streams verified entries over any range', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    const all = await collect(c.entries(0, 600, at));
    expect(all.map((e) => e.index)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(new TextDecoder().decode(all[517]!.entry)).toBe('entry-517');
    const some = await collect(c.entries(250, 300, at));
    expect(some.map((e) => new TextDecoder().decode(e.entry))).toEqual(Array.from({ length: 50 }, (_, i) => `entry-${250 + i}`));
    expect(await collect(c.entries(10, 10, at))).toEqual([]);
    await expect(collect(c.entries(0, 601, at))).rejects.toThrow(ArgumentError);
  });
});

describe('LogClient when partial tiles are gone', () => {
  it('reads the full tile or bundle instead, as tlog-tiles allows', async () => {
    const seen: string[] = [];
    const noPartials = (input: string, init?: RequestInit) => {
      seen.push(input);
      // Only partial tiles whose full tile now exists may be gone (tlog-tiles).
      return /\/tile\/(0|entries)\/001\.p\//.test(input) ? Promise.resolve(new Response('gone', { status: 404 })) : fetch(input, init);
    };
    const c = new LogClient({ url: log.url, vkey: log.vkey, fetch: noPartials });
    // Size 300 needs partial tiles 0/001.p/44 and entries/001.p/44; the log (600) has the full ones.
    const at = c.openCheckpoint(log.sign(log.honest, 300));
    const entries = await collect(c.entries(290, 300, at));
    expect(entries.map((e) => new TextDecoder().decode(e.entry))).toEqual(Array.from({ length: 10 }, (_, i) => `entry-${290 + i}`));
    const p = await c.inclusionProof(299, at, { source: 'tiles' });
    expect(p.proof.map(toBase64)).toEqual((await client().inclusionProof(299, at)).proof.map(toBase64));
    expect(seen.some((u) => u.endsWith('/tile/0/001.p/44'))).toBe(true);
    expect(seen.some((u) => u.endsWith('/tile/0/001'))).toBe(true);
  });
});

describe('LogClient checks the log key before submitting', () => {
  const wrongKey = () => generateEd25519Key(log.origin, new Uint8Array(32).fill(9)).verifierKey;

  it("a key that is not the log's: ConfigurationError naming the log key, nothing sent; retried until it holds", async () => {
    const c = new LogClient({ url: log.url, vkey: wrongKey() });
    log.requests.length = 0;
    const err = await c.submit(enc.encode('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err).toMatchObject({ pinnedKey: wrongKey(), logKey: log.vkey });
    await expect(c.submitBatch([enc.encode('y')])).rejects.toThrow(ConfigurationError);
    expect(log.requests.filter((p) => p.startsWith('/v1/entries'))).toEqual([]);
    expect(log.honest.size).toBe(600);
    // A right client checks once, then submits without asking again.
    const right = client();
    log.requests.length = 0;
    await right.submit(enc.encode('a'));
    await right.submitBatch([enc.encode('b')]);
    expect(log.requests.filter((p) => p === '/checkpoint')).toHaveLength(1);
    expect(log.honest.size).toBe(602);
  });

  it('without GET /v1/log, names the signature lines; an unreachable log stays a LogFetchError', async () => {
    const noLogApi = (input: string, init?: RequestInit) =>
      input.endsWith('/v1/log') ? Promise.resolve(new Response('not found', { status: 404 })) : fetch(input, init);
    const c = new LogClient({ url: log.url, vkey: wrongKey(), fetch: noLogApi });
    const err = await c.verifyLogKey().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).logKey).toBeUndefined();
    expect((err as Error).message).toContain(`its checkpoint is signed by ${log.origin} (key ID`);
    const down = new LogClient({ url: `http://127.0.0.1:${await closedPort()}`, vkey: log.vkey });
    await expect(down.submit(enc.encode('x'))).rejects.toThrow(LogFetchError);
  });

  it('TrustedStateStore: a first round that does not verify is a ConfigurationError and writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlog-state-'));
    const store = new TrustedStateStore(dir);
    await expect(store.advance(new LogClient({ url: log.url, vkey: wrongKey() }))).rejects.toThrow(ConfigurationError);
    expect(await readdir(dir)).toEqual([]);
    log.faults.wrongKey = true;
    await expect(store.advance(client())).rejects.toThrow(ConfigurationError);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('LogClient refuses what a misbehaving log serves', () => {
  it('a checkpoint signed by another key', async () => {
    log.faults.wrongKey = true;
    expect((await misbehaviour(client().latestCheckpoint())).kind).toBe('bad-signature');
  });

  it('a checkpoint for another origin', async () => {
    const c = new LogClient({ url: log.url, vkey: log.vkey, origin: 'other.example/log' });
    expect((await misbehaviour(c.latestCheckpoint())).kind).toBe('bad-signature');
  });

  it('tampered hash tiles', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    log.faults.tamperTiles = true;
    expect((await misbehaviour(c.inclusionProof(5, at, { source: 'tiles' }))).kind).toBe('bad-proof');
    expect((await misbehaviour(collect(c.entries(0, 10, at)))).kind).toBe('bad-proof');
    const old = c.openCheckpoint(log.sign(log.honest, 300));
    expect((await misbehaviour(c.consistencyProof(old, at, { source: 'tiles' }))).kind).toBe('bad-proof');
  });

  it('tampered entry bundles', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    log.faults.tamperBundles = true;
    const err = await misbehaviour(collect(c.entries(256, 260, at)));
    expect(err.kind).toBe('bad-entries');
    expect(err.evidence.details?.index).toBe(256);
  });

  it('tampered JSON proofs and receipts', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    const old = c.openCheckpoint(log.sign(log.honest, 300));
    log.faults.tamperProofs = true;
    expect((await misbehaviour(c.inclusionProof(5, at))).kind).toBe('bad-proof');
    const err = await misbehaviour(c.consistencyProof(old, at));
    expect(err.kind).toBe('bad-proof');
    expect(err.evidence.trusted).toBe(old.note);
    expect(err.evidence.candidate).toBe(at.note);
    expect(err.evidence.proof?.length).toBeGreaterThan(0);
    expect((await misbehaviour(c.submit(enc.encode('x')))).kind).toBe('bad-proof');
  });

  it('rollbacks and forks in verifyUpdate', async () => {
    const c = client();
    const trusted = await c.latestCheckpoint();
    log.faults.rollbackTo = 500;
    expect((await misbehaviour(c.verifyUpdate(trusted, await c.latestCheckpoint()))).kind).toBe('rollback');
    log.faults.rollbackTo = undefined;
    log.makeFork(400, 200);
    log.faults.fork = true;
    const sameSize = await c.latestCheckpoint();
    expect((await misbehaviour(c.verifyUpdate(trusted, sameSize))).kind).toBe('fork');
    log.makeFork(400, 300);
    const larger = await c.latestCheckpoint();
    for (const source of ['api', 'tiles'] as const) {
      const err = await misbehaviour(c.verifyUpdate(trusted, larger, { source }));
      expect(err.kind).toBe('fork');
      expect(err.evidence).toMatchObject({
        trusted: trusted.note,
        candidate: larger.note,
        details: { size: 600, recomputedRoot: toBase64(log.forked!.root(600)) },
      });
    }
  });

  it('a grown fork is a fork only if the candidate tiles say so; otherwise bad-proof', async () => {
    const c = client();
    const trusted = await c.latestCheckpoint();
    log.grow(50);
    const grown = await c.latestCheckpoint();
    log.faults.tamperProofs = true;
    const wrongProof = await misbehaviour(c.verifyUpdate(trusted, grown));
    expect(wrongProof.kind).toBe('bad-proof');
    expect(wrongProof.evidence.details?.forkCheck).toMatch(/only the proof is wrong/);
    log.faults.tamperTiles = true;
    const noTiles = await misbehaviour(c.verifyUpdate(trusted, grown));
    expect(noTiles.kind).toBe('bad-proof');
    expect(noTiles.evidence.details?.forkCheck).toMatch(/do not authenticate/);
  });
});

describe('verifyForkEvidence', () => {
  async function forkEvidence(): Promise<string> {
    const c = client();
    const trusted = await c.latestCheckpoint();
    log.makeFork(400, 300);
    log.faults.fork = true;
    const err = await misbehaviour(c.verifyUpdate(trusted, await c.latestCheckpoint()));
    return formatEvidence(err, { detectedAt: new Date(0), verifierKey: log.vkey });
  }
  const edit = (text: string, f: (ev: Record<string, unknown>) => void) => {
    const ev = JSON.parse(text) as Record<string, unknown>;
    f(ev);
    return JSON.stringify(ev);
  };

  it('accepts evidence of a grown fork with only the log key, naming both roots of the size', async () => {
    const text = await forkEvidence();
    const fork = verifyForkEvidence(text, log.vkey);
    expect(fork).toMatchObject({ origin: log.origin, size: 600 });
    expect(fork.roots.map(toBase64)).toEqual([toBase64(log.honest.root(600)), toBase64(log.forked!.root(600))]);
    expect(fork.candidate.size).toBe(700);
    expect(verifyForkEvidence(parseEvidence(text), log.vkey).size).toBe(600);
  });

  it('refuses evidence that does not prove a fork', async () => {
    const text = await forkEvidence();
    const refuse = (t: string, why: RegExp) => expect(() => verifyForkEvidence(t, log.vkey)).toThrow(why);
    // The recomputed root replaced by the trusted one: the proof no longer leads to it, and it is no fork.
    refuse(
      edit(text, (ev) => {
        (ev.details as Record<string, unknown>).recomputedRoot = toBase64(log.honest.root(600));
      }),
      /equals the signed one/,
    );
    refuse(
      edit(text, (ev) => {
        (ev.details as Record<string, unknown>).recomputedRoot = toBase64(log.forked!.root(599));
      }),
      /does not show/,
    );
    refuse(
      edit(text, (ev) => {
        ev.proof = (ev.proof as string[]).slice(1);
      }),
      /does not show/,
    );
    refuse(
      edit(text, (ev) => {
        ev.candidate = log.sign(log.forked!, 650);
      }),
      /does not show/,
    );
    refuse(
      edit(text, (ev) => {
        ev.kind = 'bad-proof';
      }),
      /not fork/,
    );
    refuse(
      edit(text, (ev) => {
        ev.trusted = null;
      }),
      /no trusted checkpoint/,
    );
    refuse('{"type": "something else"}', /not a tlog-misbehaviour-evidence\/v1 file/);
    refuse('not json', /not JSON/);
    expect(() => verifyForkEvidence(text, generateEd25519Key(log.origin, new Uint8Array(32).fill(9)).verifierKey)).toThrow(/not signed by/);
    expect(() => verifyForkEvidence(text, 'not a key')).toThrow(ArgumentError);
  });
});

describe('auditLog', () => {
  it('recomputes every tile and the root of an honest log, reporting progress', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    const progress: number[] = [];
    const r = await auditLog(c, at, { onProgress: (p) => progress.push(p.entries) });
    expect(r).toMatchObject({ size: 600, bundles: 3, tiles: 4 });
    expect(toBase64(r.root)).toBe(toBase64(at.checkpoint.root));
    expect(progress).toEqual([256, 512, 600]);
  });

  it('finds entries that do not match the tree, and tiles that do not match the entries', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    log.faults.tamperBundles = true;
    expect((await misbehaviour(auditLog(c, at))).kind).toBe('bad-entries');
    log.faults.tamperBundles = false;
    // A checkpoint whose root the entries do not give (signed by the log for a forked tree).
    log.makeFork(100, 500);
    const forkedAt = c.openCheckpoint(log.sign(log.forked!, 600));
    const err = await misbehaviour(auditLog(c, forkedAt));
    expect(err.kind).toBe('bad-entries');
    expect(err.evidence.details?.computedRoot).toBe(toBase64(log.honest.root()));
  });
});

describe('TrustedStateStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlog-state-'));
  });

  it('stores the first checkpoint, advances on consistent growth, survives a new store', async () => {
    const store = new TrustedStateStore(dir);
    const c = client();
    const first = await store.advance(c);
    expect(first.changed).toBe(true);
    expect(first.previous).toBeUndefined();
    log.grow(10);
    const second = await store.advance(c);
    expect(second.changed).toBe(true);
    expect(second.previous?.checkpoint.size).toBe(600);
    expect(second.current.checkpoint.size).toBe(610);
    expect(second.proof.length).toBeGreaterThan(0);
    const third = await new TrustedStateStore(dir).advance(c);
    expect(third.changed).toBe(false);
    expect((await new TrustedStateStore(dir).load(c))?.checkpoint.size).toBe(610);
  });

  it('keeps the trusted checkpoint and saves evidence on rollback and fork', async () => {
    const store = new TrustedStateStore(dir);
    const c = client();
    await store.advance(c);
    log.faults.rollbackTo = 100;
    const err = await misbehaviour(store.advance(c));
    expect(err.kind).toBe('rollback');
    expect(err.evidencePath).toBeDefined();
    const ev = JSON.parse(await readFile(err.evidencePath!, 'utf8')) as Record<string, unknown>;
    expect(ev.type).toBe('tlog-misbehaviour-evidence/v1');
    expect(ev.kind).toBe('rollback');
    expect(ev.trusted).toBe(log.sign(log.honest, 600));
    expect(ev.candidate).toBe(log.sign(log.honest, 100));
    expect((await store.load(c))?.checkpoint.size).toBe(600);
    log.faults.rollbackTo = undefined;
    log.makeFork(10, 590);
    log.faults.fork = true;
    expect((await misbehaviour(store.advance(c))).kind).toBe('fork');
    expect((await readdir(dir)).filter((f) => f.startsWith('evidence-'))).toHaveLength(2);
    expect((await store.load(c))?.checkpoint.size).toBe(600);
  });

  it('refuses a state file not signed by the pinned key', async () => {
    const store = new TrustedStateStore(dir);
    await store.advance(client());
    const other = new LogClient({ url: log.url, vkey: generateEd25519Key(log.origin, new Uint8Array(32).fill(9)).verifierKey });
    await expect(store.load(other)).rejects.toThrow(StateError);
  });
});

describe('LogClient against a log without the JSON proof API (plain tlog-tiles)', () => {
  it("source 'auto' (the default) computes verified proofs from tiles, and remembers the API is missing", async () => {
    log.faults.noProofApi = true;
    const c = client();
    const at = await c.latestCheckpoint();
    const old = c.openCheckpoint(log.sign(log.honest, 300));
    log.requests.length = 0;
    const p = await c.inclusionProof(42, at);
    expect(p.proof.map(toBase64)).toEqual((await c.inclusionProof(42, at, { source: 'tiles' })).proof.map(toBase64));
    expect(log.requests.filter((r) => r.startsWith('/v1/'))).toEqual(['/v1/proof/inclusion']);
    const proof = await c.consistencyProof(old, at);
    expect(proof.length).toBeGreaterThan(0);
    expect((await c.inclusionProofForEntry(enc.encode('entry-517'), at)).index).toBe(517);
    // After the first 404 the client does not ask the JSON API again.
    expect(log.requests.filter((r) => r.startsWith('/v1/'))).toHaveLength(1);
    await expect(c.inclusionProofForEntry(enc.encode('never logged'), at)).rejects.toThrow(NotFoundError);
  });

  it("source 'auto' tells a missing leaf from a missing API on its first request", async () => {
    log.faults.noProofApi = true;
    const noApi = client();
    const at = await noApi.latestCheckpoint();
    expect((await noApi.inclusionProofForEntry(enc.encode('entry-3'), at)).index).toBe(3);
    log.faults.noProofApi = false;
    const withApi = client();
    log.requests.length = 0;
    await expect(withApi.inclusionProofForEntry(enc.encode('never logged'), at)).rejects.toThrow(NotFoundError);
    // The log has the API, so its 404 is believed and the tiles are not scanned.
    expect(log.requests.some((r) => r.startsWith('/tile/'))).toBe(false);
  });

  it("source 'api' fails with the 404, and 'auto' never falls back to tiles on misbehaviour", async () => {
    log.faults.noProofApi = true;
    const at = await client().latestCheckpoint();
    await expect(client().inclusionProof(1, at, { source: 'api' })).rejects.toMatchObject({ name: 'LogFetchError', status: 404 });
    log.faults.noProofApi = false;
    log.faults.tamperProofs = true;
    const c = client();
    log.requests.length = 0;
    expect((await misbehaviour(c.inclusionProof(1, at))).kind).toBe('bad-proof');
    expect(log.requests.some((r) => r.startsWith('/tile/'))).toBe(false);
    log.faults.tamperProofs = false;
    log.faults.noProofApi = true;
    log.faults.tamperTiles = true;
    expect((await misbehaviour(client().inclusionProof(1, at))).kind).toBe('bad-proof');
  });
});

describe('LogClient.hashTile and entryBundle (authenticated reads)', () => {
  const concat = (hashes: Uint8Array[]) => {
    const out = new Uint8Array(hashes.length * 32);
    hashes.forEach((h, i) => {
      out.set(h, i * 32);
    });
    return out;
  };

  it('return tiles and bundles checked against the checkpoint', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    expect(toBase64(await c.hashTile({ level: 0, index: 1, width: 256 }, at))).toBe(
      toBase64(concat(log.honest.levels[0]!.slice(256, 512))),
    );
    expect(toBase64(await c.hashTile({ level: 0, index: 2, width: 88 }, at))).toBe(toBase64(concat(log.honest.levels[0]!.slice(512, 600))));
    expect(toBase64(await c.hashTile({ level: 1, index: 0, width: 2 }, at))).toBe(toBase64(concat(log.honest.levels[8]!.slice(0, 2))));
    await expect(c.hashTile({ level: 0, index: 2, width: 256 }, at)).rejects.toThrow(ArgumentError);
    await expect(c.hashTile({ level: 1, index: 0, width: 3 }, at)).rejects.toThrow(ArgumentError);
    const bundle = await c.entryBundle(2, at);
    expect(bundle.map((e) => e.index)).toEqual(Array.from({ length: 88 }, (_, i) => 512 + i));
    expect(new TextDecoder().decode(bundle[87]!.entry)).toBe('entry-599');
    await expect(c.entryBundle(3, at)).rejects.toThrow(ArgumentError);
  });

  it('refuse a tampered tile, a tampered bundle and a bundle missing an entry', async () => {
    const c = client();
    const at = await c.latestCheckpoint();
    log.faults.tamperTiles = true;
    expect((await misbehaviour(c.hashTile({ level: 0, index: 0, width: 256 }, at))).kind).toBe('bad-proof');
    expect((await misbehaviour(c.hashTile({ level: 1, index: 0, width: 2 }, at))).kind).toBe('bad-proof');
    log.faults.tamperTiles = false;
    log.faults.tamperBundles = true;
    expect((await misbehaviour(c.entryBundle(1, at))).kind).toBe('bad-entries');
    log.faults.tamperBundles = false;
    const short = new LogClient({
      url: log.url,
      vkey: log.vkey,
      fetch: async (input, init) => {
        if (!input.endsWith('/tile/entries/002.p/88')) return fetch(input, init);
        return new Response(new Uint8Array(encodeEntryBundle(log.honest.entries.slice(512, 599))));
      },
    });
    expect((await misbehaviour(short.entryBundle(2, at))).kind).toBe('bad-entries');
  });
});

describe('LogClient refuses to wait or buffer without bound', () => {
  it('an oversized checkpoint answer is a ProtocolError', async () => {
    const c = new LogClient({
      url: 'http://log.test',
      vkey: log.vkey,
      fetch: () => Promise.resolve(new Response(new Uint8Array(2 << 20).fill(0x41))),
    });
    const err = await c.latestCheckpoint().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toMatch(/more than 1048576 bytes/);
  });

  it('a log that never answers times out as a LogFetchError with status 0', async () => {
    const hang = (_: string, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)));
    const c = new LogClient({ url: 'http://log.test', vkey: log.vkey, fetch: hang, timeoutMs: 20 });
    const err = await c.latestCheckpoint().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LogFetchError', status: 0 });
    expect((err as Error).message).toMatch(/timed out/);
  });

  it('a refused connection names the reason', async () => {
    const c = new LogClient({ url: `http://127.0.0.1:${await closedPort()}`, vkey: log.vkey });
    await expect(c.latestCheckpoint()).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('TrustedStateStore never regresses and keeps the evidence', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlog-state-'));
  });

  it('refuses an older checkpoint after another store sharing the directory advanced', async () => {
    const c = client();
    const a = new TrustedStateStore(dir);
    const b = new TrustedStateStore(dir);
    await a.advance(c);
    log.grow(10);
    await b.advance(c);
    const older = c.openCheckpoint(log.sign(log.honest, 605));
    const err = await misbehaviour(a.advance(c, { candidate: older }));
    expect(err.kind).toBe('rollback');
    expect((await a.load(c))?.checkpoint.size).toBe(610);
    expect(await readFile(a.checkpointPath(c.origin), 'utf8')).toBe(log.sign(log.honest, 610));
  });

  it('saves a bad signature with the trusted checkpoint it was checked against', async () => {
    const store = new TrustedStateStore(dir);
    const { current } = await store.advance(client());
    log.faults.wrongKey = true;
    const err = await misbehaviour(store.advance(client()));
    expect(err.kind).toBe('bad-signature');
    const ev = JSON.parse(await readFile(err.evidencePath!, 'utf8')) as Record<string, unknown>;
    expect(ev.trusted).toBe(current.note);
    expect(ev.candidate).toContain(log.origin);
  });

  it('keeps the trusted checkpoint and saves evidence when a consistency proof or tile fails', async () => {
    const store = new TrustedStateStore(dir);
    await store.advance(client());
    log.grow(20);
    log.faults.tamperProofs = true;
    const viaApi = await misbehaviour(store.advance(client()));
    expect(viaApi.kind).toBe('bad-proof');
    const ev = JSON.parse(await readFile(viaApi.evidencePath!, 'utf8')) as Record<string, unknown>;
    expect(ev).toMatchObject({ trusted: log.sign(log.honest, 600), candidate: log.sign(log.honest, 620) });
    expect((ev.proof as string[]).length).toBeGreaterThan(0);
    log.faults.tamperProofs = false;
    log.faults.tamperTiles = true;
    expect((await misbehaviour(store.advance(client(), { source: 'tiles' }))).evidencePath).toBeDefined();
    expect((await store.load(client()))?.checkpoint.size).toBe(600);
    expect((await readdir(dir)).filter((f) => f.startsWith('evidence-'))).toHaveLength(2);
    log.faults.tamperTiles = false;
    expect((await store.advance(client(), { source: 'tiles' })).current.checkpoint.size).toBe(620);
  });

  it('keeps an entries cursor per log and refuses a corrupted one', async () => {
    const store = new TrustedStateStore(dir);
    const c = client();
    expect(await store.loadEntriesCursor(c)).toBeUndefined();
    await store.saveEntriesCursor(c, 123);
    expect(await new TrustedStateStore(dir).loadEntriesCursor(c)).toBe(123);
    const other = new LogClient({ url: log.url, vkey: generateEd25519Key('other.example/log').verifierKey });
    expect(await store.loadEntriesCursor(other)).toBeUndefined();
    await writeFile(store.entriesCursorPath(c.origin), '{"origin": "fake.example/log", "next": -1}');
    await expect(store.loadEntriesCursor(c)).rejects.toThrow(StateError);
  });
});
