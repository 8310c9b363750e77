import type { EventRecord } from '@tlog/events';

/** One event as the feeds (export, stream, sinks) deliver it: what a search result holds, without a proof. */
export interface FeedEvent {
  readonly index: number;
  /** The leaf hash, standard base64. */
  readonly leafHash: string;
  readonly record: EventRecord;
  /** The record's canonical JSON as stored (UTF-8): what goes out as `record`, byte for byte. */
  readonly canonical: Uint8Array;
  /** The salt, standard base64. */
  readonly salt: string;
}
