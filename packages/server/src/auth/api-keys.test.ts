import { describe, expect, it } from 'vitest';
import { MemoryLogStore } from '../storage/memory-store.js';
import { ApiKeyStore } from './api-keys.js';
import type { Scope } from './principal.js';
import { parseRateLimit, type RateLimit, RateLimiter } from './rate-limit.js';

describe('ApiKeyStore', () => {
  it('checks keys by their hash, and refuses unknown, wrong, revoked and expired ones, with the reason', async () => {
    const store = new MemoryLogStore();
    const clock = { now: Date.UTC(2026, 11, 1) };
    const keys = await ApiKeyStore.open(
      () => store,
      () => clock.now,
    );
    const a = await keys.create({ name: 'reader', scopes: ['events:read'], tenant: 'acme', expiresAt: clock.now + 60_000 });
    const check = keys.check(a.key);
    expect(check).toEqual({ ok: true, principal: { keyId: a.info.id, name: 'reader', scopes: ['events:read'], tenant: 'acme' } });
    const [, id, secret] = /^tlog_([0-9a-f]{16})_(.+)$/.exec(a.key)!;
    const flipped = `tlog_${id}_${secret!.slice(0, -1)}${secret!.endsWith('A') ? 'B' : 'A'}`;
    expect(keys.check(flipped)).toMatchObject({ ok: false, reason: 'invalid', keyId: id });
    expect(keys.check(`tlog_ffffffffffffffff_${secret}`)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(keys.check('Bearer nonsense')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(keys.check(undefined)).toMatchObject({ ok: false, reason: 'missing' });
    clock.now += 60_000;
    expect(keys.check(a.key)).toMatchObject({ ok: false, reason: 'expired' });
    const b = await keys.create({ name: 'writer', scopes: ['events:write'] });
    await keys.revoke(b.info.id);
    expect(keys.check(b.key)).toMatchObject({ ok: false, reason: 'revoked' });
    // Nothing of a secret is stored; everything survives a reopen.
    await keys.flushLastUsed(true);
    const reopened = await ApiKeyStore.open(
      () => store,
      () => clock.now,
    );
    expect(reopened.size).toBe(2);
    expect(reopened.get(a.info.id)?.last_used_at).toBeDefined();
    expect(reopened.check(b.key)).toMatchObject({ ok: false, reason: 'revoked' });
    const cursor = store.extensionCursor({ gte: Uint8Array.of(0x67, 0x6b), lt: Uint8Array.of(0x67, 0x6c) });
    for (let r = await cursor.next(); r !== undefined; r = await cursor.next()) {
      const text = new TextDecoder().decode(r.value);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(b.key.slice(22));
    }
  });
});

describe('RateLimiter', () => {
  it('is a token bucket per key and scope: a burst, then the rate, with the seconds to wait', () => {
    const clock = { now: 0 };
    const limiter = new RateLimiter(new Map<Scope, RateLimit>([['events:read', { rate: 2, burst: 4 }]]), () => clock.now);
    for (let i = 0; i < 4; i++) expect(limiter.take('k1', 'events:read')).toBe(0);
    expect(limiter.take('k1', 'events:read')).toBe(1);
    expect(limiter.take('k2', 'events:read')).toBe(0); // another key has its own bucket
    expect(limiter.take('k1', 'events:write')).toBe(0); // an unlimited scope
    clock.now += 500; // one token back
    expect(limiter.take('k1', 'events:read')).toBe(0);
    expect(limiter.take('k1', 'events:read')).toBe(1);
  });

  it('parses limits and refuses bad ones', () => {
    expect(parseRateLimit('events:read=50/100', ['events:read'])).toEqual({ scope: 'events:read', limit: { rate: 50, burst: 100 } });
    expect(parseRateLimit('events:read=0.5', ['events:read'])).toEqual({ scope: 'events:read', limit: { rate: 0.5, burst: 1 } });
    expect(() => parseRateLimit('events:read', ['events:read'])).toThrow(RangeError);
    expect(() => parseRateLimit('root=5', ['events:read'])).toThrow(/not a scope/);
    expect(() => parseRateLimit('events:read=0', ['events:read'])).toThrow(/more than 0/);
  });
});
