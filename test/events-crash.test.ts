/**
 * Events survive SIGKILL: under event load (single and batched, some retried with their id), the
 * server is killed at random moments and restarted on the same data dir. Afterwards every
 * acknowledged event is there at its acknowledged index with its record, every event entry of
 * the tree has its event (and each event its entry: the commitment matches), ids stay unique, and
 * the indexes answer exactly the events (no index drift).
 */
import { rm } from 'node:fs/promises';
import { type EventReceipt, type EventRecord, eventLeaf, eventMatches, parseEventEntry, parseEventFilter } from '@tlog/events';
import { decodeEntryBundle, formatEntriesPath, fromBase64, openCheckpoint, parseVerifierKey } from '@tlog/merkle';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, tempDataDir } from './support/server.js';

const ROUNDS = 3;
const WRITERS = 8;
const ACTORS = ['ana', 'ben', 'cid', 'dee', 'eli'];
const json = { 'content-type': 'application/json' };
/** The admin key of the data dir (the same across restarts), set once the first server wrote it. */
const key = { authorization: '' };

interface Ack {
  readonly index: number;
  readonly record: EventRecord;
}

let dataDir: string | undefined;
afterAll(async () => {
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

function event(round: number, w: number, i: number, k = 0): Record<string, unknown> {
  return {
    id: `r${round}-w${w}-${i}-${k}`,
    action: ['user.login', 'user.logout', 'role.granted'][(i + k) % 3],
    actor: { type: 'user', id: ACTORS[(w + i + k) % ACTORS.length] },
    targets: [{ type: 'doc', id: `doc-${i % 7}` }],
    outcome: i % 2 === 0 ? 'success' : 'failure',
    occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    metadata: { round, writer: w, i },
  };
}

/** Posts events until the server dies; returns what was acknowledged. */
async function writer(url: string, round: number, w: number, acks: Ack[]): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if (w % 3 === 0) {
        const batch = [0, 1, 2, 3].map((k) => event(round, w, i, k));
        const res = await fetch(`${url}/v1/events/batch?receipts=1`, {
          method: 'POST',
          body: JSON.stringify(batch),
          headers: { ...json, ...key },
        });
        if (res.status !== 200) continue;
        for (const r of ((await res.json()) as { receipts: EventReceipt[] }).receipts) acks.push({ index: r.index, record: r.record });
      } else {
        const res = await fetch(`${url}/v1/events`, {
          method: 'POST',
          body: JSON.stringify(event(round, w, i)),
          headers: { ...json, ...key },
        });
        if (res.status !== 200) continue;
        const r = (await res.json()) as { receipt: EventReceipt };
        acks.push({ index: r.receipt.index, record: r.receipt.record });
      }
    } catch {
      return; // the server is gone
    }
  }
}

describe('events and crashes (SIGKILL at random moments)', () => {
  it(`keeps every acknowledged event, its indexes and its commitment over ${ROUNDS} crashes`, async () => {
    dataDir = await tempDataDir();
    const acks: Ack[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const s = await spawnServer({ dataDir });
      key.authorization = s.auth.authorization;
      const verifier = parseVerifierKey(s.vkey);
      if (round > 0) {
        // Every acknowledged event is there, at its index, with its record.
        for (const a of acks) {
          const res = await fetch(`${s.url}/v1/events/${a.record.id}`, { headers: key });
          expect(res.status, a.record.id).toBe(200);
          const got = (await res.json()) as EventReceipt;
          expect(got.index).toBe(a.index);
          expect(got.record).toEqual(a.record);
        }
        // A retry of an acknowledged event (same id, same content) gets its original index.
        const a = acks[Math.floor(Math.random() * acks.length)]!;
        const { id: _id, received_at: _r, ...content } = a.record;
        const retry = await fetch(`${s.url}/v1/events`, {
          method: 'POST',
          body: JSON.stringify({ ...content, id: a.record.id }),
          headers: { ...json, ...key },
        });
        expect(((await retry.json()) as { index: number }).index).toBe(a.index);
      }
      if (round === ROUNDS) {
        await checkWhole(s.url, verifier);
        expect(await s.stop()).toBe(0);
        break;
      }
      const before = acks.length;
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(s.url, round, w, acks));
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
      await s.kill();
      await Promise.all(writers);
      expect(acks.length, `round ${round} acknowledged something before the crash`).toBeGreaterThan(before);
    }
  });
});

/** The tree's event entries and the stored events match one to one, and each index answers exactly its events. */
async function checkWhole(url: string, verifier: ReturnType<typeof parseVerifierKey>): Promise<void> {
  const cp = openCheckpoint(await (await fetch(`${url}/checkpoint`)).text(), verifier).checkpoint;
  const commitments = new Map<number, string>();
  for (let b = 0; b * 256 < cp.size; b++) {
    const width = Math.min(256, cp.size - b * 256);
    const res = await fetch(`${url}/${formatEntriesPath({ index: b, width })}`);
    decodeEntryBundle(new Uint8Array(await res.arrayBuffer()), width).forEach((e, k) => {
      const c = parseEventEntry(e);
      if (c !== undefined) commitments.set(b * 256 + k, Buffer.from(c).toString('base64'));
    });
  }
  const all = await searchAll(url, '');
  expect(all.map((e) => e.index)).toEqual([...commitments.keys()]);
  const ids = new Set<string>();
  for (const e of all) {
    expect(Buffer.from(eventLeaf(e.record, fromBase64(e.salt)).commitment).toString('base64'), `commitment at ${e.index}`).toBe(
      commitments.get(e.index),
    );
    expect(ids.has(e.record.id), `id ${e.record.id} twice`).toBe(false);
    ids.add(e.record.id);
  }
  const filters: Record<string, string>[] = [
    ...ACTORS.map((a) => ({ actor: a })),
    { action: 'user.*' },
    { outcome: 'failure' },
    { target: 'doc-3' },
  ];
  for (const filter of filters) {
    const want = all.filter((e) => eventMatches(e.record, parseEventFilter(filter))).map((e) => e.index);
    const got = (await searchAll(url, new URLSearchParams(filter).toString())).map((e) => e.index);
    expect(got, JSON.stringify(filter)).toEqual(want);
  }
}

async function searchAll(url: string, query: string): Promise<{ index: number; record: EventRecord; salt: string }[]> {
  const out: { index: number; record: EventRecord; salt: string }[] = [];
  let cursor = '';
  for (;;) {
    const res = await fetch(`${url}/v1/events?limit=1000&${query}${cursor}`, { headers: key });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { events: { index: number; record: EventRecord; salt: string }[]; next?: string };
    out.push(...page.events);
    if (page.next === undefined) return out;
    cursor = `&cursor=${page.next}`;
  }
}
