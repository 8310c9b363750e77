/** RFC 5424 messages, octet-counting frames, and the TCP transport against a real socket server. */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testEvent, testRecord } from '../../../../../test/support/fake-sinks.js';
import { parseSyslog, splitOctetFrames } from '../../../../../test/support/receivers.js';
import { eventLine } from '../formats.js';
import { parseSinksConfig, type SyslogSinkConfig } from './sink-config.js';
import {
  escapeParamValue,
  octetFrame,
  printusascii,
  SD_ID,
  type SyslogFields,
  SyslogTransport,
  syslogFrames,
  syslogMessage,
} from './syslog.js';
import { DeliveryError } from './transport.js';

const ctx = { origin: 'tlog.example/log' };
const fields: SyslogFields = { facility: 13, hostname: 'tlog-1', appName: 'tlog', procId: '4242', format: 'ndjson' };
const UTF8 = new TextDecoder();

describe('syslogMessage', () => {
  it('is an RFC 5424 message: PRI from the outcome, occurred_at, the action as MSGID, index and leafHash in SD, BOM and the line as MSG', () => {
    const e = testEvent(7, testRecord(7, { action: 'user.login', outcome: 'failure', occurredAt: '2026-02-03T04:05:06.789+01:00' }));
    const bytes = syslogMessage(e, fields, ctx);
    const text = UTF8.decode(bytes);
    expect(
      text.startsWith(
        `<108>1 2026-02-03T03:05:06.789Z tlog-1 tlog 4242 user.login [${SD_ID} index="7" leafHash="${e.leafHash}" id="e7"] \ufeff`,
      ),
    ).toBe(true);
    const m = parseSyslog(Buffer.from(bytes));
    expect(m).toMatchObject({
      pri: 13 * 8 + 4,
      version: 1,
      hostname: 'tlog-1',
      appName: 'tlog',
      procId: '4242',
      msgId: 'user.login',
      bom: true,
    });
    expect(m.sd).toEqual([{ id: SD_ID, params: { index: '7', leafHash: e.leafHash, id: 'e7' } }]);
    expect(m.msg).toBe(UTF8.decode(eventLine(e)));
  });

  it('takes the severity from the outcome: info, notice when unknown, warning for a failure', () => {
    const pri = (outcome: 'success' | 'failure' | 'unknown') =>
      parseSyslog(Buffer.from(syslogMessage(testEvent(1, testRecord(1, { outcome })), { ...fields, facility: 4 }, ctx))).pri;
    expect([pri('success'), pri('unknown'), pri('failure')]).toEqual([38, 37, 36]);
  });

  it('escapes ", \\ and ] in SD-PARAM values and cuts MSGID to 32 printable characters', () => {
    expect(escapeParamValue('a"b\\c]d[e')).toBe('a\\"b\\\\c\\]d[e');
    const tenant = 'ac"me\\]x';
    const action = `${'a'.repeat(20)}.${'b'.repeat(20)}`;
    const m = parseSyslog(Buffer.from(syslogMessage(testEvent(3, testRecord(3, { tenant, action })), fields, ctx)));
    expect(m.sd[0]!.params.tenant).toBe(tenant);
    expect(m.msgId).toBe(action.slice(0, 32));
    expect(printusascii('tlog host\u00e9!', 48)).toBe('tloghost!');
    expect(printusascii(' \u00e9 ', 48)).toBe('-');
  });
});

describe('octetFrame', () => {
  it('prefixes the length in bytes, not characters', () => {
    const msg = new TextEncoder().encode('<14>1 - - - - - - h\u00e9llo \u{1f600}');
    const frame = octetFrame(msg);
    // 18 ASCII characters, "héllo" in 6 bytes, a space, and the emoji in 4: 29 bytes, 26 characters.
    expect(UTF8.decode(frame)).toBe(`29 ${UTF8.decode(msg)}`);
  });

  it('frames a batch so a receiver splits it back into its messages, even cut anywhere', () => {
    const events = [0, 1, 2].map((i) => testEvent(i, testRecord(i, { tenant: `t]${i}` })));
    const all = Buffer.from(syslogFrames(events, fields, ctx));
    expect(splitOctetFrames(all).frames.map((f) => JSON.parse(parseSyslog(f).msg).index)).toEqual([0, 1, 2]);
    for (let cut = 0; cut < all.length; cut += 7) {
      const first = splitOctetFrames(all.subarray(0, cut));
      const second = splitOctetFrames(Buffer.concat([first.rest, all.subarray(cut)]));
      expect([...first.frames, ...second.frames].map((f) => JSON.parse(parseSyslog(f).msg).index)).toEqual([0, 1, 2]);
    }
  });
});

describe('SyslogTransport', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
    server = undefined;
  });

  /** A server that keeps what it reads per connection. */
  async function listen(): Promise<{ port: number; received: Buffer[] }> {
    const received: Buffer[] = [];
    server = createServer((s) => {
      sockets.push(s);
      const i = received.push(Buffer.alloc(0)) - 1;
      s.on('data', (d: Buffer) => {
        received[i] = Buffer.concat([received[i]!, d]);
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { port: (server.address() as { port: number }).port, received };
  }

  const config = (port: number, timeoutMs = 2000): SyslogSinkConfig =>
    parseSinksConfig({
      sinks: [{ name: 'rsyslog', type: 'syslog', address: `tcp://127.0.0.1:${port}`, hostname: 'h', timeoutMs }],
    })[0] as SyslogSinkConfig;

  it('keeps one connection for several batches, and makes a new one after the receiver closed it', async () => {
    const { port, received } = await listen();
    const t = new SyslogTransport(config(port), ctx);
    const signal = new AbortController().signal;
    await t.send([testEvent(0), testEvent(1)], signal);
    await t.send([testEvent(2)], signal);
    const indexes = (i: number) => splitOctetFrames(received[i] ?? Buffer.alloc(0)).frames.map((f) => JSON.parse(parseSyslog(f).msg).index);
    await expect.poll(() => indexes(0)).toEqual([0, 1, 2]);
    expect(received).toHaveLength(1);
    sockets[0]!.destroy();
    await expect.poll(() => (t as unknown as { socket: unknown }).socket).toBeUndefined();
    await t.send([testEvent(3)], signal);
    await expect.poll(() => indexes(1)).toEqual([3]);
    t.close();
  });

  it('fails retryably when nothing listens, and aborts with the signal', async () => {
    const { port } = await listen();
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const t = new SyslogTransport(config(port), ctx);
    const err = await t.send([testEvent(0)], new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/could not connect \(ECONNREFUSED\)/);
    const ac = new AbortController();
    ac.abort(new Error('closing'));
    await expect(t.send([testEvent(0)], ac.signal)).rejects.toThrow('closing');
  });
});
