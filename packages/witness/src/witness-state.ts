/** What a witness remembers per log: the latest checkpoint it cosigned. */
export interface WitnessLogState {
  /** Tree size of the latest cosigned checkpoint. */
  readonly size: number;
  /** Its root, base64. */
  readonly root: string;
  /** The signed checkpoint note as submitted. */
  readonly checkpoint: string;
}

/**
 * Storage of a witness's per-log state. Contract: `set` resolves only once the state is durable;
 * `get` returns the last value `set` for that origin. The witness serializes calls per origin,
 * so implementations need not handle concurrent writes to one origin.
 */
export interface WitnessStateStore {
  /** The state of the log with this origin, or undefined if the witness never cosigned for it. */
  get(origin: string): Promise<WitnessLogState | undefined>;
  /** Replaces the state of the log with this origin; resolves once it is durable. */
  set(origin: string, state: WitnessLogState): Promise<void>;
}

/** In-memory store (tests, ephemeral witnesses): nothing survives a restart. */
export class MemoryWitnessState implements WitnessStateStore {
  private readonly map = new Map<string, WitnessLogState>();
  /** The stored state of origin, if any. */
  get(origin: string): Promise<WitnessLogState | undefined> {
    return Promise.resolve(this.map.get(origin));
  }
  /** Replaces the state of origin. */
  set(origin: string, state: WitnessLogState): Promise<void> {
    this.map.set(origin, state);
    return Promise.resolve();
  }
}
