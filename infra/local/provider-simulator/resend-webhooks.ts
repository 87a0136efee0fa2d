/** What Resend POSTs to the receiver: Svix-signed email events (svix-id stable across retries). */
import { randomBytes } from 'node:crypto';
import { deliver } from './callbacks.js';
import type { SimContext } from './context.js';
import { pgTimestamp, type Email } from './resend-model.js';

function webhookPayload(e: Email, type: string, extra: Record<string, unknown> = {}) {
  return {
    type,
    created_at: new Date().toISOString(),
    data: {
      created_at: pgTimestamp(e.createdAt),
      email_id: e.id,
      from: e.from,
      to: e.to,
      subject: e.subject,
      ...(Object.keys(e.tags).length ? { tags: e.tags } : {}),
      ...extra,
    },
  };
}

/** Records the event as the email's last one and delivers its webhook. */
export async function resendEvent(ctx: SimContext, e: Email, type: string, extra: Record<string, unknown> = {}) {
  e.lastEvent = type.replace(/^email\./, '');
  const payload = webhookPayload(e, type, extra);
  const body = JSON.stringify(payload);
  const msgId = 'msg_' + randomBytes(20).toString('base64url').slice(0, 27);
  const { receiverBase, publicBase, resendWebhookPath } = ctx.settings;
  await deliver(ctx, {
    kind: 'resend.webhook',
    event: type,
    messageId: e.id,
    recipient: e.to[0],
    url: receiverBase + resendWebhookPath,
    signedUrl: publicBase + resendWebhookPath,
    payload,
    build: () => {
      const now = new Date();
      return {
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Svix-Webhooks/1.99 (sender-sim; +https://www.svix.com/http-sender/)',
          'svix-id': msgId,
          'svix-timestamp': String(Math.floor(now.getTime() / 1000)),
          'svix-signature': ctx.svix.sign(msgId, now, body),
        },
        body,
      };
    },
    retryOn: (s) => s < 200 || s >= 300,
  });
}
