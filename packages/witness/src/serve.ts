import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/** Where and what {@link serveWitness} serves. */
export interface ServeWitnessOptions {
  /** The request handler, e.g. `createWitnessApp(...).fetch`. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Host name or address to listen on, e.g. "127.0.0.1". */
  readonly host: string;
}

/** A listening witness. */
export interface ServingWitness {
  /** http://host:port, with the real port when 0 was asked. */
  readonly url: string;
  /** The port listened on. */
  readonly port: number;
  /** Stops accepting connections and resolves once open ones are done. */
  close(): Promise<void>;
}

/**
 * The witness could not listen: the port is taken or not ours to use, or the host does not
 * resolve to a local address. The message says which and what to change.
 */
export class ListenError extends Error {
  override readonly name: string = 'ListenError';
  /** The system error code (EADDRINUSE, EACCES, ENOTFOUND, ...), if there was one. */
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Why listening failed, as one line naming the fix. */
function describeListenFailure(host: string, port: number, e: unknown): ListenError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host}:${port}`;
  const why =
    code === 'EADDRINUSE'
      ? `port ${port} is already in use; stop what listens there or choose another port`
      : code === 'EACCES'
        ? `no permission to listen on port ${port}; choose a port above 1023`
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine; choose another host`
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME'
            ? `the host name ${JSON.stringify(host)} does not resolve (${code}); give an address such as 127.0.0.1 or a resolvable name`
            : `${e instanceof Error ? e.message : String(e)}`;
  return new ListenError(`cannot listen on ${where}: ${why}`, code, { cause: e });
}

/**
 * Serves a witness app over HTTP on Node. Resolves once it listens; rejects with a
 * {@link ListenError} if it cannot (busy port, unresolvable host), leaving nothing open.
 */
export function serveWitness(options: ServeWitnessOptions): Promise<ServingWitness> {
  const server = createAdaptorServer({ fetch: options.fetch }) as Server;
  return new Promise<ServingWitness>((resolve, reject) => {
    const onError = (e: unknown) => {
      server.close();
      reject(describeListenFailure(options.host, options.port, e));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      const port = (server.address() as AddressInfo).port;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
