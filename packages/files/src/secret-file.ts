import { stat } from 'node:fs/promises';

/** Mode of files that hold a secret (signing keys, API keys): owner read/write only. */
export const SECRET_FILE_MODE = 0o600;
/** Mode of files anyone may read (verifier keys, state files). */
export const PUBLIC_FILE_MODE = 0o644;

/**
 * Why the secret file at `path` is exposed, as one line naming the fix, or undefined when only
 * its owner can read or write it. On platforms without POSIX modes (Windows) it is undefined.
 */
export async function secretFileProblem(path: string): Promise<string | undefined> {
  if (process.platform === 'win32') return undefined;
  const { mode } = await stat(path);
  const exposed = mode & 0o077;
  if (exposed === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  return `the secret key file ${path} is accessible by ${exposed & 0o070 ? 'its group' : ''}${exposed & 0o070 && exposed & 0o007 ? ' and ' : ''}${exposed & 0o007 ? 'others' : ''} (mode ${octal}); run \`chmod 600 ${path}\``;
}
