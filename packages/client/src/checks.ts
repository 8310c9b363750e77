/** Argument checks and message helpers shared inside the package (not part of the public API). */
import { ArgumentError } from './errors.js';

/** Checks that n is a safe non-negative integer; throws an ArgumentError naming it otherwise. */
export function checkIndex(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ArgumentError(`${what} must be an integer in [0, 2^53-1], got ${String(n)}`);
  }
  return n;
}

/** The message of any thrown value, on one line. */
export function errorMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s*\n\s*/g, ' ');
}
