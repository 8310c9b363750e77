/**
 * A fake of the log's feed routes (GET /v1/events/export, GET /v1/events/stream, GET
 * /v1/sinks, POST /v1/sinks/{name}/resume) in front of a REAL log server: it serves the wire
 * format of the feeds plan, computing its lines and frames from the real server's answers
 * (searches with proofs, consistency proofs, its signed checkpoints), and proxies every other
 * request (checkpoint, tiles, proofs) to it. It can be made to misbehave: tamper with a record,
 * sign checkpoints with another key, cut an export or a stream, send `lagged`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventRecord } from '@tlog/events';
import { canonicalEvent, FILTER_FIELDS } from '@tlog/events';
import { generateEd25519Key, parseNote, parseSignerKey, signNote } from '@tlog/merkle';

/** The real server the fake stands in front of. */
export interface RealLog {
  readonly url: string;
  readonly origin: string;
  /** A key with events:read, used for the fake's own requests to the real server. */
  readonly apiKey: string;
}

/** What the fake does wrong; all off = honest. */
export interface FeedFaults {
  /** Change one byte of the record of the event at this index (in export lines and stream frames). */
  tamperIndex: number | undefined;
  /** Sign the checkpoints of exports and streams with another key of the same name. */
  otherKey: boolean;
  /** The next export writes this many lines, then half of the next one, then kills the connection (once). */
  cutExportAfter: number | undefined;
  /** The next stream sends this many event frames, then kills the connection (once). */
  dropStreamAfter: number | undefined;
  /** The next stream sends this many event frames, then a `lagged` frame, and closes (once). */
  laggedAfter: number | undefined;
  /** Answer export and stream requests with this status and a JSON error. */
  refuseWith: number | undefined;
}

/** One request the fake received on a feed route. */
export interface FeedRequest {
  readonly query: URLSearchParams;
  readonly lastEventId: string | undefined;
  readonly authorization: string | undefined;
}

/** An event line as the real search answers it. */
interface SearchResult {
  readonly index: number;
  readonly leafHash: string;
  readonly record: EventRecord;
  readonly salt: string;
  readonly inclusion?: string[];
}

const UTF8 = new TextDecoder();

/** The fake feed server. */
export class FakeFeedServer {
  readonly faults: FeedFaults = {
    tamperIndex: undefined,
    otherKey: false,
    cutExportAfter: undefined,
    dropStreamAfter: undefined,
    laggedAfter: undefined,
    refuseWith: undefined,
  };
  readonly exports: FeedRequest[] = [];
  readonly streams: FeedRequest[] = [];
  /** The path of every request proxied to the real server. */
  readonly proxied: string[] = [];
  /** What GET /v1/sinks answers; POST .../resume sets a sink active. */
  sinks: Record<string, unknown>[] = [];
  readonly url: string;
  private readonly otherSigner = generateEd25519Key('unused').signerKey;
  private readonly open = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    private readonly real: RealLog,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.otherSigner = generateEd25519Key(real.origin).signerKey;
  }

  /** Starts the fake on a random local port in front of `real`. */
  static async start(real: RealLog): Promise<FakeFeedServer> {
    let fake: FakeFeedServer | undefined;
    const server = createServer((req, res) => {
      fake!.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(e));
        else res.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    fake = new FakeFeedServer(server, real);
    return fake;
  }

  /** Stops the fake, ending open streams. */
  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const feed = { query: url.searchParams, lastEventId: header(req, 'last-event-id'), authorization: header(req, 'authorization') };
    if (req.method === 'GET' && url.pathname === '/v1/events/export') {
      this.exports.push(feed);
      return this.serveExport(url.searchParams, res);
    }
    if (req.method === 'GET' && url.pathname === '/v1/events/stream') {
      this.streams.push(feed);
      return this.serveStream(req, url.searchParams, res);
    }
    if (req.method === 'GET' && url.pathname === '/v1/sinks') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sinks: this.sinks }));
      return;
    }
    const resume = /^\/v1\/sinks\/([^/]+)\/resume$/.exec(url.pathname);
    if (req.method === 'POST' && resume !== null) {
      const s = this.sinks.find((x) => x.name === decodeURIComponent(resume[1]!));
      if (s === undefined) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such sink"}');
      else {
        s.state = 'active';
        delete s.deadSince;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(s));
      }
      return;
    }
    return this.proxy(req, url, res);
  }

  /** Forwards a request to the real server as it is. */
  private async proxy(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    this.proxied.push(url.pathname);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host') headers[k] = v;
    const answer = await fetch(this.real.url + url.pathname + url.search, {
      method: req.method ?? 'GET',
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const out: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      if (k !== 'content-encoding' && k !== 'content-length' && k !== 'transfer-encoding') out[k] = v;
    });
    res.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()));
  }

  /** A JSON GET to the real server with the fake's own key. */
  private async realJson<T>(path: string): Promise<T> {
    const r = await fetch(this.real.url + path, { headers: { authorization: `Bearer ${this.real.apiKey}` } });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }

  /** Every matching event the real search has (with inclusion proofs in the checkpoint of its first page), ascending. */
  private async search(query: URLSearchParams, proofs: boolean): Promise<{ checkpoint: string; events: SearchResult[] }> {
    const params = new URLSearchParams();
    for (const f of FILTER_FIELDS) {
      const v = query.get(f);
      if (v !== null) params.set(f, v);
    }
    params.set('order', 'asc');
    params.set('limit', '1000');
    if (proofs) params.set('proofs', '1');
    const page = await this.realJson<{ checkpoint: string; events: SearchResult[]; next?: string }>(`/v1/events?${params.toString()}`);
    if (page.next !== undefined) throw new Error('the fake feed server reads one page of search results; keep tests under 1000 events');
    return { checkpoint: this.sign(page.checkpoint), events: page.events };
  }

  /** The checkpoint as served: the real one, or its text signed by another key. */
  private sign(note: string): string {
    if (!this.faults.otherKey) return note;
    return signNote(parseNote(note).text, [parseSignerKey(this.otherSigner)]);
  }

  private sizeOf(note: string): number {
    return Number(parseNote(note).text.split('\n')[1]);
  }

  /** The event line of a result, its record in canonical form, one byte changed if it is the one to tamper with. */
  private eventLine(e: SearchResult, extra: Record<string, unknown> = {}): string {
    let record = UTF8.decode(canonicalEvent(e.record));
    if (e.index === this.faults.tamperIndex) {
      const at = record.indexOf('"actor":{"id":"') + '"actor":{"id":"'.length;
      record = record.slice(0, at) + (record[at] === 'x' ? 'y' : 'x') + record.slice(at + 1);
    }
    const rest = Object.entries(extra)
      .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join('');
    return `{"index":${e.index},"leafHash":"${e.leafHash}","record":${record},"salt":"${e.salt}"${rest}}`;
  }

  /** One line of `format` for a result. */
  private formatLine(format: string, e: SearchResult): string {
    const line = this.eventLine(e);
    if (format === 'ndjson') return line;
    const parsed = JSON.parse(line) as { index: number; leafHash: string; record: EventRecord; salt: string };
    if (format === 'cloudevents') {
      return JSON.stringify({
        specversion: '1.0',
        id: parsed.record.id,
        source: `tlog://${this.real.origin}`,
        type: `dev.tlog.audit.${parsed.record.action}`,
        time: parsed.record.occurred_at,
        datacontenttype: 'application/json',
        data: parsed.record,
        tlogindex: parsed.index,
        tlogleafhash: parsed.leafHash,
        tlogsalt: parsed.salt,
      });
    }
    return JSON.stringify({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 99,
      time: Date.parse(parsed.record.occurred_at),
      api: { operation: parsed.record.action },
      actor: { user: { uid: parsed.record.actor.id } },
      unmapped: { tlog: parsed },
    });
  }

  private refuse(res: ServerResponse): boolean {
    const status = this.faults.refuseWith;
    if (status === undefined) return false;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `refused with ${status}` }));
    return true;
  }

  private async serveExport(query: URLSearchParams, res: ServerResponse): Promise<void> {
    if (this.refuse(res)) return;
    const after = Number(query.get('after') ?? '-1');
    const format = query.get('format') ?? 'ndjson';
    const limit = query.has('limit') ? Number(query.get('limit')) : Number.POSITIVE_INFINITY;
    const { checkpoint, events } = await this.search(query, false);
    const size = this.sizeOf(checkpoint);
    res.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'tlog-tree-size': String(size),
      'tlog-checkpoint': Buffer.from(checkpoint).toString('base64'),
    });
    const cut = this.faults.cutExportAfter;
    this.faults.cutExportAfter = undefined;
    let n = 0;
    for (const e of events) {
      if (e.index <= after || e.index >= size) continue;
      if (n >= limit) break;
      const line = this.formatLine(format, e);
      if (cut !== undefined && n === cut) {
        res.write(line.slice(0, Math.floor(line.length / 2)));
        await new Promise((r) => setTimeout(r, 200));
        res.socket?.destroy();
        return;
      }
      res.write(`${line}\n`);
      n++;
    }
    res.end();
  }

  private async serveStream(req: IncomingMessage, query: URLSearchParams, res: ServerResponse): Promise<void> {
    if (this.refuse(res)) return;
    const resumeAt = header(req, 'last-event-id') ?? query.get('after') ?? undefined;
    let closed = false;
    req.on('close', () => {
      closed = true;
    });
    res.on('close', () => {
      closed = true;
      this.open.delete(res);
    });
    this.open.add(res);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const drop = this.faults.dropStreamAfter;
    const lagged = this.faults.laggedAfter;
    this.faults.dropStreamAfter = undefined;
    this.faults.laggedAfter = undefined;
    let sent = 0;
    let previous: number | undefined;
    let position = resumeAt === undefined ? undefined : Number(resumeAt);
    while (!closed) {
      const latest = await fetch(`${this.real.url}/checkpoint`).then((r) => r.text());
      if (previous !== undefined && this.sizeOf(latest) <= previous) {
        res.write(': heartbeat\n\n');
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const { checkpoint, events } = await this.search(query, true);
      const n = this.sizeOf(checkpoint);
      if (previous !== undefined && n <= previous) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      position ??= n - 1;
      const frame: Record<string, unknown> = { size: n, checkpoint };
      if (previous !== undefined) {
        const c = await this.realJson<{ proof: string[] }>(`/v1/proof/consistency?from=${previous}&to=${n}`);
        frame.consistency = c.proof;
        frame.from = previous;
      }
      res.write(`event: checkpoint\nid: ${position}\ndata: ${JSON.stringify(frame)}\n\n`);
      for (const e of events) {
        if (e.index <= position || e.index >= n) continue;
        if (drop !== undefined && sent === drop) {
          // Give the client time to read what was sent: a broken connection loses what it had not read.
          await new Promise((r) => setTimeout(r, 200));
          res.socket?.destroy();
          return;
        }
        if (lagged !== undefined && sent === lagged) {
          res.end(`event: lagged\ndata: {"after":${position}}\n\n`);
          return;
        }
        res.write(`event: event\nid: ${e.index}\ndata: ${this.eventLine(e, { inclusion: e.inclusion })}\n\n`);
        position = e.index;
        sent++;
      }
      position = Math.max(position, n - 1);
      previous = n;
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
