import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AccessEntry, AuthEnv, Guard } from '../auth/principal.js';
import type { Governance, KeyRef } from '../events/governance.js';
import { NotFoundError } from '../log.js';
import { sizeLimit } from './body-limit.js';
import { echo, httpError, methodNotAllowed, refusalStatus } from './errors.js';
import { jsonBody } from './json-body.js';
import { eventRef, query } from './params.js';

/** Largest body of PUT /v1/admin/retention and POST /v1/admin/holds. */
export const GOVERNANCE_BODY_MAX = 64 * 1024;
/** Most retention rules. */
export const MAX_RULES = 100;

/** What the governance routes work on. */
export interface GovernanceRouteDeps {
  readonly governance: Governance;
  /** Lets a request through only with a key holding the scope (see auth/principal.ts). */
  readonly guard: Guard;
  /** Told of each event erased on request (metrics). */
  readonly onErased?: () => void;
}

const eraseQuery = z.object({
  tenant: z.string().min(1).max(128).optional(),
  reason: z.string().optional(),
});
const holdParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

type Ctx = Context<AuthEnv>;

/** The caller's key: the guard lets no request through without one. */
function callerOf(c: Ctx): KeyRef {
  const p = c.get('principal');
  if (p === undefined) throw httpError(401, 'this endpoint needs an API key: send Authorization: Bearer <key>');
  return { key_id: p.keyId, key_name: p.name };
}

/**
 * Runs a governance action that records its access event itself (through `intent`, just before
 * its write, once it is allowed). A refusal (4xx) before that is recorded as a failure, with
 * its status and message, and then answered. An error after the intent was recorded (the store
 * failing) is answered as it is: the access log then holds the intent of an action that did not
 * happen, and the answer (503) tells the caller to retry.
 */
async function audited<T>(
  c: Ctx,
  failure: Omit<AccessEntry, 'outcome'>,
  run: (intent: (entry: Omit<AccessEntry, 'outcome'>) => Promise<void>) => Promise<T>,
): Promise<T> {
  const access = c.get('access');
  let recorded = false;
  try {
    return await run(async (entry) => {
      recorded = true;
      await access.record({ ...entry, outcome: 'success' });
    });
  } catch (err) {
    const status = refusalStatus(err);
    if (!recorded && status !== undefined) {
      await access.record({ ...failure, outcome: 'failure', details: { ...failure.details, status, error: (err as Error).message } });
    }
    throw err;
  }
}

/**
 * Retention, legal holds and erasure (see docs/events.md#erasure):
 * - DELETE /v1/events/{index or id}?reason=&tenant= (scope events:erase)
 * - GET, PUT /v1/admin/retention (scope admin)
 * - GET, POST /v1/admin/holds and DELETE /v1/admin/holds/{id} (scope admin)
 *
 * Each erasure, retention change and hold placed or lifted is recorded in the access log before
 * it is answered (refusals too, as failures).
 */
export function governanceRoutes(deps: GovernanceRouteDeps): Hono<AuthEnv> {
  const { governance, guard } = deps;
  const app = new Hono<AuthEnv>();

  app.delete('/v1/events/:ref', guard('events:erase'), query(eraseQuery), async (c) => {
    const by = callerOf(c);
    const ref = c.req.param('ref');
    const q = c.req.valid('query');
    const bound = c.get('principal')?.tenant;
    const failure = {
      action: 'events.erase',
      targets: [{ type: 'event', id: ref }],
      details: { ...(q.reason === undefined ? {} : { reason: q.reason }), ...(q.tenant === undefined ? {} : { tenant: q.tenant }) },
    };
    const erased = await audited(c, failure, async (intent) => {
      if (q.reason === undefined || q.reason === '' || q.reason.length > 500) {
        throw httpError(400, 'bad parameter "reason": say why the event is erased (1..500 characters), e.g. ?reason=GDPR%20request%2042');
      }
      let target = eventRef(ref, q.tenant);
      if (!('index' in target)) {
        // A tenant-bound key looks ids up in its own tenant only.
        if (bound !== undefined && q.tenant !== undefined && q.tenant !== bound) {
          throw new NotFoundError(`there is no event with id ${JSON.stringify(ref)} in tenant ${JSON.stringify(q.tenant)}`);
        }
        const tenant = bound ?? q.tenant;
        target = { id: ref, ...(tenant === undefined ? {} : { tenant }) };
      }
      return governance.erase(target, {
        reason: q.reason,
        by,
        ...(bound === undefined ? {} : { tenant: bound }),
        beforeErase: (i) => intent({ action: 'events.erase', targets: [{ type: 'event', id: String(i) }], details: { reason: q.reason } }),
      });
    });
    deps.onErased?.();
    return c.json(erased);
  });

  app.get('/v1/admin/retention', guard('admin'), (c) =>
    c.json({ min_retention_days: governance.minRetentionDays, rules: governance.rules() }),
  );

  app.put('/v1/admin/retention', guard('admin'), sizeLimit(GOVERNANCE_BODY_MAX, 'the body'), async (c) => {
    callerOf(c);
    const rules = await audited(c, { action: 'retention.update' }, async (intent) => {
      const body = await jsonBody(c);
      const given = (body as { rules?: unknown } | null)?.rules;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray(given) || Object.keys(body).length !== 1) {
        throw httpError(400, 'the body must be {"rules": [{"days": n, "tenant"?: ..., "action_prefix"?: ..., "id"?: ...}, ...]}');
      }
      if (given.length > MAX_RULES) throw httpError(400, `rules: at most ${MAX_RULES} rules, got ${given.length}`);
      return governance.setRules(given, (stored) => intent({ action: 'retention.update', details: { rules: stored } }));
    });
    return c.json({ min_retention_days: governance.minRetentionDays, rules });
  });

  app.all('/v1/admin/retention', methodNotAllowed(['GET', 'PUT']));

  app.get('/v1/admin/holds', guard('admin'), (c) => c.json({ holds: governance.holds() }));

  app.post('/v1/admin/holds', guard('admin'), sizeLimit(GOVERNANCE_BODY_MAX, 'the body'), async (c) => {
    const by = callerOf(c);
    const hold = await audited(c, { action: 'hold.place' }, async (intent) =>
      governance.placeHold(await jsonBody(c), by, (h) => {
        const { created_at: _at, created_by: _by, id, ...details } = h;
        return intent({ action: 'hold.place', targets: [{ type: 'legal_hold', id }], details });
      }),
    );
    return c.json(hold, 201);
  });

  app.all('/v1/admin/holds', methodNotAllowed(['GET', 'POST']));

  app.delete('/v1/admin/holds/:id', guard('admin'), async (c) => {
    const by = callerOf(c);
    const id = c.req.param('id');
    const lifted = await audited(c, { action: 'hold.lift', targets: [{ type: 'legal_hold', id }] }, async (intent) => {
      if (!holdParam.safeParse(id).success) throw new NotFoundError(`there is no legal hold ${echo(id)}`);
      return governance.liftHold(id, by, (h) =>
        intent({ action: 'hold.lift', targets: [{ type: 'legal_hold', id: h.id }], details: { reason: h.reason } }),
      );
    });
    return c.json({ id: lifted.id, lifted_at: lifted.lifted_at });
  });

  app.all('/v1/admin/holds/:id', methodNotAllowed(['DELETE']));

  return app;
}
