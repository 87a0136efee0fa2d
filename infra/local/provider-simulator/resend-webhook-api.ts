/**
 * Resend's webhook endpoints API, as `make providers` (infra/deploy/providers.ts) drives it through the
 * resend SDK: `POST /webhooks` `{endpoint, events}` → `{object, id, signing_secret}`; `GET /webhooks`
 * (`limit` 1–100, default 20; `after` / `before` cursors; newest first) → `{object: 'list', has_more,
 * data}`; `GET /webhooks/{id}` (with its `signing_secret`); `PATCH /webhooks/{id}` `{endpoint?, events?,
 * status?}` → `{object, id}`; `DELETE /webhooks/{id}`. The endpoints are kept, not called: the simulator
 * keeps delivering its webhooks to the receiver, signed with its own `resendWebhookSecret`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { SimApp, SimContext } from './context.js';
import type { ApiRequestRecord } from './records.js';
import { beginResendRequest, pgTimestamp, resendError, type ResendErrorBody } from './resend-model.js';

export interface ResendWebhookEndpoint {
  id: string;
  endpoint: string;
  events: string[];
  status: 'enabled' | 'disabled';
  createdAt: Date;
  signingSecret: string;
}

/** The event type families Resend's webhooks accept (`email.delivered`, `contact.created`, …). */
const EVENT = /^(email|contact|domain|suppression|topic|inbox|automation)\.[a-z_]+(\.[a-z_]+)*$/;

function endpointJson(w: ResendWebhookEndpoint, withSecret: boolean) {
  return {
    object: 'webhook',
    id: w.id,
    endpoint: w.endpoint,
    created_at: pgTimestamp(w.createdAt),
    status: w.status,
    events: [...w.events],
    ...(withSecret ? { signing_secret: w.signingSecret } : {}),
  };
}

/** The problem with an endpoint URL or event list, as Resend's 422 says it; undefined when valid. */
function invalid(
  body: { endpoint?: unknown; events?: unknown; status?: unknown },
  partial: boolean,
): ResendErrorBody | undefined {
  if (!partial || body.endpoint !== undefined) {
    if (typeof body.endpoint !== 'string')
      return resendError(422, 'missing_required_field', 'The `endpoint` field is required.');
    try {
      const u = new URL(body.endpoint);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
    } catch {
      return resendError(422, 'validation_error', 'The `endpoint` field must be a valid URL.');
    }
  }
  if (!partial || body.events !== undefined) {
    if (!Array.isArray(body.events) || body.events.length === 0)
      return resendError(422, 'validation_error', 'The `events` field must be a non-empty array.');
    const bad = body.events.find((e) => typeof e !== 'string' || !EVENT.test(e));
    if (bad !== undefined) return resendError(422, 'validation_error', `Invalid event type: ${String(bad)}.`);
  }
  if (body.status !== undefined && body.status !== 'enabled' && body.status !== 'disabled') {
    return resendError(422, 'validation_error', 'The `status` field must be `enabled` or `disabled`.');
  }
  return undefined;
}

export function registerResendWebhookApi(app: SimApp, ctx: SimContext) {
  const { log } = ctx;
  const endpoints = ctx.resend.webhooks;

  const begin = (c: Context, method: string, body?: unknown) =>
    beginResendRequest(ctx, c, method, body !== undefined ? { body } : {});
  const done = (c: Context, record: ApiRequestRecord, body: unknown, id?: string, status = 200) => {
    record.status = status;
    if (id) record.id = id;
    record.answeredAt = Date.now();
    return c.json(body, status as 200);
  };
  const jsonOf = async (c: Context): Promise<Record<string, unknown> | undefined> => {
    try {
      const v: unknown = JSON.parse(await c.req.text());
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const notFound = () => resendError(404, 'not_found', 'Webhook not found');

  app.post('/webhooks', async (c) => {
    const body = await jsonOf(c);
    const r = begin(c, 'POST', body);
    if (r.denied) return r.denied;
    if (!body) return r.fail(resendError(422, 'validation_error', 'The request body must be a JSON object.'));
    const problem = invalid(body, false);
    if (problem) return r.fail(problem);
    const w: ResendWebhookEndpoint = {
      id: randomUUID(),
      endpoint: String(body.endpoint),
      events: [...new Set(body.events as string[])],
      status: 'enabled',
      createdAt: new Date(),
      signingSecret: `whsec_${randomBytes(24).toString('base64')}`,
    };
    endpoints.set(w.id, w);
    log.info({ api: 'resend', webhook: w.id, events: w.events.length }, 'webhook endpoint created');
    return done(c, r.record, { object: 'webhook', id: w.id, signing_secret: w.signingSecret }, w.id);
  });

  app.get('/webhooks', (c) => {
    const q = new URL(c.req.url).searchParams;
    const r = begin(c, 'GET');
    if (r.denied) return r.denied;
    r.record.query = Object.fromEntries(q);
    const limit = q.has('limit') ? Number(q.get('limit')) : 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return r.fail(resendError(422, 'validation_error', 'The `limit` must be between 1 and 100.'));
    if (q.has('after') && q.has('before'))
      return r.fail(resendError(422, 'validation_error', 'Use either `after` or `before`, not both.'));
    // Newest first; ties (same millisecond) in reverse insertion order.
    const all = [...endpoints.values()].reverse().sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    let start = 0;
    let end = all.length;
    const cursor = q.get('after') ?? q.get('before');
    if (cursor !== null) {
      const i = all.findIndex((w) => w.id === cursor);
      if (i < 0) return r.fail(resendError(422, 'validation_error', 'The cursor is not a webhook of this account.'));
      if (q.has('after')) start = i + 1;
      else end = i;
    }
    const items = q.has('before') ? all.slice(Math.max(start, end - limit), end) : all.slice(start, start + limit);
    const hasMore = q.has('before') ? end - limit > start : start + limit < end;
    r.record.count = items.length;
    return done(c, r.record, { object: 'list', has_more: hasMore, data: items.map((w) => endpointJson(w, false)) });
  });

  app.get('/webhooks/:id', (c) => {
    const r = begin(c, 'GET');
    if (r.denied) return r.denied;
    const w = endpoints.get(c.req.param('id'));
    if (!w) return r.fail(notFound());
    return done(c, r.record, endpointJson(w, true), w.id);
  });

  app.patch('/webhooks/:id', async (c) => {
    const body = await jsonOf(c);
    const r = begin(c, 'PATCH', body);
    if (r.denied) return r.denied;
    const w = endpoints.get(c.req.param('id'));
    if (!w) return r.fail(notFound());
    if (!body) return r.fail(resendError(422, 'validation_error', 'The request body must be a JSON object.'));
    const problem = invalid(body, true);
    if (problem) return r.fail(problem);
    if (body.endpoint !== undefined) w.endpoint = String(body.endpoint);
    if (body.events !== undefined) w.events = [...new Set(body.events as string[])];
    if (body.status !== undefined) w.status = body.status as 'enabled' | 'disabled';
    log.info({ api: 'resend', webhook: w.id }, 'webhook endpoint updated');
    return done(c, r.record, { object: 'webhook', id: w.id }, w.id);
  });

  app.delete('/webhooks/:id', (c) => {
    const r = begin(c, 'DELETE');
    if (r.denied) return r.denied;
    const w = endpoints.get(c.req.param('id'));
    if (!w) return r.fail(notFound());
    endpoints.delete(w.id);
    return done(c, r.record, { object: 'webhook', id: w.id, deleted: true }, w.id);
  });
}
