/** The search filter flags the event commands share (search, export, tail). */
import type { EventFilter } from '@tlog/client';
import type { Command } from 'commander';

/** The search filter flags, as commander gives them. */
export interface FilterOptions {
  actor?: string;
  action?: string;
  target?: string;
  tenant?: string;
  outcome?: string;
  since?: string;
  until?: string;
  occurredSince?: string;
  occurredUntil?: string;
}

/** Adds the search filter flags (--actor, --action, ... --occurred-until) to a command. */
export function withFilterOptions(cmd: Command): Command {
  return cmd
    .option('--actor <id>', "the actor's id")
    .option('--action <action>', 'an action, or a prefix ending in * (user.*)')
    .option('--target <id>', 'the id of any of the targets')
    .option('--tenant <tenant>', 'the tenant')
    .option('--outcome <outcome>', 'success, failure or unknown')
    .option('--since <time>', 'received at or after (RFC 3339)')
    .option('--until <time>', 'received before (RFC 3339)')
    .option('--occurred-since <time>', 'occurred at or after (RFC 3339)')
    .option('--occurred-until <time>', 'occurred before (RFC 3339)');
}

/** The filter the flags give; checked field by field by the SDK (an unknown outcome or a bad time is named there). */
export function filterOf(opts: FilterOptions): EventFilter {
  const filter: Record<string, string | undefined> = {
    actor: opts.actor,
    action: opts.action,
    target: opts.target,
    tenant: opts.tenant,
    outcome: opts.outcome,
    since: opts.since,
    until: opts.until,
    occurred_since: opts.occurredSince,
    occurred_until: opts.occurredUntil,
  };
  return filter as EventFilter;
}
