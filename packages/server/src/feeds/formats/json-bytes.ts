import type { FeedEvent } from '../feed-event.js';

const UTF8 = new TextEncoder();
const CLOSE = UTF8.encode('}');

/** The event line: `{"index","leafHash","record","salt"}`, the record copied byte for byte. */
export function eventLine(e: FeedEvent): Uint8Array {
  return eventLines([e], noPrefix, '');
}

const noPrefix = (): string => '';

/**
 * Event lines end to end in one buffer, each as `prefix(e)`, the event line, then `suffix`: an
 * export's chunk (`suffix` a newline) or a stream's frames. One allocation for all of them; the
 * ASCII parts are written straight into it and the records copied byte for byte. `prefix` and
 * `suffix` must be ASCII.
 */
export function eventLines(events: readonly FeedEvent[], prefix: (e: FeedEvent) => string, suffix: string): Uint8Array {
  const heads = new Array<string>(events.length);
  const tails = new Array<string>(events.length);
  let n = 0;
  for (let k = 0; k < events.length; k++) {
    const e = events[k]!;
    heads[k] = `${prefix(e)}{"index":${e.index},"leafHash":"${e.leafHash}","record":`;
    tails[k] = `,"salt":"${e.salt}"}${suffix}`;
    n += heads[k]!.length + e.canonical.length + tails[k]!.length;
  }
  const out = Buffer.allocUnsafe(n);
  let off = 0;
  for (let k = 0; k < events.length; k++) {
    const e = events[k]!;
    off += out.write(heads[k]!, off, 'latin1');
    out.set(e.canonical, off);
    off += e.canonical.length;
    off += out.write(tails[k]!, off, 'latin1');
  }
  return out;
}

/**
 * The JSON object `json` (its text, from JSON.stringify of an object) with one more member, last:
 * `key` whose value is the JSON text `raw`, as UTF-8 bytes. This is how a line carries a record's
 * stored canonical bytes without parsing and serializing them again. Requires `json` to be an
 * object's text (`{...}`) and `raw` one JSON value.
 */
export function withRawMember(json: string, key: string, raw: Uint8Array): Uint8Array {
  if (json.charCodeAt(0) !== 0x7b || json.charCodeAt(json.length - 1) !== 0x7d) {
    throw new RangeError(`withRawMember needs the JSON text of an object, got ${JSON.stringify(json.slice(0, 40))}`);
  }
  const head = `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}${JSON.stringify(key)}:`;
  return Buffer.concat([UTF8.encode(head), raw, CLOSE]);
}
