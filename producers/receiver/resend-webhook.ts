import type { Hono } from 'hono';
import { z } from 'zod';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { pageRefFromTags } from '../../schemas/correlation.js';
import { eventId } from '../../schemas/ids.js';
import { parseTimestamp } from '../../schemas/time.js';
import { PayloadError } from './errors.js';
import { guarded, utf8, writeRecords, type RouteDeps } from './http.js';
import { ResendVerifier } from './resend-signature.js';
import { resendStatus } from './status-map.js';

/**
 * POST /webhooks/resend — Resend email events (Svix-signed) → receipt records.
 * Payload (Resend docs, "Event Types"; examples in fixtures/resend/):
 * `{type, created_at, data:{email_id, to[], subject, tags:{k:v}, bounce?, failed?, suppressed?, click?}}`.
 * The event id is derived from svix-id, which Svix keeps across retries (the dedupe key).
 */

/** Tags arrive as an object in webhook payloads; the docs also describe a `[{name, value}]` list. */
const Tags = z
  .union([z.record(z.string(), z.string()), z.array(z.object({ name: z.string(), value: z.string() }))])
  .transform((t) => (Array.isArray(t) ? Object.fromEntries(t.map(({ name, value }) => [name, value])) : t));

const IsoTime = z.string().refine((s) => {
  try {
    parseTimestamp(s);
    return true;
  } catch {
    return false;
  }
}, 'not an ISO-8601 timestamp');

export const ResendEmailEvent = z.looseObject({
  type: z.string().startsWith('email.'),
  created_at: IsoTime,
  data: z.looseObject({
    email_id: z.string().min(1),
    to: z.union([z.array(z.string()).min(1), z.string().min(1).transform((s) => [s])]),
    tags: Tags.optional(),
    bounce: z.looseObject({ type: z.string().optional(), subType: z.string().optional(), message: z.string().optional() }).optional(),
    failed: z.looseObject({ reason: z.string().optional() }).optional(),
    suppressed: z.looseObject({ type: z.string().optional(), message: z.string().optional() }).optional(),
  }),
});
export type ResendEmailEvent = z.infer<typeof ResendEmailEvent>;

/** error_code / error_message from the event's bounce, failed or suppressed detail. */
function errorOf(data: ResendEmailEvent['data']): { error_code?: string; error_message?: string } {
  if (data.bounce) {
    const code = [data.bounce.type, data.bounce.subType].filter(Boolean).join('/');
    return { ...(code ? { error_code: code } : {}), ...(data.bounce.message ? { error_message: data.bounce.message } : {}) };
  }
  if (data.failed?.reason) return { error_code: data.failed.reason, error_message: data.failed.reason };
  if (data.suppressed) {
    return {
      ...(data.suppressed.type ? { error_code: data.suppressed.type } : {}),
      ...(data.suppressed.message ? { error_message: data.suppressed.message } : {}),
    };
  }
  return {};
}

/** A verified Resend payload → a receipt record (throws PayloadError pointing at the failing field). */
export function resendReceipt(svixId: string, payload: unknown, rawBody: string): ReceiptRecordIn {
  const parsed = ResendEmailEvent.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PayloadError(issue.message, issue.path, { cause: parsed.error });
  }
  const event = parsed.data;
  const { status, provider_status } = resendStatus(event.type);
  const page = pageRefFromTags(event.data.tags);
  if (!page) throw new PayloadError('missing or malformed page reference (incident_id, alarm_arn_b64, dispatch_id)', 'data.tags');
  return {
    v: 1,
    kind: 'receipt',
    event_id: eventId('receipt', 'resend', svixId),
    incident_id: page.incidentId,
    alarm_arn: page.alarmArn,
    event_time: new Date(parseTimestamp(event.created_at)).toISOString(),
    provider: 'resend',
    channel: 'email',
    message_id: event.data.email_id,
    dispatch_id: page.dispatchId,
    status,
    provider_status,
    recipient: event.data.to[0],
    ...errorOf(event.data),
    raw: rawBody,
  };
}

export function resendRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/webhooks/resend';
  const verifier = new ResendVerifier(deps.config.RESEND_WEBHOOK_SECRET);
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      const text = utf8(body);
      const { id, payload } = verifier.verify(text, {
        'svix-id': c.req.header('svix-id'),
        'svix-timestamp': c.req.header('svix-timestamp'),
        'svix-signature': c.req.header('svix-signature'),
      });
      // Non-email events (contact.*, domain.*...) are not about a page: acknowledged and ignored.
      const type = (payload as { type?: unknown } | null)?.type;
      if (typeof type === 'string' && !type.startsWith('email.')) {
        deps.logger.info({ route, type }, 'ignored: not an email event');
        return c.json({ ignored: `event type ${type} is not an email event` }, 202);
      }
      const record = resendReceipt(id, payload, text);
      await writeRecords(deps, [record]);
      deps.logger.info({ route, event_id: record.event_id, status: record.status }, 'receipt written');
      return c.json({ event_id: record.event_id }, 200);
    }),
  );
}
