/**
 * Clients that give up mid-upload (headers and part of a body, then the socket destroyed) are
 * not errors: no error-level log line, no 500, nothing written, and the server keeps answering.
 */
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortedUpload } from './support/raw-http.js';
import { type SpawnedServer, spawnServer } from './support/server.js';

const octet = { 'content-type': 'application/octet-stream' };

let s: SpawnedServer;
beforeAll(async () => {
  // Debug level: even the quietest log lines are written, so none can hide an error.
  s = await spawnServer({ args: ['--log-level', 'debug'] });
});
afterAll(async () => {
  expect(await s?.stop()).toBe(0);
  if (s !== undefined) await rm(s.dataDir, { recursive: true, force: true });
});

/** The stderr log's lines at level error (50) or fatal (60). */
function errorLines(): string[] {
  return s
    .stderr()
    .split('\n')
    .filter((l) => /"level":(50|60)/.test(l));
}

/** A client that sends a whole request, then leaves before the answer. */
function leaveBeforeAnswer(body: string): Promise<void> {
  const u = new URL(s.url);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname, () => {
      socket.write(
        `POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        () => {
          socket.destroy();
          resolve();
        },
      );
    });
    socket.on('error', () => resolve());
  });
}

describe('aborted uploads (real process)', () => {
  it('logs no error for 600 abandoned uploads, writes none of them, and keeps answering', async () => {
    const before = (await (await fetch(`${s.url}/v1/log`)).json()) as { size: number };
    const part = new Uint8Array(1000).fill(0x61);
    const heads = [
      'POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 60000\r\n\r\n',
      'POST /v1/entries/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 600000\r\n\r\n',
      'POST /v1/entries/batch?receipts=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n',
      'POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n',
    ];
    for (let round = 0; round < 30; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const head = heads[i % heads.length]!;
          // A chunked body cut inside a chunk; a plain body cut short of its Content-Length.
          const body = head.includes('chunked') ? new TextEncoder().encode(`fa0\r\n${'b'.repeat(1000)}`) : part;
          return abortedUpload(s.url, head, body);
        }),
      );
    }
    // Whole requests whose clients leave before the answer: they are written, nothing is logged.
    await Promise.all(Array.from({ length: 20 }, (_, i) => leaveBeforeAnswer(`left before the answer ${i}`)));

    const ok = await fetch(`${s.url}/v1/entries`, { method: 'POST', body: 'still here', headers: octet });
    expect(ok.status).toBe(200);
    const { index } = (await ok.json()) as { index: number };
    // The server may notice the last closes after answering: give its log a moment to be written.
    await new Promise((r) => setTimeout(r, 500));
    expect(errorLines()).toEqual([]);
    expect(s.stderr()).not.toMatch(/"status":500|internal error/);
    const after = (await (await fetch(`${s.url}/v1/log`)).json()) as { size: number };
    // Only the 20 complete requests and the last one were written.
    expect(after.size).toBe(before.size + 21);
    expect(index).toBeLessThan(after.size);
    expect(s.child.exitCode).toBeNull();
  });
});
