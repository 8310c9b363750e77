import type { MiddlewareHandler } from 'hono';

/**
 * What an API key may do. `admin` is every scope. A key bound to a tenant writes and reads only
 * that tenant's events, whatever its scopes.
 */
export const SCOPES = [
  'entries:write',
  'events:write',
  'events:read',
  'events:erase',
  'sinks:admin',
  'keys:admin',
  'metrics:read',
  'admin',
] as const;

/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[number];

/** Who a request comes from: the API key it presented (never its secret). */
export interface Principal {
  /** The key's id (the `<id>` of `tlog_<id>_<secret>`). */
  readonly keyId: string;
  /** The name given to the key when it was created. */
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** The tenant the key is bound to: it sees and writes only this tenant's events. */
  readonly tenant?: string;
}

/** Whether `p` holds `scope` (`admin` holds every scope). */
export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.includes('admin') || p.scopes.includes(scope);
}

/** One access event, as a route describes it; the recorder adds who, from where, and when. */
export interface AccessEntry {
  /** What was done, dotted (`events.search`, `events.get`, `keys.create`, `events.erase`, `auth.denied`...). */
  readonly action: string;
  readonly outcome: 'success' | 'failure';
  /** What it was done to (`{type: 'event', id: '12'}`, `{type: 'api_key', id}`...). */
  readonly targets?: readonly { readonly type: string; readonly id: string }[];
  /** Filters, result counts, reasons, the HTTP status: JSON values only, never a secret. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Appends access events to the access log. `record` resolves once the event is durably in the
 * access log; it throws an error that answers 503 when the access log cannot be written, and the
 * route must then send nothing of what it read.
 */
export interface AccessRecorder {
  record(entry: AccessEntry): Promise<void>;
}

/** The Hono variables the auth middleware sets on every request it lets through. */
export interface AuthEnv {
  Variables: {
    /** The caller; undefined on a public route reached without a key. */
    principal: Principal | undefined;
    /** Records this request's access events (bound to its principal, client IP and user agent). */
    access: AccessRecorder;
  };
}

/** Middleware that lets a request through only with a key holding `scope`: 401 without a valid key, 403 without the scope. */
export type Guard = (scope: Scope) => MiddlewareHandler<AuthEnv>;
