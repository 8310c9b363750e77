/**
 * Raw HTTP/1.1 over node:net, for what fetch will not send: odd Transfer-Encodings, bodies cut
 * off mid-way, percent-encodings kept as written.
 */
import { connect } from 'node:net';

/** What came back on a raw connection. */
export interface RawAnswer {
  /** The status code, or 0 when the server closed without answering. */
  readonly status: number;
  /** Header names lowercased. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends `request` (the whole HTTP/1.1 request text or bytes, ending its headers with a blank
 * line) on a new connection and reads until the server closes it or `Connection: close`
 * semantics end the answer. The request should carry `Connection: close`.
 */
export function rawRequest(url: string, request: string | Uint8Array): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(u.port), u.hostname, () => socket.write(request));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'))));
  });
}

function parseAnswer(text: string): RawAnswer {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: text };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: text.slice(end + 4) };
}

/**
 * Opens a connection, sends `head` and `partialBody`, then destroys the socket without waiting
 * for an answer: a client that gave up mid-upload.
 */
export function abortedUpload(url: string, head: string, partialBody: Uint8Array): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname, () => {
      socket.write(head);
      socket.write(partialBody, () => {
        socket.destroy();
        resolve();
      });
    });
    socket.on('error', () => resolve());
  });
}
