import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ListenError, serveWitness } from './serve.js';

const fetchApp = () => new Response('ok\n');

describe('serveWitness', () => {
  it('listens on a free port, serves, and closes', async () => {
    const w = await serveWitness({ fetch: fetchApp, port: 0, host: '127.0.0.1' });
    expect(w.url).toBe(`http://127.0.0.1:${w.port}`);
    expect(await (await fetch(`${w.url}/add-checkpoint`)).text()).toBe('ok\n');
    await w.close();
    await expect(fetch(`${w.url}/add-checkpoint`)).rejects.toThrow();
  });

  it('rejects with a ListenError naming a busy port', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address() as AddressInfo;
    try {
      const err = await serveWitness({ fetch: fetchApp, port, host: '127.0.0.1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect(err).toMatchObject({ code: 'EADDRINUSE' });
      expect((err as Error).message).toBe(
        `cannot listen on 127.0.0.1:${port}: port ${port} is already in use; stop what listens there or choose another port`,
      );
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });
});
