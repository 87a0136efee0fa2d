import type { Context, Hono } from 'hono';
// TwiML's VoiceResponse alone (xmlbuilder), not the package index with its REST client.
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import type { AckRecordIn } from '../../schemas/ack-record.js';
import { pageRefFromQuery, twilioVoiceGatherUrl } from '../../schemas/correlation.js';
import { eventId } from '../../schemas/ids.js';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { PayloadError } from './errors.js';
import { guarded, writeRecords, type RouteDeps } from './http.js';
import { twilioCallStatus } from './status-map.js';
import type { TwilioParams } from './twilio-signature.js';
import { param, rawPathAndQuery, requiredParam, twilioStatusReceipt, verifiedTwilioParams } from './twilio-request.js';
import { keptOnPayloadError, type VerifiedRequest } from './webhook-outcome.js';

/**
 * Voice pages (Twilio Calls API), both signed like every Twilio webhook:
 *
 * - POST /webhooks/twilio/voice?incident=…&alarm=…&dispatch=… — call status callbacks → receipt
 *   records, channel `voice` (status-map.ts `twilioCallStatus`: answered by a human → `opened`; busy,
 *   no-answer, failed, canceled, a machine → a failed status, so the engine fails over at once).
 * - POST /webhooks/twilio/voice/answer?incident=…&alarm=…&dispatch=…&say=…&ref=… — the call's TwiML,
 *   fetched once the call is answered (answering-machine detection `DetectMessageEnd` has run): a
 *   person hears the alarm (`say`) inside a one-digit `<Gather>` ("Press 1 to acknowledge"), then, if no
 *   key came, a goodbye with the page reference; a voicemail (AnsweredBy machine_…, fax) gets a short
 *   message after the beep — the call counts as not reached (its status callbacks fail it over).
 *   Writes nothing.
 * - POST /webhooks/twilio/voice/gather?incident=…&alarm=…&dispatch=… — the `<Gather>` action: Digits
 *   `1` → an ack record (via `voice_key`) and TwiML "Acknowledged. Goodbye."; another key → the
 *   prompt once more (`&attempt=2`), then goodbye; an answering machine (AnsweredBy machine_… or fax)
 *   hears a short message and nothing is acknowledged. A verified key press that cannot be used (no page
 *   reference) is kept under `errors/` and answered with TwiML that ends the call.
 */

export const VOICE_ACKNOWLEDGED = 'Acknowledged. Goodbye.';
export const VOICE_PROMPT = 'Press 1 to acknowledge.';
export const VOICE_OTHER_KEY = 'That key is not 1.';
export const VOICE_GOODBYE = 'Not acknowledged. This page escalates unless acknowledged. Goodbye.';
export const VOICE_MACHINE = 'This is pagetrail with an urgent alarm. Please check your other channels. Goodbye.';
/** What a voicemail records: short, no alarm details, the page reference read out. */
export const voiceVoicemail = (reference: string) =>
  `This is pagetrail with an urgent alarm for you. Please check your other channels now. ` +
  `Reference ${spell(reference)}. Goodbye.`;
/** What a person who pressed nothing hears before the call ends. */
export const voiceNoKey = (reference: string) =>
  `No key was pressed. This page escalates unless acknowledged. Reference ${spell(reference)}. Goodbye.`;
/** A reference read out character by character. */
const spell = (reference: string) => reference.split('').join(' ');
/** Seconds the call waits for the key press after its prompt. */
const GATHER_TIMEOUT_S = 8;

const one = param;
const required = requiredParam;

const isMachine = (answeredBy: string | undefined) =>
  !!answeredBy && (answeredBy.startsWith('machine') || answeredBy === 'fax');

/** A verified call status callback → a receipt record (`query`: the callback URL's page reference). */
export function twilioCallReceipt(params: TwilioParams, query: URLSearchParams, nowMs: number): ReceiptRecordIn {
  const sid = required(params, 'CallSid');
  const word = required(params, 'CallStatus');
  const { status, provider_status } = twilioCallStatus(word, one(params, 'AnsweredBy'));
  return twilioStatusReceipt(params, query, nowMs, {
    sid,
    channel: 'voice',
    status,
    provider_status,
    errorCode: one(params, 'ErrorCode'),
    errorMessage: one(params, 'ErrorMessage'),
  });
}

const voiceXml = (c: Context, r: VoiceResponse) =>
  c.body(r.toString(), 200, { 'content-type': 'text/xml; charset=utf-8' });

/** The TwiML that ends a call with one sentence. */
function sayAndHangUp(c: Context, text: string): Response {
  const r = new VoiceResponse();
  r.say(text);
  r.hangup();
  return voiceXml(c, r);
}

/** The public URL of the Gather action again, as the second and last attempt. */
function secondAttemptUrl(publicBaseUrl: string, pathAndQuery: string): string {
  const u = new URL(pathAndQuery, publicBaseUrl);
  u.searchParams.set('attempt', '2');
  return u.toString();
}

/** The answered call's TwiML: the alarm and the prompt for a person, a short message for a voicemail. */
function answer(c: Context, deps: RouteDeps, params: TwilioParams): Response {
  const query = new URL(c.req.url).searchParams;
  const page = pageRefFromQuery(query);
  const say = query.get('say')?.trim();
  const reference = query.get('ref')?.trim() ?? '';
  if (!page || !say || !/^[0-9A-Z]{4,16}$/.test(reference))
    throw new PayloadError(
      'missing or malformed page reference or script (incident, alarm, dispatch, say, ref) in the answer URL',
      'query',
    );
  if (isMachine(one(params, 'AnsweredBy'))) {
    deps.logger.info(
      { route: '/webhooks/twilio/voice/answer', incident_id: page.incidentId, message_id: one(params, 'CallSid') },
      'voice page reached an answering machine: short message left, not reached',
    );
    return sayAndHangUp(c, voiceVoicemail(reference));
  }
  const r = new VoiceResponse();
  const g = r.gather({
    numDigits: 1,
    action: twilioVoiceGatherUrl(deps.config.PUBLIC_BASE_URL, page),
    method: 'POST',
    timeout: GATHER_TIMEOUT_S,
    actionOnEmptyResult: false,
  });
  g.say(say);
  g.say(VOICE_PROMPT);
  r.say(voiceNoKey(reference));
  r.hangup();
  return voiceXml(c, r);
}

async function gather(
  c: Context,
  deps: RouteDeps,
  params: TwilioParams,
  url: string,
  nowMs: number,
): Promise<Response> {
  const query = new URL(c.req.url).searchParams;
  const page = pageRefFromQuery(query);
  if (!page)
    throw new PayloadError(
      'missing or malformed page reference (incident, alarm, dispatch) in the callback URL',
      'query',
    );
  const sid = required(params, 'CallSid');
  if (isMachine(one(params, 'AnsweredBy'))) {
    deps.logger.info(
      { route: '/webhooks/twilio/voice/gather', incident_id: page.incidentId, message_id: sid },
      'voice page reached an answering machine: not acknowledged',
    );
    return sayAndHangUp(c, VOICE_MACHINE);
  }
  const digits = one(params, 'Digits') ?? '';
  if (digits === '1') {
    const ack: AckRecordIn = {
      v: 1,
      kind: 'ack',
      event_id: eventId('ack', 'twilio', sid),
      incident_id: page.incidentId,
      alarm_arn: page.alarmArn,
      event_time: new Date(nowMs).toISOString(),
      channel: 'voice',
      via: 'voice_key',
      recipient: one(params, 'To'),
      message_id: sid,
    };
    await writeRecords(deps, [ack]);
    deps.logger.info(
      { route: '/webhooks/twilio/voice/gather', incident_id: page.incidentId, event_id: ack.event_id },
      'acknowledged by key press',
    );
    return sayAndHangUp(c, VOICE_ACKNOWLEDGED);
  }
  if (query.get('attempt') === '2') return sayAndHangUp(c, VOICE_GOODBYE);
  const r = new VoiceResponse();
  r.say(VOICE_OTHER_KEY);
  r.gather({
    numDigits: 1,
    method: 'POST',
    timeout: GATHER_TIMEOUT_S,
    action: secondAttemptUrl(deps.config.PUBLIC_BASE_URL, url),
    actionOnEmptyResult: false,
  }).say(VOICE_PROMPT);
  r.say(VOICE_GOODBYE);
  r.hangup();
  return voiceXml(c, r);
}

export function twilioVoiceRoutes(app: Hono, deps: RouteDeps): void {
  /**
   * `twimlOnKept`: a kept (unusable) request is answered with TwiML that ends the call, as Twilio needs TwiML there.
   */
  const verified = (
    route: string,
    handle: (c: Context, params: TwilioParams, url: string, nowMs: number) => Promise<Response>,
    twimlOnKept = false,
  ) =>
    guarded(deps, route, async (c, body) => {
      const url = rawPathAndQuery(c);
      const req: VerifiedRequest = { c, route, body, url, receivedAt: deps.now() };
      return keptOnPayloadError(
        deps,
        req,
        async () => {
          const params = verifiedTwilioParams(c, deps, body, url);
          return handle(c, params, url, deps.now());
        },
        twimlOnKept ? () => sayAndHangUp(c, VOICE_GOODBYE) : undefined,
      );
    });

  app.post(
    '/webhooks/twilio/voice',
    verified('/webhooks/twilio/voice', async (c, params, _url, nowMs) => {
      const record = twilioCallReceipt(params, new URL(c.req.url).searchParams, nowMs);
      await writeRecords(deps, [record]);
      deps.logger.debug?.(
        { route: '/webhooks/twilio/voice', event_id: record.event_id, status: record.status },
        'receipt written',
      );
      return c.body(null, 200);
    }),
  );
  app.post(
    '/webhooks/twilio/voice/answer',
    verified('/webhooks/twilio/voice/answer', async (c, params) => answer(c, deps, params), true),
  );
  app.post(
    '/webhooks/twilio/voice/gather',
    verified('/webhooks/twilio/voice/gather', (c, params, url, nowMs) => gather(c, deps, params, url, nowMs), true),
  );
}
