import { randomBytes } from 'node:crypto';
import { type EventRecord, timestampMs } from '@tlog/events';
import { Mutex } from 'async-mutex';
import { z } from 'zod';
import { NotFoundError } from '../log.js';
import type { LogStore } from '../storage/store.js';
import { StorageCorruptError } from '../storage/store.js';
import { ErasureRefusedError, EventErasedError, type Tombstone } from './erasure.js';
import type { EventCipher } from './event-cipher.js';
import { EXPIRY_CURSOR_KEY, HOLD_RANGE, holdIdOfKey, holdKey, RETENTION_KEY } from './event-keys.js';
import type { EventLog, StoredEvent } from './event-log.js';

/** Milliseconds in a day: retention is counted in days of 24 hours from received_at. */
export const DAY_MS = 86_400_000;
/** The longest retention a rule may name (about 273 years). */
export const MAX_RETENTION_DAYS = 100_000;

/**
 * A retention rule: events of `tenant` (any when absent) whose action starts with
 * `action_prefix` (any when absent) are kept `days` days after their received_at. An event's
 * retention is the longest among the rules matching it; an event no rule matches is kept forever.
 */
export interface RetentionRule {
  readonly id: string;
  readonly days: number;
  readonly tenant?: string;
  readonly action_prefix?: string;
}

/** Who did something: an API key, by id and name. */
export interface KeyRef {
  readonly key_id: string;
  readonly key_name: string;
}

/**
 * A legal hold: while in force (not lifted), no event matching every selector it has may be
 * erased, by anyone or any rule. `since`/`until` bound occurred_at: [since, until).
 */
export interface LegalHold {
  readonly id: string;
  readonly reason: string;
  readonly tenant?: string;
  readonly actor?: string;
  readonly target?: string;
  readonly since?: string;
  readonly until?: string;
  readonly created_at: string;
  readonly created_by: KeyRef;
  readonly lifted_at?: string;
  readonly lifted_by?: KeyRef;
}

/** A hold as placed: its reason and selectors. */
export type HoldInput = Pick<LegalHold, 'reason' | 'tenant' | 'actor' | 'target' | 'since' | 'until'>;

/** Governance input (a rule, a hold) is invalid; the message names the field. Maps to 400. */
export class GovernanceInputError extends Error {
  override readonly name: string = 'GovernanceInputError';
}

const ruleId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1..64 letters, digits, ".", "_" or "-"');
const tenantText = z.string().min(1).max(128);

/** A retention rule as given (its id is optional: rules without one are numbered r1, r2, ... by position). */
export const retentionRuleInput = z
  .object({
    id: ruleId.optional(),
    days: z.number().int().min(1).max(MAX_RETENTION_DAYS),
    tenant: tenantText.optional(),
    action_prefix: z.string().min(1).max(128).optional(),
  })
  .strict();

/** A retention rule as given. */
export type RetentionRuleInput = z.input<typeof retentionRuleInput>;

const rfc3339 = z.iso.datetime({ offset: true, local: false, message: 'must be an RFC 3339 date-time with a time zone' });

/** A hold as given: a reason and at least one selector. */
export const holdInput = z
  .object({
    reason: z.string().min(1).max(500),
    tenant: tenantText.optional(),
    actor: z.string().min(1).max(256).optional(),
    target: z.string().min(1).max(256).optional(),
    since: rfc3339.optional(),
    until: rfc3339.optional(),
  })
  .strict()
  .superRefine((h, ctx) => {
    if (h.tenant === undefined && h.actor === undefined && h.target === undefined && h.since === undefined && h.until === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a hold needs at least one of tenant, actor, target, since, until' });
    }
    if (h.since !== undefined && h.until !== undefined && timestampMs(h.since) >= timestampMs(h.until)) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be after since' });
    }
  });

/** The first issue of a zod error as `path: message`. */
function issueText(err: z.ZodError, prefix: string): string {
  const issue = err.issues[0]!;
  const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].filter((p) => p !== '').join('.');
  const what = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
  return `${path === '' ? '' : `${path.replace(/\.\[/g, '[')}: `}${what}`;
}

/**
 * Validated rules, with ids (r1, r2, ... by position where none is given). Throws
 * GovernanceInputError for a bad rule, a repeated id, or days below `minDays`.
 */
export function parseRetentionRules(inputs: readonly unknown[], minDays: number, prefix = 'rules'): RetentionRule[] {
  const out: RetentionRule[] = [];
  const ids = new Set<string>();
  inputs.forEach((input, i) => {
    const r = retentionRuleInput.safeParse(input);
    if (!r.success) throw new GovernanceInputError(issueText(r.error, `${prefix}[${i}]`));
    const id = r.data.id ?? `r${i + 1}`;
    if (ids.has(id)) throw new GovernanceInputError(`${prefix}[${i}].id: ${JSON.stringify(id)} is used by another rule`);
    ids.add(id);
    if (r.data.days < minDays) {
      throw new GovernanceInputError(`${prefix}[${i}].days: ${r.data.days} is below the minimum retention of ${minDays} days`);
    }
    out.push({
      id,
      days: r.data.days,
      ...(r.data.tenant === undefined ? {} : { tenant: r.data.tenant }),
      ...(r.data.action_prefix === undefined ? {} : { action_prefix: r.data.action_prefix }),
    });
  });
  return out;
}

/**
 * A rule as written on the command line: comma-separated `name=value` pairs, `days` required,
 * `tenant`, `action` (the action prefix) and `id` optional: `days=365,tenant=acme,action=user.`.
 * Throws GovernanceInputError.
 */
export function parseRetentionSpec(spec: string): RetentionRuleInput {
  const rule: Record<string, unknown> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const field = ({ days: 'days', tenant: 'tenant', action: 'action_prefix', id: 'id' } as Record<string, string>)[name];
    if (field === undefined || value === '') {
      throw new GovernanceInputError(`"${spec}" is not a retention rule: expected days=<n>[,tenant=<t>][,action=<prefix>][,id=<id>]`);
    }
    if (field in rule) throw new GovernanceInputError(`"${spec}" names ${name} twice`);
    rule[field] = field === 'days' ? (/^[0-9]+$/.test(value) ? Number(value) : value) : value;
  }
  const r = retentionRuleInput.safeParse(rule);
  if (!r.success) throw new GovernanceInputError(`"${spec}": ${issueText(r.error, '')}`);
  return r.data;
}

/** Whether `rule` applies to `record`. */
export function ruleMatches(rule: RetentionRule, record: EventRecord): boolean {
  return (
    (rule.tenant === undefined || rule.tenant === record.tenant) &&
    (rule.action_prefix === undefined || record.action.startsWith(rule.action_prefix))
  );
}

/** Whether `hold` (in force or not) covers `record`. */
export function holdMatches(hold: LegalHold, record: EventRecord): boolean {
  if (hold.tenant !== undefined && hold.tenant !== record.tenant) return false;
  if (hold.actor !== undefined && hold.actor !== record.actor.id) return false;
  if (hold.target !== undefined && !record.targets.some((t) => t.id === hold.target)) return false;
  const at = timestampMs(record.occurred_at);
  if (hold.since !== undefined && at < timestampMs(hold.since)) return false;
  if (hold.until !== undefined && at >= timestampMs(hold.until)) return false;
  return true;
}

/** The expiry job's position per rule: the last received key it decided, as [received_ms, index]. */
export type ExpiryCursors = Readonly<Record<string, readonly [number, number]>>;

/** What a Governance works on. */
export interface GovernanceOptions {
  readonly events: EventLog;
  /** Seals holds (they name actors and targets) like event records. */
  readonly cipher: EventCipher;
  /** No event is erased sooner than this many days after its received_at, by anyone (fixed for the process). */
  readonly minRetentionDays: number;
  /** The rules to start with when the store holds none (from the configuration). */
  readonly initialRules: readonly RetentionRuleInput[];
  /** The clock, in ms since the epoch (injectable for tests). */
  readonly now?: () => number;
  /**
   * Where the rules, holds and the expiry job's cursors are kept (default: the events' own store).
   * The server keeps them in the access log's store, beside the API keys, so that damage to the
   * main store's tables is answered 503 where it is read rather than stopping the server at start.
   * Tombstones are always written in the events' store, with the erasure they record.
   */
  readonly stateStore?: () => LogStore;
}

const ENCODE = new TextEncoder();
const DECODE = new TextDecoder('utf-8', { fatal: true });

/**
 * Retention rules, legal holds and erasure on an EventLog. Rules and holds live in a store's
 * extension namespace ('g', see event-keys.ts; the state store) and in memory; every change is one durable write
 * made under one lock, and so is every erasure's decision and write: a hold placed while an
 * erasure is being decided either blocks it or comes after it, never in between.
 */
export class Governance {
  private readonly lock = new Mutex();
  private ruleList: readonly RetentionRule[];
  private readonly holdMap: Map<string, LegalHold>;
  /** Bumped by every change that may make an event the expiry job passed over erasable now. */
  private gen = 0;
  private readonly events: EventLog;
  private readonly cipher: EventCipher;
  private readonly state: () => LogStore;
  /** The clock, in ms since the epoch. */
  readonly now: () => number;
  /** See {@link GovernanceOptions.minRetentionDays}. */
  readonly minRetentionDays: number;

  private constructor(opts: GovernanceOptions, rules: readonly RetentionRule[], holds: Map<string, LegalHold>) {
    this.events = opts.events;
    this.cipher = opts.cipher;
    this.state = opts.stateStore ?? (() => opts.events.currentStore);
    this.now = opts.now ?? Date.now;
    this.minRetentionDays = opts.minRetentionDays;
    this.ruleList = rules;
    this.holdMap = holds;
  }

  /**
   * Reads the stored rules and holds. Until rules are set through {@link Governance.setRules},
   * none are stored and the initial rules (the configuration's) are the rules; once set, the
   * stored ones win. Throws GovernanceInputError for initial rules below the minimum retention.
   */
  static async open(opts: GovernanceOptions): Promise<Governance> {
    if (!Number.isSafeInteger(opts.minRetentionDays) || opts.minRetentionDays < 0) {
      throw new RangeError(`minRetentionDays is an integer >= 0, got ${opts.minRetentionDays}`);
    }
    const store = opts.stateStore?.() ?? opts.events.currentStore;
    const [stored] = await store.readExtensions([RETENTION_KEY]);
    let rules: RetentionRule[];
    if (stored === undefined) rules = parseRetentionRules(opts.initialRules, opts.minRetentionDays, 'retention');
    else {
      try {
        rules = (JSON.parse(DECODE.decode(stored)) as { rules: RetentionRule[] }).rules;
        if (!Array.isArray(rules)) throw new Error('no rules array');
      } catch (err) {
        throw new StorageCorruptError(`storage is corrupt at the retention rules: ${(err as Error).message}`);
      }
    }
    const holds = new Map<string, LegalHold>();
    const c = store.extensionCursor(HOLD_RANGE);
    try {
      for (let r = await c.next(); r !== undefined; r = await c.next()) {
        const id = holdIdOfKey(r.key);
        const plain = opts.cipher.open(r.value, r.key, () => `legal hold ${id}`);
        holds.set(id, JSON.parse(DECODE.decode(plain)) as LegalHold);
      }
    } finally {
      await c.close();
    }
    return new Governance(opts, rules, holds);
  }

  /** The retention rules in force. */
  rules(): readonly RetentionRule[] {
    return this.ruleList;
  }

  /** Every hold, in force or lifted, oldest first. */
  holds(): LegalHold[] {
    return [...this.holdMap.values()].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Changes with every rule change and every hold lifted (see ExpiryJob). */
  get generation(): number {
    return this.gen;
  }

  /** The rule giving `record` its retention: the longest among those matching (the first of equals), or undefined (kept forever). */
  retentionOf(record: EventRecord): RetentionRule | undefined {
    let best: RetentionRule | undefined;
    for (const r of this.ruleList) if (ruleMatches(r, record) && (best === undefined || r.days > best.days)) best = r;
    return best;
  }

  /** The first hold in force covering `record`, or undefined. */
  holdOn(record: EventRecord): LegalHold | undefined {
    for (const h of this.holdMap.values()) if (h.lifted_at === undefined && holdMatches(h, record)) return h;
    return undefined;
  }

  /** The received_at (ms) before which an event is past the minimum retention at `now`. */
  private minRetentionEnd(record: EventRecord): number {
    return timestampMs(record.received_at) + this.minRetentionDays * DAY_MS;
  }

  /** ErasureRefusedError when a hold covers the event or it is inside the minimum retention. */
  private refuseIfProtected(ev: StoredEvent): void {
    const hold = this.holdOn(ev.record);
    if (hold !== undefined) {
      throw new ErasureRefusedError(
        `event ${ev.index} is under legal hold ${hold.id} (${hold.reason}); it cannot be erased until the hold is lifted`,
      );
    }
    const end = this.minRetentionEnd(ev.record);
    if (this.minRetentionDays > 0 && end > this.now()) {
      throw new ErasureRefusedError(
        `event ${ev.index} is inside the minimum retention of ${this.minRetentionDays} days; it cannot be erased before ${new Date(end).toISOString()}`,
      );
    }
  }

  /**
   * Replaces the retention rules (validated: see {@link parseRetentionRules}) and resets the
   * expiry job's cursors, in one write. `before` runs with the valid rules just before the write
   * (recording the intent); its throw cancels the change. Returns the rules stored.
   */
  async setRules(
    inputs: readonly unknown[],
    before?: (rules: readonly RetentionRule[]) => Promise<void>,
  ): Promise<readonly RetentionRule[]> {
    const rules = parseRetentionRules(inputs, this.minRetentionDays);
    return this.lock.runExclusive(async () => {
      await before?.(rules);
      await this.state().updateExtensions([{ key: RETENTION_KEY, value: ENCODE.encode(JSON.stringify({ rules })) }], [EXPIRY_CURSOR_KEY]);
      this.ruleList = rules;
      this.gen++;
      return rules;
    });
  }

  /**
   * Places a hold (validated: see {@link holdInput}); GovernanceInputError when it is invalid.
   * `before` runs with the hold just before it is written; its throw cancels it.
   */
  async placeHold(input: unknown, by: KeyRef, before?: (hold: LegalHold) => Promise<void>): Promise<LegalHold> {
    const r = holdInput.safeParse(input);
    if (!r.success) throw new GovernanceInputError(issueText(r.error, ''));
    const h = r.data;
    return this.lock.runExclusive(async () => {
      const hold: LegalHold = {
        id: `hold_${randomBytes(8).toString('hex')}`,
        reason: h.reason,
        ...(h.tenant === undefined ? {} : { tenant: h.tenant }),
        ...(h.actor === undefined ? {} : { actor: h.actor }),
        ...(h.target === undefined ? {} : { target: h.target }),
        ...(h.since === undefined ? {} : { since: h.since }),
        ...(h.until === undefined ? {} : { until: h.until }),
        created_at: new Date(this.now()).toISOString(),
        created_by: { key_id: by.key_id, key_name: by.key_name },
      };
      await before?.(hold);
      await this.writeHold(hold, false);
      return hold;
    });
  }

  /**
   * Lifts a hold (a lifted hold stays listed, with when and by whom). Lifting one already lifted
   * changes nothing and answers it as it is. NotFoundError for an unknown id. `before` runs with
   * the hold just before the write (also for one already lifted); its throw cancels it.
   */
  async liftHold(id: string, by: KeyRef, before?: (hold: LegalHold) => Promise<void>): Promise<LegalHold> {
    return this.lock.runExclusive(async () => {
      const hold = this.holdMap.get(id);
      if (hold === undefined) throw new NotFoundError(`there is no legal hold ${JSON.stringify(id)}`);
      await before?.(hold);
      if (hold.lifted_at !== undefined) return hold;
      const lifted: LegalHold = {
        ...hold,
        lifted_at: new Date(this.now()).toISOString(),
        lifted_by: { key_id: by.key_id, key_name: by.key_name },
      };
      await this.writeHold(lifted, true);
      this.gen++;
      return lifted;
    });
  }

  /** Stores a hold (sealed, bound to its key) and, when `resetCursors`, drops the expiry cursors in the same write. */
  private async writeHold(hold: LegalHold, resetCursors: boolean): Promise<void> {
    const key = holdKey(hold.id);
    const value = this.cipher.seal(ENCODE.encode(JSON.stringify(hold)), key);
    await this.state().updateExtensions([{ key, value }], resetCursors ? [EXPIRY_CURSOR_KEY] : []);
    this.holdMap.set(hold.id, hold);
  }

  /**
   * Erases one event on request (see EventLog.erase). `tenant` (a tenant-bound key's) limits it
   * to that tenant's events: any other is NotFoundError, as if absent. Refuses with
   * ErasureRefusedError under a hold or inside the minimum retention; EventErasedError when it
   * was already erased. `beforeErase` runs once the erasure is allowed, just before the write
   * (recording the intent); its throw cancels the erasure.
   */
  async erase(
    ref: { readonly index: number } | { readonly id: string; readonly tenant?: string },
    opts: {
      readonly reason: string;
      readonly by: KeyRef;
      readonly tenant?: string;
      readonly beforeErase?: (index: number) => Promise<void>;
    },
  ): Promise<{ index: number; leafHash: string; tombstone: Tombstone }> {
    const tenant = opts.tenant;
    const what = 'index' in ref ? `at index ${ref.index}` : `with id ${JSON.stringify(ref.id)}`;
    const absent = () =>
      new NotFoundError(`there is no event ${what}${tenant === undefined ? '' : ` in tenant ${JSON.stringify(tenant)}`}`);
    return this.lock.runExclusive(async () => {
      const index = 'index' in ref ? ref.index : await this.events.findId(ref.id, ref.tenant);
      if (index === undefined) throw absent();
      const tombstone: Tombstone = {
        erased_at: new Date(this.now()).toISOString(),
        reason: opts.reason,
        by: { key_id: opts.by.key_id, key_name: opts.by.key_name },
      };
      try {
        return await this.events.erase(index, tombstone, {
          check: async (ev) => {
            if (tenant !== undefined && ev.record.tenant !== tenant) throw absent();
            this.refuseIfProtected(ev);
            await opts.beforeErase?.(index);
          },
        });
      } catch (err) {
        if (err instanceof EventErasedError && tenant !== undefined && !err.inTenant(tenant)) throw absent();
        if (err instanceof NotFoundError && tenant !== undefined) throw absent();
        throw err;
      }
    });
  }

  /**
   * Erases the event at `index` for `rule`, if the rule still gives it its retention, that
   * retention (and the minimum) has passed, and no hold covers it; otherwise (or when it is gone)
   * changes nothing and answers undefined. `beforeErase` runs once the erasure is decided, just
   * before its write (to record it first); when it throws, nothing is erased and the error is
   * thrown. Leaves compaction to the caller (EventLog.compactErased).
   */
  async expire(
    index: number,
    rule: RetentionRule,
    beforeErase?: (index: number, tombstone: Tombstone) => Promise<void>,
  ): Promise<{ index: number; leafHash: string; tombstone: Tombstone } | undefined> {
    return this.lock.runExclusive(async () => {
      const now = this.now();
      const tombstone: Tombstone = {
        erased_at: new Date(now).toISOString(),
        reason: `retention: kept ${rule.days} days (rule ${rule.id})`,
        by: { rule },
      };
      let skip = false;
      try {
        return await this.events.erase(index, tombstone, {
          compact: false,
          check: (ev) => {
            const r = this.retentionOf(ev.record);
            const received = timestampMs(ev.record.received_at);
            if (
              r?.id !== rule.id ||
              received + Math.max(r.days, this.minRetentionDays) * DAY_MS > now ||
              this.holdOn(ev.record) !== undefined
            ) {
              skip = true;
              throw new ErasureRefusedError(`event ${index} is not expired under rule ${rule.id}`);
            }
            return beforeErase?.(index, tombstone);
          },
        });
      } catch (err) {
        if (skip || err instanceof EventErasedError || err instanceof NotFoundError) return undefined;
        throw err;
      }
    });
  }

  /** The expiry job's cursors (none stored: {}). */
  async readCursors(): Promise<ExpiryCursors> {
    const [v] = await this.state().readExtensions([EXPIRY_CURSOR_KEY]);
    if (v === undefined) return {};
    try {
      return JSON.parse(DECODE.decode(v)) as ExpiryCursors;
    } catch (err) {
      throw new StorageCorruptError(`storage is corrupt at the expiry cursors: ${(err as Error).message}`);
    }
  }

  /**
   * Stores the expiry job's cursors, unless the rules or holds changed since `generation` (then
   * the cursors describe decisions that may no longer hold): answers whether they were stored.
   */
  async saveCursors(cursors: ExpiryCursors, generation: number): Promise<boolean> {
    return this.lock.runExclusive(async () => {
      if (generation !== this.gen) return false;
      await this.state().updateExtensions([{ key: EXPIRY_CURSOR_KEY, value: ENCODE.encode(JSON.stringify(cursors)) }], []);
      return true;
    });
  }
}
