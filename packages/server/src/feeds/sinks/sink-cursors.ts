import { sinkCursorKey } from '../../events/event-keys.js';
import { type LogStore, StorageCorruptError } from '../../storage/store.js';

const ENCODE = new TextEncoder();
const DECODE = new TextDecoder('utf-8', { fatal: true });

/**
 * The sinks' durable cursors: per sink, the index through which every matching event was
 * delivered (-1: none yet). Kept as `{"cursor":I}` under 'g' 's' <name> in a store's extension
 * namespace (the access log's, beside the governance records). A sink removed from the
 * configuration leaves its cursor behind; a sink of the same name added later goes on from it.
 */
export class SinkCursors {
  /** @param store the store to keep them in (a getter: the store is replaced when it is reopened) */
  constructor(private readonly store: () => LogStore) {}

  /** The stored cursor of `name`, or undefined when it has none. StorageCorruptError for a damaged record. */
  async read(name: string): Promise<number | undefined> {
    const [stored] = await this.store().readExtensions([sinkCursorKey(name)]);
    if (stored === undefined) return undefined;
    let cursor: unknown;
    try {
      cursor = (JSON.parse(DECODE.decode(stored)) as { cursor?: unknown }).cursor;
    } catch (err) {
      throw new StorageCorruptError(`storage is corrupt at the cursor of sink ${JSON.stringify(name)}: ${(err as Error).message}`);
    }
    if (typeof cursor !== 'number' || !Number.isSafeInteger(cursor) || cursor < -1) {
      throw new StorageCorruptError(`storage is corrupt at the cursor of sink ${JSON.stringify(name)}: not an index >= -1`);
    }
    return cursor;
  }

  /** Stores the cursor of `name` durably (one fsync'd write). */
  async write(name: string, cursor: number): Promise<void> {
    if (!Number.isSafeInteger(cursor) || cursor < -1) throw new RangeError(`a sink cursor is an integer >= -1, got ${cursor}`);
    await this.store().updateExtensions([{ key: sinkCursorKey(name), value: ENCODE.encode(JSON.stringify({ cursor })) }], []);
  }
}
