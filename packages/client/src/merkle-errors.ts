/**
 * How errors from @tlog/merkle are told apart inside this package (not exported). A merkle error
 * is either about data (a proof, note, tile or bundle that is malformed or does not verify) or
 * about arguments (we called the library wrongly: our bug). Only a data error about what the log
 * served may become a LogMisbehaviourError; an argument error becomes an InternalError.
 */
import { MerkleError, NoteError, ProofError } from '@tlog/merkle';
import { InternalError } from './errors.js';

/**
 * Whether e is a @tlog/merkle error about the data given to it rather than about how it was
 * called. This is the one place that decides; when @tlog/merkle splits its errors into
 * MerkleDataError and MerkleArgumentError, it becomes `e instanceof MerkleDataError`.
 * Until then: ProofError (with RootMismatchError) and NoteError (with SignatureError) are about
 * data. Decoders (entry bundles, base64) report malformed bytes as a plain MerkleError, so a
 * caller that decodes bytes after checking every other argument passes `decoding: true`.
 */
export function isDataError(e: unknown, options: { readonly decoding?: boolean } = {}): e is MerkleError {
  if (e instanceof ProofError || e instanceof NoteError) return true;
  return options.decoding === true && e instanceof MerkleError;
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
