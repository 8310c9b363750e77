/**
 * @tlog/client: a verifying client for C2SP tlog-tiles logs (checkpoints, receipts, proofs,
 * entries, audits) and a C2SP tlog-witness server app. Runs in Node and browsers; the Node-only
 * parts (files, trusted state) are in '@tlog/client/node'.
 */

export * from './audit.js';
export * from './errors.js';
export type { FetchLike } from './http.js';
export * from './log-client.js';
export * from './receipt.js';
export * from './witness/add-checkpoint.js';
export * from './witness/witness-app.js';
export * from './witness/witness-state.js';
