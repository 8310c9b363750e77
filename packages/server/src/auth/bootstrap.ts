import { readFile } from 'node:fs/promises';
import { createFileExclusive, SECRET_FILE_MODE } from '@tlog/files';
import { KeyError } from '../signing/keys.js';
import { ApiKeyStore } from './api-keys.js';

/** File name, inside the data directory, of the bootstrap admin key. */
export const ADMIN_KEY_FILE_NAME = 'admin.key';

/** The name the bootstrap key is stored under. */
const BOOTSTRAP_NAME = 'bootstrap admin';

/**
 * Makes sure a server with no API key at all has one admin key: on first start a new key is
 * written to `path` (mode 0600, exclusively) and then stored; a store without keys and an
 * existing file (a crash between the two, or a fresh database) takes the file's key. Does
 * nothing when any key exists. Says what it did: 'created', 'imported' or undefined.
 */
export async function bootstrapAdminKey(keys: ApiKeyStore, path: string): Promise<'created' | 'imported' | undefined> {
  if (keys.size > 0) return undefined;
  let text: string | undefined;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new KeyError(`cannot read the admin key ${path}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    try {
      await keys.import(text, { name: BOOTSTRAP_NAME, scopes: ['admin'] });
    } catch (err) {
      if (err instanceof RangeError) {
        throw new KeyError(`${path} does not hold an API key (${err.message}); remove it and a new admin key is made there at start`);
      }
      throw err;
    }
    return 'imported';
  }
  const made = ApiKeyStore.newKeyText();
  try {
    await createFileExclusive(path, `${made}\n`, { mode: SECRET_FILE_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return bootstrapAdminKey(keys, path);
    throw new KeyError(`cannot create the admin key ${path}: ${(err as Error).message}`);
  }
  await keys.import(made, { name: BOOTSTRAP_NAME, scopes: ['admin'] });
  return 'created';
}
