/**
 * HTTPS end to end: the real server started with --tls-cert/--tls-key serves its certificate,
 * refuses plain HTTP on that port, and after the files are replaced and SIGHUP is sent, serves
 * the new certificate to new connections (a broken replacement is refused, the old one kept).
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { runServer, type SpawnedServer, spawnServer, tempDataDir } from './support/server.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/**
 * A fresh self-signed certificate for 127.0.0.1 and its key (PEM). Each has its own subject:
 * OpenSSL looks trusted certificates up by subject name, so two with one name would shadow each other.
 */
async function certificate(): Promise<{ cert: string; key: string; fingerprint: string }> {
  const pems = await generate([{ name: 'commonName', value: `tlog test ${randomUUID()}` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}

/** Replaces `path` at once (as an operator's renewal tool would), so the server never reads half a file. */
async function replace(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomUUID()}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** GET over a new TLS connection trusting `ca`: status, body and the fingerprint of the certificate presented. */
function httpsGet(url: string, ca: string[]): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Plain HTTP GET: resolves with the status, rejects when the connection fails. */
function httpGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

/** Asks until `done` holds, up to 15 s (a reload is asynchronous: SIGHUP, then two file reads). */
async function eventually<T>(ask: () => Promise<T>, done: (v: T) => boolean, what: string, server: SpawnedServer): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await ask();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 15 s:\n${server.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('HTTPS', () => {
  it('serves the certificate, refuses plain HTTP, and swaps the certificate on SIGHUP', async () => {
    const dataDir = await tempDataDir();
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const certPath = join(dataDir, 'tls.crt');
    const keyPath = join(dataDir, 'tls.key');
    const first = await certificate();
    await writeFile(certPath, first.cert);
    await writeFile(keyPath, first.key);
    const server = await spawnServer({ dataDir, args: ['--tls-cert', certPath, '--tls-key', keyPath] });
    cleanup.push(() => server.stop());
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const got = await httpsGet(`${server.url}/checkpoint`, [first.cert]);
    expect(got.status).toBe(200);
    expect(got.body).toMatch(/^tlog\.localhost\/log\n0\n/);
    expect(got.fingerprint).toBe(first.fingerprint);
    await expect(httpGet(`${server.url.replace(/^https:/, 'http:')}/checkpoint`)).rejects.toThrow();

    const second = await certificate();
    await replace(keyPath, second.key);
    await replace(certPath, second.cert);
    server.child.kill('SIGHUP');
    const after = await eventually(
      () => httpsGet(`${server.url}/checkpoint`, [first.cert, second.cert]),
      (r) => r.fingerprint === second.fingerprint,
      'serving the new certificate',
      server,
    );
    expect(after.status).toBe(200);
    // The new certificate alone is enough now.
    expect((await httpsGet(`${server.url}/healthz`, [second.cert])).status).toBe(200);

    // A broken replacement is refused with a warning; the server keeps serving the last good one.
    await replace(certPath, 'not a certificate\n');
    server.child.kill('SIGHUP');
    await eventually(
      async () => server.stderr(),
      (err) => err.includes('TLS certificate not reloaded'),
      'the warning about the broken certificate',
      server,
    );
    const still = await httpsGet(`${server.url}/checkpoint`, [second.cert]);
    expect(still.status).toBe(200);
    expect(still.fingerprint).toBe(second.fingerprint);
    expect(server.child.exitCode).toBeNull();
    expect(await server.stop()).toBe(0);
  });

  it('refuses to start with a certificate it cannot load, in one line', async () => {
    const dataDir = await tempDataDir();
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const { key } = await certificate();
    const certPath = join(dataDir, 'tls.crt');
    const keyPath = join(dataDir, 'tls.key');
    await writeFile(certPath, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    await writeFile(keyPath, key);
    const bad = await runServer(['--port', '0', '--data-dir', dataDir, '--tls-cert', certPath, '--tls-key', keyPath]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^tlog: cannot load the TLS certificate .*tls\.crt with the key .*tls\.key: .+\n$/);
    const missing = await runServer(['--port', '0', '--data-dir', dataDir, '--tls-cert', join(dataDir, 'none.crt'), '--tls-key', keyPath]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^tlog: cannot load the TLS certificate .*none\.crt.*ENOENT.*\n$/);
    const half = await runServer(['--port', '0', '--data-dir', dataDir, '--tls-key', keyPath]);
    expect(half.code).toBe(1);
    expect(half.stderr).toMatch(/--tls-key \/ TLOG_TLS_KEY .*without --tls-cert/);
  });
});
