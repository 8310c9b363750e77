import { parseRetryAfter } from './backoff.js';
import { DeliveryError } from './transport.js';

/** Most characters of a refusing receiver's answer kept in the sink's lastError. */
const ANSWER_EXCERPT = 200;

/** One POST of a batch. */
export interface HttpPost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array<ArrayBuffer>;
  readonly timeoutMs: number;
  /** Aborts the request (the sink is closing): the promise then rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /** Replaces global fetch (tests). */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** Whether an HTTP status is worth retrying: the receiver was busy, slow or broken, not refusing this batch. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The start of a body, without control characters, for an error message. */
async function excerpt(res: Response, signal: AbortSignal): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < ANSWER_EXCERPT * 4 && !signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.length;
    }
  } catch {
    // A body cut off is still an answer: the status says what happened.
  } finally {
    reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim();
  return text.length > ANSWER_EXCERPT ? `${text.slice(0, ANSWER_EXCERPT)}…` : text;
}

/** The error code of a failed fetch (undici puts the socket's in `cause`). */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * POSTs the body and resolves on a 2xx answer (its body read and dropped). Rejects with a
 * DeliveryError for any other answer (retryable for 408, 429 and 5xx, with the Retry-After asked
 * for; a redirect is not followed and counts as a refusal: fix the URL), for a timeout and for a
 * connection failure (both retryable); with the signal's reason when `signal` aborts.
 */
export async function postBatch(req: HttpPost): Promise<void> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout]);
  let res: Response;
  try {
    res = await (req.fetch ?? fetch)(req.url, { method: 'POST', headers: req.headers, body: req.body, redirect: 'manual', signal });
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    if (timeout.aborted) throw new DeliveryError(`the receiver did not answer within ${req.timeoutMs} ms`, { retryable: true, cause: err });
    throw new DeliveryError(`could not reach the receiver (${networkReason(err)})`, { retryable: true, cause: err });
  }
  const said = await excerpt(res, signal);
  if (req.signal.aborted) throw req.signal.reason;
  if (res.status >= 200 && res.status < 300) return;
  const answer = `the receiver answered ${res.status}${said === '' ? '' : `: ${said}`}`;
  if (retryableStatus(res.status)) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), (req.now ?? Date.now)());
    throw new DeliveryError(answer, { retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
  const hint = res.status >= 300 && res.status < 400 ? ' (sinks do not follow redirects: fix the url)' : '';
  throw new DeliveryError(answer + hint, { retryable: false });
}
