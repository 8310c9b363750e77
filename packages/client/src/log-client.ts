import type { Checkpoint, Hash, Hasher, NoteVerifier, TileId } from '@tlog/merkle';
import {
  decodeEntryBundle,
  defaultHasher,
  encodeEntryBundle,
  formatEntriesPath,
  formatTilePath,
  HASH_SIZE,
  hashFromBase64,
  MAX_ENTRY_SIZE,
  MAX_NOTE_SIZE,
  MerkleError,
  openCheckpoint,
  parseTlogProof,
  parseVerifierKey,
  proveConsistency,
  proveInclusion,
  TILE_HEIGHT,
  TILE_WIDTH,
  TileHashReader,
  toBase64,
  verifyConsistency,
  verifyInclusion,
  verifyTlogProof,
} from '@tlog/merkle';
import { z } from 'zod';
import { bytesEqual } from './bytes.js';
import { checkIndex, errorMessage } from './checks.js';
import type { MisbehaviourEvidence, MisbehaviourKind } from './errors.js';
import { LogClientError, LogFetchError, LogMisbehaviourError } from './errors.js';
import type { FetchLike, HttpOptions } from './http.js';
import { fetchBytes, fetchJson, fetchText, joinUrl } from './http.js';

/** A checkpoint whose signature by the pinned log key (and origin) has been verified. */
export interface VerifiedCheckpoint {
  /** The parsed checkpoint. */
  readonly checkpoint: Checkpoint;
  /** The signed note exactly as the log served it (text and signature lines). */
  readonly note: string;
}

/** Options of a {@link LogClient}. */
export interface LogClientOptions {
  /** Base URL of the log, e.g. "http://localhost:8080" (paths such as "checkpoint" are appended). */
  readonly url: string;
  /** The log's signed-note verifier key, "name+keyid+base64". */
  readonly vkey: string;
  /** The expected checkpoint origin line; defaults to the key's name. */
  readonly origin?: string;
  /** A fetch implementation; defaults to the global fetch. */
  readonly fetch?: FetchLike;
  /** The hasher for leaf and node hashes; defaults to the pure-JS one. */
  readonly hasher?: Hasher;
  /**
   * How long one request (answer and body) may take, in milliseconds, before it fails with a
   * LogFetchError; 0 for no limit. Default 60000.
   */
  readonly timeoutMs?: number;
}

/** Default of {@link LogClientOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Largest hash tile: 256 hashes. */
const MAX_TILE_BYTES = TILE_WIDTH * HASH_SIZE;
/** Largest entry bundle: 256 entries of 65535 bytes, each with its 2-byte length. */
const MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_SIZE);

/** A verified proof that leafHash is the leaf at index in the tree of size treeSize. */
export interface InclusionProof {
  readonly index: number;
  readonly treeSize: number;
  readonly leafHash: Hash;
  /** Bottom-up proof hashes (RFC 6962 PATH). */
  readonly proof: readonly Hash[];
}

/** The verified answer to a submission. */
export interface VerifiedReceipt {
  /** The entry's index in the log. */
  readonly index: number;
  /** RFC 6962 leaf hash of the entry. */
  readonly leafHash: Hash;
  /** The verified checkpoint the receipt proves inclusion in. */
  readonly checkpoint: VerifiedCheckpoint;
  /** The receipt, a c2sp.org/tlog-proof@v1 text, to store beside the entry. */
  readonly receipt: string;
}

/** One log entry read from the entry bundles, with its leaf hash authenticated against a checkpoint. */
export interface LogEntry {
  readonly index: number;
  readonly entry: Uint8Array;
  readonly leafHash: Hash;
}

/**
 * Where proofs come from: `api` fetches them from the log's JSON endpoints (then verifies them),
 * `tiles` computes them locally from hash tiles, each tile authenticated against the checkpoint,
 * so the JSON proof endpoints need not be trusted or even exist. `auto` uses the JSON endpoints
 * when the log has them and tiles otherwise (a plain C2SP tlog-tiles log answers 404 there);
 * what it learns is remembered per client. Every proof is verified whatever its source.
 */
export type ProofSource = 'api' | 'tiles' | 'auto';

/** The values a {@link ProofSource} may take, for argument parsers. */
export const PROOF_SOURCES: readonly ProofSource[] = ['auto', 'api', 'tiles'];

/** Options of the proof methods. */
export interface ProofOptions {
  /** Default: 'auto'. */
  readonly source?: ProofSource;
}

const submitAnswer = z.object({
  index: z.number().int().nonnegative(),
  leafHash: z.string(),
  checkpoint: z.string(),
  receipt: z.string(),
});
const batchAnswer = z.object({
  count: z.number().int().nonnegative(),
  indexes: z.array(z.number().int().nonnegative()),
  checkpoint: z.string(),
  receipts: z.array(z.string()),
});
const inclusionAnswer = z.object({
  index: z.number().int().nonnegative(),
  treeSize: z.number().int().nonnegative(),
  leafHash: z.string(),
  proof: z.array(z.string()),
});
const consistencyAnswer = z.object({
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  proof: z.array(z.string()),
});

/**
 * A verifying client for one C2SP tlog-tiles log pinned to one verifier key. Every value it
 * returns has been verified; anything the log serves that does not verify is thrown as a
 * LogMisbehaviourError, network and HTTP problems as LogFetchError. Runs in Node and browsers.
 */
export class LogClient {
  /** The log's base URL. */
  readonly url: string;
  /** The expected checkpoint origin. */
  readonly origin: string;
  /** The pinned log key. */
  readonly verifier: NoteVerifier;
  /** The pinned log key as given. */
  readonly vkey: string;
  /** The hasher in use. */
  readonly hasher: Hasher;
  private readonly http: HttpOptions;
  /** Whether the log serves the JSON proof endpoints: unknown until a proof request with source 'auto' tells. */
  private proofApi: boolean | undefined;

  /** Requires a valid Ed25519 verifier key (MerkleError otherwise) and an http(s) URL. */
  constructor(options: LogClientOptions) {
    if (!/^https?:\/\//.test(options.url)) {
      throw new LogClientError(`the log URL must start with http:// or https://, got ${JSON.stringify(options.url)}`);
    }
    this.url = options.url;
    this.vkey = options.vkey.trim();
    this.verifier = parseVerifierKey(this.vkey);
    this.origin = options.origin ?? this.verifier.name;
    this.hasher = options.hasher ?? defaultHasher;
    const f = options.fetch ?? globalThis.fetch;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0)
      throw new RangeError(`timeoutMs must be a non-negative integer, got ${String(timeoutMs)}`);
    // Bind: some runtimes refuse a fetch called with another `this`.
    this.http = { fetch: (input, init) => f(input, init), timeoutMs };
  }

  /** Verifies a signed checkpoint against the pinned key and origin; LogMisbehaviourError('bad-signature') if it does not verify. */
  openCheckpoint(signedNote: string): VerifiedCheckpoint {
    try {
      const { checkpoint } = openCheckpoint(signedNote, this.verifier, this.origin);
      return { checkpoint, note: signedNote };
    } catch (e) {
      if (!(e instanceof MerkleError)) throw e;
      throw this.misbehaviour(
        'bad-signature',
        `the checkpoint does not verify with the pinned key ${this.verifier.name}: ${errorMessage(e)}`,
        { candidate: signedNote },
        e,
      );
    }
  }

  /** Fetches GET /checkpoint and verifies it. */
  async latestCheckpoint(): Promise<VerifiedCheckpoint> {
    const text = await fetchText(this.http, joinUrl(this.url, 'checkpoint'), MAX_NOTE_SIZE);
    return this.openCheckpoint(text);
  }

  /**
   * Submits entry (0..65535 bytes) with POST /v1/entries and verifies the receipt: the log's
   * signature on its checkpoint, the inclusion of exactly these bytes, and that the index, leaf
   * hash and checkpoint fields of the answer agree with the receipt.
   */
  async submit(entry: Uint8Array): Promise<VerifiedReceipt> {
    if (entry.length > MAX_ENTRY_SIZE) throw new RangeError(`an entry is at most ${MAX_ENTRY_SIZE} bytes, got ${entry.length}`);
    const url = joinUrl(this.url, 'v1/entries');
    const body = await fetchJson(this.http, url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(entry),
    });
    const answer = parseAnswer(submitAnswer, body, url);
    const checkpoint = this.openCheckpoint(answer.checkpoint);
    let verified: ReturnType<typeof verifyTlogProof>;
    try {
      verified = verifyTlogProof(answer.receipt, entry, { log: this.verifier, origin: this.origin }, this.hasher);
    } catch (e) {
      if (!(e instanceof MerkleError)) throw e;
      throw this.misbehaviour(
        'bad-proof',
        `the receipt for the submitted entry does not verify: ${errorMessage(e)}`,
        { candidate: answer.checkpoint, details: { receipt: answer.receipt } },
        e,
      );
    }
    const fieldsAgree =
      verified.index === answer.index &&
      bytesEqual(verified.leafHash, decodeHash(answer.leafHash, url)) &&
      verified.checkpoint.size === checkpoint.checkpoint.size &&
      bytesEqual(verified.checkpoint.root, checkpoint.checkpoint.root);
    if (!fieldsAgree) {
      throw this.misbehaviour(
        'bad-proof',
        `the submission answer disagrees with its receipt (index ${answer.index} vs ${verified.index}, or another leaf hash or checkpoint)`,
        { candidate: answer.checkpoint, details: { receipt: answer.receipt } },
      );
    }
    return { index: verified.index, leafHash: verified.leafHash, checkpoint, receipt: answer.receipt };
  }

  /**
   * Submits several entries in one request (POST /v1/entries/batch?receipts=1, the body an entry
   * bundle) and verifies every receipt as {@link submit} does. Requires 1 or more entries of at
   * most 65535 bytes each; returns the receipts in the order of the entries.
   */
  async submitBatch(entries: readonly Uint8Array[]): Promise<VerifiedReceipt[]> {
    if (entries.length === 0) throw new RangeError('submitBatch needs at least one entry');
    const url = joinUrl(this.url, 'v1/entries/batch?receipts=1');
    const body = await fetchJson(this.http, url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(encodeEntryBundle(entries)),
    });
    const answer = parseAnswer(batchAnswer, body, url);
    if (answer.count !== entries.length || answer.indexes.length !== entries.length || answer.receipts.length !== entries.length) {
      throw new LogFetchError(
        url,
        200,
        `${url} answered for ${answer.count} entries with ${answer.receipts.length} receipts, but ${entries.length} were sent`,
      );
    }
    const checkpoint = this.openCheckpoint(answer.checkpoint);
    return entries.map((entry, i) => {
      const receipt = answer.receipts[i]!;
      let verified: ReturnType<typeof verifyTlogProof>;
      try {
        verified = verifyTlogProof(receipt, entry, { log: this.verifier, origin: this.origin }, this.hasher);
      } catch (e) {
        if (!(e instanceof MerkleError)) throw e;
        throw this.misbehaviour(
          'bad-proof',
          `the receipt for batch entry ${i} does not verify: ${errorMessage(e)}`,
          { candidate: answer.checkpoint, details: { receipt } },
          e,
        );
      }
      if (verified.index !== answer.indexes[i] || verified.checkpoint.size > checkpoint.checkpoint.size) {
        throw this.misbehaviour(
          'bad-proof',
          `the batch answer disagrees with the receipt of entry ${i} (index ${answer.indexes[i]} vs ${verified.index})`,
          { candidate: answer.checkpoint, details: { receipt } },
        );
      }
      const own =
        verified.checkpoint.size === checkpoint.checkpoint.size && bytesEqual(verified.checkpoint.root, checkpoint.checkpoint.root);
      const receiptCheckpoint = own ? checkpoint : { checkpoint: verified.checkpoint, note: parseTlogProof(receipt).checkpoint };
      return { index: verified.index, leafHash: verified.leafHash, checkpoint: receiptCheckpoint, receipt };
    });
  }

  /** Proof that the entry at index is in `at` (requires index < at's size); the leaf hash comes with it. */
  async inclusionProof(index: number, at: VerifiedCheckpoint, options: ProofOptions = {}): Promise<InclusionProof> {
    const size = at.checkpoint.size;
    checkIndex(index, 'index');
    if (index >= size) throw new RangeError(`index ${index} is not in a tree of size ${size}`);
    return this.fromSource(
      options.source,
      async () => {
        const url = joinUrl(this.url, `v1/proof/inclusion?index=${index}&treeSize=${size}`);
        const answer = parseAnswer(inclusionAnswer, await fetchJson(this.http, url), url);
        if (answer.index !== index || answer.treeSize !== size) {
          throw new LogFetchError(url, 200, `${url} answered for index ${answer.index} in size ${answer.treeSize}, not the ones asked`);
        }
        return this.checkInclusion(
          at,
          index,
          decodeHash(answer.leafHash, url),
          answer.proof.map((p) => decodeHash(p, url)),
          'api',
        );
      },
      () =>
        this.tryTiles(at, async (reader) => {
          const proof = await proveInclusion(reader, index, size, this.hasher);
          const [leafHash] = await reader.readNodes([{ level: 0, index }]);
          return this.checkInclusion(at, index, leafHash!, proof, 'tiles');
        }),
    );
  }

  /** Proof that these entry bytes are in `at`: {@link inclusionProofForLeafHash} of their RFC 6962 leaf hash. */
  inclusionProofForEntry(
    entry: Uint8Array,
    at: VerifiedCheckpoint,
    options: ProofOptions & { index?: number } = {},
  ): Promise<InclusionProof> {
    return this.inclusionProofForLeafHash(this.hasher.hashLeaf(entry), at, options);
  }

  /**
   * Proof that the leaf with this hash is in `at`. With source 'api' the log finds the index;
   * with 'tiles' the index is `options.index` if given, otherwise the authenticated level-0 tiles
   * are scanned (O(size)). With 'auto', a 404 from the JSON endpoint is told apart from a log
   * without that endpoint by asking for the proof of index 0. LogFetchError(404) when the tree
   * does not have the leaf.
   */
  async inclusionProofForLeafHash(
    leafHash: Hash,
    at: VerifiedCheckpoint,
    options: ProofOptions & { index?: number } = {},
  ): Promise<InclusionProof> {
    const size = at.checkpoint.size;
    if (size === 0) throw new LogFetchError(this.url, 404, `leaf hash ${toBase64(leafHash)} is not in the empty tree`);
    const fromTiles = async () => {
      const index = options.index ?? (await this.findLeaf(leafHash, at));
      const p = await this.inclusionProof(index, at, { source: 'tiles' });
      if (!bytesEqual(p.leafHash, leafHash)) {
        throw new LogFetchError(this.url, 404, `the leaf at index ${index} is ${toBase64(p.leafHash)}, not ${toBase64(leafHash)}`);
      }
      return p;
    };
    const fromApi = async () => {
      const url = joinUrl(this.url, `v1/proof/inclusion?leafHash=${encodeURIComponent(toBase64(leafHash))}&treeSize=${size}`);
      const answer = parseAnswer(inclusionAnswer, await fetchJson(this.http, url), url);
      if (answer.treeSize !== size || answer.index >= size) {
        throw new LogFetchError(
          url,
          200,
          `${url} answered index ${answer.index} in size ${answer.treeSize}, which does not fit the asked size ${size}`,
        );
      }
      return this.checkInclusion(
        at,
        answer.index,
        leafHash,
        answer.proof.map((p) => decodeHash(p, url)),
        'api',
      );
    };
    if ((options.source ?? 'auto') === 'auto' && this.proofApi === undefined) {
      try {
        const p = await fromApi();
        this.proofApi = true;
        return p;
      } catch (e) {
        if (!endpointMissing(e)) throw e;
        // A 404 here means "no such leaf" or "no JSON API": a proof by index must exist if the API does.
        await this.inclusionProof(0, at, { source: 'auto' });
        if (this.proofApi === true) throw e;
        return fromTiles();
      }
    }
    return this.fromSource(options.source, fromApi, fromTiles);
  }

  /**
   * Consistency proof from `from` to `to` (requires from.size <= to.size), verified against both
   * roots. Equal sizes with different roots is a LogMisbehaviourError('fork'); a proof that does
   * not verify is LogMisbehaviourError('bad-proof'), carrying both signed checkpoints and the proof.
   */
  async consistencyProof(from: VerifiedCheckpoint, to: VerifiedCheckpoint, options: ProofOptions = {}): Promise<Hash[]> {
    const a = from.checkpoint.size;
    const b = to.checkpoint.size;
    if (a > b) throw new RangeError(`a consistency proof needs from.size <= to.size, got ${a} > ${b}`);
    if (a === b) {
      if (!bytesEqual(from.checkpoint.root, to.checkpoint.root)) {
        throw this.misbehaviour(
          'fork',
          `two signed checkpoints of size ${a} have different roots ${toBase64(from.checkpoint.root)} and ${toBase64(to.checkpoint.root)}`,
          { trusted: from.note, candidate: to.note },
        );
      }
      return [];
    }
    if (a === 0) return [];
    const proof = await this.fromSource(
      options.source,
      async () => {
        const url = joinUrl(this.url, `v1/proof/consistency?from=${a}&to=${b}`);
        const answer = parseAnswer(consistencyAnswer, await fetchJson(this.http, url), url);
        if (answer.from !== a || answer.to !== b) {
          throw new LogFetchError(url, 200, `${url} answered for sizes ${answer.from} to ${answer.to}, not the ones asked`);
        }
        return answer.proof.map((p) => decodeHash(p, url));
      },
      () => this.tryTiles(to, (reader) => proveConsistency(reader, a, b, this.hasher), from.note),
    );
    try {
      verifyConsistency(a, b, proof, from.checkpoint.root, to.checkpoint.root, this.hasher);
    } catch (e) {
      if (!(e instanceof MerkleError)) throw e;
      throw this.misbehaviour(
        'bad-proof',
        `the checkpoint of size ${b} is not proven consistent with the trusted one of size ${a}: ${errorMessage(e)}`,
        { trusted: from.note, candidate: to.note, proof: proof.map(toBase64) },
        e,
      );
    }
    return proof;
  }

  /**
   * Checks that `candidate` may replace `trusted`: a smaller size is a rollback, the same size
   * with another root a fork, a larger size needs a verified consistency proof. Returns that proof
   * (empty when there is nothing to prove). With no trusted checkpoint, accepts the candidate.
   */
  async verifyUpdate(trusted: VerifiedCheckpoint | undefined, candidate: VerifiedCheckpoint, options: ProofOptions = {}): Promise<Hash[]> {
    if (trusted === undefined) return [];
    const a = trusted.checkpoint.size;
    const b = candidate.checkpoint.size;
    if (b < a) {
      throw this.misbehaviour(
        'rollback',
        `the log rolled back: it now serves a signed checkpoint of size ${b}, smaller than the trusted size ${a}`,
        { trusted: trusted.note, candidate: candidate.note },
      );
    }
    return this.consistencyProof(trusted, candidate, options);
  }

  /**
   * A NodeReader over the log's hash tiles that authenticates every tile against `at`
   * (for proveInclusion, proveConsistency, treeRoot from @tlog/merkle). Tiles are cached per reader.
   */
  tileReader(at: VerifiedCheckpoint): TileHashReader {
    const cache = new Map<string, Promise<Uint8Array>>();
    const fetchTile = (tile: TileId): Promise<Uint8Array> => {
      const key = formatTilePath(tile);
      let p = cache.get(key);
      if (p === undefined) {
        p = this.fetchHashTile(tile);
        cache.set(key, p);
        // A failed fetch must not poison later reads.
        p.catch(() => cache.delete(key));
      }
      return p;
    };
    return new TileHashReader(at.checkpoint.size, at.checkpoint.root, fetchTile, this.hasher);
  }

  /**
   * The hash tile `tile` of the tree of `at`, authenticated against `at` (through its parent
   * tiles up to the root, as Go's tlog.TileHashReader) before it is returned. Requires the
   * tile's hashes to exist in that tree: (index * 256 + width) * 256^level <= at's size.
   * A tile that does not authenticate is LogMisbehaviourError('bad-proof').
   */
  async hashTile(tile: TileId, at: VerifiedCheckpoint, reader?: TileHashReader): Promise<Uint8Array> {
    checkTileId(tile);
    const first = tile.index * TILE_WIDTH;
    const end = (first + tile.width) * 2 ** (TILE_HEIGHT * tile.level);
    if (!(end <= at.checkpoint.size)) {
      throw new RangeError(`tile ${formatTilePath(tile)} covers entries up to ${end}, beyond the tree size ${at.checkpoint.size}`);
    }
    const ids = Array.from({ length: tile.width }, (_, i) => ({ level: TILE_HEIGHT * tile.level, index: first + i }));
    const hashes = await this.tryTiles(at, (r) => r.readNodes(ids), undefined, reader);
    const out = new Uint8Array(hashes.length * HASH_SIZE);
    hashes.forEach((h, i) => {
      out.set(h, i * HASH_SIZE);
    });
    return out;
  }

  /**
   * The entries of entry bundle `index` of the tree of `at` (as many as the tree has there,
   * up to 256), each checked against the leaf hash in the level-0 tile authenticated against
   * `at`. Requires index * 256 < at's size. A bundle that does not match is
   * LogMisbehaviourError('bad-entries'), a tile that does not authenticate 'bad-proof'.
   */
  async entryBundle(index: number, at: VerifiedCheckpoint, reader?: TileHashReader): Promise<LogEntry[]> {
    checkIndex(index, 'bundle index');
    const size = at.checkpoint.size;
    const start = index * TILE_WIDTH;
    if (!(start < size)) throw new RangeError(`entry bundle ${index} starts at ${start}, not below the tree size ${size}`);
    const width = Math.min(TILE_WIDTH, size - start);
    const ids = Array.from({ length: width }, (_, i) => ({ level: 0, index: start + i }));
    const [bundle, hashes] = await Promise.all([
      this.fetchEntryBundle(index, width),
      this.tryTiles(at, (r) => r.readNodes(ids), undefined, reader),
    ]);
    const path = formatEntriesPath({ index, width });
    return bundle.map((entry, i) => {
      const leafHash = this.hasher.hashLeaf(entry);
      if (!bytesEqual(leafHash, hashes[i]!)) {
        throw this.misbehaviour(
          'bad-entries',
          `entry ${start + i} in bundle ${path} hashes to ${toBase64(leafHash)}, but the authenticated tree has ${toBase64(hashes[i]!)}`,
          {
            candidate: at.note,
            details: { index: start + i, bundle: path, computed: toBase64(leafHash), expected: toBase64(hashes[i]!) },
          },
        );
      }
      return { index: start + i, entry, leafHash };
    });
  }

  /**
   * Fetches one hash tile (not authenticated: use {@link hashTile} or {@link tileReader} for that).
   * A partial tile that is gone (404) is read from the full tile, as tlog-tiles allows.
   */
  async fetchHashTile(tile: TileId): Promise<Uint8Array> {
    checkTileId(tile);
    const data = await this.fetchWithFullFallback(
      formatTilePath(tile),
      formatTilePath({ ...tile, width: TILE_WIDTH }),
      tile.width,
      MAX_TILE_BYTES,
    );
    const want = tile.width * HASH_SIZE;
    const out = tile.width < TILE_WIDTH && data.length === MAX_TILE_BYTES ? data.subarray(0, want) : data;
    if (out.length !== want) {
      throw this.misbehaviour('bad-proof', `hash tile ${formatTilePath(tile)} has ${out.length} bytes, expected ${want}`, {
        details: { tile: formatTilePath(tile) },
      });
    }
    return out;
  }

  /**
   * Fetches and decodes the entry bundle `index` of the given width (1..256), without
   * authenticating it (see {@link entryBundle}). A malformed bundle is LogMisbehaviourError('bad-entries').
   */
  async fetchEntryBundle(index: number, width: number): Promise<Uint8Array[]> {
    checkIndex(index, 'bundle index');
    if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH)
      throw new RangeError(`a bundle width is 1..${TILE_WIDTH}, got ${String(width)}`);
    const path = formatEntriesPath({ index, width });
    const data = await this.fetchWithFullFallback(path, formatEntriesPath({ index, width: TILE_WIDTH }), width, MAX_BUNDLE_BYTES);
    try {
      // After a fallback to the full bundle there are 256 entries; keep the first `width`.
      let entries: Uint8Array[];
      try {
        entries = decodeEntryBundle(data, width);
      } catch (e) {
        if (width === TILE_WIDTH) throw e;
        entries = decodeEntryBundle(data, TILE_WIDTH).slice(0, width);
      }
      return entries;
    } catch (e) {
      if (!(e instanceof MerkleError)) throw e;
      throw this.misbehaviour('bad-entries', `entry bundle ${path} is malformed: ${errorMessage(e)}`, { details: { bundle: path } }, e);
    }
  }

  /**
   * The entries with indexes a..b-1 (requires a <= b <= at.size; `at` defaults to the latest
   * checkpoint), read from entry bundles. Each entry's leaf hash must equal the leaf hash in the
   * level-0 tile authenticated against `at`, or LogMisbehaviourError('bad-entries') is thrown.
   */
  async *entries(a: number, b: number, at?: VerifiedCheckpoint): AsyncGenerator<LogEntry> {
    checkIndex(a, 'start index');
    checkIndex(b, 'end index');
    const cp = at ?? (await this.latestCheckpoint());
    const size = cp.checkpoint.size;
    if (a > b || b > size) throw new RangeError(`entries(${a}, ${b}) needs ${a} <= ${b} <= the tree size ${size}`);
    if (a === b) return;
    const reader = this.tileReader(cp);
    for (let n = Math.floor(a / TILE_WIDTH); n * TILE_WIDTH < b; n++) {
      for (const e of await this.entryBundle(n, cp, reader)) {
        if (e.index >= a && e.index < b) yield e;
      }
    }
  }

  /** Builds a LogMisbehaviourError for this log. */
  misbehaviour(
    kind: MisbehaviourKind,
    message: string,
    evidence: Omit<MisbehaviourEvidence, 'origin' | 'url'>,
    cause?: unknown,
  ): LogMisbehaviourError {
    return new LogMisbehaviourError(
      kind,
      `${this.origin}: ${message}`,
      { origin: this.origin, url: this.url, ...evidence },
      cause === undefined ? undefined : { cause },
    );
  }

  private checkInclusion(at: VerifiedCheckpoint, index: number, leafHash: Hash, proof: Hash[], source: ProofSource): InclusionProof {
    const size = at.checkpoint.size;
    try {
      verifyInclusion(index, size, leafHash, proof, at.checkpoint.root, this.hasher);
    } catch (e) {
      if (!(e instanceof MerkleError)) throw e;
      throw this.misbehaviour(
        'bad-proof',
        `the inclusion proof (from ${source}) for index ${index} in size ${size} does not verify: ${errorMessage(e)}`,
        {
          candidate: at.note,
          proof: proof.map(toBase64),
          details: { index, treeSize: size, leafHash: toBase64(leafHash), source },
        },
        e,
      );
    }
    return { index, treeSize: size, leafHash, proof };
  }

  /** Runs f over an authenticated tile reader; a tile that does not authenticate is 'bad-proof'. */
  private async tryTiles<T>(
    at: VerifiedCheckpoint,
    f: (reader: TileHashReader) => Promise<T>,
    trustedNote?: string,
    reader?: TileHashReader,
  ): Promise<T> {
    try {
      return await f(reader ?? this.tileReader(at));
    } catch (e) {
      if (e instanceof LogClientError || !(e instanceof MerkleError)) throw e;
      throw this.misbehaviour(
        'bad-proof',
        `a hash tile does not authenticate against the checkpoint of size ${at.checkpoint.size}: ${errorMessage(e)}`,
        {
          ...(trustedNote === undefined ? {} : { trusted: trustedNote }),
          candidate: at.note,
          details: { source: 'tiles' },
        },
        e,
      );
    }
  }

  private async findLeaf(leafHash: Hash, at: VerifiedCheckpoint): Promise<number> {
    const size = at.checkpoint.size;
    const reader = this.tileReader(at);
    for (let start = 0; start < size; start += TILE_WIDTH) {
      const width = Math.min(TILE_WIDTH, size - start);
      const hashes = await this.tryTiles(
        at,
        (r) => r.readNodes(Array.from({ length: width }, (_, i) => ({ level: 0, index: start + i }))),
        undefined,
        reader,
      );
      const i = hashes.findIndex((h) => bytesEqual(h, leafHash));
      if (i >= 0) return start + i;
    }
    throw new LogFetchError(this.url, 404, `leaf hash ${toBase64(leafHash)} is not in the tree of size ${size}`);
  }

  private async fetchWithFullFallback(path: string, fullPath: string, width: number, maxBytes: number): Promise<Uint8Array> {
    try {
      return await fetchBytes(this.http, joinUrl(this.url, path), maxBytes);
    } catch (e) {
      if (!(e instanceof LogFetchError) || e.status !== 404 || width >= TILE_WIDTH) throw e;
      return fetchBytes(this.http, joinUrl(this.url, fullPath), maxBytes);
    }
  }

  /**
   * Runs `api` or `tiles` as `source` says. With 'auto': tiles if the log is known to lack the
   * JSON proof endpoints; otherwise the API, falling back to tiles (and remembering it) when the
   * endpoint is missing. Misbehaviour found on either path is never retried on the other.
   */
  private async fromSource<T>(source: ProofSource | undefined, api: () => Promise<T>, tiles: () => Promise<T>): Promise<T> {
    const s = source ?? 'auto';
    if (!PROOF_SOURCES.includes(s))
      throw new RangeError(`proof source must be one of ${PROOF_SOURCES.join(', ')}, got ${JSON.stringify(s)}`);
    if (s === 'tiles' || (s === 'auto' && this.proofApi === false)) return tiles();
    if (s === 'api') return api();
    try {
      const r = await api();
      this.proofApi = true;
      return r;
    } catch (e) {
      if (this.proofApi === true || !endpointMissing(e)) throw e;
      this.proofApi = false;
      return tiles();
    }
  }
}

/** Whether an error says the log has no such JSON endpoint (a plain tlog-tiles log, a static mirror). */
function endpointMissing(e: unknown): boolean {
  return e instanceof LogFetchError && (e.status === 404 || e.status === 405 || e.status === 501);
}

/** Checks a TileId: level 0..63, index a safe integer, width 1..256 (RangeError otherwise). */
function checkTileId(tile: TileId): void {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > 63)
    throw new RangeError(`a tile level is 0..63, got ${String(tile.level)}`);
  checkIndex(tile.index, 'tile index');
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH)
    throw new RangeError(`a tile width is 1..${TILE_WIDTH}, got ${String(tile.width)}`);
}

function parseAnswer<T>(schema: z.ZodType<T>, body: unknown, url: string): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    throw new LogFetchError(
      url,
      200,
      `${url} answered JSON of an unexpected shape: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return r.data;
}

function decodeHash(b64: string, url: string): Hash {
  try {
    return hashFromBase64(b64);
  } catch (e) {
    throw new LogFetchError(url, 200, `${url} answered a hash that is not 32 bytes of base64: ${errorMessage(e)}`);
  }
}
