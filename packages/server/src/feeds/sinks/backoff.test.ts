import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from './backoff.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 5000 };

  it('is full jitter: uniform in [0, min(maxMs, initialMs * 2^attempt))', () => {
    expect([0, 1, 2, 3, 5, 6, 100, 5000].map((a) => backoffDelay(a, policy, undefined, () => 0.999999))).toEqual([
      99, 199, 399, 799, 3199, 4999, 4999, 4999,
    ]);
    for (let a = 0; a < 10; a++) expect(backoffDelay(a, policy, undefined, () => 0)).toBe(0);
    expect(backoffDelay(2, policy, undefined, () => 0.5)).toBe(200);
  });

  it("waits at least the receiver's Retry-After, up to maxMs, and never less than its own backoff", () => {
    expect(backoffDelay(0, policy, 2000, () => 0)).toBe(2000);
    expect(backoffDelay(9, policy, 120_000, () => 0)).toBe(5000);
    expect(backoffDelay(3, policy, 0, () => 0.5)).toBe(400);
    expect(backoffDelay(3, policy, 100, () => 0.5)).toBe(400);
  });

  it('refuses a negative or fractional attempt', () => {
    expect(() => backoffDelay(-1, policy)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, policy)).toThrow(RangeError);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    for (const h of [null, undefined, '', '-1', '1.5', 'soon', '12abc']) expect(parseRetryAfter(h, now)).toBeUndefined();
  });
});
