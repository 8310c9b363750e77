import { type Context, Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { AuthEnv, Guard } from '../auth/principal.js';
import type { Log } from '../log.js';
import { methodNotAllowed } from './errors.js';

/**
 * One readiness check: resolves when the part it checks can serve, throws (with a message saying
 * what is wrong) when it cannot. Runs on every GET /readyz, so it must be cheap.
 */
export interface ReadinessProbe {
  /** The key of its result in the answer's `checks` (e.g. "store", "sequencer", "access_log"). */
  readonly name: string;
  check(): Promise<void> | void;
}

/** What the operations routes serve. */
export interface OperationsOptions {
  /** What GET /metrics exposes. */
  readonly registry: Registry;
  /** What GET /readyz runs, all at once. */
  readonly probes: readonly ReadinessProbe[];
  /** Lets GET /metrics through only with a key holding metrics:read (unless `metricsPublic`). */
  readonly guard: Guard;
  /** Whether GET /metrics is served without a key (--metrics-public). */
  readonly metricsPublic: boolean;
  /** How long a probe may take before it counts as failed; default {@link PROBE_TIMEOUT_MS}. */
  readonly probeTimeoutMs?: number;
}

/** How long a readiness probe may take before it counts as failed. */
export const PROBE_TIMEOUT_MS = 2000;

const READ_METHODS = ['GET', 'HEAD'] as const;

/** `probe` run to completion or for `ms`: undefined when it passed, else what is wrong. */
async function runProbe(probe: ReadinessProbe, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not answer within ${ms} ms`), ms);
  });
  try {
    const passed = (async () => {
      await probe.check();
      return undefined;
    })();
    return await Promise.race([passed, timeout]);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The routes an operator's tooling calls:
 * - `GET /healthz`: 200 `{"status":"ok"}` whenever the process answers at all (liveness).
 * - `GET /readyz`: 200 `{"status":"ready","checks":{name:"ok",...}}` when every probe passes, else
 *   503 `{"error","checks":{name:"ok" | what is wrong}}` (readiness: take it out of the load balancer).
 * - `GET /metrics`: the Prometheus text exposition; needs metrics:read unless `metricsPublic`.
 * None is cached.
 */
export function operationsRoutes(opts: OperationsOptions): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const timeoutMs = opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
  app.get('/healthz', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json({ status: 'ok' });
  });
  app.all('/healthz', methodNotAllowed(READ_METHODS));
  app.get('/readyz', async (c) => {
    c.header('Cache-Control', 'no-store');
    const results = await Promise.all(opts.probes.map((p) => runProbe(p, timeoutMs)));
    const checks: Record<string, string> = {};
    const failed: string[] = [];
    opts.probes.forEach((p, i) => {
      const r = results[i];
      checks[p.name] = r ?? 'ok';
      if (r !== undefined) failed.push(`${p.name}: ${r}`);
    });
    if (failed.length > 0) {
      c.header('Retry-After', '1');
      return c.json({ error: `not ready: ${failed.join('; ')}`, checks }, 503);
    }
    return c.json({ status: 'ready', checks });
  });
  app.all('/readyz', methodNotAllowed(READ_METHODS));
  const expose = async (c: Context<AuthEnv>) => {
    const text = await opts.registry.metrics();
    c.header('Content-Type', opts.registry.contentType);
    c.header('Cache-Control', 'no-store');
    return c.body(text);
  };
  if (opts.metricsPublic) app.get('/metrics', (c) => expose(c));
  else app.get('/metrics', opts.guard('metrics:read'), (c) => expose(c));
  app.all('/metrics', methodNotAllowed(READ_METHODS));
  return app;
}

/** Ready while `log`'s store answers a read (it is open and its disk is there). */
export function storeProbe(name: string, log: Log): ReadinessProbe {
  return {
    name,
    async check() {
      await log.currentStore.readState();
    },
  };
}

/** Ready while `log` accepts entries (not recovering from a storage failure, not stopped, not closing). */
export function writableProbe(name: string, log: Log): ReadinessProbe {
  return {
    name,
    check() {
      if (!log.writable) {
        throw new Error('the log does not accept entries now (recovering from a storage failure, stopped or shutting down)');
      }
    },
  };
}
