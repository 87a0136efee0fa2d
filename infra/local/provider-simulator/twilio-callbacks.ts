/** What Twilio POSTs to the receiver: status callbacks and inbound replies, form-encoded and signed. */
import { createHash, randomUUID } from 'node:crypto';
import twilio from 'twilio';
import { deliver } from './callbacks.js';
import type { SimContext } from './context.js';
import type { CallbackKind } from './records.js';
import { ackCodeOf, render } from './message-text.js';
import { API_VERSION, ERROR_MESSAGES, dlrDate, sid, type TwilioMessage } from './twilio-model.js';

const channelInstallSid = (sender: string) => 'XE' + createHash('md5').update(sender).digest('hex');

/** One of Twilio's webhook requests: what differs between a message's and a call's. */
export interface TwilioPost {
  kind: CallbackKind;
  event: string;
  /** The message's or call's sid. */
  sid: string;
  recipient: string;
  /** The URL Twilio signs over (the receiver's public URL). */
  publicUrl: string;
  params: Record<string, string>;
  idempotencyToken: string;
  /** Headers only this kind of request has. */
  headers?: Record<string, string>;
  /** Set to the receiver's answer (a call's TwiML). */
  capture?: { body?: string };
}

/** Signs the params over the public URL, as Twilio does, and delivers them form-encoded to the receiver. */
export function twilioPost(ctx: SimContext, o: TwilioPost) {
  const signature = twilio.getExpectedTwilioSignature(ctx.opts.twilioAuthToken, o.publicUrl, o.params);
  const body = new URLSearchParams(o.params).toString();
  return deliver(ctx, {
    kind: o.kind,
    event: o.event,
    messageId: o.sid,
    recipient: o.recipient,
    url: ctx.toReceiver(o.publicUrl),
    signedUrl: o.publicUrl,
    params: o.params,
    build: () => ({
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'TwilioProxy/1.1',
        'x-twilio-signature': signature,
        'i-twilio-idempotency-token': o.idempotencyToken,
        ...o.headers,
      },
      body,
    }),
    retryOn: (s) => s >= 500 || s === 429,
    capture: o.capture,
  });
}

/** A message's webhook: a fresh idempotency token per request, and Twilio's region header. */
const messagePost = (ctx: SimContext, o: Omit<TwilioPost, 'idempotencyToken' | 'headers'>) =>
  twilioPost(ctx, {
    ...o,
    idempotencyToken: `${o.sid}-${o.event}-${randomUUID()}`,
    headers: { 'x-home-region': 'us1' },
  });

/** Moves the message to `status` and POSTs its StatusCallback (if it has one). */
export async function statusCallback(ctx: SimContext, m: TwilioMessage, status: string, errorCode?: number) {
  const now = new Date();
  m.status = status;
  m.dateUpdated = now;
  if (status === 'sent' && !m.dateSent) m.dateSent = now;
  if (errorCode) {
    m.errorCode = errorCode;
    m.errorMessage = ERROR_MESSAGES[errorCode] ?? null;
  }
  if (!m.statusCallback) return;
  const whatsapp = m.to.startsWith('whatsapp:');
  const params: Record<string, string> = {
    AccountSid: m.accountSid,
    ApiVersion: API_VERSION,
    From: m.sender,
    MessageSid: m.sid,
    MessageStatus: status,
    SmsSid: m.sid,
    SmsStatus: status,
    To: m.to,
  };
  if (m.messagingServiceSid) params.MessagingServiceSid = m.messagingServiceSid;
  if (whatsapp) {
    params.ChannelPrefix = 'whatsapp';
    params.ChannelInstallSid = channelInstallSid(m.sender);
    params.ChannelToAddress = m.to.slice('whatsapp:'.length);
    params.StructuredMessage = m.contentSid ? 'true' : 'false';
  } else if (status === 'delivered' || status === 'undelivered') {
    params.RawDlrDoneDate = dlrDate(now);
  }
  if (errorCode) {
    params.ErrorCode = String(errorCode);
    if (ERROR_MESSAGES[errorCode]) params.ErrorMessage = ERROR_MESSAGES[errorCode];
  }
  await messagePost(ctx, {
    kind: 'twilio.status',
    event: status,
    sid: m.sid,
    recipient: m.to,
    publicUrl: m.statusCallback,
    params,
  });
}

/** The recipient replies `ACK <code>`: an inbound message, POSTed to the inbound webhook. */
export async function replyAck(ctx: SimContext, m: TwilioMessage) {
  const templates = ctx.opts.contentTemplates;
  const code = ackCodeOf({
    body: m.body,
    rendered: m.contentSid && templates?.[m.contentSid] ? render(templates[m.contentSid], m.contentVariables) : null,
    variables: m.contentVariables,
  });
  if (!code) {
    ctx.log.warn(
      { messageId: m.sid },
      'reply_ack: no ACK code in the message body or content variables; no reply sent',
    );
    return;
  }
  const whatsapp = m.to.startsWith('whatsapp:');
  const now = new Date();
  const inbound: TwilioMessage = {
    sid: sid('SM'),
    accountSid: m.accountSid,
    to: m.sender,
    from: m.to,
    sender: m.to,
    messagingServiceSid: m.messagingServiceSid,
    body: `ACK ${code}`,
    contentSid: null,
    contentVariables: null,
    statusCallback: null,
    status: 'received',
    direction: 'inbound',
    errorCode: null,
    errorMessage: null,
    numMedia: 0,
    dateCreated: now,
    dateUpdated: now,
    dateSent: now,
  };
  ctx.twilio.messages.set(inbound.sid, inbound);
  if (whatsapp) ctx.twilio.sessions.set(m.to, Date.now());
  const params: Record<string, string> = {
    ToCountry: 'US',
    SmsMessageSid: inbound.sid,
    NumMedia: '0',
    SmsSid: inbound.sid,
    SmsStatus: 'received',
    Body: inbound.body,
    To: inbound.to,
    NumSegments: '1',
    MessageSid: inbound.sid,
    AccountSid: inbound.accountSid,
    From: inbound.from!,
    ApiVersion: API_VERSION,
  };
  if (m.messagingServiceSid) params.MessagingServiceSid = m.messagingServiceSid;
  if (whatsapp) {
    delete params.ToCountry;
    params.ProfileName = 'Simulated Recipient';
    params.WaId = m.to.replace(/^whatsapp:\+/, '');
    params.MessageType = 'text';
    params.ReferralNumMedia = '0';
    params.ChannelMetadata = JSON.stringify({
      type: 'whatsapp',
      data: { context: { ProfileName: 'Simulated Recipient', WaId: params.WaId } },
    });
  } else if (inbound.from!.startsWith('+1')) {
    params.FromCountry = 'US';
  }
  await messagePost(ctx, {
    kind: 'twilio.inbound',
    event: 'received',
    sid: inbound.sid,
    recipient: m.to,
    publicUrl: ctx.settings.publicBase + ctx.settings.twilioInboundPath,
    params,
  });
}
