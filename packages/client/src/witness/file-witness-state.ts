import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PUBLIC_FILE_MODE, writeFileAtomic } from '@tlog/files';
import { z } from 'zod';
import { fileSlug } from '../trusted-state.js';
import type { WitnessLogState, WitnessStateStore } from './witness-state.js';

const stateSchema = z.object({
  origin: z.string(),
  size: z.number().int().nonnegative(),
  root: z.string(),
  checkpoint: z.string(),
});

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

  /** The stored state, or undefined if never set; throws if the file is unreadable or corrupted (refuse to guess). */
  async get(origin: string): Promise<WitnessLogState | undefined> {
    const path = this.pathFor(origin);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const parsed = stateSchema.safeParse(JSON.parse(text));
    if (!parsed.success || parsed.data.origin !== origin) {
      throw new Error(`witness state file ${path} is corrupted or belongs to another log; restore it from a backup`);
    }
    const { size, root, checkpoint } = parsed.data;
    return { size, root, checkpoint };
  }

  /** Durably replaces the state of origin. */
  async set(origin: string, state: WitnessLogState): Promise<void> {
    await writeFileAtomic(this.pathFor(origin), JSON.stringify({ origin, ...state }, null, 2) + '\n', { mode: PUBLIC_FILE_MODE });
  }
}
