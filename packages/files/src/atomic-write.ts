import { randomBytes } from 'node:crypto';
import { type FileHandle, link, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** How a file is written: its permission bits (e.g. 0o600 for a secret, 0o644 for public data). */
export interface WriteOptions {
  /** The file's mode, set exactly (not reduced by the umask). */
  readonly mode: number;
}

/** Writes data to a new temporary file beside `path`, sets its mode exactly and fsyncs it; returns its path. */
async function writeTemp(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    // open()'s mode is filtered by the umask; chmod sets it exactly.
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/**
 * Replaces the file at `path` with `data` so that after a crash at any moment the file holds
 * either the old or the new content, and the new content is durable once this resolves: a
 * temporary file in the same directory is written, fsynced, renamed over `path`, and the
 * directory is fsynced. The file gets exactly `options.mode`, also when it replaces a file with
 * another mode. Creates the directory if needed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteOptions): Promise<void> {
  const tmp = await writeTemp(path, data, options.mode);
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dirname(path));
}

/**
 * Creates the file at `path` with `data` and exactly `options.mode`, atomically and durably, and
 * only if no file is there: an existing file is never replaced (the error has code EEXIST). Two
 * processes racing to create the same file cannot both succeed, and a crash never leaves a
 * partial file at `path`.
 */
export async function createFileExclusive(path: string, data: string | Uint8Array, options: WriteOptions): Promise<void> {
  const tmp = await writeTemp(path, data, options.mode);
  try {
    // link() fails with EEXIST instead of replacing, unlike rename().
    await link(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDir(dirname(path));
}

/** fsyncs a directory so a rename or link in it survives a crash; a no-op where directories cannot be opened. */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic there.
  } finally {
    await fh.close();
  }
}
