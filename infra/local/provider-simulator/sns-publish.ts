/**
 * A local SNS topic with an HTTPS-style subscription to the receiver's `POST /events/sns` (producers/receiver/
 * sns-events.ts): what CloudWatch alarm actions, Amazon Managed Service for Prometheus and anything else publishing
 * to an alert topic would deliver. Messages are signed as Amazon SNS signs them (SignatureVersion 2) with the
 * simulator's locally generated certificate (sns-signer.ts), which only the local stack trusts (SNS_TRUSTED_CERT_URLS
 * names its URL; AWS's certificates come only from `https://sns.<region>.amazonaws.com`).
 *
 * `POST /__sim/sns/publish` `{"message": <string or JSON>, "topicArn"?: …, "path"?: "/events/sns"}` delivers one
 * Notification (retried on 5xx, 429 and when unreachable, as SNS does) and answers `{messageId, status, body}`: the
 * receiver's final answer. `{"confirm": true}` instead sends the topic's SubscriptionConfirmation (SubscribeURL: this
 * simulator's `/__sim/sns/confirm`). `make send-alarm SOURCE=sns` posts the repo's samples here.
 */
import type { SimApp, SimContext } from './context.js';
import { deliver } from './callbacks.js';

/** The local alert topic (the receiver's SNS_ALERT_TOPIC_ARNS in .env.example). */
export const DEFAULT_SNS_ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:pagetrail-alarms';
export const SNS_PUBLISH_PATH = '/__sim/sns/publish';

export function registerSnsPublish(app: SimApp, ctx: SimContext): void {
  app.post(SNS_PUBLISH_PATH, async (c) => {
    let req: { message?: unknown; topicArn?: unknown; path?: unknown; confirm?: unknown };
    try {
      req = (await c.req.json()) as typeof req;
    } catch {
      return c.json({ error: 'body must be JSON: {"message": …}' }, 400);
    }
    const topicArn = typeof req.topicArn === 'string' ? req.topicArn : DEFAULT_SNS_ALERT_TOPIC_ARN;
    const path = typeof req.path === 'string' && req.path.startsWith('/') ? req.path : '/events/sns';
    if (!req.confirm && req.message === undefined) return c.json({ error: 'message is required' }, 400);
    const message = typeof req.message === 'string' ? req.message : JSON.stringify(req.message);
    const msg = req.confirm
      ? ctx.aws.signer.confirmation(topicArn, `${ctx.aws.baseUrl}/__sim/sns/confirm?Token=local`, ctx.aws.certUrl())
      : ctx.aws.signer.notification(topicArn, message, ctx.aws.certUrl());
    const capture: { body?: string } = {};
    const status = await deliver(ctx, {
      kind: 'aws.sns',
      event: msg.Type,
      messageId: msg.MessageId,
      recipient: topicArn,
      url: ctx.settings.receiverBase + path,
      payload: msg,
      capture,
      build: () => ({
        headers: {
          'content-type': 'text/plain; charset=UTF-8',
          'x-amz-sns-message-type': msg.Type,
          'x-amz-sns-message-id': msg.MessageId,
          'x-amz-sns-topic-arn': topicArn,
          'user-agent': 'Amazon Simple Notification Service Agent',
        },
        body: JSON.stringify(msg),
      }),
      retryOn: (s) => s >= 500 || s === 429,
    });
    return c.json({ messageId: msg.MessageId, status, body: capture.body ?? null }, 200);
  });
}
