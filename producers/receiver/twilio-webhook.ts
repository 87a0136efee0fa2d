import type { Context, Hono } from 'hono';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { ackByReply, parseAckReply } from './ack-reply.js';
import { PayloadError } from './errors.js';
import { guarded, writeRecords, type RouteDeps } from './http.js';
import { twilioStatus } from './status-map.js';
import type { TwilioParams } from './twilio-signature.js';
import { param, rawPathAndQuery, requiredParam, twilioStatusReceipt, verifiedTwilioParams } from './twilio-request.js';
import { keepInErrors, keptOnPayloadError, type VerifiedRequest } from './webhook-outcome.js';

/**
 * POST /webhooks/twilio — status callbacks of the pages we sent (→ receipt records) and inbound
 * replies (`ACK <code>` → ack record, counted only when the reply comes from a number paged with that
 * code: the code's `recipients`; a code is short enough to be guessed or forwarded). Twilio's status
 * callbacks carry no event timestamp (RawDlrDoneDate is the carrier's minute-precision time without a
 * time zone, kept in `raw` only), so event_time is the time the callback arrived.
 *
 * Answers: 401 when not authentic (nothing written, nothing kept); a verified callback that cannot
 * become a record (no or a malformed page reference, unknown status, missing MessageSid) is kept under
 * `errors/` with the reason and answered 202 `{kept, error, path}` (TwiML for an inbound message): a
 * retry could not change it. 503 when the stream, the ack-code ledger or the error sink fails.
 */

const one = param;
const required = requiredParam;

const isWhatsApp = (params: TwilioParams) =>
  [one(params, 'To'), one(params, 'From')].some((a) => a?.toLowerCase().startsWith('whatsapp:')) ||
  one(params, 'ChannelPrefix') === 'whatsapp';

/** The status word: MessageStatus, or SmsStatus (older payloads). */
const statusWord = (params: TwilioParams) => one(params, 'MessageStatus') ?? one(params, 'SmsStatus');

export { rawPathAndQuery };

/** An inbound message (a reply), as opposed to a status callback of a message we sent. */
export function isInboundMessage(params: TwilioParams): boolean {
  const word = statusWord(params)?.toLowerCase();
  return params.Body !== undefined && (word === undefined || word === 'received');
}

/** A verified status callback → a receipt record. `query`: the callback URL's query (the page reference). */
export function twilioReceipt(params: TwilioParams, query: URLSearchParams, nowMs: number): ReceiptRecordIn {
  const sid = required(params, 'MessageSid');
  const word = statusWord(params);
  if (!word) throw new PayloadError('required', 'MessageStatus');
  const { status, provider_status } = twilioStatus(word);
  return twilioStatusReceipt(params, query, nowMs, {
    sid,
    channel: isWhatsApp(params) ? 'whatsapp' : 'sms',
    status,
    provider_status,
    errorCode: one(params, 'ErrorCode'),
    errorMessage: one(params, 'ErrorMessage') ?? one(params, 'ChannelStatusMessage'),
  });
}

// The reply rules are shared with the second route's two-way SMS (ack-reply.ts); re-exported for callers here.
export { notPagedMessage, paged, parseAckReply } from './ack-reply.js';

const xml = (s: string) =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);

/** A TwiML response: empty, or one reply message. */
export function twiml(c: Context, message?: string): Response {
  const body = message
    ? `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${xml(message)}</Message></Response>`
    : '<?xml version="1.0" encoding="UTF-8"?><Response/>';
  return c.body(body, 200, { 'content-type': 'text/xml; charset=utf-8' });
}

async function inboundReply(
  c: Context,
  deps: RouteDeps,
  req: VerifiedRequest,
  params: TwilioParams,
  nowMs: number,
): Promise<Response> {
  const body = one(params, 'Body') ?? '';
  if (!parseAckReply(body)) return twiml(c);
  let sid: string;
  try {
    sid = required(params, 'MessageSid');
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    await keepInErrors(deps, req, err);
    return twiml(c);
  }
  const channel = isWhatsApp(params) ? 'whatsapp' : 'sms';
  const from = one(params, 'From');
  const outcome = await ackByReply(deps, {
    route: req.route,
    provider: 'twilio',
    messageId: sid,
    body,
    from,
    channel,
    atMs: nowMs,
  });
  // A verified message: 200 whatever the outcome (a retry cannot change the answer).
  return outcome.kind === 'not_a_reply' ? twiml(c) : twiml(c, outcome.answer);
}

export function twilioRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/webhooks/twilio';
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      const url = rawPathAndQuery(c);
      const req: VerifiedRequest = { c, route, body, url, receivedAt: deps.now() };
      return keptOnPayloadError(deps, req, async () => {
        // SignatureError → 401; a verified JSON body that is not an object → PayloadError → kept.
        const params = verifiedTwilioParams(c, deps, body, url);
        const nowMs = deps.now();
        if (isInboundMessage(params)) return inboundReply(c, deps, req, params, nowMs);
        const record = twilioReceipt(params, new URL(c.req.url).searchParams, nowMs);
        await writeRecords(deps, [record]);
        deps.logger.debug?.({ route, event_id: record.event_id, status: record.status }, 'receipt written');
        return c.body(null, 200);
      });
    }),
  );
}
