import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiKeyStore } from '../auth/api-keys.js';
import { type AuthEnv, type Guard, SCOPES } from '../auth/principal.js';
import { sizeLimit } from './body-limit.js';
import { httpError, methodNotAllowed } from './errors.js';
import { bodyText, parseJson } from './json-body.js';
import { noQuery, query } from './params.js';

/** Largest key-creation body. */
const KEY_BODY_MAX = 4096;
const TOKEN = /^[\x21-\x7e]+$/;

const newKeySchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .refine((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s), 'must not contain control characters'),
  scopes: z
    .array(z.enum(SCOPES, { message: `must be one of ${SCOPES.join(', ')}` }))
    .min(1, 'must name at least one scope')
    .max(SCOPES.length)
    .refine((s) => new Set(s).size === s.length, 'must not repeat a scope'),
  tenant: z.string().min(1).max(128).regex(TOKEN, 'must be visible ASCII characters without spaces').optional(),
  expires_at: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time with a time zone' }).optional(),
});

const idParam = /^[0-9a-f]{16}$/;

/**
 * Key management (scope keys:admin): POST /v1/admin/keys creates a key and shows its secret
 * once, GET lists keys (never a secret or hash), DELETE /v1/admin/keys/{id} revokes one at once.
 * Each is an access event, recorded before the answer.
 */
export function adminKeyRoutes(keys: ApiKeyStore, guard: Guard, now: () => number = Date.now): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const admin = guard('keys:admin');

  app.post('/v1/admin/keys', admin, query(noQuery), sizeLimit(KEY_BODY_MAX, 'a key request'), async (c) => {
    const body = parseJson(await bodyText(c), 'the body ');
    const parsed = newKeySchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw httpError(400, `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
    }
    const spec = parsed.data;
    const expiresAt = spec.expires_at === undefined ? undefined : Date.parse(spec.expires_at);
    if (expiresAt !== undefined && expiresAt <= now()) throw httpError(400, 'expires_at: must be in the future');
    const caller = c.get('principal');
    // A key bound to a tenant can only make keys of its own tenant.
    if (caller?.tenant !== undefined && spec.tenant !== caller.tenant) {
      throw httpError(403, `this API key is bound to a tenant and can only create keys for the tenant ${JSON.stringify(caller.tenant)}`);
    }
    // Recorded before the key exists: a key is never made without its access event.
    const made = await keys.create({ name: spec.name, scopes: spec.scopes, tenant: spec.tenant, expiresAt }, (id) =>
      c.get('access').record({
        action: 'keys.create',
        outcome: 'success',
        targets: [{ type: 'api_key', id }],
        details: { name: spec.name, scopes: spec.scopes, ...(spec.tenant !== undefined ? { key_tenant: spec.tenant } : {}) },
      }),
    );
    return c.json({ key: made.key, ...made.info }, 201);
  });

  app.get('/v1/admin/keys', admin, query(noQuery), async (c) => {
    const caller = c.get('principal');
    const list = keys.list().filter((k) => caller?.tenant === undefined || k.tenant === caller.tenant);
    await c.get('access').record({ action: 'keys.list', outcome: 'success', details: { results: list.length } });
    return c.json({ keys: list });
  });
  app.all('/v1/admin/keys', methodNotAllowed(['GET', 'HEAD', 'POST']));

  app.delete('/v1/admin/keys/:id', admin, query(noQuery), async (c) => {
    const id = c.req.param('id');
    const caller = c.get('principal');
    const known = idParam.test(id) ? keys.get(id) : undefined;
    const visible = known !== undefined && (caller?.tenant === undefined || known.tenant === caller.tenant);
    if (!visible) {
      await c
        .get('access')
        .record({ action: 'keys.revoke', outcome: 'failure', targets: [{ type: 'api_key', id }], details: { status: 404 } });
      throw httpError(404, 'there is no API key with this id');
    }
    await c.get('access').record({ action: 'keys.revoke', outcome: 'success', targets: [{ type: 'api_key', id }] });
    const revoked = await keys.revoke(id);
    return c.json({ id, revoked_at: revoked!.revoked_at });
  });
  app.all('/v1/admin/keys/:id', methodNotAllowed(['DELETE']));
  return app;
}
