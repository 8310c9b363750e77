/**
 * The tail's reading of Server-Sent Events and its resume logic, against scripted stream bodies
 * (cut into small chunks, anywhere) made from a fake event log's signed checkpoints and proofs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEventLog } from '../../../test/support/fake-event-log.js';
import { LogFetchError, LogMisbehaviourError, ProtocolError } from './errors.js';
import type { VerifiedEvent } from './events.js';
import type { FetchLike } from './http.js';
import { LogClient } from './log-client.js';

let log: FakeEventLog;
const FAST = { initialMs: 1, maxMs: 4 };

/** An event line of the fake log's search (with its inclusion proof in `checkpoint`'s tree). */
interface Line {
  readonly index: number;
  readonly [k: string]: unknown;
}

async function page(): Promise<{ checkpoint: string; events: Line[] }> {
  return (await (await fetch(`${log.url}/v1/events?proofs=1&limit=1000`)).json()) as { checkpoint: string; events: Line[] };
}

const sizeOf = (note: string) => Number(note.split('\n')[1]);
const checkpointFrame = (id: number, note: string, extra: Record<string, unknown> = {}) =>
  `event: checkpoint\nid: ${id}\ndata: ${JSON.stringify({ size: sizeOf(note), checkpoint: note, ...extra })}\n\n`;
const eventFrame = (e: Line) => `event: event\nid: ${e.index}\ndata: ${JSON.stringify(e)}\n\n`;

/** A stream answer whose body is `text` in chunks of `size` bytes (multi-byte characters cut too); open: it never ends by itself. */
function sse(text: string, init: RequestInit | undefined, options: { size?: number; open?: boolean } = {}): Response {
  const bytes = new TextEncoder().encode(text);
  const size = options.size ?? 7;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
      if (options.open === true) init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
      else c.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

/** A client whose stream requests `answer` scripts (each told the Last-Event-ID sent); the rest goes to the fake log. */
function client(answer: (lastEventId: string | null, n: number, init: RequestInit | undefined) => Promise<Response>): {
  client: LogClient;
  ids: (string | null)[];
} {
  const ids: (string | null)[] = [];
  const f: FetchLike = (url, init) => {
    if (!url.includes('/v1/events/stream')) return fetch(url, init);
    const id = new Headers(init?.headers).get('last-event-id');
    ids.push(id);
    return answer(id, ids.length, init);
  };
  return { client: new LogClient({ url: log.url, vkey: log.vkey, fetch: f }), ids };
}

async function collect(it: AsyncIterable<VerifiedEvent>, n: number): Promise<number[]> {
  const out: number[] = [];
  for await (const e of it) {
    out.push(e.index);
    if (out.length === n) break;
  }
  return out;
}

beforeAll(async () => {
  log = await FakeEventLog.start();
  const c = new LogClient({ url: log.url, vkey: log.vkey });
  log.grow(2);
  for (let i = 0; i < 6; i++) {
    await c.appendEvent({
      action: 'user.login',
      actor: { type: 'user', id: `u-${i}`, name: 'Zoë — ü 😀' },
      occurred_at: '2026-01-01T00:00:00Z',
    });
  }
});
afterAll(async () => {
  await log?.stop();
});

describe('tailEvents over scripted streams', () => {
  it('reads frames cut anywhere, skips comments and unknown frames, and resumes after a clean end with the last id', async () => {
    const { checkpoint, events } = await page();
    const { client: c, ids } = client(async (id, n, init) => {
      const after = Number(id ?? '-1');
      const rest = events.filter((e) => e.index > after);
      // The first connection ends after three events; the next sends the rest and stays open.
      const sent = n === 1 ? rest.slice(0, 3) : rest;
      const text =
        'retry: 2000\n\n: heartbeat\n\n' +
        checkpointFrame(after, checkpoint) +
        sent.map((e, i) => (i === 1 ? `event: future-kind\ndata: {}\n\n: heartbeat\n\n${eventFrame(e)}` : eventFrame(e))).join('');
      return sse(text, init, { open: n > 1 });
    });
    const got = await collect(c.tailEvents({}, { after: -1, reconnect: FAST }), events.length);
    expect(got).toEqual(events.map((e) => e.index));
    expect(ids).toEqual(['-1', String(events[2]!.index)]);
  });

  it('a reconnection that does not start at the Last-Event-ID sent is a ProtocolError', async () => {
    const { checkpoint, events } = await page();
    const { client: c } = client(async (_id, n, init) =>
      sse(n === 1 ? checkpointFrame(-1, checkpoint) + eventFrame(events[0]!) : checkpointFrame(-1, checkpoint), init),
    );
    await expect(collect(c.tailEvents({}, { after: -1, reconnect: FAST }), 10)).rejects.toThrow(
      /started the stream at position -1, not at/,
    );
  });

  it('an event before any checkpoint is a ProtocolError; a repeated event is misbehaviour', async () => {
    const { checkpoint, events } = await page();
    const early = client(async (_id, _n, init) => sse(eventFrame(events[0]!), init)).client;
    await expect(collect(early.tailEvents({}, { after: -1 }), 1)).rejects.toThrow(ProtocolError);
    const twice = client(async (_id, _n, init) =>
      sse(checkpointFrame(-1, checkpoint) + eventFrame(events[0]!) + eventFrame(events[0]!), init),
    ).client;
    const seen: number[] = [];
    const err = await (async () => {
      for await (const e of twice.tailEvents({}, { after: -1 })) seen.push(e.index);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogMisbehaviourError);
    expect((err as LogMisbehaviourError).kind).toBe('bad-events');
    expect(seen).toEqual([events[0]!.index]);
  });

  it("a checkpoint whose frame's consistency proof does not verify is misbehaviour; one without a proof a ProtocolError", async () => {
    const first = (await page()).checkpoint;
    const n1 = sizeOf(first);
    log.grow(3);
    const second = (await page()).checkpoint;
    const n2 = sizeOf(second);
    const { proof } = (await (await fetch(`${log.url}/v1/proof/consistency?from=${n1}&to=${n2}`)).json()) as { proof: string[] };
    const bad = [...proof];
    bad[0] = bad[0]!.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A'));
    const tail = (extra: Record<string, unknown>) =>
      client(async (_id, _n, init) => sse(checkpointFrame(n1 - 1, first) + checkpointFrame(n1 - 1, second, extra), init)).client;
    const ok: string[] = [];
    for await (const item of tail({ from: n1, consistency: proof }).tailEvents({}, { checkpoints: true, reconnect: { maxAttempts: 1 } })) {
      if (item.type === 'checkpoint') ok.push(String(item.checkpoint.checkpoint.size));
      if (ok.length === 2) break;
    }
    expect(ok).toEqual([String(n1), String(n2)]);
    const err = await collect(tail({ from: n1, consistency: bad }).tailEvents({}), 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogMisbehaviourError);
    expect((err as LogMisbehaviourError).kind).toBe('bad-proof');
    await expect(collect(tail({}).tailEvents({}), 1)).rejects.toThrow(/without the consistency proof/);
  });

  it('gives up after maxAttempts connections in a row that deliver nothing, with the last error', async () => {
    let calls = 0;
    const c = new LogClient({
      url: log.url,
      vkey: log.vkey,
      fetch: (url, init) => {
        if (!url.includes('/v1/events/stream')) return fetch(url, init);
        calls++;
        return Promise.reject(new TypeError('fetch failed'));
      },
    });
    const delays: number[] = [];
    const err = await collect(
      c.tailEvents({}, { reconnect: { initialMs: 2, maxMs: 8, maxAttempts: 4 }, onReconnect: (r) => delays.push(r.delayMs) }),
      1,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogFetchError);
    expect(calls).toBe(4);
    expect(delays.length).toBe(3);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(8, 2 * 2 ** i));
    });
  });

  it('a body that is not an event stream is a ProtocolError, not retried', async () => {
    let calls = 0;
    const c = client(async () => {
      calls++;
      return new Response('<html>', { headers: { 'content-type': 'text/html' } });
    }).client;
    await expect(collect(c.tailEvents({}, { reconnect: FAST }), 1)).rejects.toThrow(/not text\/event-stream/);
    expect(calls).toBe(1);
  });
});
