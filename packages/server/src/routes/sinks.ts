import { Hono } from 'hono';
import type { AuthEnv, Guard } from '../auth/principal.js';
import type { Sinks } from '../feeds/sinks/sinks.js';
import { echo, httpError, methodNotAllowed } from './errors.js';
import { noQuery, query } from './params.js';

/** What the sink routes work on. */
export interface SinkRouteDeps {
  readonly sinks: Pick<Sinks, 'list' | 'get' | 'resume'>;
  /** Lets a request through only with a key holding the scope (see auth/principal.ts). */
  readonly guard: Guard;
}

/**
 * The sinks' status and control (scope sinks:admin; a tenant-bound key sees only the sinks
 * configured with its tenant, others are 404 to it):
 * - GET /v1/sinks: `{"sinks": [status, ...]}`
 * - GET /v1/sinks/{name}: one status
 * - POST /v1/sinks/{name}/resume: a dead sink goes on from its cursor (a retrying one retries
 *   at once); answers its status. Recorded in the access log (`sinks.resume`) before it is done.
 */
export function sinkRoutes(deps: SinkRouteDeps): Hono<AuthEnv> {
  const { sinks, guard } = deps;
  const app = new Hono<AuthEnv>();
  const admin = guard('sinks:admin');
  const tenantOf = (c: { get(key: 'principal'): AuthEnv['Variables']['principal'] }) => c.get('principal')?.tenant;
  const unknown = (name: string) => httpError(404, `there is no sink named ${echo(name)}; GET /v1/sinks lists them`);

  app.get('/v1/sinks', admin, query(noQuery), (c) => c.json({ sinks: sinks.list(tenantOf(c)) }));
  app.all('/v1/sinks', methodNotAllowed(['GET', 'HEAD']));

  app.get('/v1/sinks/:name', admin, query(noQuery), (c) => {
    const name = c.req.param('name');
    const status = sinks.get(name, tenantOf(c));
    if (status === undefined) throw unknown(name);
    return c.json(status);
  });
  app.all('/v1/sinks/:name', methodNotAllowed(['GET', 'HEAD']));

  app.post('/v1/sinks/:name/resume', admin, query(noQuery), async (c) => {
    const name = c.req.param('name');
    const before = sinks.get(name, tenantOf(c));
    const target = [{ type: 'sink', id: name }];
    if (before === undefined) {
      await c.get('access').record({ action: 'sinks.resume', outcome: 'failure', targets: target, details: { status: 404 } });
      throw unknown(name);
    }
    await c
      .get('access')
      .record({ action: 'sinks.resume', outcome: 'success', targets: target, details: { state: before.state, cursor: before.cursor } });
    return c.json(sinks.resume(name, tenantOf(c))!);
  });
  app.all('/v1/sinks/:name/resume', methodNotAllowed(['POST']));

  return app;
}
