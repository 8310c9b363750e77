import { Semaphore, type SemaphoreInterface, withTimeout } from 'async-mutex';
import type { Context } from 'hono';

/** The budget's accounting unit: reservations are rounded up to whole 64 KiB. */
const UNIT = 64 * 1024;

/** No room in a {@link ByteBudget} within the wait: the server is busy with large requests (maps to 503). */
export class BusyError extends Error {
  /** @param message what the server is busy with, how long the request waited */
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}

/** Bytes reserved in a {@link ByteBudget}: shrink it to what is really held, release it once. */
export class Reservation {
  constructor(
    private readonly sem: SemaphoreInterface,
    private units: number,
  ) {}

  /** Gives back all but `bytes` (rounded up to the unit) of the reservation. */
  shrink(bytes: number): void {
    const keep = Math.min(this.units, Math.ceil(bytes / UNIT));
    if (keep < this.units) this.sem.release(this.units - keep);
    this.units = keep;
  }

  /** Gives the reservation back; later calls do nothing. */
  release(): void {
    if (this.units > 0) this.sem.release(this.units);
    this.units = 0;
  }
}

/**
 * Bytes that large requests may hold at once: request bodies being received and waiting to be
 * committed, or entry data read from the store and waiting to be sent. A request reserves the
 * most it could need before it starts, may shrink the reservation to what it got, and releases
 * it once done. Requests beyond the budget wait their turn, in order, and get a
 * {@link BusyError} after `waitMs`. Without it, 64 clients fetching different bundles of 64 KiB
 * entries hold 64 x 16 MiB at once, and 16 uploading 16 MiB batches over 700 MB.
 */
export class ByteBudget {
  private readonly sem: SemaphoreInterface;

  /** The budget in bytes (at least one unit). */
  readonly bytes: number;

  /**
   * @param opts `bytes`: the budget; `waitMs`: how long a request waits for room; `busyWith`:
   *   what the BusyError says the server is busy with ("sending large answers")
   */
  constructor(opts: { readonly bytes: number; readonly waitMs: number; readonly busyWith: string }) {
    this.bytes = Math.max(UNIT, opts.bytes);
    const busy = new BusyError(`the server is busy ${opts.busyWith} (waited ${opts.waitMs} ms for room); retry shortly`);
    // Counted in units, not bytes: the semaphore's bookkeeping loops over its value.
    this.sem = withTimeout(new Semaphore(Math.floor(this.bytes / UNIT)), opts.waitMs, busy);
  }

  /** Reserves room for `bytes` (at most the whole budget), waiting for it; throws BusyError after the wait. */
  async reserve(bytes: number): Promise<Reservation> {
    const want = Number.isFinite(bytes) ? bytes : this.bytes;
    const units = Math.min(Math.max(1, Math.ceil(want / UNIT)), Math.floor(this.bytes / UNIT));
    await this.sem.acquire(units);
    return new Reservation(this.sem, units);
  }
}

/**
 * Answers 200 with `data`, keeping `room` reserved for exactly its bytes until the connection
 * has taken them (or the client went away); a HEAD request releases it at once.
 */
export function sendWithin(c: Context, room: Reservation, data: Uint8Array, contentType: string): Response {
  const headers = { 'Content-Type': contentType, 'Content-Length': String(data.length) };
  if (c.req.method === 'HEAD') {
    room.release();
    return c.body(null, 200, headers);
  }
  room.shrink(data.length);
  return c.body(
    releasingBody(data, () => room.release()),
    200,
    headers,
  );
}

/** Size of the pieces {@link releasingBody} hands to the connection. */
const PIECE = 64 * 1024;

/**
 * A response body that hands `data` to the connection in 64 KiB pieces as it takes them (so a
 * slow client holds only this one buffer), and calls `done` once all of it was taken or the
 * client went away.
 */
function releasingBody(data: Uint8Array, done: () => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= data.length) {
          controller.close();
          done();
          return;
        }
        const end = Math.min(offset + PIECE, data.length);
        controller.enqueue(data.subarray(offset, end));
        offset = end;
      },
      cancel() {
        done();
      },
    },
    { highWaterMark: 0 },
  );
}
