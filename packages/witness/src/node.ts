/** Node-only part of @tlog/witness: state kept in files, and serving the app on a port. */

export * from './file-witness-state.js';
export * from './serve.js';
