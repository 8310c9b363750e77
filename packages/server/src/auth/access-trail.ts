import { type EventInput, MAX_TARGETS, parseEventInput } from '@tlog/events';
import type { EventLog } from '../events/event-log.js';
import type { AccessEntry, Principal } from './principal.js';

/** The access log could not take an access event: the request it describes is refused (503), and nothing it read is sent. */
export class AccessLogUnavailableError extends Error {
  override readonly name = 'AccessLogUnavailableError';
}

/** Who made a request, and how: what every access event of it carries. */
export interface RequestParty {
  readonly principal: Principal | undefined;
  /** The client's IP address as the socket saw it (no proxy header is trusted). */
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
  readonly method: string;
  /** The route pattern matched (`/v1/events/:ref`), never the raw path. */
  readonly route: string;
}

const MAX_USER_AGENT = 1024;
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** The address as an IP the event schema takes (an IPv4-mapped IPv6 address as its IPv4), or undefined. */
function plainIp(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (IPV4.test(v4)) return v4;
  return ip.includes(':') ? ip : undefined;
}

const MAX_TARGET_ID = 256;

/** `s` without control characters, at most `max` long; '-' when nothing is left (client input goes into records whose fields refuse them). */
function printable(s: string, max: number): string {
  const out = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, max);
  return out === '' ? '-' : out;
}

/** A user agent fit for an event's context, or undefined. */
function cleanUserAgent(ua: string | undefined): string | undefined {
  if (ua === undefined) return undefined;
  const s = printable(ua, MAX_USER_AGENT);
  return s === '-' ? undefined : s;
}

/**
 * Writes access events to the access log: one audit event per access, whose actor is the API
 * key (id and name, never the secret), whose tenant is the key's, and whose context is the
 * client's address and user agent. `append` resolves once the event is durably committed.
 */
export class AccessTrail {
  /** @param log the access log's events */
  constructor(private readonly log: EventLog) {}

  /** The access event of `entry` done by `party` (a request) or by the server itself (`system`: what did it), as an event input. */
  eventOf(entry: AccessEntry, by: RequestParty | { readonly system: string }, now: number): EventInput {
    const common = {
      action: entry.action,
      targets: (entry.targets ?? []).slice(0, MAX_TARGETS).map((t) => ({ type: t.type, id: printable(t.id, MAX_TARGET_ID) })),
      outcome: entry.outcome,
      occurred_at: new Date(now).toISOString(),
    };
    if ('system' in by) return parseEventInput({ ...common, actor: { type: 'system', id: by.system }, metadata: { ...entry.details } });
    const p = by.principal;
    const ip = plainIp(by.ip);
    const ua = cleanUserAgent(by.userAgent);
    return parseEventInput({
      ...common,
      actor: p === undefined ? { type: 'anonymous', id: 'anonymous' } : { type: 'api_key', id: p.keyId, name: p.name },
      ...(p?.tenant !== undefined ? { tenant: p.tenant } : {}),
      context: { ...(ip !== undefined ? { ip } : {}), ...(ua !== undefined ? { user_agent: ua } : {}) },
      metadata: { method: by.method, route: by.route, ...entry.details },
    });
  }

  /** Appends the access event of something the server did by itself (`actor` names what: `retention`), durably. */
  async appendSystem(entry: AccessEntry, actor: string): Promise<void> {
    await this.log.append([this.eventOf(entry, { system: actor }, Date.now())], false);
  }

  /** Appends the access event durably; AccessLogUnavailableError when it cannot be written. */
  async append(entry: AccessEntry, party: RequestParty): Promise<void> {
    try {
      await this.log.append([this.eventOf(entry, party, Date.now())], false);
    } catch (err) {
      throw new AccessLogUnavailableError(
        `the access log cannot record this request (${(err as Error).message}); nothing was read; retry later`,
        { cause: err },
      );
    }
  }
}
