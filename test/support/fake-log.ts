/**
 * A deliberately misbehaving tlog-tiles log for tests: an in-memory tree built with @tlog/merkle,
 * served over node:http, that can be switched to serve a forked history, roll back, sign with a
 * wrong key, or tamper tiles, entry bundles and proofs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hash, NodeId, NoteSigner } from '@tlog/merkle';
import {
  CompactTree,
  decodeEntryBundle,
  defaultHasher,
  encodeEntryBundle,
  formatCheckpoint,
  formatTlogProof,
  generateEd25519Key,
  hashFromBase64,
  type ParsedTilePath,
  parseSignerKey,
  parseTilePath,
  proveConsistencySync,
  proveInclusionSync,
  signNote,
  TILE_HEIGHT,
  TILE_WIDTH,
  toBase64,
  treeRootSync,
} from '@tlog/merkle';

/** An in-memory Merkle tree that keeps every node hash. */
export class MemoryTree {
  readonly entries: Uint8Array[] = [];
  readonly levels: Hash[][] = [];
  private readonly compact = new CompactTree();

  constructor(entries: readonly Uint8Array[] = []) {
    for (const e of entries) this.append(e);
  }

  get size(): number {
    return this.entries.length;
  }

  append(entry: Uint8Array): number {
    this.entries.push(entry);
    for (const n of this.compact.append(defaultHasher.hashLeaf(entry))) {
      (this.levels[n.level] ??= [])[n.index] = n.hash;
    }
    return this.entries.length - 1;
  }

  readonly reader = {
    readNodes: (ids: readonly NodeId[]): Hash[] =>
      ids.map((id) => {
        const h = this.levels[id.level]?.[id.index];
        if (h === undefined) throw new Error(`fake log: no node ${id.level}/${id.index}`);
        return h;
      }),
  };

  root(size = this.size): Hash {
    return size === 0 ? defaultHasher.emptyRoot() : treeRootSync(this.reader, size);
  }
}

/** What the fake log does wrong; all false = honest. */
export interface FakeLogFaults {
  /** Serve the forked tree instead of the honest one (checkpoints, tiles, proofs). */
  fork: boolean;
  /** Serve the checkpoint of this size instead of the published one. */
  rollbackTo: number | undefined;
  /** Sign checkpoints with a different key of the same name. */
  wrongKey: boolean;
  /** Flip a bit in the first hash of every hash tile. */
  tamperTiles: boolean;
  /** Flip a bit in the first byte of the first entry of every bundle. */
  tamperBundles: boolean;
  /** Flip a bit in the first hash of every JSON proof. */
  tamperProofs: boolean;
  /** Have no JSON proof endpoints (404), like a plain C2SP tlog-tiles log. */
  noProofApi: boolean;
  /** Answer 503 to every request (an outage). */
  down: boolean;
  /** Answer 503 to entry bundle requests only. */
  failBundles: boolean;
}

/** All faults off. */
export function honestFaults(): FakeLogFaults {
  return {
    fork: false,
    rollbackTo: undefined,
    wrongKey: false,
    tamperTiles: false,
    tamperBundles: false,
    tamperProofs: false,
    noProofApi: false,
    down: false,
    failBundles: false,
  };
}

/** An answer of the fake log. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: string | Uint8Array;
  readonly type: string;
}

/** A running fake log. */
export class FakeLog {
  readonly origin: string;
  readonly vkey: string;
  readonly signer: NoteSigner;
  private readonly wrongSigner: NoteSigner;
  honest = new MemoryTree();
  forked: MemoryTree | undefined;
  /** The size of the checkpoint served (defaults to the honest tree's size at publish time). */
  published = 0;
  readonly faults: FakeLogFaults = honestFaults();
  /** Paths requested, for asserting what a client used. */
  readonly requests: string[] = [];
  /** The Authorization header of each request (undefined when absent), in the order of `requests`' requests. */
  readonly authorizations: (string | undefined)[] = [];
  /** When set, every request without `Authorization: Bearer <apiKey>` answers 401 (no key, or another key). */
  apiKey: string | undefined;
  /** When true, requests with the right key answer 403 (the key lacks the scope). */
  scopeDenied = false;
  /** The path the log is served under (`/access`: GET /access/checkpoint...); requests outside it answer 404. */
  readonly prefix: string;
  url = '';
  private server = createServer((req, res) => {
    const auth = req.headers.authorization;
    this.authorizations.push(auth);
    if (this.apiKey !== undefined && (auth !== `Bearer ${this.apiKey}` || this.scopeDenied)) {
      const status = auth === `Bearer ${this.apiKey}` ? 403 : 401;
      const error =
        status === 401 ? 'this endpoint needs an API key: send Authorization: Bearer <key>' : 'this key lacks the scope events:read';
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error }));
      return;
    }
    void this.handle(req.method ?? 'GET', req.url ?? '/', req).then(
      ({ status, body, type }) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      },
      (e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      },
    );
  });

  constructor(origin = 'fake.example/log', prefix = '') {
    this.origin = origin;
    this.prefix = prefix.replace(/\/+$/, '');
    const k = generateEd25519Key(origin, new Uint8Array(32).fill(7));
    const wrong = generateEd25519Key(origin, new Uint8Array(32).fill(8));
    this.vkey = k.verifierKey;
    this.signer = parseSignerKey(k.signerKey);
    this.wrongSigner = parseSignerKey(wrong.signerKey);
  }

  /** Starts a fake log on a random local port. */
  static async start(origin?: string, prefix?: string): Promise<FakeLog> {
    const log = new FakeLog(origin, prefix);
    await log.listen();
    return log;
  }

  /** Listens on a random local port and sets `url`. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.prefix}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Back to an honest, empty log (faults off, no fork, request log cleared). */
  reset(): void {
    Object.assign(this.faults, honestFaults());
    this.honest = new MemoryTree();
    this.forked = undefined;
    this.published = 0;
    this.requests.length = 0;
    this.authorizations.length = 0;
    this.apiKey = undefined;
    this.scopeDenied = false;
  }

  /** Appends entries "entry-<i>" (or the given ones) to the honest tree and publishes. */
  grow(n: number, make: (i: number) => Uint8Array = (i) => new TextEncoder().encode(`entry-${i}`)): void {
    for (let k = 0; k < n; k++) this.honest.append(make(this.honest.size));
    this.published = this.honest.size;
  }

  /** Creates a forked history: the honest first `at` entries, then `extra` different ones. */
  makeFork(at: number, extra: number): void {
    this.forked = new MemoryTree(this.honest.entries.slice(0, at));
    for (let i = 0; i < extra; i++) this.forked.append(new TextEncoder().encode(`forked-${i}`));
  }

  private get tree(): MemoryTree {
    return this.faults.fork && this.forked !== undefined ? this.forked : this.honest;
  }

  /** The signed checkpoint the log serves now. */
  checkpoint(): string {
    const tree = this.tree;
    const size = this.faults.rollbackTo ?? (this.faults.fork ? tree.size : this.published);
    return this.sign(tree, size);
  }

  /** Signs the checkpoint of `size` of a tree. */
  sign(tree: MemoryTree, size: number): string {
    const text = formatCheckpoint({ origin: this.origin, size, root: tree.root(size), extensions: [] });
    return signNote(text, [this.faults.wrongKey ? this.wrongSigner : this.signer]);
  }

  /** Answers what the plain log does not: for subclasses that add endpoints (undefined: 404). */
  protected handleMore(_method: string, _url: URL, _req: NodeJS.ReadableStream): Promise<FakeAnswer | undefined> {
    return Promise.resolve(undefined);
  }

  private async handle(method: string, rawUrl: string, req: NodeJS.ReadableStream): Promise<FakeAnswer> {
    const u = new URL(rawUrl, 'http://x');
    this.requests.push(u.pathname);
    const text = (status: number, body: string) => ({ status, body, type: 'text/plain; charset=utf-8' });
    if (this.prefix !== '') {
      if (!u.pathname.startsWith(`${this.prefix}/`)) return text(404, `not under ${this.prefix}`);
      u.pathname = u.pathname.slice(this.prefix.length);
    }
    const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body), type: 'application/json' });
    const tree = this.tree;
    if (this.faults.down) return text(503, 'down for maintenance');
    if (this.faults.noProofApi && u.pathname.startsWith('/v1/proof/')) return text(404, 'not found');
    if (this.faults.failBundles && u.pathname.startsWith('/tile/entries/')) return text(503, 'bundles unavailable');
    if (method === 'GET' && u.pathname === '/checkpoint') return text(200, this.checkpoint());
    if (method === 'GET' && u.pathname === '/v1/log') return json(200, { origin: this.origin, verifierKey: this.vkey });
    if (method === 'GET' && u.pathname.startsWith('/tile/')) {
      let parsed: ParsedTilePath;
      try {
        parsed = parseTilePath(u.pathname.slice(1));
      } catch {
        return text(400, 'bad tile path');
      }
      if (parsed.kind === 'entries') {
        const { index, width } = parsed.tile;
        const start = index * TILE_WIDTH;
        if (start + width > tree.size) return text(404, 'no such bundle');
        const entries = tree.entries.slice(start, start + width).map((e) => e.slice());
        if (this.faults.tamperBundles && entries[0] !== undefined && entries[0].length > 0) entries[0][0]! ^= 1;
        return { status: 200, body: encodeEntryBundle(entries), type: 'application/octet-stream' };
      }
      const { level, index, width } = parsed.tile;
      const hashes = tree.levels[level * TILE_HEIGHT] ?? [];
      const start = index * TILE_WIDTH;
      if (start + width > hashes.length) return text(404, 'no such tile');
      const data = new Uint8Array(width * 32);
      for (let i = 0; i < width; i++) data.set(hashes[start + i]!, i * 32);
      if (this.faults.tamperTiles) data[0]! ^= 1;
      return { status: 200, body: data, type: 'application/octet-stream' };
    }
    if (method === 'GET' && u.pathname === '/v1/proof/inclusion') {
      const size = Number(u.searchParams.get('treeSize'));
      let index: number;
      if (u.searchParams.has('leafHash')) {
        const lh = hashFromBase64(u.searchParams.get('leafHash')!);
        index = (tree.levels[0] ?? []).findIndex((h, i) => i < size && toBase64(h) === toBase64(lh));
        if (index < 0) return json(404, { error: 'leaf not found' });
      } else index = Number(u.searchParams.get('index'));
      if (!(index < size && size <= tree.size)) return json(400, { error: 'bad index or size' });
      const proof = this.tamper(proveInclusionSync(tree.reader, index, size));
      return json(200, { index, treeSize: size, leafHash: toBase64(tree.levels[0]![index]!), proof: proof.map(toBase64) });
    }
    if (method === 'GET' && u.pathname === '/v1/proof/consistency') {
      const from = Number(u.searchParams.get('from'));
      const to = Number(u.searchParams.get('to'));
      if (!(from <= to && to <= tree.size)) return json(400, { error: 'bad sizes' });
      const proof = this.tamper(from === 0 || from === to ? [] : proveConsistencySync(tree.reader, from, to));
      return json(200, { from, to, proof: proof.map(toBase64) });
    }
    if (method === 'POST' && u.pathname === '/v1/entries/batch') {
      const chunks: Uint8Array[] = [];
      for await (const c of req) chunks.push(c as Uint8Array);
      const entries = decodeEntryBundle(new Uint8Array(Buffer.concat(chunks)));
      const indexes = entries.map((e) => this.honest.append(e));
      this.published = this.honest.size;
      const checkpoint = this.checkpoint();
      const receipts = indexes.map((index) =>
        formatTlogProof({ index, proof: this.tamper(proveInclusionSync(this.honest.reader, index, this.published)), checkpoint }),
      );
      return json(200, { count: entries.length, indexes, treeSize: this.published, checkpoint, receipts });
    }
    if (method === 'POST' && u.pathname === '/v1/entries') {
      const chunks: Uint8Array[] = [];
      for await (const c of req) chunks.push(c as Uint8Array);
      const entry = new Uint8Array(Buffer.concat(chunks));
      const index = this.honest.append(entry);
      this.published = this.honest.size;
      const checkpoint = this.checkpoint();
      const proof = this.tamper(proveInclusionSync(this.honest.reader, index, this.published));
      return json(200, {
        index,
        leafHash: toBase64(this.honest.levels[0]![index]!),
        checkpoint,
        receipt: formatTlogProof({ index, proof, checkpoint }),
      });
    }
    return (await this.handleMore(method, u, req)) ?? text(404, 'not found');
  }

  private tamper(proof: Hash[]): Hash[] {
    if (!this.faults.tamperProofs || proof.length === 0) return proof;
    const out = proof.map((h) => h.slice());
    out[0]![0]! ^= 1;
    return out;
  }
}
