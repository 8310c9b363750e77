/**
 * @tlog/witness: a C2SP tlog-witness v1 server. `createWitnessApp` is a Hono app (web-standard
 * Request/Response, so it runs on any runtime Hono runs on) that cosigns checkpoints consistent
 * with the last one it cosigned per log; its state is injected. The Node-only parts (file state,
 * listening on a port) are in '@tlog/witness/node'.
 */

export * from './witness-app.js';
export * from './witness-state.js';
