import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { createSecureContext } from 'node:tls';

/** Where the served certificate and its key live (PEM files; the certificate file may hold the chain). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** The certificate or key cannot be read or used; the message names both files and what is wrong. */
export class TlsError extends Error {
  override readonly name: string = 'TlsError';
}

/** The PEM bytes of a certificate and its key. */
interface Credentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads both files and checks that they make a usable TLS context (PEM that parses, a key that
 * matches the certificate), so a bad pair is refused before it is served. Throws TlsError.
 */
async function readCredentials(files: TlsFiles): Promise<Credentials> {
  const what = `the TLS certificate ${files.cert} with the key ${files.key}`;
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
  } catch (err) {
    throw new TlsError(`cannot load ${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsError(`cannot load ${what}: ${(err as Error).message}; both must be PEM and the key must be the certificate's`, {
      cause: err,
    });
  }
  return { cert, key };
}

/**
 * The certificate an HTTPS server presents, from files that can be replaced while it runs:
 * {@link reload} re-reads them and swaps the server's secure context (new connections get the
 * new certificate; open ones keep theirs). A pair that fails to load never replaces a good one.
 */
export class ServedCertificate {
  private constructor(
    private readonly files: TlsFiles,
    private current: Credentials,
  ) {}

  /** Loads the pair; throws TlsError (with a one-line message) when it cannot be served. */
  static async load(files: TlsFiles): Promise<ServedCertificate> {
    return new ServedCertificate(files, await readCredentials(files));
  }

  /** What @hono/node-server's `serve` needs to listen with HTTPS and this certificate. */
  serveOptions(): { createServer: typeof https.createServer; serverOptions: https.ServerOptions } {
    return { createServer: https.createServer, serverOptions: { cert: this.current.cert, key: this.current.key } };
  }

  /**
   * Re-reads both files and makes `server` present them to new connections. Throws TlsError and
   * changes nothing when they cannot be loaded (the old certificate stays).
   */
  async reload(server: https.Server): Promise<void> {
    const next = await readCredentials(this.files);
    server.setSecureContext({ cert: next.cert, key: next.key });
    this.current = next;
  }
}
