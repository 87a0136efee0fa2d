/**
 * A local stand-in for the two messaging providers, good enough for the official SDKs and for the
 * webhook receiver:
 *
 * - Twilio Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form body, HTTP Basic
 *   AccountSid:AuthToken) → 201 message resource; `GET …/Messages/{Sid}.json`; `GET …/Messages.json`
 *   (list: `To`, `From`, `DateSent`, `DateSent<`, `DateSent>` (inclusive, second precision; a date-only
 *   value means the whole UTC day; messages not yet sent have no date_sent and do not match a date
 *   filter), `PageSize` (default 50), `PageToken`; newest first, unsent ones first; Twilio's page
 *   shape, so twilio-node's `list()`/`each()` page through it). Then status callbacks (form-encoded,
 *   `X-Twilio-Signature` over the StatusCallback URL as given) and inbound replies. A template message
 *   (ContentSid) gets its `body` rendered from `contentTemplates`, else the content variables joined.
 * - Twilio Calls API: `POST …/Calls.json` (To, From, Twiml/Url, StatusCallback, StatusCallbackEvent,
 *   MachineDetection) → 201 call resource; `GET …/Calls/{Sid}.json`; `GET …/Calls.json` (To, From,
 *   Status; newest first). Then the scripted call (behaviours `answer_ack`, `no_answer`, `busy`,
 *   `voicemail`): signed call status callbacks with AnsweredBy, and the `<Gather action>` key press.
 * - Resend emails API: `POST /emails` (JSON, `Authorization: Bearer <key>`, `Idempotency-Key`) → 200
 *   `{ id }`; `GET /emails/{id}`. Then Svix-signed webhooks (`svix-id` stable across retries).
 *   Idempotency as Resend documents: the same key within 24 h returns the first id (no new email, no
 *   new webhooks); the same key with another payload → 409 `invalid_idempotent_request`; the same key
 *   while the first request has not been answered yet (a hung answer) → 409
 *   `concurrent_idempotent_requests`.
 *
 * - AWS End User Messaging SMS and Voice (the second route): `POST /` with `X-Amz-Target:
 *   PinpointSMSVoiceV2.SendTextMessage | SendVoiceMessage` (AWS JSON 1.0) → `{MessageId}`; then its delivery events
 *   as SNS-signed Notifications to the receiver's `/webhooks/aws-sms-voice` (aws-sms-voice-api.ts, sns-signer.ts).
 * - Account configuration (what `make providers` sets, twilio-account.ts / resend-webhook-api.ts): the
 *   account's IncomingPhoneNumbers (list by PhoneNumber, fetch, update SmsUrl/VoiceUrl/…), WhatsApp
 *   senders (Senders API v2, `webhook.callback_url`), Messaging Services (InboundRequestUrl), and
 *   Resend webhook endpoints (create, list, get with its signing secret, update, delete). Kept as
 *   state, not acted on: callbacks keep going to `receiverBaseUrl`.
 *
 * Faults: `hangFraction` of the sending requests (seeded, deterministic: SHA-256 of seed, the page's
 * dispatch id or idempotency key, and how many times that page was sent before) are accepted but
 * answered `hangMs` late; the behaviour step `hang` does that for a recipient; one-shot `faults` per
 * recipient answer 5xx/429 (before or after creating the message), reset the connection, or hang; an
 * outage (`setOutage`, `PUT /__sim/outage`) gives one such fault to every sending request until cleared.
 * Hangs and faults apply to requests that would create a message or email; an idempotent replay
 * answers at once. Every API request is recorded with its receive and answer times (epoch ms) and,
 * for sends, the recipient, the page reference and the dispatch id.
 *
 * Callbacks are signed over the *public* URL (what Twilio/Resend would call: the receiver's
 * PUBLIC_BASE_URL) and delivered to `receiverBaseUrl` + the same path and query. A 5xx (Twilio) or
 * any non-2xx (Resend, as Svix does) or an unreachable receiver is retried with exponential backoff.
 *
 * What each recipient does is set by behaviours (see behaviours.ts). Every API call and every callback
 * attempt is recorded (`requests()`, `callbacks()`, `GET /__sim/requests`, `GET /__sim/callbacks`).
 * `GET /__sim/inbox` (inbox.ts) shows what was sent as a person would see it, with its ack links.
 *
 * Layout: context.ts (per-simulator state), twilio-api.ts / twilio-list.ts, twilio-voice.ts (calls, and
 * their script and callbacks), resend-api.ts (the provider routes), twilio-account.ts and
 * resend-webhook-api.ts (account configuration), faults.ts (hangs, one-shot faults), scripts.ts (behaviour steps),
 * twilio-callbacks.ts / resend-webhooks.ts / callbacks.ts (signed callback delivery), browser.ts (ack
 * links), records.ts, control.ts (`/__sim/*`), inbox.ts (`/__sim/inbox`), lifecycle.ts (timers and background tasks).
 */
import type { AddressInfo } from 'node:net';
import { serve, type HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { Behaviour } from './behaviours.js';
import { createContext } from './context.js';
import { registerControl } from './control.js';
import { registerInbox } from './inbox.js';
import type { ProviderSimulator, ProviderSimulatorOptions } from './options.js';
import { registerResendApi } from './resend-api.js';
import { registerAwsSmsVoiceApi } from './aws-sms-voice-api.js';
import { registerSnsPublish } from './sns-publish.js';
import { registerResendWebhookApi } from './resend-webhook-api.js';
import { registerTwilioAccount } from './twilio-account.js';
import { registerTwilioApi } from './twilio-api.js';
import { registerTwilioVoice } from './twilio-voice.js';

export type { ApiFault, Behaviour, Behaviours, StepName } from './behaviours.js';
export { ackCodeOf, referenceIn } from './message-text.js';
export type { ProviderSimulator, ProviderSimulatorOptions } from './options.js';
export type { ApiRequestRecord, CallbackKind, CallbackRecord } from './records.js';

/** Starts a simulator on its own port (throws on invalid options); `close()` stops it and its pending work. */
export async function startProviderSimulator(opts: ProviderSimulatorOptions): Promise<ProviderSimulator> {
  const ctx = createContext(opts);
  const { log, records } = ctx;

  const app = new Hono<{ Bindings: HttpBindings }>();
  registerTwilioApi(app, ctx);
  registerTwilioVoice(app, ctx);
  registerResendApi(app, ctx);
  registerAwsSmsVoiceApi(app, ctx);
  registerSnsPublish(app, ctx);
  registerTwilioAccount(app, ctx);
  registerResendWebhookApi(app, ctx);
  registerControl(app, ctx);
  registerInbox(app, ctx);
  app.notFound((c) =>
    c.json(
      {
        statusCode: 404,
        name: 'not_found',
        message: `no simulated route for ${c.req.method} ${new URL(c.req.url).pathname}`,
      },
      404,
    ),
  );
  app.onError((err, c) => {
    log.error({ err }, 'simulator route failed');
    return c.json({ statusCode: 500, name: 'internal_server_error', message: 'simulator error' }, 500);
  });

  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  ctx.aws.baseUrl = url;
  log.info(
    { url, receiver: ctx.settings.receiverBase, public: ctx.settings.publicBase },
    'provider simulator listening',
  );

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    sns: { certUrl: ctx.aws.certUrl(), topicArn: ctx.aws.topicArn, inboundTopicArn: ctx.aws.inboundTopicArn },
    requests: () => records.requests.map((r) => structuredClone(r)),
    callbacks: () => records.callbacks.map((r) => structuredClone(r)),
    setBehaviour(recipient, behaviour) {
      ctx.behaviours.set(recipient, Behaviour.parse(behaviour));
    },
    injectFaults: (recipient, faults) => ctx.faults.inject(recipient, faults),
    setOutage: (fault) => ctx.faults.setOutage(fault),
    idle: () => ctx.life.idle(),
    clearRecords() {
      records.clear();
    },
    close() {
      closed ??= (async () => {
        await ctx.life.shutdown();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      })();
      return closed;
    },
  };
}
