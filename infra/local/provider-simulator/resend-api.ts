/**
 * Resend emails API routes: `POST /emails` (with Idempotency-Key replays, faults and hangs) and
 * `GET /emails/{id}`; the store is ctx.resend.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IdempotencyEntry, SimApp, SimContext } from './context.js';
import { answer } from './faults.js';
import { referenceIn } from './message-text.js';
import {
  RESEND_ERROR_NAMES,
  asList,
  beginResendRequest,
  emailJson,
  resendAuth,
  resendError,
  validateEmail,
  type Email,
} from './resend-model.js';
import { runEmail } from './scripts.js';

/** Idempotency keys are honoured this long. */
const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export function registerResendApi(app: SimApp, ctx: SimContext) {
  const { opts, log } = ctx;
  const { idempotency, emails } = ctx.resend;

  app.post('/emails', async (c) => {
    const key = c.req.header('idempotency-key');
    const { record, fail, denied } = beginResendRequest(
      ctx,
      c,
      'POST',
      key !== undefined ? { idempotencyKey: key } : {},
    );
    if (denied) return denied;
    const raw = await c.req.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return fail(resendError(422, 'validation_error', 'The request body must be a JSON object.'));
    }
    record.body = body;
    const tags: Record<string, string> = {};
    if (Array.isArray(body.tags))
      for (const t of body.tags as { name?: unknown; value?: unknown }[])
        if (typeof t?.name === 'string') tags[t.name] = typeof t.value === 'string' ? t.value : '';
    const recipient = asList(body.to)?.[0];
    if (recipient) record.recipient = recipient;
    if (tags.dispatch_id) record.dispatchId = tags.dispatch_id;
    const reference = referenceIn(
      typeof body.text === 'string' ? body.text : null,
      typeof body.html === 'string' ? body.html : null,
      typeof body.subject === 'string' ? body.subject : null,
      tags.page_ref ? `Ref ${tags.page_ref}` : null,
    );
    if (reference) record.reference = reference;
    if (key !== undefined && (key.length < 1 || key.length > 256))
      return fail(resendError(400, 'invalid_idempotency_key', 'The key must be between 1-256 chars.'));
    const hash = createHash('sha256').update(raw).digest('hex');
    if (key !== undefined) {
      const prev = idempotency.get(key);
      if (prev && Date.now() - prev.at < IDEMPOTENCY_WINDOW_MS) {
        if (prev.hash !== hash)
          return fail(
            resendError(
              409,
              'invalid_idempotent_request',
              'Same idempotency key used with a different request payload.',
            ),
          );
        if (!prev.answered) {
          return fail(
            resendError(
              409,
              'concurrent_idempotent_requests',
              'Same idempotency key used while original request is still in progress.',
            ),
          );
        }
        record.status = 200;
        record.id = prev.id;
        record.replayed = true;
        record.answeredAt = Date.now();
        log.info({ api: 'resend', emailId: prev.id }, 'idempotent replay');
        return c.json({ id: prev.id });
      }
    }
    const invalid = validateEmail(body);
    if (invalid) return fail(invalid);
    const plan = ctx.faults.planFor(recipient!, key ?? hash);
    if (plan.fault) record.fault = plan.fault;
    let entry: IdempotencyEntry | undefined;
    if (plan.create) {
      const e: Email = {
        id: randomUUID(),
        from: String(body.from),
        to: asList(body.to)!,
        subject: String(body.subject),
        html: typeof body.html === 'string' ? body.html : undefined,
        text: typeof body.text === 'string' ? body.text : undefined,
        cc: asList(body.cc),
        bcc: asList(body.bcc),
        replyTo: asList(body.reply_to),
        tags,
        createdAt: new Date(),
        lastEvent: 'queued',
      };
      emails.set(e.id, e);
      if (key !== undefined) {
        entry = { hash, id: e.id, at: Date.now(), answered: false };
        idempotency.set(key, entry);
      }
      record.status = 200;
      record.id = e.id;
      log.info({ api: 'resend', emailId: e.id, fault: plan.fault }, 'email accepted');
      ctx.life.spawn(`resend ${e.id}`, () => runEmail(ctx, e));
    }
    try {
      if (plan.errorStatus) {
        const st = plan.errorStatus;
        const err = resendError(st, RESEND_ERROR_NAMES[st] ?? 'application_error', 'Simulated error');
        return await answer(ctx, c, record, plan, () => fail(err));
      }
      return await answer(ctx, c, record, plan, () => c.json({ id: record.id }));
    } finally {
      if (entry) entry.answered = true;
    }
  });

  app.get('/emails/:id', (c) => {
    const path = new URL(c.req.url).pathname;
    const record = ctx.records.newRequest('resend', 'GET', path);
    const authErr = resendAuth(c.req.header('authorization'), opts.resendApiKey);
    const e = emails.get(c.req.param('id'));
    const err = authErr ?? (e ? undefined : resendError(404, 'not_found', 'Email not found'));
    if (err || !e) {
      record.status = err!.statusCode;
      record.error = { code: err!.name, message: err!.message };
      record.answeredAt = Date.now();
      return c.json(err, err!.statusCode as 400);
    }
    record.status = 200;
    record.id = e.id;
    record.answeredAt = Date.now();
    return c.json(emailJson(e));
  });
}
