/** Entry bundles: fetching them, and reading entries checked against the authenticated leaf hashes (internal). */
import type { Hash, TileHashReader } from '@tlog/merkle';
import { bytesEqual, decodeEntryBundle, formatEntriesPath, MAX_ENTRY_SIZE, TILE_WIDTH, toBase64 } from '@tlog/merkle';
import type { VerifiedCheckpoint } from './checkpoint.js';
import { checkIndex, errorMessage } from './checks.js';
import type { LogContext } from './context.js';
import { ArgumentError } from './errors.js';
import { isDataError, notDataError } from './merkle-errors.js';
import { misbehaviour } from './misbehaviour.js';
import { fetchWithFullFallback, readTiles, tileReader } from './tiles.js';

/** Largest entry bundle: 256 entries of 65535 bytes, each with its 2-byte length. */
const MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_SIZE);

/** One log entry read from the entry bundles, with its leaf hash authenticated against a checkpoint. */
export interface LogEntry {
  /** The entry's index in the log. */
  readonly index: number;
  /** The entry's bytes. */
  readonly entry: Uint8Array;
  /** Its RFC 6962 leaf hash, equal to the one in the authenticated tree. */
  readonly leafHash: Hash;
}

/**
 * Fetches and decodes entry bundle `index` of the given width (1..256), not authenticated.
 * A malformed bundle is LogMisbehaviourError('bad-entries').
 */
export async function fetchEntryBundle(log: LogContext, bundle: { readonly index: number; readonly width: number }): Promise<Uint8Array[]> {
  const { index, width } = bundle;
  checkIndex(index, 'bundle index');
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH)
    throw new ArgumentError(`a bundle width is 1..${TILE_WIDTH}, got ${String(width)}`);
  const path = formatEntriesPath({ index, width });
  const data = await fetchWithFullFallback(log, {
    path,
    fullPath: formatEntriesPath({ index, width: TILE_WIDTH }),
    width,
    maxBytes: MAX_BUNDLE_BYTES,
  });
  try {
    // After a fallback to the full bundle there are 256 entries; keep the first `width`.
    try {
      return decodeEntryBundle(data, width);
    } catch (e) {
      if (width === TILE_WIDTH) throw e;
      return decodeEntryBundle(data, TILE_WIDTH).slice(0, width);
    }
  } catch (e) {
    if (!isDataError(e)) throw notDataError(e);
    throw misbehaviour(log, {
      kind: 'bad-entries',
      message: `entry bundle ${path} is malformed: ${errorMessage(e)}`,
      evidence: { details: { bundle: path } },
      cause: e,
    });
  }
}

/**
 * The entries of bundle `index` of the tree of `at`, each checked against the leaf hash in the
 * level-0 tile authenticated against `at`. Requires index * 256 < at's size (ArgumentError).
 */
export async function authenticatedEntryBundle(
  log: LogContext,
  index: number,
  options: { readonly at: VerifiedCheckpoint; readonly reader?: TileHashReader },
): Promise<LogEntry[]> {
  checkIndex(index, 'bundle index');
  const size = options.at.checkpoint.size;
  const start = index * TILE_WIDTH;
  if (!(start < size)) throw new ArgumentError(`entry bundle ${index} starts at ${start}, not below the tree size ${size}`);
  const width = Math.min(TILE_WIDTH, size - start);
  const ids = Array.from({ length: width }, (_, i) => ({ level: 0, index: start + i }));
  const [bundle, hashes] = await Promise.all([fetchEntryBundle(log, { index, width }), readTiles(log, options, (r) => r.readNodes(ids))]);
  const path = formatEntriesPath({ index, width });
  return bundle.map((entry, i) => {
    const leafHash = log.hasher.hashLeaf(entry);
    if (!bytesEqual(leafHash, hashes[i]!)) {
      throw misbehaviour(log, {
        kind: 'bad-entries',
        message: `entry ${start + i} in bundle ${path} hashes to ${toBase64(leafHash)}, but the authenticated tree has ${toBase64(hashes[i]!)}`,
        evidence: {
          candidate: options.at.note,
          details: { index: start + i, bundle: path, computed: toBase64(leafHash), expected: toBase64(hashes[i]!) },
        },
      });
    }
    return { index: start + i, entry, leafHash };
  });
}

/** The entries start..end-1 of the tree of `at` (requires start <= end <= at's size), bundle by bundle. */
export async function* authenticatedEntries(
  log: LogContext,
  range: { readonly start: number; readonly end: number; readonly at: VerifiedCheckpoint },
): AsyncGenerator<LogEntry> {
  const { start, end, at } = range;
  checkIndex(start, 'start index');
  checkIndex(end, 'end index');
  const size = at.checkpoint.size;
  if (start > end || end > size) throw new ArgumentError(`entries(${start}, ${end}) needs ${start} <= ${end} <= the tree size ${size}`);
  if (start === end) return;
  const reader = tileReader(log, at);
  for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
    for (const e of await authenticatedEntryBundle(log, n, { at, reader })) {
      if (e.index >= start && e.index < end) yield e;
    }
  }
}
