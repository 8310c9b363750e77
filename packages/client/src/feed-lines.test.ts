import { toBase64 } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { backoffDelay, checkBackoff } from './backoff.js';
import { ArgumentError, ProtocolError } from './errors.js';
import { LineSplitter, parseFeedLine } from './feed-lines.js';

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(b);

describe('LineSplitter', () => {
  it('gives the same lines however the body is cut, multi-byte characters included, and holds back only the tail', () => {
    const body = utf8.encode('{"a":"Zoë"}\n{"b":"😀 — ü"}\n\n{"c":3}\n{"partial":');
    const want = ['{"a":"Zoë"}', '{"b":"😀 — ü"}', '', '{"c":3}'];
    for (const size of [1, 2, 3, 5, 7, 13, body.length]) {
      const s = new LineSplitter({ url: 'u', maxLineBytes: 100 });
      const lines: string[] = [];
      for (let i = 0; i < body.length; i += size) lines.push(...s.push(body.subarray(i, i + size)).map(text));
      expect(lines, `chunks of ${size}`).toEqual(want);
      expect(s.partialBytes).toBe('{"partial":'.length);
    }
  });

  it('refuses a line longer than the limit, even before its newline comes', () => {
    const s = new LineSplitter({ url: 'http://log/v1/events/export', maxLineBytes: 8 });
    expect(s.push(utf8.encode('12345678\n1234'))).toHaveLength(1);
    expect(() => s.push(utf8.encode('56789'))).toThrow(ProtocolError);
    expect(() => new LineSplitter({ url: 'u', maxLineBytes: 8 }).push(utf8.encode('123456789\n'))).toThrow(/longer than 8 bytes/);
  });
});

describe('parseFeedLine', () => {
  const record = {
    action: 'user.login',
    actor: { type: 'user', id: 'alice' },
    targets: [],
    outcome: 'success',
    occurred_at: '2026-01-01T00:00:00Z',
    context: {},
    metadata: {},
    id: 'ev-1',
    received_at: '2026-01-01T00:00:01.000Z',
  };
  const leafHash = toBase64(new Uint8Array(32).fill(7));
  const salt = toBase64(new Uint8Array(32).fill(9));
  const line = { index: 12, leafHash, record, salt };
  const from = { url: 'http://log/v1/events/export', where: 'line 1' };

  it('reads the event line out of each format', () => {
    const ndjson = JSON.stringify(line);
    const cloudevents = JSON.stringify({
      specversion: '1.0',
      id: 'ev-1',
      source: 'tlog://log',
      type: 'dev.tlog.audit.user.login',
      data: record,
      tlogindex: 12,
      tlogleafhash: leafHash,
      tlogsalt: salt,
    });
    const ocsf = JSON.stringify({ class_uid: 6003, unmapped: { tlog: line } });
    for (const [format, text] of [
      ['ndjson', ndjson],
      ['cloudevents', cloudevents],
      ['ocsf', ocsf],
    ] as const) {
      const e = parseFeedLine(format, text, from);
      expect(e.index, format).toBe(12);
      expect(toBase64(e.leafHash)).toBe(leafHash);
      expect(e.salt).toBe(salt);
      expect(e.record).toEqual(record);
    }
  });

  it('names what is wrong: not JSON, another format, a bad record or salt, a CloudEvent id not its record', () => {
    expect(() => parseFeedLine('ndjson', '{"index":', from)).toThrow(/line 1 that is not JSON/);
    expect(() => parseFeedLine('cloudevents', JSON.stringify(line), from)).toThrow(ProtocolError);
    expect(() => parseFeedLine('ocsf', JSON.stringify(line), from)).toThrow(/unmapped/);
    expect(() => parseFeedLine('ndjson', JSON.stringify({ ...line, record: { ...record, outcome: 'maybe' } }), from)).toThrow(
      /line 1\.record\.outcome/,
    );
    expect(() => parseFeedLine('ndjson', JSON.stringify({ ...line, salt: 'AAAA' }), from)).toThrow(/salt is not base64 of 32 bytes/);
    expect(() => parseFeedLine('ndjson', JSON.stringify({ ...line, index: -1 }), from)).toThrow(ProtocolError);
    const ce = { specversion: '1.0', id: 'other', data: record, tlogindex: 12, tlogleafhash: leafHash, tlogsalt: salt };
    expect(() => parseFeedLine('cloudevents', JSON.stringify(ce), from)).toThrow(/whose id "other" is not its record's/);
  });
});

describe('backoff', () => {
  it('waits a uniform time below a cap that doubles per attempt, up to maxMs', () => {
    const limits = { initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 60].map((a) => backoffDelay(a, limits, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(5, limits, () => 0)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(2, limits);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(400);
    }
  });

  it('checks its options', () => {
    expect(() => checkBackoff({ initialMs: -1 })).toThrow(ArgumentError);
    expect(() => checkBackoff({ initialMs: 10, maxMs: 5 })).toThrow(/must not exceed/);
    expect(() => checkBackoff({ maxAttempts: 0 })).toThrow(ArgumentError);
    expect(checkBackoff({ initialMs: 0, maxMs: 0, maxAttempts: 1 })).toEqual({ initialMs: 0, maxMs: 0, maxAttempts: 1 });
  });
});
