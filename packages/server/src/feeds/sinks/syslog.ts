import { connect, type Socket } from 'node:net';
import { hostname as machineName } from 'node:os';
import { type EventOutcome, timestampMs } from '@tlog/events';
import type { FeedEvent } from '../feed-event.js';
import { type FeedFormat, type FormatContext, formatLine } from '../formats.js';
import type { SyslogSinkConfig } from './sink-config.js';
import { DeliveryError, type SinkTarget, type SinkTransport } from './transport.js';

/**
 * The SD-ID of the structured data element every message carries: `tlog@32473`. 32473 is the
 * private enterprise number RFC 5612 reserves for examples and documentation.
 */
export const SD_ID = 'tlog@32473';
/** Longest MSGID (RFC 5424 section 6.2.7). */
export const MAX_MSGID = 32;
/** The UTF-8 byte order mark that starts an RFC 5424 MSG in UTF-8 (section 6.4). */
const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);
const UTF8 = new TextEncoder();

/** The severity of an event by its outcome: informational, warning for a failure, notice when unknown. */
export const SEVERITY: Readonly<Record<EventOutcome, number>> = { success: 6, failure: 4, unknown: 5 };

/** `s` as an RFC 5424 PRINTUSASCII field of at most `max` characters ('-', the nil value, when nothing is left). */
export function printusascii(s: string, max: number): string {
  const out = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return out === '' ? '-' : out;
}

/** An SD-PARAM value escaped as RFC 5424 section 6.3.3 says: `"`, `\` and `]` get a backslash. */
export function escapeParamValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** The header fields a sink gives every message. */
export interface SyslogFields {
  readonly facility: number;
  readonly hostname: string;
  readonly appName: string;
  /** PROCID: the server's process id. */
  readonly procId: string;
  readonly format: FeedFormat;
}

/**
 * One RFC 5424 message for the event:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [tlog@32473 index="I" leafHash="..." id="..." tenant="..."] BOM<line>`.
 * PRI is facility * 8 + the outcome's severity; TIMESTAMP is occurred_at in UTC with milliseconds;
 * MSGID the action (cut to 32 characters); the MSG the event's line in the sink's format.
 */
export function syslogMessage(e: FeedEvent, fields: SyslogFields, ctx: FormatContext): Uint8Array {
  const r = e.record;
  const pri = fields.facility * 8 + SEVERITY[r.outcome];
  const time = new Date(timestampMs(r.occurred_at)).toISOString();
  const params = [`index="${e.index}"`, `leafHash="${escapeParamValue(e.leafHash)}"`, `id="${escapeParamValue(r.id)}"`];
  if (r.tenant !== undefined) params.push(`tenant="${escapeParamValue(r.tenant)}"`);
  const head = UTF8.encode(
    `<${pri}>1 ${time} ${printusascii(fields.hostname, 255)} ${printusascii(fields.appName, 48)} ${printusascii(fields.procId, 128)} ` +
      `${printusascii(r.action, MAX_MSGID)} [${SD_ID} ${params.join(' ')}] `,
  );
  const line = formatLine(fields.format, e, ctx);
  const out = new Uint8Array(head.length + BOM.length + line.length);
  out.set(head);
  out.set(BOM, head.length);
  out.set(line, head.length + BOM.length);
  return out;
}

/** RFC 6587 octet-counting framing: `<length in bytes> <message>`. */
export function octetFrame(message: Uint8Array): Uint8Array {
  const len = UTF8.encode(`${message.length} `);
  const out = new Uint8Array(len.length + message.length);
  out.set(len);
  out.set(message, len.length);
  return out;
}

/** The frames of a batch, in one buffer (one write). */
export function syslogFrames(events: readonly FeedEvent[], fields: SyslogFields, ctx: FormatContext): Uint8Array {
  return Buffer.concat(events.map((e) => octetFrame(syslogMessage(e, fields, ctx))));
}

/**
 * Delivers to a syslog receiver over TCP, RFC 5424 messages with octet-counting framing, on one
 * connection kept open between batches and made anew after any error.
 *
 * TCP syslog has no application-level acknowledgment: a batch counts as delivered once its bytes
 * were handed to the kernel (the write's callback), which is all a sender can know. Bytes in
 * flight when the receiver crashes, or sent into a connection the receiver closed a moment
 * before, are lost without an error; use a webhook or HEC sink where every event must be
 * acknowledged.
 */
export class SyslogTransport implements SinkTransport {
  readonly target: SinkTarget;
  private readonly fields: SyslogFields;
  private socket: Socket | undefined;

  /** @param config the sink; @param ctx the log's origin */
  constructor(
    private readonly config: SyslogSinkConfig,
    private readonly ctx: FormatContext,
  ) {
    this.target = { address: config.address };
    this.fields = {
      facility: config.facility,
      hostname: config.hostname ?? machineName(),
      appName: config.appName,
      procId: String(process.pid),
      format: config.format,
    };
  }

  async send(events: readonly FeedEvent[], signal: AbortSignal): Promise<void> {
    const frames = syslogFrames(events, this.fields, this.ctx);
    const socket = this.socket ?? (await this.connect(signal));
    await this.write(socket, frames, signal);
  }

  close(): void {
    this.drop();
  }

  /** Forgets the connection and closes it. */
  private drop(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** A new connection, within timeoutMs. */
  private connect(signal: AbortSignal): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.config.host, port: this.config.port });
      // Errors are handled where they matter (the connect below, a write's callback); never let one go unhandled.
      socket.on('error', () => {});
      const timer = setTimeout(
        () => fail(new DeliveryError(`could not connect within ${this.config.timeoutMs} ms`, { retryable: true })),
        this.config.timeoutMs,
      );
      const onAbort = () => fail(signal.reason);
      const settle = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('connect', onConnect);
        socket.off('error', onError);
      };
      const fail = (err: unknown) => {
        settle();
        socket.destroy();
        reject(err);
      };
      const onError = (err: NodeJS.ErrnoException) =>
        fail(new DeliveryError(`could not connect (${err.code ?? err.message})`, { retryable: true, cause: err }));
      const onConnect = () => {
        settle();
        socket.setNoDelay(true);
        socket.setKeepAlive(true);
        // The receiver sends nothing we read; an error or close between batches only drops the connection.
        socket.on('data', () => {});
        socket.on('close', () => {
          if (this.socket === socket) this.socket = undefined;
        });
        socket.on('end', () => {
          if (this.socket === socket) this.drop();
        });
        this.socket = socket;
        resolve(socket);
      };
      if (signal.aborted) return fail(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', onConnect);
      socket.once('error', onError);
    });
  }

  /** Writes the frames; resolves once the kernel took them, within timeoutMs. */
  private write(socket: Socket, frames: Uint8Array, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('close', onClose);
        if (err === undefined) return resolve();
        // What part of the batch arrived is unknown: the connection is dropped and the batch sent again.
        this.drop();
        reject(err);
      };
      const onAbort = () => finish(signal.reason);
      const onClose = () => finish(new DeliveryError('the receiver closed the connection', { retryable: true }));
      const timer = setTimeout(
        () => finish(new DeliveryError(`the receiver did not take the batch within ${this.config.timeoutMs} ms`, { retryable: true })),
        this.config.timeoutMs,
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('close', onClose);
      socket.write(frames, (err) =>
        finish(
          err === undefined || err === null
            ? undefined
            : new DeliveryError(`the connection failed (${(err as NodeJS.ErrnoException).code ?? err.message})`, {
                retryable: true,
                cause: err,
              }),
        ),
      );
    });
  }
}
