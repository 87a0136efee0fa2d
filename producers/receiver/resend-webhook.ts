import type { Hono } from 'hono';
import { z } from 'zod';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { TAG, pageRefFromTags } from '../../schemas/correlation.js';
import { eventId } from '../../schemas/ids.js';
import { parseTimestamp } from '../../schemas/time.js';
import { PayloadError } from './errors.js';
import { guarded, markVerified, pathAndQuery, utf8, writeRecords, type RouteDeps } from './http.js';
import { ResendVerifier } from './resend-signature.js';
import { resendStatus } from './status-map.js';
import { ignored, keptOnPayloadError } from './webhook-outcome.js';

/**
 * POST /webhooks/resend — Resend email events (Svix-signed) → receipt records.
 * Payload (Resend docs, "Event Types"; examples in fixtures/resend/):
 * `{type, created_at, data:{email_id, to[], subject, tags:{k:v}, bounce?, failed?, suppressed?, click?}}`.
 * The event id is derived from svix-id, which Svix keeps across retries (the dedupe key).
 *
 * Answers (Svix retries any non-2xx ~8 times over ~28 h and disables an endpoint failing for 5 days,
 * so a verified event is never bounced): 200 `{event_id}` once the receipt is on the stream; 202
 * `{ignored}` for a verified event that is not one of our pages (see `notAPage`); 202 `{kept, error,
 * path}` for a verified event of ours that cannot become a receipt (unknown `email.*` type, malformed
 * page tags, missing field, not JSON), kept under `errors/` with the reason; 401 when not authentic;
 * 503 when the stream or the error sink fails.
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
    to: z.union([
      z.array(z.string()).min(1),
      z
        .string()
        .min(1)
        .transform((s) => [s]),
    ]),
    tags: Tags.optional(),
    bounce: z
      .looseObject({ type: z.string().optional(), subType: z.string().optional(), message: z.string().optional() })
      .optional(),
    failed: z.looseObject({ reason: z.string().optional() }).optional(),
    suppressed: z.looseObject({ type: z.string().optional(), message: z.string().optional() }).optional(),
  }),
});
export type ResendEmailEvent = z.infer<typeof ResendEmailEvent>;

/** error_code / error_message from the event's bounce, failed or suppressed detail. */
function errorOf(data: ResendEmailEvent['data']): { error_code?: string; error_message?: string } {
  if (data.bounce) {
    const code = [data.bounce.type, data.bounce.subType].filter(Boolean).join('/');
    return {
      ...(code ? { error_code: code } : {}),
      ...(data.bounce.message ? { error_message: data.bounce.message } : {}),
    };
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
  if (!page)
    throw new PayloadError(
      'missing or malformed page reference (incident_id, alarm_arn_b64, dispatch_id)',
      'data.tags',
    );
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

const PAGE_TAGS: readonly string[] = [TAG.incident, TAG.alarm, TAG.dispatch];

/** The tag names of `data.tags` (object or `[{name, value}]`); undefined when there are none. */
function tagNames(tags: unknown): string[] | undefined {
  if (Array.isArray(tags))
    return tags.flatMap((t) =>
      t && typeof (t as { name?: unknown }).name === 'string' ? [(t as { name: string }).name] : [],
    );
  if (tags && typeof tags === 'object') return Object.keys(tags);
  return undefined;
}

/**
 * Why a verified Resend event is not one of our pages (to be acknowledged and ignored), or undefined
 * when it is ours (it then becomes a receipt, or is kept under errors/ when it cannot):
 * - a non-email event (`contact.*`, `domain.*`, any future family);
 * - `email.received`: inbound mail, never a page we sent;
 * - an email without any page tag: mail the account sends outside this product.
 * An email carrying at least one page tag is ours, even when the tags or the type are broken.
 */
export function notAPage(payload: unknown): string | undefined {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const { type, data } = payload as { type?: unknown; data?: unknown };
  if (typeof type !== 'string') return undefined;
  if (!type.startsWith('email.')) return `not a page: event type ${type} is not about an email`;
  if (type === 'email.received') return 'not a page: email.received is inbound mail';
  const names = tagNames(data && typeof data === 'object' ? (data as { tags?: unknown }).tags : undefined) ?? [];
  if (!names.some((n) => PAGE_TAGS.includes(n))) return 'not a page: no page tags';
  return undefined;
}

export function resendRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/webhooks/resend';
  const verifier = new ResendVerifier(deps.config.RESEND_WEBHOOK_SECRET);
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      const req = { c, route, body, url: pathAndQuery(c), receivedAt: deps.now() };
      const text = utf8(body);
      return keptOnPayloadError(deps, req, async () => {
        // SignatureError → 401; a verified body that is not JSON → PayloadError → kept.
        const { id, payload } = verifier.verify(text, {
          'svix-id': c.req.header('svix-id'),
          'svix-timestamp': c.req.header('svix-timestamp'),
          'svix-signature': c.req.header('svix-signature'),
        });
        markVerified(c); // authentic: an unexpected failure below keeps the body in the error sink
        const reason = notAPage(payload);
        if (reason) return ignored(deps, req, reason, { svix_id: id, type: (payload as { type?: unknown }).type });
        const record = resendReceipt(id, payload, text);
        await writeRecords(deps, [record]);
        deps.logger.debug?.({ route, event_id: record.event_id, status: record.status }, 'receipt written');
        return c.json({ event_id: record.event_id }, 200);
      });
    }),
  );
}
