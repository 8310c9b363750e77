import { readFile } from 'node:fs/promises';
import type { EventOutcome, EventReceipt, NewEvent, VerifiedEvent } from '@tlog/client';
import { verifyEventReceipt } from '@tlog/client';
import { createNodeHasher } from '@tlog/client/node';
import { PUBLIC_FILE_MODE, writeFileAtomic } from '@tlog/files';
import { toBase64 } from '@tlog/merkle';
import type { Command } from 'commander';
import { errorMessage, UsageError } from '../failure.js';
import type { LogOptions } from '../options.js';
import {
  clientFor,
  collect,
  type ReceiptCheckOptions,
  readVerifierKeyArgument,
  withLogOptions,
  withReceiptCheckOptions,
} from '../options.js';

interface AddOptions extends LogOptions {
  action?: string;
  actor?: string;
  actorName?: string;
  target: string[];
  outcome?: string;
  tenant?: string;
  meta: string[];
  occurredAt?: string;
  id?: string;
  json?: string;
  out?: string;
}

/** The flags that describe an event, which --json replaces. */
const EVENT_FLAGS = ['action', 'actor', 'actorName', 'outcome', 'tenant', 'occurredAt', 'id'] as const;

/** `type:id` (the id may itself hold colons) as an event party; a UsageError naming the flag otherwise. */
function party(value: string, flag: string): { type: string; id: string } {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1)
    throw new UsageError(`${flag} must be <type>:<id>, e.g. user:alice, got ${JSON.stringify(value)}`);
  return { type: value.slice(0, colon), id: value.slice(colon + 1) };
}

/** Reads a JSON file, or standard input for `-`; a UsageError if it cannot be read or is not JSON. */
async function readJsonArgument(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the ${what} ${path === '-' ? 'from standard input' : path}: ${errorMessage(e)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`the ${what} ${path === '-' ? 'on standard input' : path} is not JSON: ${errorMessage(e)}`);
  }
}

/** The event `tlog event add` describes: the --json document, or one made of the flags (validated by the SDK). */
async function eventFromOptions(opts: AddOptions): Promise<NewEvent> {
  if (opts.json !== undefined) {
    const mixed = [
      ...EVENT_FLAGS.filter((f) => opts[f] !== undefined),
      ...(opts.target.length > 0 ? ['target'] : []),
      ...(opts.meta.length > 0 ? ['meta'] : []),
    ];
    if (mixed.length > 0) {
      throw new UsageError(
        `--json gives the whole event; do not combine it with ${mixed.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
      );
    }
    // Checked field by field by the SDK before it is sent.
    return (await readJsonArgument(opts.json, 'event')) as NewEvent;
  }
  if (opts.action === undefined || opts.actor === undefined)
    throw new UsageError('give --action and --actor (or the whole event with --json FILE)');
  const metadata: Record<string, string> = {};
  for (const m of opts.meta) {
    const eq = m.indexOf('=');
    if (eq <= 0) throw new UsageError(`--meta must be <key>=<value>, got ${JSON.stringify(m)}`);
    const key = m.slice(0, eq);
    if (Object.hasOwn(metadata, key)) throw new UsageError(`--meta ${key} is given twice`);
    metadata[key] = m.slice(eq + 1);
  }
  const actor = party(opts.actor, '--actor');
  return {
    action: opts.action,
    actor: opts.actorName === undefined ? actor : { ...actor, name: opts.actorName },
    targets: opts.target.map((t) => party(t, '--target')),
    ...(opts.outcome === undefined ? {} : { outcome: opts.outcome as EventOutcome }),
    occurred_at: opts.occurredAt ?? new Date().toISOString(),
    ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }),
    metadata,
    ...(opts.id === undefined ? {} : { id: opts.id }),
  };
}

/** Writes an event receipt as JSON. */
async function writeReceipt(path: string, receipt: EventReceipt): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(receipt, null, 2) + '\n', { mode: PUBLIC_FILE_MODE });
}

/** One line naming a verified event. */
function summary(ev: VerifiedEvent): string {
  const r = ev.record;
  return `event ${ev.index} id ${r.id} (${r.action} by ${r.actor.type}:${r.actor.id}, ${r.outcome}) is in ${ev.checkpoint.checkpoint.origin} at size ${ev.checkpoint.checkpoint.size}`;
}

/** Registers `event add`, `event get`, `event erase` and `event verify`. */
export function registerEventCommands(program: Command): void {
  const event = program.command('event').description('log, read and verify audit events');

  withLogOptions(event.command('add').description('log one audit event, verify its receipt and write it to --out'))
    .option('--action <action>', 'what was done, noun.verb (user.login, role.granted)')
    .option('--actor <type:id>', 'who did it, e.g. user:alice')
    .option('--actor-name <name>', "the actor's display name")
    .option('--target <type:id>', 'what it was done to (repeatable)', collect, [])
    .option('--outcome <outcome>', 'success, failure or unknown (default unknown)')
    .option('--tenant <tenant>', 'the organization the event belongs to')
    .option('--meta <key=value>', 'a metadata field, as a string (repeatable)', collect, [])
    .option('--occurred-at <time>', 'when it happened, RFC 3339 with a time zone (default: now)')
    .option('--id <id>', 'idempotency key: resending the same event with it logs it once (default: the log makes one)')
    .option('--json <file>', 'the whole event as a JSON document (- for standard input) instead of the flags above')
    .option('--out <path>', 'where to write the event receipt (default: event-<index>.json)')
    .action(async (opts: AddOptions) => {
      const ev = await clientFor(opts).appendEvent(await eventFromOptions(opts));
      const out = opts.out ?? `event-${ev.index}.json`;
      await writeReceipt(out, ev.receipt);
      process.stdout.write(`${summary(ev)}; receipt written to ${out}\n`);
    });

  withLogOptions(
    event
      .command('get <id-or-index>')
      .description('fetch one event by id or index and verify it; print its record, or write its receipt to --out'),
  )
    .option('--tenant <tenant>', 'the tenant an id belongs to (ids are unique per tenant)')
    .option('--out <path>', 'write the event receipt here instead of printing the record')
    .action(async (idOrIndex: string, opts: LogOptions & { tenant?: string; out?: string }) => {
      const ev = await clientFor(opts).getEvent(idOrIndex, opts.tenant === undefined ? {} : { tenant: opts.tenant });
      if (opts.out === undefined) {
        process.stdout.write(JSON.stringify(ev.record, null, 2) + '\n');
        return;
      }
      await writeReceipt(opts.out, ev.receipt);
      process.stdout.write(`${summary(ev)}; receipt written to ${opts.out}\n`);
    });

  withLogOptions(
    event
      .command('erase <id-or-index>')
      .description(
        "erase an event's record (needs the events:erase scope); its entry and a tombstone stay, and the answer is checked against the signed tree",
      ),
  )
    .requiredOption('--reason <text>', 'why (1..500 characters), kept in the tombstone and the access log')
    .option('--tenant <tenant>', 'the tenant an id belongs to (ids are unique per tenant)')
    .option('--json', 'print {index, leafHash, tombstone, treeSize} as JSON')
    .action(async (idOrIndex: string, opts: LogOptions & { reason: string; tenant?: string; json?: boolean }) => {
      const client = clientFor(opts);
      const r = await client.eraseEvent(idOrIndex, opts.reason, opts.tenant === undefined ? {} : { tenant: opts.tenant });
      const size = r.checkpoint.checkpoint.size;
      if (opts.json) {
        process.stdout.write(
          JSON.stringify({ index: r.index, leafHash: toBase64(r.leafHash), tombstone: r.tombstone, treeSize: size }) + '\n',
        );
        return;
      }
      process.stdout.write(
        `erased event ${r.index} at ${r.tombstone.erased_at}; its entry (leaf hash ${toBase64(r.leafHash)}) stays in ${client.origin}, checked in the tree of size ${size}\n`,
      );
    });

  withReceiptCheckOptions(
    event
      .command('verify <receipt>')
      .description('offline: check an event receipt (commitment, signatures and inclusion proof); no network'),
  ).action(async (path: string, opts: ReceiptCheckOptions) => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read the event receipt ${path}: ${errorMessage(e)}`);
    }
    const r = verifyEventReceipt(
      text,
      opts.vkey.map((k) => readVerifierKeyArgument(k, '--vkey')),
      {
        witnesses: opts.witness.map((k) => readVerifierKeyArgument(k, '--witness')),
        ...(opts.quorum === undefined ? {} : { quorum: opts.quorum }),
        ...(opts.origin === undefined ? {} : { origin: opts.origin }),
        hasher: createNodeHasher(),
      },
    );
    const rec = r.record;
    if (opts.json) {
      process.stdout.write(
        JSON.stringify({
          ok: true,
          index: r.index,
          id: rec.id,
          leafHash: toBase64(r.leafHash),
          origin: r.checkpoint.origin,
          treeSize: r.checkpoint.size,
          root: toBase64(r.checkpoint.root),
          record: rec,
        }) + '\n',
      );
    } else {
      process.stdout.write(
        `OK: event ${rec.id} (${rec.action} by ${rec.actor.type}:${rec.actor.id}) is entry ${r.index} of ${r.checkpoint.origin} at size ${r.checkpoint.size} (root ${toBase64(r.checkpoint.root)})\n`,
      );
    }
  });
}
