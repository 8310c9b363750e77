/**
 * How errors from @tlog/merkle are told apart inside this package (not exported). A merkle error
 * is either about data (MerkleDataError: a proof, note, tile, bundle or encoding that is
 * malformed or does not verify) or about arguments (MerkleArgumentError: we called the library
 * wrongly, our bug). Only a data error about what the log served may become a
 * LogMisbehaviourError; anything else from merkle becomes an InternalError.
 */
import { MerkleDataError, MerkleError } from '@tlog/merkle';
import { InternalError } from './errors.js';

/** Whether e is a @tlog/merkle error about the data given to it rather than about how it was called. */
export function isDataError(e: unknown): e is MerkleDataError {
  return e instanceof MerkleDataError;
}

/**
 * What to throw for an error that is not a data error: a merkle error is our bug (an
 * InternalError wrapping it); anything else (a LogFetchError from a tile fetch, ...) unchanged.
 */
export function notDataError(e: unknown): unknown {
  if (!(e instanceof MerkleError)) return e;
  return new InternalError(
    `@tlog/client called @tlog/merkle with arguments it refused (${e.message.replace(/\s*\n\s*/g, ' ')}); this is a bug in tlog, please report it`,
    { cause: e },
  );
}
