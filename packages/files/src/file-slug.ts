import { createHash } from 'node:crypto';

/**
 * A file-name-safe, collision-resistant name for a log origin: a readable prefix (at most 60
 * characters of [A-Za-z0-9._-]) plus 8 characters of its SHA-256. State files of the client and
 * the witness are named with it, so one directory can hold state for many logs.
 */
export function fileSlug(origin: string): string {
  const readable = origin.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  const h = createHash('sha256')
    .update(origin)
    .digest('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 8);
  return `${readable}-${h}`;
}
