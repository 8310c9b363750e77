import type { FeedEvent } from './feed-event.js';
import { cloudEventLine } from './formats/cloudevents.js';
import { eventLine } from './formats/json-bytes.js';
import { ocsfLine } from './formats/ocsf.js';

export type { TlogCloudEvent } from './formats/cloudevents.js';
export { CLOUDEVENTS_TYPE_PREFIX, cloudEventSource, cloudEventType, toCloudEvent } from './formats/cloudevents.js';
export { eventLine, eventLines } from './formats/json-bytes.js';
export type { OcsfActivityId, OcsfApiActivity } from './formats/ocsf.js';
export { OCSF_ACTIVITY_VERBS, OCSF_VERSION, ocsfActivityId, toOcsf } from './formats/ocsf.js';

/** The line formats of exports and sinks. */
export type FeedFormat = 'ndjson' | 'cloudevents' | 'ocsf';
/** Every format, in the order the docs list them. */
export const FEED_FORMATS: readonly FeedFormat[] = ['ndjson', 'cloudevents', 'ocsf'];

/** What a line's mapping needs besides the event. */
export interface FormatContext {
  /** The log's origin (its checkpoints' first line). */
  readonly origin: string;
}

/**
 * One line (no trailing newline) of `format` for the event, as UTF-8 bytes. Every format carries
 * the record as its stored canonical bytes (ndjson as `record`, cloudevents as `data`, ocsf in
 * `unmapped.tlog.record`), so a consumer can recompute the commitment; docs/feeds.md has the mappings.
 */
export function formatLine(format: FeedFormat, e: FeedEvent, ctx: FormatContext): Uint8Array {
  switch (format) {
    case 'ndjson':
      return eventLine(e);
    case 'cloudevents':
      return cloudEventLine(e, ctx);
    case 'ocsf':
      return ocsfLine(e, ctx);
    default:
      throw new RangeError(`unknown feed format ${JSON.stringify(format)}: expected one of ${FEED_FORMATS.join(', ')}`);
  }
}
