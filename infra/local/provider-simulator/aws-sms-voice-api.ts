/**
 * AWS End User Messaging SMS and Voice (`pinpoint-sms-voice-v2`), the subset the paging dispatcher's SDK client
 * sends: `POST /` with `X-Amz-Target: PinpointSMSVoiceV2.SendTextMessage` or `.SendVoiceMessage` and an AWS JSON 1.0
 * body (`Content-Type: application/x-amz-json-1.0`; SigV4 `Authorization` required, its signature not checked) →
 * 200 `{"MessageId": …}`; errors as the protocol has them (`__type` in the body and `x-amzn-ErrorType`:
 * ValidationException 400, AccessDeniedException 403, ThrottlingException 429, InternalServerException 500).
 *
 * Then the message's delivery events, as the configuration set's event destination would publish them to its SNS
 * topic and SNS would deliver them to the receiver's HTTPS subscription (`POST <receiver>/webhooks/aws-sms-voice`):
 * SNS Notifications signed (SignatureVersion 2) with a certificate generated locally (sns-signer.ts), served at
 * `GET /__sim/sns/SimpleNotificationService-local.pem` — only the local stack trusts it (SNS_TRUSTED_CERT_URLS).
 * `Message` is the event JSON of AWS's docs ("Messaging Events"), its `context` the send's `Context`.
 *
 * Behaviour: `aws:<number>` when set, else the number's own (behaviours.ts), so a script can have Twilio accept and
 * never deliver while this route delivers. SMS steps: `delivered` → TEXT_SUCCESSFUL, TEXT_DELIVERED; `undelivered`
 * → TEXT_CARRIER_UNREACHABLE; `failed` → TEXT_BLOCKED; `no_answer` → TEXT_SUCCESSFUL only. Voice: `answer_ack` /
 * `delivered` → VOICE_INITIATED, VOICE_RINGING, VOICE_ANSWERED, VOICE_COMPLETED (a key press cannot be taken on this
 * route); `no_answer` → …VOICE_NO_ANSWER; `busy` → VOICE_BUSY; `failed` → VOICE_FAILED. One-shot faults, hangs:
 * those of `aws:<number>` (an outage of Twilio and Resend, `setOutage`, leaves this route up).
 *
 * `reply_ack` (SMS): the person replies `ACK <code>` (the code read from the message) to the origination number,
 * and its two-way channel publishes the inbound SMS (AWS docs, "Example of a two-way SMS message payload for Amazon
 * SNS topics") to its own topic, delivered signed to the receiver's `/webhooks/aws-sms-voice/inbound`.
 */
import { randomUUID } from 'node:crypto';
import type { SimApp, SimContext } from './context.js';
import { deliver } from './callbacks.js';
import { answer } from './faults.js';
import { ackCodeOf, referenceIn } from './message-text.js';
import { stepOf, type StepName } from './behaviours.js';

export const AWS_TARGET = 'PinpointSMSVoiceV2';
export const SNS_CERT_PATH = '/__sim/sns/SimpleNotificationService-local.pem';

export interface AwsMessage {
  messageId: string;
  kind: 'text' | 'voice';
  to: string;
  from: string;
  body: string;
  configurationSet?: string;
  context: Record<string, string>;
  requestedAt: number;
}

const E164 = /^\+[1-9]\d{6,14}$/;

const awsError = (type: string, status: number, message: string) => ({ type, status, message });

export function registerAwsSmsVoiceApi(app: SimApp, ctx: SimContext) {
  app.get(SNS_CERT_PATH, (c) => c.body(ctx.aws.signer.cert, 200, { 'content-type': 'application/x-pem-file' }));
  // what the SubscribeURL of a local confirmation points at (ConfirmSubscription answers 200)
  app.get('/__sim/sns/confirm', (c) => {
    ctx.aws.confirmed.push(new URL(c.req.url).searchParams.get('Token') ?? '');
    return c.body('<ConfirmSubscriptionResponse/>', 200, { 'content-type': 'text/xml' });
  });

  app.post('/', async (c) => {
    const target = c.req.header('x-amz-target') ?? '';
    const op = target.startsWith(`${AWS_TARGET}.`) ? target.slice(AWS_TARGET.length + 1) : '';
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse((await c.req.text()) || '{}') as Record<string, unknown>;
    } catch {
      /* validated below */
    }
    const to = typeof body.DestinationPhoneNumber === 'string' ? body.DestinationPhoneNumber : '';
    const context = (body.Context && typeof body.Context === 'object' ? body.Context : {}) as Record<string, string>;
    const messageBody = typeof body.MessageBody === 'string' ? body.MessageBody : '';
    const reference = referenceIn(messageBody);
    const record = ctx.records.newRequest('aws', 'POST', `/${op || target}`, {
      body,
      ...(to ? { recipient: to } : {}),
      ...(context.dispatch_id ? { dispatchId: context.dispatch_id } : {}),
      ...(reference ? { reference } : {}),
    });
    const fail = (e: ReturnType<typeof awsError>) => {
      record.status = e.status;
      record.error = { code: e.type, message: e.message };
      record.answeredAt = Date.now();
      return c.json({ __type: e.type, message: e.message }, e.status as 400, { 'x-amzn-ErrorType': e.type });
    };
    if (!/^AWS4-HMAC-SHA256 /.test(c.req.header('authorization') ?? ''))
      return fail(awsError('AccessDeniedException', 403, 'Missing Authentication Token'));
    if (op !== 'SendTextMessage' && op !== 'SendVoiceMessage')
      return fail(awsError('UnknownOperationException', 400, `operation ${target || '(none)'} is not simulated`));
    if (!E164.test(to)) return fail(awsError('ValidationException', 400, 'DestinationPhoneNumber must be E.164'));
    const from = typeof body.OriginationIdentity === 'string' ? body.OriginationIdentity : '';
    if (op === 'SendVoiceMessage' && !from)
      return fail(awsError('ValidationException', 400, 'OriginationIdentity is required'));
    if (!messageBody) return fail(awsError('ValidationException', 400, 'MessageBody is required'));

    const plan = ctx.faults.planFor(`aws:${to}`, context.dispatch_id ?? `${to}\0${messageBody}`, { outage: false });
    if (plan.fault) record.fault = plan.fault;
    let messageId: string | undefined;
    if (plan.create) {
      const m: AwsMessage = {
        messageId: randomUUID(),
        kind: op === 'SendVoiceMessage' ? 'voice' : 'text',
        to,
        from: from || '+15550000009',
        body: messageBody,
        configurationSet: typeof body.ConfigurationSetName === 'string' ? body.ConfigurationSetName : undefined,
        context,
        requestedAt: Date.now(),
      };
      messageId = m.messageId;
      ctx.aws.messages.set(m.messageId, m);
      record.status = 200;
      record.id = m.messageId;
      ctx.log.info({ api: 'aws', messageId: m.messageId, kind: m.kind, fault: plan.fault }, 'message accepted');
      ctx.life.spawn(`aws ${m.messageId}`, () => runAws(ctx, m));
    }
    if (plan.errorStatus) {
      const st = plan.errorStatus;
      const type = st === 429 ? 'ThrottlingException' : st >= 500 ? 'InternalServerException' : 'ValidationException';
      return answer(ctx, c, record, plan, () => fail(awsError(type, st, 'simulated error')));
    }
    return answer(ctx, c, record, plan, () => c.json({ MessageId: messageId }, 200));
  });
}

/** The SMS events of a behaviour step (AWS event types, in order), and whether the script ends there. */
const TEXT_EVENTS: Partial<Record<StepName, string[]>> = {
  delivered: ['TEXT_DELIVERED'],
  undelivered: ['TEXT_CARRIER_UNREACHABLE'],
  failed: ['TEXT_BLOCKED'],
};
const VOICE_EVENTS: Partial<Record<StepName, string[]>> = {
  answer_ack: ['VOICE_RINGING', 'VOICE_ANSWERED', 'VOICE_COMPLETED'],
  delivered: ['VOICE_RINGING', 'VOICE_ANSWERED', 'VOICE_COMPLETED'],
  no_answer: ['VOICE_RINGING', 'VOICE_NO_ANSWER'],
  busy: ['VOICE_BUSY'],
  failed: ['VOICE_FAILED'],
};

/** Runs a recipient's behaviour for a message: its events, each published to the topic and delivered by SNS. */
async function runAws(ctx: SimContext, m: AwsMessage) {
  const key = ctx.behaviours.has(`aws:${m.to}`) ? `aws:${m.to}` : m.to;
  const steps = ctx.behaviours
    .of(key)
    .map(stepOf)
    .filter((s) => s.step !== 'hang');
  const { stepDelayMs } = ctx.settings;
  await ctx.life.sleep(stepDelayMs);
  if (m.kind === 'voice') {
    await publish(ctx, m, 'VOICE_INITIATED');
    const first = steps[0] ?? { step: 'delivered' as const };
    await ctx.life.sleep(first.afterMs ?? stepDelayMs);
    for (const type of VOICE_EVENTS[first.step] ?? VOICE_EVENTS.delivered!) {
      await publish(ctx, m, type);
      await ctx.life.sleep(stepDelayMs / 2);
    }
    return;
  }
  if (steps[0]?.step === 'failed') {
    await publish(ctx, m, 'TEXT_BLOCKED');
    return;
  }
  await publish(ctx, m, 'TEXT_SUCCESSFUL');
  for (const s of steps) {
    await ctx.life.sleep(s.afterMs ?? stepDelayMs);
    if (s.step === 'reply_ack') {
      await replyAck(ctx, m);
      continue;
    }
    const events = TEXT_EVENTS[s.step];
    if (!events) continue; // no_answer and the rest: nothing more
    for (const type of events) await publish(ctx, m, type);
    if (s.step !== 'delivered') return;
  }
}

const STATUS_DESCRIPTION: Record<string, string> = {
  TEXT_SUCCESSFUL: 'Message has been accepted by phone carrier',
  TEXT_DELIVERED: 'Message has been delivered to the handset',
  TEXT_CARRIER_UNREACHABLE: 'The carrier of the recipient is unreachable',
  TEXT_BLOCKED: 'The message was blocked by the recipient or the carrier',
};

/** The person answers `ACK <code>`: the inbound SMS as the two-way channel publishes it, delivered by SNS. */
async function replyAck(ctx: SimContext, m: AwsMessage) {
  const code = ackCodeOf({ body: m.body });
  if (!code) {
    ctx.log.warn({ messageId: m.messageId }, 'reply_ack: no ACK code in the message body; no reply sent');
    return;
  }
  const inboundMessageId = randomUUID();
  const sms = {
    originationNumber: m.to,
    destinationNumber: m.from,
    messageKeyword: 'KEYWORD_000000000000',
    messageBody: `ACK ${code}`,
    inboundMessageId,
    previousPublishedMessageId: m.messageId,
  };
  await snsDeliver(ctx, {
    topicArn: ctx.aws.inboundTopicArn,
    path: ctx.aws.inboundPath,
    message: sms,
    event: 'INBOUND_SMS',
    messageId: inboundMessageId,
    recipient: m.to,
  });
}

/** One event as the event destination publishes it, delivered to the receiver as a signed SNS Notification. */
async function publish(ctx: SimContext, m: AwsMessage, eventType: string) {
  const now = Date.now();
  const text = eventType.startsWith('TEXT_');
  const event = {
    eventType,
    eventVersion: '1.0',
    eventTimestamp: now,
    isFinal: !/(_SUCCESSFUL|_INITIATED|_RINGING|_ANSWERED)$/.test(eventType),
    originationPhoneNumber: m.from,
    destinationPhoneNumber: m.to,
    isInternationalSend: false,
    messageId: m.messageId,
    messageRequestTimestamp: m.requestedAt,
    ...(text ? { messageEncoding: 'GSM', messageType: 'TRANSACTIONAL', totalMessageParts: 1 } : {}),
    messageStatus: eventType.replace(/^(TEXT|VOICE)_/, ''),
    messageStatusDescription: STATUS_DESCRIPTION[eventType] ?? eventType,
    context: m.context,
    ...(text ? { totalMessagePrice: 0.00581, totalCarrierFee: 0.0 } : { callDurationInSeconds: 0 }),
  };
  await snsDeliver(ctx, {
    topicArn: ctx.aws.topicArn,
    path: ctx.aws.path,
    message: event,
    event: eventType,
    messageId: m.messageId,
    recipient: m.to,
  });
}

/** `message` published to `topicArn` and delivered by SNS to the receiver's `path` (signed, retried as SNS does). */
async function snsDeliver(
  ctx: SimContext,
  d: { topicArn: string; path: string; message: object; event: string; messageId: string; recipient: string },
) {
  const msg = ctx.aws.signer.notification(d.topicArn, JSON.stringify(d.message), ctx.aws.certUrl());
  const body = JSON.stringify(msg);
  await deliver(ctx, {
    kind: 'aws.sns',
    event: d.event,
    messageId: d.messageId,
    recipient: d.recipient,
    url: ctx.settings.receiverBase + d.path,
    payload: msg,
    build: () => ({
      headers: {
        'content-type': 'text/plain; charset=UTF-8',
        'x-amz-sns-message-type': 'Notification',
        'x-amz-sns-message-id': msg.MessageId,
        'x-amz-sns-topic-arn': d.topicArn,
        'user-agent': 'Amazon Simple Notification Service Agent',
      },
      body,
    }),
    // SNS retries an HTTP(S) endpoint on 5xx and 429 (and when unreachable), not on other 4xx
    retryOn: (status) => status >= 500 || status === 429,
  });
}
