/**
 * @packageDocumentation
 * tlog audit events: what an event is (the schema, validated with zod), its canonical form (RFC
 * 8785), the salted commitment that is its entry in the log, search filters, and event receipts.
 * docs/events.md specifies all of it for other implementations.
 */
export * from './commitment.js';
export * from './errors.js';
export * from './filter.js';
export * from './receipt.js';
export * from './schema.js';
