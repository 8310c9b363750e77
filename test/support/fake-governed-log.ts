/**
 * A fake event log that also has the key administration of the governance API (POST, GET and
 * DELETE /v1/admin/keys), for client and CLI tests that must not depend on the real server. Keys
 * are kept in memory; `apiKey` (FakeLog) guards every request when set.
 */
import { randomBytes } from 'node:crypto';
import { FakeEventLog } from './fake-event-log.js';
import type { FakeAnswer } from './fake-log.js';

/** A key as the fake keeps it. */
export interface FakeApiKey {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly tenant?: string;
  readonly expires_at?: string;
  readonly created_at: string;
  revoked_at?: string;
}

const SCOPES = ['entries:write', 'events:write', 'events:read', 'events:erase', 'sinks:admin', 'keys:admin', 'metrics:read', 'admin'];

/** The fake log with key administration. */
export class FakeGovernedLog extends FakeEventLog {
  /** Keys by id. */
  readonly keys = new Map<string, FakeApiKey>();
  /** Bodies of the POST /v1/admin/keys requests, as sent. */
  readonly created: unknown[] = [];

  /** Starts a fake governed log on a random local port, under `prefix` if given. */
  static override async start(origin?: string, prefix?: string): Promise<FakeGovernedLog> {
    const log = new FakeGovernedLog(origin, prefix);
    await log.listen();
    return log;
  }

  override reset(): void {
    super.reset();
    this.keys.clear();
    this.created.length = 0;
  }

  protected override async handleMore(method: string, u: URL, req: NodeJS.ReadableStream): Promise<FakeAnswer | undefined> {
    const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body), type: 'application/json' });
    if (u.pathname === '/v1/admin/keys' && method === 'POST') {
      const chunks: Uint8Array[] = [];
      for await (const c of req) chunks.push(c as Uint8Array);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      this.created.push(body);
      const scopes = body.scopes as string[];
      if (typeof body.name !== 'string' || !Array.isArray(scopes) || scopes.some((s) => !SCOPES.includes(s))) {
        return json(400, { error: 'scopes: unknown scope' });
      }
      const id = randomBytes(8).toString('hex');
      const key: FakeApiKey = {
        id,
        name: body.name,
        scopes,
        ...(typeof body.tenant === 'string' ? { tenant: body.tenant } : {}),
        ...(typeof body.expires_at === 'string' ? { expires_at: body.expires_at } : {}),
        created_at: '2026-12-01T00:00:00.000Z',
      };
      this.keys.set(id, key);
      return json(201, { key: `tlog_${id}_${randomBytes(32).toString('base64url')}`, ...key });
    }
    if (u.pathname === '/v1/admin/keys' && method === 'GET') return json(200, { keys: [...this.keys.values()] });
    if (u.pathname.startsWith('/v1/admin/keys/') && method === 'DELETE') {
      const key = this.keys.get(u.pathname.slice('/v1/admin/keys/'.length));
      if (key === undefined) return json(404, { error: 'no such key' });
      key.revoked_at = '2026-12-02T00:00:00.000Z';
      return json(200, { id: key.id, revoked_at: key.revoked_at });
    }
    return super.handleMore(method, u, req);
  }
}
