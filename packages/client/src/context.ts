import type { Hasher, NoteVerifier } from '@tlog/merkle';
import type { HttpOptions } from './http.js';

/** What the parts of a LogClient share: which log, the pinned key, hashing and HTTP (internal). */
export interface LogContext {
  /** The log's base URL. */
  readonly url: string;
  /** The expected checkpoint origin. */
  readonly origin: string;
  /** The pinned log key as given. */
  readonly vkey: string;
  /** The pinned log key. */
  readonly verifier: NoteVerifier;
  /** Hashing for leaves and nodes. */
  readonly hasher: Hasher;
  /** How to make requests. */
  readonly http: HttpOptions;
}
