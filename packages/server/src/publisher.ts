import type { Hash } from '@tlog/merkle';
import type { Commit } from './sequencer.js';

/** The checkpoint the log serves and hands out in receipts. */
export interface Published {
  readonly size: number;
  readonly root: Hash;
  /** The signed note: log signature, plus witness cosignatures when a witness policy is set. */
  readonly checkpoint: string;
  /** Only with a witness policy: whether the quorum of witnesses cosigned this checkpoint. */
  readonly witnessed?: boolean;
}

/**
 * Decides when a committed checkpoint becomes the published one. Receipts are only handed out
 * against published checkpoints, and the published size never decreases.
 */
export interface Publisher {
  /** The latest published checkpoint. */
  readonly current: Published;
  /** Told of every durable commit, in order. */
  committed(c: Commit): void;
  /** Resolves with a published checkpoint whose size is at least `size` (requires size <= committed size). */
  waitFor(size: number): Promise<Published>;
  /** Stops background work; resolves when in-flight work has settled. */
  close(): Promise<void>;
}

/** Publishes every commit immediately, log-signed only (no witness policy). */
export class ImmediatePublisher implements Publisher {
  current: Published;

  /** @param initial the checkpoint of the state loaded at startup */
  constructor(initial: Published) {
    this.current = initial;
  }

  committed(c: Commit): void {
    this.current = { size: c.size, root: c.root, checkpoint: c.checkpoint };
  }

  waitFor(size: number): Promise<Published> {
    if (size > this.current.size) {
      return Promise.reject(new RangeError(`size ${size} is beyond the committed size ${this.current.size}`));
    }
    return Promise.resolve(this.current);
  }

  async close(): Promise<void> {}
}
