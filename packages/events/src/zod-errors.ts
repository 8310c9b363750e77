/** zod's issues as EventFormatErrors (internal to this package: index.ts does not export it). */
import type { z } from 'zod';
import { EventFormatError } from './errors.js';

/** The zod issue path as `a.b[2].c`, prefixed by `prefix`. */
function pathOf(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** The first zod issue as an EventFormatError, its path prefixed by `prefix`. */
export function formatError(err: z.ZodError, prefix: string): EventFormatError {
  const issue = err.issues[0];
  if (issue === undefined) return new EventFormatError(prefix, 'is not a valid event');
  if (issue.code === 'unrecognized_keys') {
    return new EventFormatError(
      pathOf(prefix, issue.path),
      `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`,
    );
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return new EventFormatError(pathOf(prefix, issue.path), 'is required');
  return new EventFormatError(pathOf(prefix, issue.path), issue.message);
}
