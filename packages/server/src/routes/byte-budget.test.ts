import { describe, expect, it } from 'vitest';
import { BusyError, ByteBudget } from './byte-budget.js';

const MiB = 1024 * 1024;

describe('ByteBudget', () => {
  it('admits reservations up to the budget, in order, and gives shrunk and released room back', async () => {
    const budget = new ByteBudget({ bytes: 4 * MiB, waitMs: 60_000, busyWith: 'testing' });
    const a = await budget.reserve(3 * MiB);
    const admitted: string[] = [];
    const admit = (name: string, bytes: number) =>
      budget.reserve(bytes).then((r) => {
        admitted.push(name);
        return r;
      });
    const b = admit('b', 2 * MiB);
    const c = admit('c', 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(admitted).toEqual([]); // b waits for room; c waits behind b
    a.shrink(1 * MiB);
    const rb = await b;
    const rc = await c;
    expect(admitted).toEqual(['b', 'c']);
    a.release();
    a.release(); // a second release gives nothing back twice
    rb.release();
    rc.release();
    // The whole budget is free again (and a reservation is capped at it).
    (await budget.reserve(100 * MiB)).release();
    (await budget.reserve(4 * MiB)).release();
  });

  it('gives up with BusyError after the wait', async () => {
    const budget = new ByteBudget({ bytes: MiB, waitMs: 20, busyWith: 'testing' });
    const held = await budget.reserve(MiB);
    await expect(budget.reserve(MiB)).rejects.toThrow(new BusyError('the server is busy testing (waited 20 ms for room); retry shortly'));
    held.release();
    (await budget.reserve(MiB)).release();
  });
});
