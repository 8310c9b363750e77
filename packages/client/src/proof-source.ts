import { ArgumentError, LogFetchError } from './errors.js';

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

/** Whether an error says the log has no such JSON endpoint (a plain tlog-tiles log, a static mirror). */
export function endpointMissing(e: unknown): e is LogFetchError {
  return e instanceof LogFetchError && (e.status === 404 || e.status === 405 || e.status === 501);
}

/** The two ways of getting one proof, for {@link ProofSourceChooser.run}. */
export interface ProofWays<T> {
  /** From the JSON API. */
  readonly api: () => Promise<T>;
  /** From authenticated tiles. */
  readonly tiles: () => Promise<T>;
}

/** Chooses between the JSON API and tiles for one client, remembering whether the log has the API (internal). */
export class ProofSourceChooser {
  /** Whether the log serves the JSON proof endpoints: unknown until a proof request with source 'auto' tells. */
  private hasApi: boolean | undefined;

  /** What is known of the log's JSON proof API. */
  get apiKnown(): boolean | undefined {
    return this.hasApi;
  }

  /** Records what a request showed about the JSON proof API. */
  learn(hasApi: boolean): void {
    this.hasApi = hasApi;
  }

  /**
   * Runs `api` or `tiles` as `source` says. With 'auto': tiles if the log is known to lack the
   * JSON proof endpoints; otherwise the API, falling back to tiles (and remembering it) when the
   * endpoint is missing. Misbehaviour found on either path is never retried on the other.
   */
  async run<T>(source: ProofSource | undefined, ways: ProofWays<T>): Promise<T> {
    const s = checkProofSource(source);
    if (s === 'tiles' || (s === 'auto' && this.hasApi === false)) return ways.tiles();
    if (s === 'api') return ways.api();
    try {
      const r = await ways.api();
      this.hasApi = true;
      return r;
    } catch (e) {
      if (this.hasApi === true || !endpointMissing(e)) throw e;
      this.hasApi = false;
      return ways.tiles();
    }
  }
}

/** The source, 'auto' if undefined; ArgumentError if it is not one of {@link PROOF_SOURCES}. */
export function checkProofSource(source: ProofSource | undefined): ProofSource {
  const s = source ?? 'auto';
  if (!PROOF_SOURCES.includes(s))
    throw new ArgumentError(`proof source must be one of ${PROOF_SOURCES.join(', ')}, got ${JSON.stringify(s)}`);
  return s;
}
