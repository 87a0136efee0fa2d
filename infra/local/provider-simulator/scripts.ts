/** Runs a recipient's behaviour steps for an accepted message or email (see behaviours.ts). */
import { stepOf } from './behaviours.js';
import { BROWSER_UA, clickAck, scanAckLink } from './browser.js';
import type { SimContext } from './context.js';
import { findAckLink, links } from './html.js';
import type { Email } from './resend-model.js';
import { resendEvent } from './resend-webhooks.js';
import { replyAck, statusCallback } from './twilio-callbacks.js';
import type { TwilioMessage } from './twilio-model.js';

export async function runTwilio(ctx: SimContext, m: TwilioMessage) {
  const { log } = ctx;
  const { sleep } = ctx.life;
  const { stepDelayMs, whatsappSessionRule } = ctx.settings;
  const whatsapp = m.to.startsWith('whatsapp:');
  const steps = ctx.behaviours
    .of(m.to)
    .map(stepOf)
    .filter((s) => s.step !== 'hang');
  if (m.messagingServiceSid) {
    await sleep(stepDelayMs / 2);
    await statusCallback(ctx, m, 'queued');
  }
  await sleep(stepDelayMs);
  if (whatsapp && whatsappSessionRule && !m.contentSid) {
    const last = ctx.twilio.sessions.get(m.to);
    if (!last || Date.now() - last > 24 * 3600_000) {
      await statusCallback(ctx, m, 'failed', 63016);
      return;
    }
  }
  if (steps[0]?.step === 'failed') {
    await statusCallback(ctx, m, 'failed', 30008);
    return;
  }
  await statusCallback(ctx, m, 'sent');
  for (const s of steps) {
    await sleep(s.afterMs ?? stepDelayMs);
    switch (s.step) {
      case 'delivered':
        await statusCallback(ctx, m, 'delivered');
        break;
      case 'read':
        if (whatsapp) await statusCallback(ctx, m, 'read');
        else log.warn({ messageId: m.sid }, 'behaviour step "read" ignored: SMS has no read receipts');
        break;
      case 'undelivered':
        await statusCallback(ctx, m, 'undelivered', 30003);
        return;
      case 'failed':
        await statusCallback(ctx, m, 'failed', 30008);
        return;
      case 'delayed':
        await sleep(2 * stepDelayMs);
        await statusCallback(ctx, m, 'delivered');
        break;
      case 'reply_ack':
        await replyAck(ctx, m);
        break;
      case 'no_answer':
        break;
      default:
        log.warn({ messageId: m.sid, step: s.step }, 'behaviour step does not apply to SMS/WhatsApp; ignored');
    }
  }
}

const clickData = (link: string) => ({
  click: { ipAddress: '198.51.100.23', link, timestamp: new Date().toISOString(), userAgent: BROWSER_UA },
});

export async function runEmail(ctx: SimContext, e: Email) {
  const { sleep } = ctx.life;
  const { stepDelayMs } = ctx.settings;
  const recipient = e.to.find((t) => ctx.behaviours.has(t)) ?? e.to[0];
  const steps = ctx.behaviours
    .of(recipient)
    .map(stepOf)
    .filter((s) => s.step !== 'hang');
  await sleep(stepDelayMs);
  await resendEvent(ctx, e, 'email.sent');
  for (const s of steps) {
    await sleep(s.afterMs ?? stepDelayMs);
    switch (s.step) {
      case 'delivered':
        await resendEvent(ctx, e, 'email.delivered');
        break;
      case 'opened':
        await resendEvent(ctx, e, 'email.opened');
        break;
      case 'complained':
        await resendEvent(ctx, e, 'email.complained');
        break;
      case 'bounced':
        await resendEvent(ctx, e, 'email.bounced', {
          bounce: {
            message:
              "The recipient's email provider sent a hard bounce message, " +
              "but didn't specify the reason for the hard bounce. " +
              "We recommend removing the recipient's email address from your mailing list.",
            subType: 'General',
            type: 'Permanent',
          },
        });
        return;
      case 'delayed':
        await resendEvent(ctx, e, 'email.delivery_delayed');
        await sleep(2 * stepDelayMs);
        await resendEvent(ctx, e, 'email.delivered');
        break;
      case 'clicked': {
        const link = findAckLink(e.html ?? '') ?? links(e.html ?? '')[0];
        if (link) await resendEvent(ctx, e, 'email.clicked', clickData(link));
        break;
      }
      case 'click_ack': {
        const link = findAckLink(e.html ?? '');
        if (link) await resendEvent(ctx, e, 'email.clicked', clickData(link));
        await clickAck(ctx, e);
        break;
      }
      case 'link_scan':
        await scanAckLink(ctx, e);
        break;
      case 'no_answer':
        break;
      default:
        ctx.log.warn({ messageId: e.id, step: s.step }, 'behaviour step does not apply to email; ignored');
    }
  }
}
