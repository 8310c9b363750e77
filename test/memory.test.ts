/**
 * Memory bounds: the real server, run as `pnpm start` runs it (V8's old space capped at
 * 192 MB), answers the largest requests the documented limits allow, and a 64-connection load,
 * while its peak resident set size (VmHWM) stays under 300 MB. The limits come from /v1/log.
 * Writes and reads each get a fresh server, so each figure is what that side costs.
 */
import { rm } from 'node:fs/promises';
import { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_SIZE, parseVerifierKey, verifyTlogProof } from '@tlog/merkle';
import { afterEach, describe, expect, it } from 'vitest';
import { peakRss, type SpawnedServer, START_NODE_ARGS, spawnServer } from './support/server.js';

const RSS_LIMIT = 300e6;
const octet = { 'content-type': 'application/octet-stream' };

interface Limits {
  maxBatchBytes: number;
  maxBatchEntries: number;
  maxReceiptEntries: number;
  maxPageEntries: number;
  maxPageBytes: number;
}

const servers: SpawnedServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    expect(await s.stop()).toBe(0);
    await rm(s.dataDir, { recursive: true, force: true });
  }
});

/** A server as `pnpm start` runs it, its limits, and a recorder of its peak RSS after each step. */
async function start(): Promise<{ s: SpawnedServer; limits: Limits; note(what: string): Promise<void>; figures: string[] }> {
  const s = await spawnServer({ nodeArgs: START_NODE_ARGS });
  servers.push(s);
  const limits = (await (await fetch(`${s.url}/v1/log`)).json()) as Limits;
  const figures: string[] = [];
  const note = async (what: string) => {
    figures.push(`${what}: peak RSS ${((await peakRss(s.child.pid!)) / 1e6).toFixed(0)} MB`);
  };
  return { s, limits, note, figures };
}

/** Distinct entries of `size` bytes: a tag and a counter, then filler. */
function entries(count: number, size: number, tag: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const e = new Uint8Array(size).fill(0x61);
    const v = new DataView(e.buffer);
    v.setUint32(0, tag);
    v.setFloat64(4, i);
    return e;
  });
}

async function postBatch(s: SpawnedServer, body: Uint8Array, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${s.url}/v1/entries/batch${query}`, { method: 'POST', body: body as BodyInit, headers: octet });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Reads a response body to the end without keeping it (64 bundles at once would be 1 GiB here). */
async function drain(res: Response): Promise<number> {
  const reader = res.body!.getReader();
  let n = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) n += r.value.length;
  return n;
}

async function finish(s: SpawnedServer, figures: string[]): Promise<void> {
  expect((await fetch(`${s.url}/checkpoint`)).status).toBe(200);
  expect(s.child.exitCode).toBeNull();
  console.log(`memory (RSS limit ${RSS_LIMIT / 1e6} MB):\n  ${figures.join('\n  ')}`);
  expect(await peakRss(s.child.pid!)).toBeLessThan(RSS_LIMIT);
}

describe('memory per request (real process, --max-old-space-size=192)', () => {
  it('takes the largest batches under 300 MB RSS and refuses larger ones before decoding them', async () => {
    const { s, limits, note, figures } = await start();
    await note('started');

    // The largest body: as many 64 KiB entries as --max-batch-bytes holds.
    const most = Math.floor(limits.maxBatchBytes / (2 + MAX_ENTRY_SIZE));
    const largest = await postBatch(s, encodeEntryBundle(entries(most, MAX_ENTRY_SIZE, 1)));
    expect(largest.status).toBe(200);
    expect(largest.body.count).toBe(most);
    await note(`largest body (${most} x 64 KiB)`);

    // The largest batch of tiny entries; one more is refused, as is a body of --max-batch-bytes
    // empty entries (millions of them), both before the body is decoded.
    const tiny = await postBatch(s, encodeEntryBundle(entries(limits.maxBatchEntries, 12, 2)));
    expect(tiny.status).toBe(200);
    expect(tiny.body.count).toBe(limits.maxBatchEntries);
    await note(`largest batch (${limits.maxBatchEntries} x 12 B)`);
    const over = await postBatch(s, encodeEntryBundle(entries(limits.maxBatchEntries + 1, 12, 3)));
    expect(over.status).toBe(413);
    expect(over.body.error).toMatch(new RegExp(`more than ${limits.maxBatchEntries} entries`));
    const empties = await postBatch(s, new Uint8Array(limits.maxBatchBytes));
    expect(empties.status).toBe(413);
    await note('refused batches');

    // The largest batch with receipts; one more is refused.
    const wanted = entries(limits.maxReceiptEntries, 12, 4);
    const withReceipts = await postBatch(s, encodeEntryBundle(wanted), '?receipts=1');
    expect(withReceipts.status).toBe(200);
    const receipts = withReceipts.body.receipts as string[];
    expect(receipts).toHaveLength(limits.maxReceiptEntries);
    for (const i of [0, receipts.length >> 1, receipts.length - 1]) {
      verifyTlogProof(receipts[i]!, wanted[i]!, { log: parseVerifierKey(s.vkey) });
    }
    await note(`largest receipts batch (${limits.maxReceiptEntries})`);
    const overReceipts = await postBatch(s, encodeEntryBundle(entries(limits.maxReceiptEntries + 1, 12, 5)), '?receipts=1');
    expect(overReceipts.status).toBe(413);
    expect(overReceipts.body.error).toMatch(/receipts=1/);

    await finish(s, figures);
  }, 300_000);

  it('serves the largest pages and bundles, and a 64-connection load, under 300 MB RSS', async () => {
    const { s, limits, note, figures } = await start();
    expect(limits).toMatchObject({ maxPageEntries: 1000, maxPageBytes: 1 << 20 });
    await note('started');
    // Bundles 0 and 1: 512 entries of 64 KiB, sent 8 per request.
    for (let i = 0; i < 64; i++) expect((await postBatch(s, encodeEntryBundle(entries(8, MAX_ENTRY_SIZE, 100 + i)))).status).toBe(200);
    await note('512 entries of 64 KiB written');

    // The largest page of 64 KiB entries is cut by bytes, not count; also across a bundle boundary.
    const fit = Math.floor(limits.maxPageBytes / MAX_ENTRY_SIZE);
    for (const start of [0, 250]) {
      const page = (await (await fetch(`${s.url}/v1/entries?start=${start}&end=${start + 1000}`)).json()) as {
        end: number;
        entries: string[];
      };
      expect(page.end).toBe(start + fit);
      expect(page.entries).toHaveLength(fit);
      expect(Buffer.from(page.entries[0]!, 'base64').length).toBe(MAX_ENTRY_SIZE);
    }
    await note(`largest entries page (${fit} x 64 KiB)`);

    // A full bundle of 64 KiB entries.
    const bundle = await fetch(`${s.url}/tile/entries/000`);
    expect(bundle.status).toBe(200);
    const entriesOf = decodeEntryBundle(new Uint8Array(await bundle.arrayBuffer()), 256);
    expect(entriesOf.every((e) => e.length === MAX_ENTRY_SIZE)).toBe(true);
    await note('full entry bundle (256 x 64 KiB)');

    // 64 connections at once, each: a write, a page and a bundle of 64 KiB entries, a proof.
    const worker = async (w: number) => {
      const one = await fetch(`${s.url}/v1/entries`, { method: 'POST', body: `load ${w} ${'x'.repeat(180)}`, headers: octet });
      expect(one.status).toBe(200);
      await one.arrayBuffer();
      const page = await fetch(`${s.url}/v1/entries?start=${250 - w}`);
      expect(page.status).toBe(200);
      await drain(page);
      const full = await fetch(`${s.url}/tile/entries/00${w % 2}`);
      expect(full.status).toBe(200);
      expect(await drain(full)).toBe(256 * (2 + MAX_ENTRY_SIZE));
      const proof = await fetch(`${s.url}/v1/proof/inclusion?index=${w * 7}`);
      expect(proof.status).toBe(200);
      await proof.arrayBuffer();
    };
    await Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)));
    await note('64-connection load');

    await finish(s, figures);
  }, 300_000);

  it('takes the largest event batch with receipts, and 64 searches of 64 KiB records at once, under 300 MB RSS', async () => {
    const { s, limits, note, figures } = await start();
    await note('started');
    const json = { 'content-type': 'application/json', ...s.auth };
    // The largest event batch: 1,000 events filling --max-batch-bytes, with receipts.
    const pad = Math.floor(limits.maxBatchBytes / 1000) - 300;
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      action: 'doc.read',
      actor: { type: 'user', id: `u${i % 10}` },
      occurred_at: '2026-12-01T00:00:00Z',
      metadata: { i, pad: 'm'.repeat(pad) },
    }));
    const body = JSON.stringify(batch);
    expect(body.length).toBeLessThanOrEqual(limits.maxBatchBytes);
    const big = await fetch(`${s.url}/v1/events/batch?receipts=1`, { method: 'POST', body, headers: json });
    expect(big.status).toBe(200);
    expect(((await big.json()) as { receipts: unknown[] }).receipts).toHaveLength(1000);
    await note(`largest event batch (1,000 x ${(body.length / 1000).toFixed(0)} B, receipts)`);
    // Eight of them at once (the byte budget for bodies lets four in at a time).
    const eight = await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const other = JSON.stringify(batch.map((e) => ({ ...e, actor: { type: 'user', id: `w${k}` } })));
        const res = await fetch(`${s.url}/v1/events/batch?receipts=1`, { method: 'POST', body: other, headers: json });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(eight).toEqual(Array(8).fill(200));
    await note('8 largest event batches at once');
    // 64 connections each posting a single event of the largest body (a 64 KiB record, escaped).
    const singles = await Promise.all(
      Array.from({ length: 64 }, async (_, k) => {
        // Each é written as a 6-byte escape: a body near 128 KiB for a 42 KB record.
        const one = JSON.stringify({
          action: 'doc.read',
          actor: { type: 'user', id: `s${k}` },
          occurred_at: '2026-12-01T00:00:00Z',
          metadata: { pad: '\u00e9'.repeat(21_000) },
        }).replaceAll('\u00e9', '\\u00e9');
        expect(one.length).toBeGreaterThan(125_000);
        const res = await fetch(`${s.url}/v1/events`, { method: 'POST', body: one, headers: json });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(singles).toEqual(Array(64).fill(200));
    await note('64 largest single events at once');
    // 64 events of 64 KiB canonical records, then 64 searches asking for 1,000 of them with proofs.
    for (let i = 0; i < 64; i += 4) {
      const four = Array.from({ length: 4 }, (_, k) => ({
        action: 'doc.write',
        actor: { type: 'user', id: 'big' },
        occurred_at: '2026-12-01T00:00:00Z',
        metadata: { i: i + k, pad: 'b'.repeat(65_200) },
      }));
      expect((await fetch(`${s.url}/v1/events/batch`, { method: 'POST', body: JSON.stringify(four), headers: json })).status).toBe(200);
    }
    await note('64 events of 64 KiB written');
    const search = async () => {
      const res = await fetch(`${s.url}/v1/events?actor=big&limit=1000&proofs=1`, { headers: s.auth });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { events: unknown[]; next?: string };
      expect(page.events.length).toBeGreaterThan(0);
      expect(page.events.length).toBeLessThan(64); // cut by bytes
      expect(page.next).toBeDefined();
    };
    await Promise.all(Array.from({ length: 64 }, () => search()));
    await note('64 searches of 64 KiB records at once');
    await finish(s, figures);
  }, 300_000);
});
