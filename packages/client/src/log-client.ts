import type { EventFilter } from '@tlog/events';
import type { Hash, Hasher, NoteVerifier, TileHashReader, TileId } from '@tlog/merkle';
import { defaultHasher, parseVerifierKey } from '@tlog/merkle';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { fetchLatestCheckpoint, verifyCheckpoint, verifyLogKey } from './checkpoint.js';
import { errorMessage } from './checks.js';
import { consistencyProof, verifyUpdate } from './consistency.js';
import type { LogContext } from './context.js';
import type { LogEntry } from './entries.js';
import { authenticatedEntries, authenticatedEntryBundle, fetchEntryBundle } from './entries.js';
import type { EraseEventOptions, EventErasure } from './erasure.js';
import { checkEraseReason, eraseEvent } from './erasure.js';
import { ArgumentError } from './errors.js';
import { checkEventKey, checkExport, checkNewEvent, checkNewEvents, checkSearch, checkTail } from './event-arguments.js';
import type { EventExport, EventExportOptions } from './event-export.js';
import { EventExportReader } from './event-export.js';
import type { EventTailOptions, TailItem } from './event-tail.js';
import { tailEvents } from './event-tail.js';
import type {
  AppendEventsOptions,
  AppendedEvent,
  EventContext,
  EventReadOptions,
  EventSearchOptions,
  GetEventOptions,
  NewEvent,
  VerifiedEvent,
} from './events.js';
import { appendEvent, appendEvents, getEvent, searchEvents } from './events.js';
import type { HttpClientOptions } from './http.js';
import { checkLogUrl, httpOptions } from './http.js';
import type { InclusionProof, LeafHashProofOptions } from './inclusion.js';
import { inclusionProof, inclusionProofForLeafHash } from './inclusion.js';
import type { ProofOptions } from './proof-source.js';
import { ProofSourceChooser } from './proof-source.js';
import type { VerifiedReceipt } from './submission.js';
import { checkEntries, checkSingleEntry, submitEntries, submitEntry } from './submission.js';
import { authenticatedHashTile, fetchHashTile, tileReader } from './tiles.js';

/** Options of a {@link LogClient}. */
export interface LogClientOptions extends HttpClientOptions {
  /** Base URL of the log, e.g. "http://localhost:8080" (paths such as "checkpoint" are appended); it may have a path ("http://host/access"). */
  readonly url: string;
  /** The log's signed-note verifier key, "name+keyid+base64". */
  readonly vkey: string;
  /** The expected checkpoint origin line; defaults to the key's name. */
  readonly origin?: string;
  /** The hasher for leaf and node hashes; defaults to the pure-JS one. */
  readonly hasher?: Hasher;
}

export { DEFAULT_TIMEOUT_MS } from './http.js';

/** Options of the authenticated tile and bundle reads. */
export interface TileReadOptions {
  /** A reader from {@link LogClient.tileReader} for the same checkpoint, to share its cached tiles. */
  readonly reader?: TileHashReader;
}

/**
 * A verifying client for one C2SP tlog-tiles log pinned to one verifier key. Every value it
 * returns has been verified. Anything the log serves that does not verify is thrown as a
 * LogMisbehaviourError; every other failure is another LogClientError saying who is at fault
 * (see errors.ts). Runs in Node and browsers.
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
  private readonly log: LogContext;
  private readonly proofSources = new ProofSourceChooser();
  /** What the event methods need of this client. */
  private readonly events: EventContext;
  /** The first successful {@link verifyLogKey} before a submission, shared by concurrent ones. */
  private logKeyVerified: Promise<VerifiedCheckpoint> | undefined;

  /** Requires an http(s) URL, a valid Ed25519 verifier key, a non-negative timeout and a well-formed API key if any (ArgumentError otherwise). */
  constructor(options: LogClientOptions) {
    this.url = checkLogUrl(options.url);
    this.vkey = options.vkey.trim();
    try {
      this.verifier = parseVerifierKey(this.vkey);
    } catch (e) {
      throw new ArgumentError(`the log verifier key ${JSON.stringify(this.vkey.slice(0, 80))} is not valid: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    this.origin = options.origin ?? this.verifier.name;
    this.hasher = options.hasher ?? defaultHasher;
    const http = httpOptions(options);
    this.log = { url: this.url, origin: this.origin, vkey: this.vkey, verifier: this.verifier, hasher: this.hasher, http };
    this.events = { log: this.log, chooser: this.proofSources };
  }

  /** Verifies a signed checkpoint against the pinned key and origin; LogMisbehaviourError('bad-signature') if it does not verify. */
  openCheckpoint(signedNote: string): VerifiedCheckpoint {
    return verifyCheckpoint(this.log, signedNote);
  }

  /** Fetches GET /checkpoint and verifies it. */
  latestCheckpoint(): Promise<VerifiedCheckpoint> {
    return fetchLatestCheckpoint(this.log);
  }

  /**
   * Checks that the log at the URL is the one this client is configured for: its latest
   * checkpoint verifies under the pinned key for the expected origin. Otherwise a
   * ConfigurationError naming what the log signs with (its origin, and its key if GET /v1/log
   * names one that verifies): a configuration mistake, not evidence, as nothing was trusted yet.
   * Use it before trusting a log for the first time; submissions do it once per client.
   */
  verifyLogKey(): Promise<VerifiedCheckpoint> {
    return verifyLogKey(this.log);
  }

  /**
   * Submits entry (0..65535 bytes, ArgumentError otherwise) with POST /v1/entries and verifies
   * the receipt: the log's signature on its checkpoint, the inclusion of exactly these bytes,
   * and that the index, leaf hash and checkpoint fields of the answer agree with the receipt.
   * The first submission of a client first runs {@link verifyLogKey}, so an entry is never sent
   * to a log whose answers could not be verified.
   */
  async submit(entry: Uint8Array): Promise<VerifiedReceipt> {
    checkSingleEntry(entry);
    await this.logKeyOnce();
    return submitEntry(this.log, entry);
  }

  /**
   * Submits several entries in one request (POST /v1/entries/batch?receipts=1, the body an entry
   * bundle) and verifies every receipt as {@link submit} does, after the same key check. Requires
   * 1 or more entries of at most 65535 bytes each; returns the receipts in the order of the entries.
   */
  async submitBatch(entries: readonly Uint8Array[]): Promise<VerifiedReceipt[]> {
    checkEntries(entries);
    await this.logKeyOnce();
    return submitEntries(this.log, entries);
  }

  /** Proof that the entry at index is in `at` (requires index < at's size); the leaf hash comes with it. */
  inclusionProof(index: number, at: VerifiedCheckpoint, options: ProofOptions = {}): Promise<InclusionProof> {
    return inclusionProof(this.log, this.proofSources, { index, at, ...options });
  }

  /** Proof that these entry bytes are in `at`: {@link inclusionProofForLeafHash} of their RFC 6962 leaf hash. */
  inclusionProofForEntry(entry: Uint8Array, at: VerifiedCheckpoint, options: LeafHashProofOptions = {}): Promise<InclusionProof> {
    return this.inclusionProofForLeafHash(this.hasher.hashLeaf(entry), at, options);
  }

  /**
   * Proof that the leaf with this hash is in `at`. With source 'api' the log finds the index;
   * with 'tiles' the index is `options.index` if given, otherwise the authenticated level-0 tiles
   * are scanned (O(size)). NotFoundError when the tree does not have the leaf.
   */
  inclusionProofForLeafHash(leafHash: Hash, at: VerifiedCheckpoint, options: LeafHashProofOptions = {}): Promise<InclusionProof> {
    return inclusionProofForLeafHash(this.log, this.proofSources, { leafHash, at, ...options });
  }

  /**
   * Consistency proof from `from` to `to` (requires from.size <= to.size), verified against both
   * roots. Equal sizes with different roots is a LogMisbehaviourError('fork'); a proof that does
   * not verify is LogMisbehaviourError('bad-proof'), carrying both signed checkpoints and the proof.
   */
  consistencyProof(from: VerifiedCheckpoint, to: VerifiedCheckpoint, options: ProofOptions = {}): Promise<Hash[]> {
    return consistencyProof(this.log, this.proofSources, { from, to, ...options });
  }

  /**
   * Checks that `candidate` may replace `trusted`: a smaller size is a rollback, the same size
   * with another root a fork, a larger size needs a verified consistency proof. Returns that proof
   * (empty when there is nothing to prove). With no trusted checkpoint, accepts the candidate.
   */
  verifyUpdate(trusted: VerifiedCheckpoint | undefined, candidate: VerifiedCheckpoint, options: ProofOptions = {}): Promise<Hash[]> {
    return verifyUpdate(this.log, this.proofSources, { trusted, candidate, ...options });
  }

  /**
   * A NodeReader over the log's hash tiles that authenticates every tile against `at`
   * (for proveInclusion, proveConsistency, treeRoot from @tlog/merkle). Tiles are cached per reader.
   */
  tileReader(at: VerifiedCheckpoint): TileHashReader {
    return tileReader(this.log, at);
  }

  /**
   * The hash tile `tile` of the tree of `at`, authenticated against `at` (through its parent
   * tiles up to the root, as Go's tlog.TileHashReader) before it is returned. Requires the
   * tile's hashes to exist in that tree: (index * 256 + width) * 256^level <= at's size.
   * A tile that does not authenticate is LogMisbehaviourError('bad-proof').
   */
  hashTile(tile: TileId, at: VerifiedCheckpoint, options: TileReadOptions = {}): Promise<Uint8Array> {
    return authenticatedHashTile(this.log, tile, { at, ...options });
  }

  /**
   * The entries of entry bundle `index` of the tree of `at` (as many as the tree has there,
   * up to 256), each checked against the leaf hash in the level-0 tile authenticated against
   * `at`. Requires index * 256 < at's size. A bundle that does not match is
   * LogMisbehaviourError('bad-entries'), a tile that does not authenticate 'bad-proof'.
   */
  entryBundle(index: number, at: VerifiedCheckpoint, options: TileReadOptions = {}): Promise<LogEntry[]> {
    return authenticatedEntryBundle(this.log, index, { at, ...options });
  }

  /**
   * Fetches one hash tile (not authenticated: use {@link hashTile} or {@link tileReader} for that).
   * A partial tile that is gone (404) is read from the full tile, as tlog-tiles allows.
   */
  fetchHashTile(tile: TileId): Promise<Uint8Array> {
    return fetchHashTile(this.log, tile);
  }

  /**
   * Fetches and decodes the entry bundle `index` of the given width (1..256), without
   * authenticating it (see {@link entryBundle}). A malformed bundle is LogMisbehaviourError('bad-entries').
   */
  fetchEntryBundle(index: number, width: number): Promise<Uint8Array[]> {
    return fetchEntryBundle(this.log, { index, width });
  }

  /**
   * The entries with indexes start..end-1 (requires start <= end <= at's size; `at` defaults to
   * the latest checkpoint), read from entry bundles. Each entry's leaf hash must equal the leaf
   * hash in the level-0 tile authenticated against `at`, or LogMisbehaviourError('bad-entries').
   */
  async *entries(start: number, end: number, at?: VerifiedCheckpoint): AsyncGenerator<LogEntry> {
    yield* authenticatedEntries(this.log, { start, end, at: at ?? (await this.latestCheckpoint()) });
  }

  /**
   * Appends one audit event (POST /v1/events) and verifies the answer: the event is validated
   * first (ArgumentError naming the field); then the checkpoint's signature, the receipt's
   * inclusion proof, that the record and salt commit to the proven leaf, that the record is the
   * event sent (plus its id and received_at), and that the checkpoints are consistent with each
   * other and with `options.trusted`. Resending an event with the same id and content returns the
   * original; another event with a logged id is an ArgumentError. Runs {@link verifyLogKey} once
   * per client first, like {@link submit}.
   */
  async appendEvent(event: NewEvent, options: EventReadOptions = {}): Promise<VerifiedEvent> {
    const sent = checkNewEvent(event);
    await this.logKeyOnce();
    return appendEvent(this.events, sent, options);
  }

  /**
   * Appends 1 to 1000 events in one request (POST /v1/events/batch), all or none. With
   * `receipts: true` every event is verified as {@link appendEvent} does; without, each result's
   * index and leaf hash are checked against the signed tree's authenticated hash tiles (the log
   * sends no record or salt then, so there is no commitment to check). Results are in the order
   * of the events; a resent event keeps its original index.
   */
  appendEvents(events: readonly NewEvent[], options: AppendEventsOptions & { readonly receipts: true }): Promise<VerifiedEvent[]>;
  appendEvents(events: readonly NewEvent[], options?: AppendEventsOptions): Promise<AppendedEvent[]>;
  async appendEvents(events: readonly NewEvent[], options: AppendEventsOptions = {}): Promise<AppendedEvent[] | VerifiedEvent[]> {
    const sent = checkNewEvents(events);
    await this.logKeyOnce();
    return appendEvents(this.events, sent, options);
  }

  /**
   * The event with this id (looked up in `options.tenant`, none by default) or at this index (a
   * number, or a string of digits), verified: its receipt against a checkpoint signed by the
   * pinned key, its commitment, and that it is the event asked for. NotFoundError if the published
   * tree has no such event (an index holding a raw entry included). An erased event is an
   * EventErasedError whose `erased` (tombstone, and the inclusion of its leaf) is verified the same way.
   */
  async getEvent(idOrIndex: string | number, options: GetEventOptions = {}): Promise<VerifiedEvent> {
    const key = checkEventKey(idOrIndex, options.tenant);
    await this.logKeyOnce();
    return getEvent(this.events, key, options);
  }

  /**
   * Erases the event with this id (in `options.tenant`) or at this index (DELETE
   * /v1/events/{ref}?reason=; the API key needs the events:erase scope): the log deletes its
   * record and salt and keeps a tombstone; its entry stays in the tree. `reason` is 1..500
   * characters (ArgumentError otherwise). The answer is verified: the leaf hash the log names is
   * the one its latest signed tree (consistent with `options.trusted`) has at that index
   * ('bad-events' otherwise). NotFoundError if there is no such event; EventErasedError (verified)
   * if it was already erased; a LogFetchError with status 423 while a legal hold or the minimum
   * retention keeps it (the message says which).
   */
  async eraseEvent(idOrIndex: string | number, reason: string, options: EraseEventOptions = {}): Promise<EventErasure> {
    const key = checkEventKey(idOrIndex, options.tenant);
    const why = checkEraseReason(reason);
    await this.logKeyOnce();
    return eraseEvent(this.events, key, why, options);
  }

  /**
   * Every event matching `filter`, in index order (`options.order`, ascending by default),
   * following the log's pages until the last. Each result is verified before it is yielded: its
   * inclusion in its page's signed checkpoint (each page's checkpoint consistent with the others
   * and with `options.trusted`), its commitment, that it matches the filter, and that indexes
   * strictly increase (or decrease) across pages; otherwise LogMisbehaviourError('bad-events' or
   * 'bad-proof'). The filter is validated first (ArgumentError). What the log leaves out cannot
   * be seen here; an audit (auditEvents) checks that.
   */
  async *searchEvents(filter: EventFilter = {}, options: EventSearchOptions = {}): AsyncGenerator<VerifiedEvent> {
    const query = checkSearch(filter, options);
    await this.logKeyOnce();
    yield* searchEvents(this.events, query, options);
  }

  /**
   * Exports the events matching `options.filter` with index above `options.after` (GET
   * /v1/events/export), in index order, in `options.format`: the body is read as it arrives,
   * a line at a time, never held whole. Each line is verified before it is yielded (unless
   * `verify: false`): the export's checkpoint against the pinned key and consistent with
   * `options.trusted`; the line's leaf hash against the hash tiles of that checkpoint's tree,
   * authenticated against its root (a tile per 256 leaves, no request per event); its record and
   * salt against that leaf; the filter; increasing indexes. Otherwise LogMisbehaviourError. A
   * body that breaks off, or sends nothing for `timeoutMs`, is an ExportInterruptedError whose
   * `after` resumes the export with no gap or repeat. Arguments are checked now (ArgumentError);
   * nothing is sent until iteration.
   */
  exportEvents(options: EventExportOptions = {}): EventExport {
    const query = checkExport(options);
    return new EventExportReader(this.events, query, options, () => (query.verify ? this.logKeyOnce() : Promise.resolve()));
  }

  /**
   * Follows the events matching `filter` as the log appends them (GET /v1/events/stream with
   * proofs), from `options.after` (default: from now), until `options.signal` aborts. Nothing is
   * yielded before it is verified: every checkpoint the stream announces against the pinned key,
   * consistent with the one before it (the proof in the frame) and with `options.trusted`; every
   * event's commitment and inclusion in the last announced checkpoint, that it matches the
   * filter and comes after the one before. A failure is a LogMisbehaviourError (or a
   * ProtocolError for a malformed stream) and ends the tail. A connection that fails or that the
   * server ends (restart, `lagged`, `closing`), or that is silent for the client's `timeoutMs`
   * (the log sends a heartbeat every 15 s), is made again after a backoff (`options.reconnect`),
   * resuming at the last frame received (Last-Event-ID): no event is missed or repeated. A
   * refused API key (401, 403) or query (400, an ArgumentError) is not retried. Without `after`,
   * events appended while no connection stood before the first checkpoint came are not seen.
   */
  tailEvents(filter: EventFilter, options: EventTailOptions & { readonly checkpoints: true }): AsyncGenerator<TailItem>;
  tailEvents(filter?: EventFilter, options?: EventTailOptions): AsyncGenerator<VerifiedEvent>;
  async *tailEvents(filter: EventFilter = {}, options: EventTailOptions = {}): AsyncGenerator<TailItem | VerifiedEvent> {
    const query = checkTail(filter, options);
    await this.logKeyOnce();
    for await (const item of tailEvents(this.events, query, options)) {
      if (options.checkpoints === true) yield item;
      else if (item.type === 'event') yield item.event;
    }
  }

  /** {@link verifyLogKey} until it succeeds once; a failure (wrong key, no answer) is retried next time. */
  private async logKeyOnce(): Promise<void> {
    this.logKeyVerified ??= this.verifyLogKey().catch((e: unknown) => {
      this.logKeyVerified = undefined;
      throw e;
    });
    await this.logKeyVerified;
  }
}
