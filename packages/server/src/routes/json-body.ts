import type { MiddlewareHandler } from 'hono';
import { echo, httpError } from './errors.js';

/** What these helpers read of a request. */
interface BodyRequest {
  readonly req: { header(name: string): string | undefined; arrayBuffer(): Promise<ArrayBuffer> };
}

/** The media type of a Content-Type header, lowercase, without parameters. */
export function mediaType(c: { req: { header(name: string): string | undefined } }): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The 415 of a body not labelled with one of `types`; `what` names the body (`the event`). */
function wrongType(c: { req: { header(name: string): string | undefined } }, types: readonly string[], what: string): Error {
  return httpError(415, `send ${what} as ${types.join(' or ')} (got Content-Type ${echo(c.req.header('content-type') ?? 'none')})`);
}

/** Middleware: 415 unless the body is labelled with one of `types`. */
export function requireType(types: readonly string[], what: string): MiddlewareHandler {
  return async (c, next) => {
    if (!types.includes(mediaType(c))) throw wrongType(c, types, what);
    await next();
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text; 400 when it is not UTF-8. */
export async function bodyText(c: { req: { arrayBuffer(): Promise<ArrayBuffer> } }): Promise<string> {
  try {
    return UTF8.decode(await c.req.arrayBuffer());
  } catch (err) {
    if (err instanceof TypeError) throw httpError(400, 'the body is not UTF-8');
    throw err;
  }
}

/** `text` parsed as JSON; 400 naming `where` (`the body `, `line 3 `) when it is not. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw httpError(400, `${where}is not JSON: ${(err as Error).message}`);
  }
}

/**
 * The body as JSON, checked inside a handler (so the refusal can be recorded first): 415 unless
 * labelled application/json, 400 when it is not UTF-8 or not JSON.
 */
export async function jsonBody(c: BodyRequest): Promise<unknown> {
  if (mediaType(c) !== 'application/json') throw wrongType(c, ['application/json'], 'the body');
  return parseJson(await bodyText(c), 'the body ');
}
