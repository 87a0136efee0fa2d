import type { Hono } from 'hono';
import { z } from 'zod';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { pageRefFromContext } from '../../schemas/correlation.js';
import { eventId } from '../../schemas/ids.js';
import { ackByReply } from './ack-reply.js';
import { parseJson } from './body-parse.js';
import { PayloadError, UnavailableError } from './errors.js';
import { guarded, markVerified, pathAndQuery, utf8, writeRecords, type RouteDeps } from './http.js';
import { SnsConfirmError, SnsVerifier, TopicNotAllowedError, type SnsMessage } from './sns-signature.js';
import { awsSmsVoiceStatus } from './status-map.js';
import { ignored, keptOnPayloadError, type VerifiedRequest } from './webhook-outcome.js';

/**
 * POST /webhooks/aws-sms-voice — delivery events of the pages sent by the second route (AWS End User Messaging SMS
 * and Voice), through the SNS topic of the configuration set's event destination (an HTTPS subscription) →
 * receipt records in the one status vocabulary.
 *
 * Every message is verified first (sns-signature.ts): not authentic → 401; authentic but of a topic not in
 * AWS_SMS_VOICE_TOPIC_ARNS → 403; nothing written either way. A SubscriptionConfirmation of an allowed topic is
 * confirmed (200 `{confirmed}`; 503 when SubscribeURL cannot be reached, so SNS sends it again); an
 * UnsubscribeConfirmation is acknowledged and ignored.
 *
 * A Notification's `Message` is the event (AWS docs, "Messaging Events", SMS example log:
 * `{"eventType":"TEXT_SUCCESSFUL","eventVersion":"1.0","eventTimestamp":1686975103470,"isFinal":true,
 * "originationPhoneNumber":"+12065550152","destinationPhoneNumber":"+14255550156",…,"messageId":
 * "862a8790-60c0-4430-9b2b-658bdexample","messageStatus":"SUCCESSFUL","messageStatusDescription":"Message has been
 * accepted by phone carrier","context":{"account":"bar"},…}`). The page is found from `context`: the paging
 * dispatcher sends every message with `Context` = the page reference (`incident_id`, `alarm_arn_b64`,
 * `dispatch_id`, schemas/correlation.ts `awsContext`), and the event destination returns it as `context`; the
 * event's `messageId` is the dispatch record's `message_id` (SendTextMessage's MessageId). The event id is derived
 * from (messageId, eventType): SNS redeliveries and a repeated event are one receipt.
 *
 * Answers: 200 `{event_id}` once the receipt is on the stream; 202 `{ignored}` for an event that is not one of our
 * pages (no page reference in `context`, MMS/RCS/registration events); 202 `{kept}` for one of ours that cannot
 * become a receipt (unknown event type, missing field, `Message` not JSON), kept under `errors/`.
 *
 * POST /webhooks/aws-sms-voice/inbound — replies to the pages the second route sent: the origination number's
 * two-way channel is an SNS topic (a second one, also in AWS_SMS_VOICE_TOPIC_ARNS) with an HTTPS subscription here.
 * Verified and confirmed exactly as above; a Notification's `Message` is the inbound SMS (`AwsInboundSms`), and
 * `ACK <code>` / `OK <code>` goes through the same rules as a reply to Twilio (ack-reply.ts: the code must resolve
 * and the sender must be a number paged with it) → an ack record (`sms_reply`, channel sms) whose event id is derived
 * from `inboundMessageId`: an SNS redelivery is the same ack. Answers: 200 `{event_id}` acked; 202 `{not_counted:
 * unknown_code | not_paged}`; 202 `{ignored}` for any other text (STOP/HELP are answered by AWS itself); 202 `{kept}`
 * for a Message that is not an inbound SMS. No text is sent back (Twilio's answer is TwiML; here it would cost a
 * SendTextMessage per reply, and a redelivery would send it twice).
 */

/** Where the origination number's two-way channel (its SNS topic's HTTPS subscription) delivers inbound SMS. */
export const AWS_INBOUND_ROUTE = '/webhooks/aws-sms-voice/inbound';

/** The fields of an SMS/voice event a receipt needs (the rest is kept in `raw`). */
export const AwsSmsVoiceEvent = z.looseObject({
  eventType: z.string().min(1).max(64),
  eventTimestamp: z.number().int().positive(),
  messageId: z.string().min(1).max(256),
  destinationPhoneNumber: z.string().min(1).max(64).optional(),
  messageStatus: z.string().max(128).optional(),
  messageStatusDescription: z.string().max(1024).optional(),
  context: z.record(z.string(), z.string()).optional(),
});
export type AwsSmsVoiceEvent = z.infer<typeof AwsSmsVoiceEvent>;

/** Why a verified event is not one of our pages (acknowledged and ignored), or undefined when it is ours. */
export function notOurPage(event: unknown): string | undefined {
  if (!event || typeof event !== 'object' || Array.isArray(event)) return undefined;
  const { eventType, context } = event as { eventType?: unknown; context?: unknown };
  if (typeof eventType === 'string' && !/^(TEXT|VOICE)_/.test(eventType))
    return `not a page: ${eventType} is not an SMS or voice event`;
  const ctx = context && typeof context === 'object' ? (context as Record<string, unknown>) : {};
  if (!('dispatch_id' in ctx) && !('incident_id' in ctx)) return 'not a page: no page reference in context';
  return undefined;
}

/** A verified SNS Notification carrying an SMS/voice event → a receipt (PayloadError naming the failing field). */
export function awsSmsVoiceReceipt(event: unknown, rawBody: string): ReceiptRecordIn {
  const parsed = AwsSmsVoiceEvent.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PayloadError(issue.message, ['Message', ...issue.path], { cause: parsed.error });
  }
  const e = parsed.data;
  const { status, provider_status } = awsSmsVoiceStatus(e.eventType);
  const page = pageRefFromContext(e.context);
  if (!page)
    throw new PayloadError('missing or malformed page reference (incident_id, alarm_arn_b64, dispatch_id)', 'context');
  const failed = status === 'undelivered' || status === 'failed';
  return {
    v: 1,
    kind: 'receipt',
    event_id: eventId('receipt', 'aws', e.messageId, e.eventType),
    incident_id: page.incidentId,
    alarm_arn: page.alarmArn,
    event_time: new Date(e.eventTimestamp).toISOString(),
    provider: 'aws',
    channel: e.eventType.startsWith('VOICE_') ? 'voice' : 'sms',
    message_id: e.messageId,
    dispatch_id: page.dispatchId,
    status,
    provider_status,
    ...(e.destinationPhoneNumber ? { recipient: e.destinationPhoneNumber } : {}),
    ...(failed && e.messageStatus ? { error_code: e.messageStatus } : {}),
    ...(failed && e.messageStatusDescription ? { error_message: e.messageStatusDescription } : {}),
    raw: rawBody,
  };
}

/** 403 for an authentic SNS message of a topic not allowed (counted with the other rejections); nothing written. */
export function topicNotAllowed(deps: RouteDeps, req: VerifiedRequest, err: TopicNotAllowedError): Response {
  deps.rejections.reject('topic_not_allowed', { route: req.route, topic: err.topicArn }, 'rejected: SNS topic');
  return req.c.json({ error: 'forbidden: topic not allowed' }, 403);
}

/**
 * An inbound SMS to the origination number, as the number's two-way channel (an SNS topic) publishes it (AWS docs,
 * "Example of a two-way SMS message payload for Amazon SNS topics",
 * https://docs.aws.amazon.com/sms-voice/latest/userguide/two-way-sms-payload.html:
 * `{"originationNumber":"+14255550182","destinationNumber":"+12125550101","messageKeyword":"JOIN",
 * "messageBody":"EXAMPLE","inboundMessageId":"cae173d2-66b9-564c-8309-21f858e9fb84",
 * "previousPublishedMessageId":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`). `originationNumber` is the person's
 * phone, `destinationNumber` ours; `previousPublishedMessageId` (the message replied to) is kept in `raw` only: the
 * ack code names the incident.
 */
export const AwsInboundSms = z.looseObject({
  originationNumber: z.string().min(1).max(64),
  destinationNumber: z.string().min(1).max(64),
  messageKeyword: z.string().max(64).optional(),
  messageBody: z.string().max(2048),
  inboundMessageId: z.string().min(1).max(256),
  previousPublishedMessageId: z.string().max(256).optional(),
});
export type AwsInboundSms = z.infer<typeof AwsInboundSms>;

/** A Notification's `Message` → the inbound SMS (PayloadError naming the failing field). */
export function awsInboundSms(message: string): AwsInboundSms {
  let json: unknown;
  try {
    json = parseJson(message);
  } catch (cause) {
    throw new PayloadError('Message is not JSON', 'Message', { cause });
  }
  const parsed = AwsInboundSms.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PayloadError(issue.message, ['Message', ...issue.path], { cause: parsed.error });
  }
  return parsed.data;
}

/**
 * Verifies an SNS message (401 / 403, nothing written), confirms an allowed topic's subscription, acknowledges an
 * unsubscribe; a Notification goes to `onNotification` (a PayloadError from it is kept and answered 202).
 */
export function snsRoute(
  app: Hono,
  deps: RouteDeps,
  verifier: SnsVerifier,
  route: string,
  onNotification: (req: VerifiedRequest, m: SnsMessage, text: string) => Promise<Response>,
): void {
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      const req = { c, route, body, url: pathAndQuery(c), receivedAt: deps.now() };
      const text = utf8(body);
      let m: SnsMessage;
      try {
        m = await verifier.verify(text); // SignatureError → 401 (http.ts)
      } catch (err) {
        if (err instanceof TopicNotAllowedError) return topicNotAllowed(deps, req, err);
        throw err;
      }
      markVerified(c);
      if (m.Type === 'SubscriptionConfirmation') {
        try {
          await verifier.confirm(m);
        } catch (err) {
          if (err instanceof SnsConfirmError)
            throw new UnavailableError('SNS subscription confirmation', { cause: err });
          throw err;
        }
        deps.logger.info({ route, topic: m.TopicArn }, 'SNS subscription confirmed');
        return c.json({ confirmed: m.TopicArn }, 200);
      }
      if (m.Type === 'UnsubscribeConfirmation')
        return ignored(deps, req, 'unsubscribe confirmation', { topic: m.TopicArn });
      return keptOnPayloadError(deps, req, () => onNotification(req, m, text));
    }),
  );
}

/** Delivery events: `/webhooks/aws-sms-voice`. Inbound SMS (two-way): `/webhooks/aws-sms-voice/inbound`. */
export function awsSmsVoiceRoutes(app: Hono, deps: RouteDeps): void {
  const verifier =
    deps.snsVerifier ??
    new SnsVerifier({
      allowedTopics: deps.config.AWS_SMS_VOICE_TOPIC_ARNS ?? [],
      trustedCertUrls: deps.config.SNS_TRUSTED_CERT_URLS ?? [],
    });
  snsRoute(app, deps, verifier, '/webhooks/aws-sms-voice', async (req, m, text) => {
    let event: unknown;
    try {
      event = parseJson(m.Message);
    } catch (cause) {
      throw new PayloadError('Message is not JSON', 'Message', { cause });
    }
    const reason = notOurPage(event);
    if (reason) return ignored(deps, req, reason, { sns_message_id: m.MessageId });
    const record = awsSmsVoiceReceipt(event, text);
    await writeRecords(deps, [record]);
    deps.logger.debug?.({ route: req.route, event_id: record.event_id, status: record.status }, 'receipt written');
    return req.c.json({ event_id: record.event_id }, 200);
  });
  snsRoute(app, deps, verifier, AWS_INBOUND_ROUTE, async (req, m) => {
    const sms = awsInboundSms(m.Message);
    const sent = Date.parse(m.Timestamp); // when SNS published it: the same on every redelivery
    const outcome = await ackByReply(deps, {
      route: req.route,
      provider: 'aws',
      messageId: sms.inboundMessageId,
      body: sms.messageBody,
      from: sms.originationNumber,
      channel: 'sms',
      atMs: Number.isFinite(sent) ? sent : req.receivedAt,
    });
    if (outcome.kind === 'not_a_reply')
      return ignored(deps, req, 'not an ACK or OK reply', { sns_message_id: m.MessageId });
    // No text answer (Twilio's TwiML reply has no free equivalent here: it would be a SendTextMessage per reply).
    if (outcome.kind === 'acked') return req.c.json({ event_id: outcome.ack.event_id }, 200);
    return req.c.json({ not_counted: outcome.kind }, 202);
  });
}
