/**
 * Receivers the sinks' tests deliver to, on 127.0.0.1 and a free port: a Standard Webhooks
 * endpoint that verifies every signature, a Splunk HEC endpoint that checks the token and parses
 * the concatenated event objects, and a TCP syslog server that parses RFC 5424 messages in
 * octet-counted frames. Each can be told to fail (an HTTP status) or to stall for a while.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { type EventRecord, eventLeaf } from '@tlog/events';
import { Webhook } from 'standardwebhooks';

/** One event as a receiver got it: the event line fields every sink must carry. */
export interface Received {
  readonly index: number;
  readonly leafHash: string;
}

/** An RFC 5424 STRUCTURED-DATA element. */
export interface SdElement {
  readonly id: string;
  readonly params: Record<string, string>;
}

/** An RFC 5424 message, parsed. */
export interface SyslogMessage {
  readonly pri: number;
  readonly version: number;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly sd: SdElement[];
  /** Whether MSG starts with the UTF-8 BOM. */
  readonly bom: boolean;
  /** MSG without the BOM, as text. */
  readonly msg: string;
}

/**
 * Splits octet-counted frames (`<len> <msg>`, RFC 6587) off the front of `buf`: the complete
 * messages and what is left (an incomplete frame). Throws on a malformed length.
 */
export function splitOctetFrames(buf: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let off = 0;
  for (;;) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const lenText = buf.subarray(off, sp).toString('latin1');
    if (!/^[1-9][0-9]{0,8}$/.test(lenText)) throw new Error(`bad octet count ${JSON.stringify(lenText)} at byte ${off}`);
    const len = Number(lenText);
    if (buf.length < sp + 1 + len) break;
    frames.push(buf.subarray(sp + 1, sp + 1 + len));
    off = sp + 1 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** Parses one RFC 5424 message (strictly: the tests want to know when the sink gets it wrong). */
export function parseSyslog(m: Buffer): SyslogMessage {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`bad RFC 5424 message at byte ${pos}: ${what}: ${JSON.stringify(m.toString('utf8').slice(0, 200))}`);
  };
  const token = (): string => {
    const sp = m.indexOf(0x20, pos);
    if (sp < 0) fail('a header field is missing');
    const t = m.subarray(pos, sp).toString('latin1');
    pos = sp + 1;
    if (!/^[\x21-\x7e]+$/.test(t)) fail(`field ${JSON.stringify(t)} is not PRINTUSASCII`);
    return t;
  };
  const head = /^<([0-9]{1,3})>([1-9][0-9]{0,2})$/.exec(token());
  if (head === null) fail('no <PRI>VERSION');
  const [timestamp, hostname, appName, procId, msgId] = [token(), token(), token(), token(), token()];
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(timestamp!)) fail('bad TIMESTAMP');
  if (appName!.length > 48 || msgId!.length > 32 || hostname!.length > 255 || procId!.length > 128) fail('a header field is too long');
  const sd: SdElement[] = [];
  if (m[pos] === 0x2d) pos++;
  else {
    while (m[pos] === 0x5b) {
      pos++;
      const idEnd = m.indexOf(0x20, pos);
      const close = m.indexOf(0x5d, pos);
      const end = idEnd >= 0 && idEnd < close ? idEnd : close;
      const id = m.subarray(pos, end).toString('latin1');
      pos = end;
      const params: Record<string, string> = {};
      while (m[pos] === 0x20) {
        pos++;
        const eq = m.indexOf(0x3d, pos);
        const name = m.subarray(pos, eq).toString('latin1');
        if (!/^[^= \]"]{1,32}$/.test(name)) fail(`bad PARAM-NAME ${JSON.stringify(name)}`);
        pos = eq + 1;
        if (m[pos] !== 0x22) fail('PARAM-VALUE without a quote');
        pos++;
        const bytes: number[] = [];
        for (;;) {
          const c = m[pos];
          if (c === undefined) fail('PARAM-VALUE not closed');
          if (c === 0x5c && (m[pos + 1] === 0x22 || m[pos + 1] === 0x5c || m[pos + 1] === 0x5d)) {
            bytes.push(m[pos + 1]!);
            pos += 2;
            continue;
          }
          if (c === 0x22) break;
          if (c === 0x5d) fail('an unescaped "]" in a PARAM-VALUE');
          bytes.push(c!);
          pos++;
        }
        pos++;
        params[name] = Buffer.from(bytes).toString('utf8');
      }
      if (m[pos] !== 0x5d) fail('SD-ELEMENT not closed');
      pos++;
      sd.push({ id, params });
    }
  }
  let bom = false;
  let msg = '';
  if (pos < m.length) {
    if (m[pos] !== 0x20) fail('no space before MSG');
    pos++;
    bom = m[pos] === 0xef && m[pos + 1] === 0xbb && m[pos + 2] === 0xbf;
    msg = m.subarray(bom ? pos + 3 : pos).toString('utf8');
  }
  return {
    pri: Number(head![1]),
    version: Number(head![2]),
    timestamp: timestamp!,
    hostname: hostname!,
    appName: appName!,
    procId: procId!,
    msgId: msgId!,
    sd,
    bom,
    msg,
  };
}

/** How an HTTP receiver answers now. */
export interface HttpBehaviour {
  /** Answer every request with this status (and Retry-After: 0 for 503) instead of taking it. */
  status?: number;
  /** Answer this many next requests with `status`, then go back to taking them. */
  times?: number;
  /** Hold every request this long before answering. */
  delayMs?: number;
}

/** The parts of a request a receiver checks. */
interface Request {
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/** What every receiver keeps: the events it took, in order of arrival, and the problems it saw. */
abstract class Receiver {
  /** Every event taken (acknowledged), in arrival order. */
  readonly received: Received[] = [];
  /** What was wrong with requests or messages (a bad signature, token, frame...): must stay empty. */
  readonly problems: string[] = [];

  /** The indexes taken, in order. */
  indexes(): number[] {
    return this.received.map((r) => r.index);
  }

  /**
   * Takes one line of any format: the event line (ndjson), a CloudEvent (tlogindex, tlogleafhash,
   * tlogsalt, data) or an OCSF object (unmapped.tlog). Its leafHash must be the RFC 6962 leaf hash
   * of the record's commitment: every delivered event stays verifiable.
   */
  protected take(line: unknown, where: string): void {
    const l = eventLineOf(line);
    if (l === undefined || typeof l.index !== 'number' || typeof l.leafHash !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(l.leafHash)) {
      this.problems.push(`${where}: an event without index and leafHash: ${JSON.stringify(line).slice(0, 200)}`);
      return;
    }
    const entry = eventLeaf(l.record as EventRecord, Buffer.from(String(l.salt), 'base64')).entry;
    const leafHash = createHash('sha256').update(Uint8Array.of(0)).update(entry).digest('base64');
    if (leafHash !== l.leafHash) this.problems.push(`${where}: event ${l.index}: its record and salt do not make its leafHash`);
    this.received.push({ index: l.index, leafHash: l.leafHash });
  }
}

/** The event line's fields carried by a line of any format, or undefined. */
function eventLineOf(line: unknown): { index?: unknown; leafHash?: unknown; record?: unknown; salt?: unknown } | undefined {
  if (typeof line !== 'object' || line === null) return undefined;
  const o = line as Record<string, unknown>;
  if ('index' in o) return o;
  if (o.specversion === '1.0') return { index: o.tlogindex, leafHash: o.tlogleafhash, record: o.data, salt: o.tlogsalt };
  const tlog = (o.unmapped as { tlog?: Record<string, unknown> } | undefined)?.tlog;
  return tlog;
}

/** An HTTP receiver: `check` parses and checks a request, returning the event lines it holds. */
abstract class HttpReceiver extends Receiver {
  behaviour: HttpBehaviour = {};
  /** Requests answered with a failure status. */
  failed = 0;
  /** Requests seen. */
  requests = 0;
  private server: Server | undefined;
  url = '';

  protected abstract check(req: Request): unknown[];

  async start(): Promise<void> {
    const server = createHttpServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.requests++;
    const b = this.behaviour;
    if (b.delayMs !== undefined) await new Promise((r) => setTimeout(r, b.delayMs));
    if (b.status !== undefined && (b.times === undefined || b.times > 0)) {
      if (b.times !== undefined) b.times--;
      if (b.times === 0) this.behaviour = {};
      this.failed++;
      res.writeHead(b.status, { 'content-type': 'application/json', ...(b.status === 503 ? { 'retry-after': '0' } : {}) });
      res.end(JSON.stringify({ text: `told to answer ${b.status}` }));
      return;
    }
    let lines: unknown[];
    try {
      lines = this.check({ headers: req.headers, body: Buffer.concat(chunks) });
    } catch (err) {
      this.problems.push((err as Error).message);
      res.writeHead(400).end();
      return;
    }
    lines.forEach((l, i) => {
      this.take(l, `request ${this.requests} event ${i}`);
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"text":"Success","code":0}');
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
  }
}

/** A Standard Webhooks receiver: every request's signature is verified with the standardwebhooks package. */
export class WebhookReceiver extends HttpReceiver {
  /** The webhook-ids seen (a retried batch repeats its id). */
  readonly ids: string[] = [];

  constructor(private readonly secret: string) {
    super();
  }

  protected check(req: Request): unknown[] {
    const headers: Record<string, string> = {};
    for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[h] = String(req.headers[h] ?? '');
    if (req.headers['content-type'] !== 'application/json') throw new Error(`webhook: content-type ${req.headers['content-type']}`);
    const body = new Webhook(this.secret).verify(req.body, headers) as { events?: unknown };
    if (!Array.isArray(body.events)) throw new Error('webhook: no events array');
    this.ids.push(headers['webhook-id']!);
    return body.events;
  }
}

/** A Splunk HEC receiver: checks `Authorization: Splunk <token>` and parses the concatenated event objects. */
export class HecReceiver extends HttpReceiver {
  /** The HEC envelopes seen (without their event). */
  readonly envelopes: Record<string, unknown>[] = [];

  constructor(private readonly token: string) {
    super();
  }

  protected check(req: Request): unknown[] {
    if (req.headers.authorization !== `Splunk ${this.token}`) throw new Error(`hec: bad authorization ${req.headers.authorization}`);
    const text = req.body.toString('utf8');
    const out: unknown[] = [];
    // Concatenated objects: each starts at a top-level '{'; parse by tracking depth outside strings.
    let depth = 0;
    let start = -1;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{') {
        if (depth++ === 0) start = i;
      } else if (c === '}' && --depth === 0) {
        const o = JSON.parse(text.slice(start, i + 1)) as { event?: unknown; time?: unknown; source?: unknown; sourcetype?: unknown };
        if (typeof o.time !== 'number' || o.source !== 'tlog' || typeof o.sourcetype !== 'string')
          throw new Error(`hec: bad envelope ${text.slice(start, i + 1).slice(0, 200)}`);
        const { event, ...envelope } = o;
        this.envelopes.push(envelope);
        out.push(event);
      } else if (depth === 0 && !/\s/.test(c!)) throw new Error(`hec: stray ${JSON.stringify(c)} between event objects`);
    }
    if (depth !== 0 || out.length === 0) throw new Error('hec: no complete event object');
    return out;
  }
}

/** A TCP syslog receiver: octet-counted RFC 5424 messages, their MSG the event line (after the BOM). */
export class SyslogReceiver extends Receiver {
  /** Every message parsed, in order. */
  readonly messages: SyslogMessage[] = [];
  /** Connections accepted. */
  connections = 0;
  private server: TcpServer | undefined;
  private readonly sockets = new Set<Socket>();
  private paused = false;
  port = 0;

  async start(): Promise<void> {
    const server = createTcpServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.port = (server.address() as { port: number }).port;
  }

  /** Stops reading from every connection (the sender's writes back up), until resume(). */
  pause(): void {
    this.paused = true;
    for (const s of this.sockets) s.pause();
  }

  resume(): void {
    this.paused = false;
    for (const s of this.sockets) s.resume();
  }

  private accept(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    if (this.paused) socket.pause();
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      try {
        const { frames, rest } = splitOctetFrames(buf);
        buf = Buffer.from(rest);
        for (const f of frames) {
          const m = parseSyslog(f);
          this.messages.push(m);
          const param = m.sd.find((e) => e.id === 'tlog@32473')?.params;
          if (!m.bom) this.problems.push('syslog: MSG without BOM');
          const line = JSON.parse(m.msg) as { index?: unknown; leafHash?: unknown };
          if (param?.index !== String(line.index) || param?.leafHash !== line.leafHash)
            this.problems.push(`syslog: SD ${JSON.stringify(param)} disagrees with the line`);
          this.take(line, `syslog message ${this.messages.length}`);
        }
      } catch (err) {
        this.problems.push((err as Error).message);
        socket.destroy();
      }
    });
    // A frame cut off by the sender's crash is dropped with the connection: the sender sends it again.
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
  }
}

/**
 * Whether `got` is `want` delivered at least once in order: it starts at want's first element,
 * each next element is at most one step ahead of the furthest reached (a re-delivery goes back
 * and repeats a suffix; nothing is skipped), and it reaches want's last. Returns what is wrong, or
 * undefined.
 */
export function atLeastOnceInOrder(got: readonly number[], want: readonly number[]): string | undefined {
  const pos = new Map(want.map((x, i) => [x, i]));
  let furthest = -1;
  let prev = -1;
  for (let i = 0; i < got.length; i++) {
    const p = pos.get(got[i]!);
    if (p === undefined) return `got ${got[i]} at ${i}, which is not expected at all`;
    if (p > furthest + 1) return `got ${got[i]} at ${i} before ${want[furthest + 1]} (skipped)`;
    if (p !== prev + 1 && p > prev) return `got ${got[i]} at ${i} after ${got[i - 1]} (out of order)`;
    prev = p;
    furthest = Math.max(furthest, p);
  }
  return furthest === want.length - 1 ? undefined : `missing from ${want[furthest + 1]} on (got ${got.length} events)`;
}
