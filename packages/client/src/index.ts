/**
 * @tlog/client: a verifying client for C2SP tlog-tiles logs (checkpoints, receipts, proofs,
 * entries, audits). Runs in Node and browsers; the Node-only parts (files, trusted state) are in
 * '@tlog/client/node'. The tlog-witness server is @tlog/witness, the `tlog` command @tlog/cli.
 */

export type { EventFilter, EventInput, EventOutcome, EventParty, EventReceipt, EventRecord } from '@tlog/events';
export * from './admin.js';
export * from './audit.js';
export type { BackoffOptions } from './backoff.js';
export type { VerifiedCheckpoint } from './checkpoint.js';
export type { LogEntry } from './entries.js';
export type { ErasedBy, ErasedEvent, EraseEventOptions, EventErasure, EventTombstone } from './erasure.js';
export { MAX_ERASE_REASON } from './erasure.js';
export * from './errors.js';
export * from './event-audit.js';
export type { EventExport, EventExportOptions, ExportedEvent } from './event-export.js';
export * from './event-receipt.js';
export type { EventTailOptions, TailItem, TailReconnect } from './event-tail.js';
export type {
  AppendEventsOptions,
  AppendedEvent,
  EventOrder,
  EventReadOptions,
  EventSearchOptions,
  GetEventOptions,
  NewEvent,
  VerifiedEvent,
} from './events.js';
export { DEFAULT_EVENT_PAGE_SIZE, MAX_EVENT_BATCH, MAX_EVENT_PAGE_SIZE } from './events.js';
export * from './evidence-file.js';
export type { FeedFormat } from './feed-lines.js';
export { FEED_FORMATS, MAX_FEED_LINE_BYTES, parseFeedLine } from './feed-lines.js';
export type { ForkProof } from './fork-evidence.js';
export { verifyForkEvidence } from './fork-evidence.js';
export type { FetchLike, HttpClientOptions } from './http.js';
export type { InclusionProof, LeafHashProofOptions } from './inclusion.js';
export * from './log-client.js';
export type { ProofOptions, ProofSource } from './proof-source.js';
export { PROOF_SOURCES } from './proof-source.js';
export * from './receipt.js';
export type { ServedEventLine } from './served-events.js';
export type { SinkState, SinkStatus, SinkType } from './sinks.js';
export type { VerifiedReceipt } from './submission.js';
