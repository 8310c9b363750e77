/** API keys in tests: the bootstrap admin key of an in-process server, and an app that sends it. */
import { readFile } from 'node:fs/promises';
import type { LogServer } from '@tlog/server';

/** The bootstrap admin key a server wrote on its first start. */
export async function adminKeyOf(s: LogServer): Promise<string> {
  return (await readFile(s.adminKeyPath, 'utf8')).trim();
}

/** `app.request` sending `Authorization: Bearer <key>` unless the request sets its own. */
export function requestWithKey(app: LogServer['app'], key: string): LogServer['app']['request'] {
  return (input, init, ...rest) => {
    const headers = new Headers(init?.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
    return app.request(input, { ...init, headers }, ...rest);
  };
}

/** The server with its app's `request` sending the admin key by default. */
export async function withAdminKey(s: LogServer): Promise<LogServer> {
  const request = requestWithKey(s.app, await adminKeyOf(s));
  return { ...s, app: Object.assign(Object.create(s.app) as LogServer['app'], { request }) };
}
