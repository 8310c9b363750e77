import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSlug, PUBLIC_FILE_MODE, writeFileAtomic } from '@tlog/files';
import { z } from 'zod';
import type { WitnessLogState, WitnessStateStore } from './witness-state.js';

const stateSchema = z.object({
  origin: z.string(),
  size: z.number().int().nonnegative(),
  root: z.string(),
  checkpoint: z.string(),
});

/** A witness state file is unreadable, corrupted or belongs to another log: the operator must restore it. */
export class WitnessStateError extends Error {
  override readonly name: string = 'WitnessStateError';
}

/** Witness state in a directory, one JSON file per log, each replaced atomically and durably (Node only). */
export class FileWitnessState implements WitnessStateStore {
  /** The state directory (created on first write). */
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The state file of origin. */
  pathFor(origin: string): string {
    return join(this.dir, `${fileSlug(origin)}.witness.json`);
  }

  /**
   * The stored state, or undefined if never set. WitnessStateError if the file is unreadable or
   * corrupted: the witness refuses to guess, since cosigning from a lost state could sign a fork.
   */
  async get(origin: string): Promise<WitnessLogState | undefined> {
    const path = this.pathFor(origin);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new WitnessStateError(`cannot read the witness state file ${path}: ${(e as Error).message}`, { cause: e });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success || parsed.data.origin !== origin) {
      throw new WitnessStateError(`witness state file ${path} is corrupted or belongs to another log; restore it from a backup`);
    }
    const { size, root, checkpoint } = parsed.data;
    return { size, root, checkpoint };
  }

  /** Durably replaces the state of origin. */
  async set(origin: string, state: WitnessLogState): Promise<void> {
    await writeFileAtomic(this.pathFor(origin), JSON.stringify({ origin, ...state }, null, 2) + '\n', { mode: PUBLIC_FILE_MODE });
  }
}
