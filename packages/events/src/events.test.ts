import { createHash } from 'node:crypto';
import { fromBase64 } from '@tlog/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalEvent,
  EventFormatError,
  EventTooLargeError,
  eventCommitment,
  eventEntry,
  eventLeaf,
  eventMatches,
  parseEventEntry,
  parseEventFilter,
  parseEventInput,
  parseEventReceipt,
} from './index.js';

const base = {
  action: 'user.login',
  actor: { type: 'user', id: 'u-1', name: 'Ada' },
  occurred_at: '2026-12-01T18:04:05.123+01:00',
};
const record = { ...parseEventInput(base), id: 'ev-1', received_at: '2026-12-01T17:04:06.000Z' };

describe('event schema', () => {
  it('fills in the defaults', () => {
    expect(parseEventInput(base)).toEqual({ ...base, targets: [], outcome: 'unknown', context: {}, metadata: {} });
  });
  it.each([
    [{ ...base, extra: 1 }, '', 'unknown field "extra"'],
    [{ ...base, action: 'Login' }, 'action', 'noun.verb'],
    [{ ...base, action: 'user.' }, 'action', 'noun.verb'],
    [{ ...base, actor: { type: 'user' } }, 'actor.id', 'is required'],
    [{ ...base, actor: { type: 'user', id: 'x', role: 'a' } }, 'actor', 'unknown field "role"'],
    [{ ...base, targets: [{ type: 'doc', id: '' }] }, 'targets[0].id', 'must not be empty'],
    [{ ...base, targets: Array.from({ length: 33 }, (_, i) => ({ type: 't', id: String(i) })) }, 'targets', 'at most 32'],
    [{ ...base, outcome: 'ok' }, 'outcome', 'success, failure or unknown'],
    [{ ...base, occurred_at: '2026-12-01 18:04' }, 'occurred_at', 'RFC 3339'],
    [{ ...base, occurred_at: '2026-12-01T18:04:05' }, 'occurred_at', 'RFC 3339'],
    [{ ...base, context: { ip: '999.1.1.1' } }, 'context.ip', 'IPv4 or IPv6'],
    [{ ...base, id: '12345' }, 'id', 'only digits'],
    [{ ...base, id: 'a b' }, 'id', 'letters, digits'],
    [{ ...base, id: 'a/b' }, 'id', 'URL path'],
    [{ ...base, received_at: '2026-12-01T17:04:06.000Z' }, '', 'unknown field "received_at"'],
    [{ ...base, metadata: { a: [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]] } }, 'metadata', 'nested at most 16'],
  ])('refuses %j at %s', (value, path, message) => {
    let err: unknown;
    try {
      parseEventInput(value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EventFormatError);
    expect((err as EventFormatError).path).toBe(path);
    expect((err as Error).message).toContain(message);
  });
  it('names the position in a batch', () => {
    expect(() => parseEventInput({ ...base, actor: {} }, '[3]')).toThrow('[3].actor');
  });
});

describe('commitment', () => {
  it('is SHA-256 of the domain, a zero byte, the salt and the JCS record, as computed independently', () => {
    const salt = new Uint8Array(32).fill(7);
    // JCS by hand: keys sorted by UTF-16 code units, no whitespace.
    const jcs =
      '{"action":"user.login","actor":{"id":"u-1","name":"Ada","type":"user"},"context":{},"id":"ev-1","metadata":{},' +
      '"occurred_at":"2026-12-01T18:04:05.123+01:00","outcome":"unknown","received_at":"2026-12-01T17:04:06.000Z","targets":[]}';
    expect(new TextDecoder().decode(canonicalEvent(record))).toBe(jcs);
    const want = createHash('sha256')
      .update(Buffer.concat([Buffer.from('tlog-event-v1'), Buffer.of(0), salt, Buffer.from(jcs)]))
      .digest();
    const leaf = eventLeaf(record, salt);
    expect(Buffer.from(leaf.commitment).equals(want)).toBe(true);
    expect(new TextDecoder().decode(leaf.entry)).toBe(`tlog-event-v1 ${want.toString('base64')}\n`);
    expect(leaf.entry.length).toBe(59);
    expect(parseEventEntry(leaf.entry)).toEqual(leaf.commitment);
  });
  it('changes with any change of salt or record', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string({ minLength: 1, maxLength: 20 }), (salt, name) => {
        const a = eventCommitment(salt, canonicalEvent(record));
        const b = eventCommitment(salt, canonicalEvent({ ...record, actor: { ...record.actor, name: `${name}!` } }));
        const other = salt.slice();
        other[0]! ^= 1;
        return Buffer.compare(a, b) !== 0 && Buffer.compare(a, eventCommitment(other, canonicalEvent(record))) !== 0;
      }),
    );
  });
  it('does not take other entries for event entries', () => {
    const good = eventEntry(new Uint8Array(32));
    expect(parseEventEntry(good)).toBeDefined();
    expect(parseEventEntry(good.subarray(1))).toBeUndefined();
    const bad = good.slice();
    bad[58] = 0x20;
    expect(parseEventEntry(bad)).toBeUndefined();
    expect(parseEventEntry(new TextEncoder().encode('tlog-event-v2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'))).toBeUndefined();
  });
  it('refuses a record over 64 KiB and a lone surrogate', () => {
    expect(() => canonicalEvent({ ...record, metadata: { a: 'x'.repeat(65_536) } })).toThrow(EventTooLargeError);
    expect(() => canonicalEvent({ ...record, metadata: { a: '\ud800' } })).toThrow(EventFormatError);
  });
});

describe('filters', () => {
  it('matches each field, prefixes and half-open time ranges', () => {
    const r = { ...record, targets: [{ type: 'doc', id: 'd-1' }], tenant: 'acme', outcome: 'success' as const };
    const yes = (f: Record<string, string>) => eventMatches(r, parseEventFilter(f));
    expect(yes({ actor: 'u-1', action: 'user.*', target: 'd-1', tenant: 'acme', outcome: 'success' })).toBe(true);
    expect(yes({ action: '*' })).toBe(true);
    expect(yes({ action: 'user.log*' })).toBe(true);
    expect(yes({ action: 'user.logout' })).toBe(false);
    expect(yes({ target: 'd-2' })).toBe(false);
    expect(yes({ since: '2026-12-01T17:04:06Z' })).toBe(true);
    expect(yes({ until: '2026-12-01T17:04:06Z' })).toBe(false);
    expect(yes({ occurred_since: '2026-12-01T17:04:05.123Z', occurred_until: '2026-12-01T17:04:05.124Z' })).toBe(true);
  });
  it('refuses unknown parameters and bad values, naming them', () => {
    expect(() => parseEventFilter({ actr: 'x' })).toThrow(/actr: is not a search filter/);
    expect(() => parseEventFilter({ action: 'User.*' })).toThrow(/^action:/);
    expect(() => parseEventFilter({ since: 'yesterday' })).toThrow(/^since:/);
  });
});

describe('receipts', () => {
  it('parses a receipt and names a bad field', () => {
    const r = { record, salt: Buffer.alloc(32).toString('base64'), index: 3, leafHash: 'x', proof: 'p', checkpoint: 'c' };
    expect(parseEventReceipt(r).index).toBe(3);
    expect(() => parseEventReceipt({ ...r, salt: Buffer.alloc(31).toString('base64') })).toThrow(/^salt: is 31 bytes/);
    expect(() => parseEventReceipt({ ...r, record: { ...record, extra: 1 } })).toThrow(/^record: unknown field/);
    expect(() => parseEventReceipt({ ...r, index: -1 })).toThrow(/^index/);
    expect(() => parseEventReceipt({ ...r, record: undefined })).toThrow(/^record: is required/);
    expect(() => parseEventFilter({ tenant: 'a b' })).toThrow(/^tenant:/);
    expect(fromBase64(r.salt).length).toBe(32);
  });
});
