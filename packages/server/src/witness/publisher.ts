import {
  formatAddCheckpoint,
  formatNote,
  type Hasher,
  MerkleDataError,
  type NoteSignature,
  type NoteVerifier,
  openNote,
  parseNote,
  parseTlogSize,
  parseVerifierKey,
  TLOG_SIZE_CONTENT_TYPE,
} from '@tlog/merkle';
import type { Logger } from 'pino';
import type { WitnessConfig } from '../config.js';
import type { Log } from '../log.js';
import type { Published, Publisher } from '../publisher.js';
import type { Commit } from '../sequencer.js';

/** The witness policy: who to ask, how many must answer, how long to wait. */
export interface WitnessPolicy {
  readonly witnesses: readonly WitnessConfig[];
  /** Cosignatures needed for a checkpoint to count as witnessed (0..witnesses.length). */
  readonly quorum: number;
  /** How long one round waits for the witnesses. */
  readonly timeoutMs: number;
  readonly logger?: Logger;
  /** Injected for tests; defaults to global fetch. */
  readonly fetch?: typeof fetch;
}

interface WitnessState {
  readonly url: string;
  readonly verifier: NoteVerifier;
  /** The size the witness last cosigned, as far as we know (corrected by its 409 answers). */
  knownSize: number;
}

/** Longest pause between background retries when the quorum is not reached. */
const MAX_RETRY_MS = 30_000;

/**
 * Publishes checkpoints cosigned by witnesses (C2SP tlog-witness add-checkpoint).
 *
 * After each commit the latest committed checkpoint is sent to every witness with a
 * consistency proof from the size that witness last cosigned; cosignatures are appended to the
 * log's signature. Rounds never overlap: commits made during a round are covered by the next
 * one, and every waiter is answered with the first published checkpoint that contains it.
 *
 * When the quorum is not reached within the timeout, the entries stay committed (they are
 * durable and in the log-signed checkpoint) and the checkpoint is published with the
 * cosignatures that did arrive and `witnessed: false`; receipts are then only log-signed.
 * A background retry (1 s, doubling to 30 s) keeps asking for the latest checkpoint until the
 * quorum is reached, after which /checkpoint serves the witnessed one.
 */
export class WitnessPublisher implements Publisher {
  current: Published;
  private latest: Commit;
  private readonly witnesses: WitnessState[];
  private readonly waiters: { size: number; resolve: (p: Published) => void }[] = [];
  private round: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  private closed = false;
  private readonly fetch: typeof fetch;

  /**
   * @param initial the checkpoint loaded at startup (already cosigned if one was stored)
   * @param log the log, for consistency proofs of committed trees
   */
  constructor(
    initial: Published,
    private readonly log: Log,
    readonly _hasher: Hasher,
    private readonly policy: WitnessPolicy,
  ) {
    this.current = initial;
    this.latest = { size: initial.size, root: initial.root, checkpoint: logSignedOnly(initial.checkpoint, log.origin) };
    this.witnesses = policy.witnesses.map((w) => ({ url: w.url, verifier: parseVerifierKey(w.verifierKey), knownSize: 0 }));
    this.fetch = policy.fetch ?? fetch;
    if (initial.witnessed === undefined) {
      // Unknown at startup: ask once so /checkpoint carries cosignatures soon.
      this.current = { ...initial, witnessed: parseNote(initial.checkpoint).signatures.length > 1 };
      if (!this.current.witnessed && policy.quorum > 0 && initial.size > 0) this.kick();
    }
  }

  committed(c: Commit): void {
    this.latest = c;
    this.kick();
  }

  waitFor(size: number): Promise<Published> {
    if (size <= this.current.size) return Promise.resolve(this.current);
    if (size > this.latest.size) return Promise.reject(new RangeError(`size ${size} is beyond the committed size ${this.latest.size}`));
    return new Promise((resolve) => this.waiters.push({ size, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    while (this.round !== undefined) await this.round;
  }

  private kick(): void {
    if (this.round !== undefined) {
      this.again = true;
      return;
    }
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.round = this.run().finally(() => {
      this.round = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async run(): Promise<void> {
    const target = this.latest;
    const cosigs = await this.gather(target);
    const note = parseNote(target.checkpoint);
    const checkpoint = formatNote({ text: note.text, signatures: [...note.signatures, ...cosigs] });
    const witnessed = cosigs.length >= this.policy.quorum;
    this.publish({ size: target.size, root: target.root, checkpoint, witnessed });
    if (witnessed) {
      this.retryMs = 1000;
      this.log.storage
        .putWitnessed(checkpoint)
        .catch((err: unknown) => this.policy.logger?.warn({ err }, 'storing the cosigned checkpoint failed'));
    } else if (!this.closed && !this.again) {
      this.policy.logger?.warn(
        { size: target.size, cosignatures: cosigs.length, quorum: this.policy.quorum },
        'witness quorum not reached; retrying in the background',
      );
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    }
  }

  private publish(p: Published): void {
    if (p.size < this.current.size) return;
    this.current = p;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.size <= p.size) {
        this.waiters.splice(i, 1);
        w.resolve(p);
      }
    }
  }

  /** Asks every witness at once; returns the verified cosignatures that arrived in time. */
  private async gather(target: Commit): Promise<NoteSignature[]> {
    const signal = AbortSignal.timeout(this.policy.timeoutMs);
    const results = await Promise.allSettled(this.witnesses.map((w) => this.ask(w, target, signal)));
    const out: NoteSignature[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') out.push(...r.value);
      else this.policy.logger?.warn({ witness: this.witnesses[i]!.url, err: r.reason as unknown }, 'witness did not cosign');
    });
    return out;
  }

  private async ask(w: WitnessState, target: Commit, signal: AbortSignal): Promise<NoteSignature[]> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const old = w.knownSize;
      if (old > target.size) throw new Error(`witness ${w.url} has cosigned size ${old}, beyond our ${target.size}`);
      const proof = old === 0 || old === target.size ? [] : await this.log.committedConsistencyProof(old, target.size);
      const body = formatAddCheckpoint({ oldSize: old, proof, checkpoint: target.checkpoint });
      const res = await this.fetch(`${w.url}/add-checkpoint`, { method: 'POST', body, signal });
      const text = await res.text();
      if (res.status === 409) {
        // C2SP tlog-witness: the witness's latest cosigned size, as text/x.tlog.size.
        let size: number;
        try {
          size = parseTlogSize(text);
        } catch (err) {
          if (!(err instanceof MerkleDataError)) throw err;
          throw new Error(`witness ${w.url} answered 409 without a ${TLOG_SIZE_CONTENT_TYPE} size: ${text.slice(0, 200)}`);
        }
        if (size === old) throw new Error(`witness ${w.url} answered 409 for size ${old}, the size it was asked to extend`);
        w.knownSize = size;
        continue;
      }
      if (res.status !== 200) throw new Error(`witness ${w.url} answered ${res.status}: ${text.slice(0, 200)}`);
      const { verified } = openNote(target.checkpoint + text, [w.verifier]);
      w.knownSize = target.size;
      return verified;
    }
    throw new Error(`witness ${w.url} kept answering 409`);
  }
}

/** The log's own signature lines only (a stored cosigned checkpoint carries witness lines too). */
function logSignedOnly(checkpoint: string, origin: string): string {
  const note = parseNote(checkpoint);
  return formatNote({ text: note.text, signatures: note.signatures.filter((s) => s.name === origin) });
}
