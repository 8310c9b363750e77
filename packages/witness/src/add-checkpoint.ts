import type { Hash } from '@tlog/merkle';
import { hashFromBase64, toBase64 } from '@tlog/merkle';

/** At most this many consistency proof lines (tlog-witness: "MUST NOT send more than 63"). */
export const MAX_PROOF_LINES = 63;

/** A parsed tlog-witness add-checkpoint request body. */
export interface AddCheckpointRequest {
  /** The size of the previous checkpoint the client believes the witness has cosigned. */
  readonly oldSize: number;
  /** Consistency proof from oldSize to the checkpoint's size, bottom-up. */
  readonly proof: readonly Hash[];
  /** The signed checkpoint note (text and signature lines). */
  readonly checkpoint: string;
}

/** The request body is malformed (the witness answers 400 Bad Request). */
export class MalformedRequestError extends Error {
  override readonly name: string = 'MalformedRequestError';
}

/**
 * Parses "old <N>\n" + zero or more base64 hash lines + "\n" + checkpoint note, as in C2SP
 * tlog-witness. Throws MalformedRequestError naming what is wrong.
 */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const split = body.indexOf('\n\n');
  if (split < 0) throw new MalformedRequestError('the body must be an old size line, proof lines, an empty line and a checkpoint');
  const header = body.slice(0, split).split('\n');
  const checkpoint = body.slice(split + 2);
  const m = /^old (0|[1-9][0-9]*)$/.exec(header[0] ?? '');
  if (m === null)
    throw new MalformedRequestError(
      `the first line must be "old <size>" in decimal without leading zeros, got ${JSON.stringify((header[0] ?? '').slice(0, 40))}`,
    );
  const oldSize = Number(m[1]);
  if (!Number.isSafeInteger(oldSize)) throw new MalformedRequestError(`old size ${m[1]} is beyond 2^53-1`);
  const lines = header.slice(1);
  if (lines.length > MAX_PROOF_LINES)
    throw new MalformedRequestError(`at most ${MAX_PROOF_LINES} consistency proof lines are allowed, got ${lines.length}`);
  const proof = lines.map((line, i) => {
    try {
      return hashFromBase64(line);
    } catch {
      throw new MalformedRequestError(`consistency proof line ${i + 1} is not a base64 32-byte hash`);
    }
  });
  if (checkpoint.length === 0) throw new MalformedRequestError('the checkpoint is missing after the empty line');
  return { oldSize, proof, checkpoint };
}

/** Formats an add-checkpoint request body (for clients and tests). */
export function formatAddCheckpoint(req: AddCheckpointRequest): string {
  let out = `old ${req.oldSize}\n`;
  for (const h of req.proof) out += `${toBase64(h)}\n`;
  return out + '\n' + req.checkpoint;
}
