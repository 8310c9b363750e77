/**
 * @tlog/client: a verifying client for C2SP tlog-tiles logs (checkpoints, receipts, proofs,
 * entries, audits). Runs in Node and browsers; the Node-only parts (files, trusted state) are in
 * '@tlog/client/node'. The tlog-witness server is @tlog/witness, the `tlog` command @tlog/cli.
 */

export * from './audit.js';
export * from './errors.js';
export type { FetchLike } from './http.js';
export * from './log-client.js';
export * from './receipt.js';
