import { defaultHasher, formatCheckpoint, generateEd25519Key, parseSignerKey, signNote } from '@tlog/merkle';
import { describe, expect, it } from 'vitest';
import { ArgumentError, LogClientError, LogFetchError, LogMisbehaviourError, ProtocolError } from './errors.js';
import { LogClient } from './log-client.js';

const key = generateEd25519Key('example.com/unit', new Uint8Array(32).fill(5));
const note = signNote(formatCheckpoint({ origin: 'example.com/unit', size: 0, root: defaultHasher.emptyRoot(), extensions: [] }), [
  parseSignerKey(key.signerKey),
]);

/** A fetch double answering fixed bodies by path. */
function fakeFetch(routes: Record<string, () => Response>) {
  return (input: string) => {
    const path = new URL(input).pathname + new URL(input).search;
    const r = routes[path];
    return r === undefined ? Promise.resolve(new Response('nope', { status: 404 })) : Promise.resolve(r());
  };
}

describe('LogClient', () => {
  it('refuses a bad URL or key at construction', () => {
    expect(() => new LogClient({ url: 'ftp://x', vkey: key.verifierKey })).toThrow(ArgumentError);
    expect(() => new LogClient({ url: 'http://x', vkey: 'nonsense' })).toThrow(ArgumentError);
    expect(() => new LogClient({ url: 'http://x', vkey: key.verifierKey, timeoutMs: -1 })).toThrow(ArgumentError);
    expect(new ArgumentError('x')).toBeInstanceOf(LogClientError);
  });

  it('verifies the checkpoint and trims the key; origin defaults to the key name', async () => {
    const c = new LogClient({
      url: 'http://log.test/prefix/',
      vkey: ` ${key.verifierKey}\n`,
      fetch: fakeFetch({ '/prefix/checkpoint': () => new Response(note) }),
    });
    expect(c.origin).toBe('example.com/unit');
    expect((await c.latestCheckpoint()).checkpoint.size).toBe(0);
  });

  it('reports a tampered checkpoint as bad-signature with the note as evidence', async () => {
    const tampered = note.replace('\n0\n', '\n1\n');
    const c = new LogClient({
      url: 'http://log.test',
      vkey: key.verifierKey,
      fetch: fakeFetch({ '/checkpoint': () => new Response(tampered) }),
    });
    const err = await c.latestCheckpoint().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogMisbehaviourError);
    expect((err as LogMisbehaviourError).kind).toBe('bad-signature');
    expect((err as LogMisbehaviourError).evidence.candidate).toBe(tampered);
  });

  it('reports HTTP errors and unreachable logs as LogFetchError, malformed JSON as ProtocolError', async () => {
    const at = await new LogClient({
      url: 'http://log.test',
      vkey: key.verifierKey,
      fetch: fakeFetch({ '/checkpoint': () => new Response(note) }),
    }).latestCheckpoint();
    const down = new LogClient({ url: 'http://log.test', vkey: key.verifierKey, fetch: () => Promise.reject(new Error('ECONNREFUSED')) });
    const e1 = await down.latestCheckpoint().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(LogFetchError);
    expect((e1 as LogFetchError).status).toBe(0);
    const missing = new LogClient({ url: 'http://log.test', vkey: key.verifierKey, fetch: fakeFetch({}) });
    expect(((await missing.latestCheckpoint().catch((e: unknown) => e)) as LogFetchError).status).toBe(404);
    const garbage = new LogClient({
      url: 'http://log.test',
      vkey: key.verifierKey,
      fetch: () => Promise.resolve(new Response('{"from": "x"}')),
    });
    const big = { ...at, checkpoint: { ...at.checkpoint, size: 5 } };
    await expect(garbage.consistencyProof({ ...big, checkpoint: { ...big.checkpoint, size: 2 } }, big)).rejects.toThrow(ProtocolError);
    const notJson = new LogClient({ url: 'http://log.test', vkey: key.verifierKey, fetch: () => Promise.resolve(new Response('<html>')) });
    await expect(notJson.consistencyProof({ ...big, checkpoint: { ...big.checkpoint, size: 2 } }, big)).rejects.toThrow(ProtocolError);
    await expect(garbage.submit(new Uint8Array(65536))).rejects.toThrow(ArgumentError);
    await expect(garbage.consistencyProof(big, { ...big, checkpoint: { ...big.checkpoint, size: 2 } })).rejects.toThrow(ArgumentError);
  });
});
