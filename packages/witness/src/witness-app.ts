import type { AddCheckpointRequest, Checkpoint, Cosigner, NoteVerifier } from '@tlog/merkle';
import {
  formatSignatureLine,
  formatTlogSize,
  fromBase64,
  MerkleDataError,
  openNote,
  parseAddCheckpoint,
  parseCheckpoint,
  parseNote,
  SignatureError,
  TLOG_SIZE_CONTENT_TYPE,
  toBase64,
  verifyConsistency,
} from '@tlog/merkle';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { WitnessStateStore } from './witness-state.js';

/** Largest accepted request body: a checkpoint with many signatures and 63 proof lines fits easily. */
export const MAX_WITNESS_BODY = 64 * 1024;

/** Configuration of a tlog-witness server. */
export interface WitnessOptions {
  /** The witness's cosigning key (cosignature/v1). */
  readonly cosigner: Cosigner;
  /** Known logs: origin -> the verifier keys trusted for it. */
  readonly logs: ReadonlyMap<string, readonly NoteVerifier[]>;
  /** Per-log state. */
  readonly state: WitnessStateStore;
  /** Current time in seconds since the epoch, for cosignature timestamps (default: the clock). */
  readonly now?: () => number;
}

/**
 * A C2SP tlog-witness v1 HTTP app: POST /add-checkpoint cosigns a checkpoint only if it is
 * signed by a known log key and proven consistent with the last one the witness cosigned for
 * that origin. Answers 400 (malformed), 403 (no trusted signature), 404 (unknown origin),
 * 409 + text/x.tlog.size (old size mismatch, or same size with another root), 422 (bad proof);
 * also 413 for a body over MAX_WITNESS_BODY (read no further) and 405 for other methods.
 * Check-and-update is serialized per origin, so concurrent requests cannot roll the state back.
 */
export function createWitnessApp(options: WitnessOptions): Hono {
  const app = new Hono();
  const locks = new Map<string, Promise<unknown>>();
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));

  const serialized = <T>(origin: string, f: () => Promise<T>): Promise<T> => {
    const prev = locks.get(origin) ?? Promise.resolve();
    const run = prev.then(f, f);
    const tail = run.catch(() => undefined);
    locks.set(origin, tail);
    // Drop the entry once idle so the map does not grow with every origin ever seen.
    void tail.then(() => {
      if (locks.get(origin) === tail) locks.delete(origin);
    });
    return run;
  };

  const limit = bodyLimit({
    maxSize: MAX_WITNESS_BODY,
    onError: (c) => c.text(`request body larger than ${MAX_WITNESS_BODY} bytes\n`, 413),
  });
  app.post('/add-checkpoint', limit, async (c) => {
    const raw = new Uint8Array(await c.req.arrayBuffer());
    if (raw.length > MAX_WITNESS_BODY) return c.text(`request body larger than ${MAX_WITNESS_BODY} bytes\n`, 413);
    let req: AddCheckpointRequest;
    let cp: Checkpoint;
    try {
      req = parseAddCheckpoint(raw);
      cp = parseCheckpoint(parseNote(req.checkpoint).text);
    } catch (e) {
      if (e instanceof MerkleDataError) return c.text(`malformed request: ${errorMessage(e)}\n`, 400);
      throw e;
    }
    const verifiers = options.logs.get(cp.origin);
    if (verifiers === undefined) return c.text(`unknown log origin ${JSON.stringify(cp.origin)}\n`, 404);
    try {
      openNote(req.checkpoint, verifiers);
    } catch (e) {
      if (e instanceof SignatureError) return c.text(`checkpoint not signed by a known key of ${cp.origin}: ${errorMessage(e)}\n`, 403);
      if (e instanceof MerkleDataError) return c.text(`malformed checkpoint: ${errorMessage(e)}\n`, 400);
      throw e;
    }
    if (req.oldSize > cp.size) return c.text(`old size ${req.oldSize} is larger than the checkpoint size ${cp.size}\n`, 400);

    const { oldSize, proof, checkpoint } = req;
    const checkpointText = parseNote(checkpoint).text;
    const root = toBase64(cp.root);
    return serialized(cp.origin, async () => {
      const stored = await options.state.get(cp.origin);
      const storedSize = stored?.size ?? 0;
      const sizeConflict = () => c.body(formatTlogSize(storedSize), 409, { 'Content-Type': TLOG_SIZE_CONTENT_TYPE });
      if (oldSize !== storedSize) return sizeConflict();
      if (oldSize === cp.size) {
        if (stored !== undefined && stored.root !== root) return sizeConflict();
        if (proof.length !== 0) return c.text('the consistency proof must be empty when the old size equals the checkpoint size\n', 422);
      } else if (oldSize === 0) {
        if (proof.length !== 0) return c.text('the consistency proof must be empty when the old size is 0\n', 422);
      } else {
        try {
          verifyConsistency(oldSize, cp.size, proof, fromBase64(stored!.root), cp.root);
        } catch (e) {
          if (e instanceof MerkleDataError)
            return c.text(`the consistency proof from ${oldSize} to ${cp.size} does not verify: ${errorMessage(e)}\n`, 422);
          throw e;
        }
      }
      await options.state.set(cp.origin, { size: cp.size, root, checkpoint });
      const sig = options.cosigner.cosign(checkpointText, now());
      return c.text(formatSignatureLine(sig), 200);
    });
  });
  app.all('/add-checkpoint', (c) => c.text('add-checkpoint takes POST\n', 405, { Allow: 'POST' }));
  return app;
}

/** The message of a thrown value on one line, for a plain-text answer. */
function errorMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
}
