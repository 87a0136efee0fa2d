/**
 * Twilio Calls API (create — with the recipient's one-shot faults and `hang`, as for messages —, fetch,
 * list) and the scripted call: signed status callbacks (initiated,
 * ringing, in-progress with AnsweredBy, completed / busy / no-answer / failed), the TwiML fetched
 * from the call's `Url` once it is answered (with AnsweredBy, as synchronous machine detection does;
 * kept as the call's `spoken` TwiML) and, for `answer_ack`, the `<Gather>` action request with
 * Digits=1 — signed like every Twilio webhook.
 */
import { stepOf } from './behaviours.js';
import type { SimApp, SimContext } from './context.js';
import { answer } from './faults.js';
import { twilioPost } from './twilio-callbacks.js';
import { twilioAuthOk, twilioFetch, twilioRejecter } from './twilio-http.js';
import { API_VERSION, sid, twilioError } from './twilio-model.js';

export interface TwilioCall {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  twiml: string | null;
  /** Where the call's TwiML is fetched once answered (instead of `twiml`). */
  url: string | null;
  /** The TwiML the call played (inline or fetched): what the person or the voicemail heard. */
  spoken: string | null;
  statusCallback: string | null;
  /** Events the StatusCallback gets (`initiated ringing answered completed`; default: completed only). */
  events: Set<string>;
  machineDetection: string | null;
  status: string;
  answeredBy: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  startTime: Date | null;
  endTime: Date | null;
  sequence: number;
}

const rfc2822 = (d: Date | null) => (d ? d.toUTCString().replace(/GMT$/, '+0000') : null);

export function callJson(c: TwilioCall) {
  const duration =
    c.startTime && c.endTime ? String(Math.round((c.endTime.getTime() - c.startTime.getTime()) / 1000)) : null;
  return {
    account_sid: c.accountSid,
    answered_by: c.answeredBy,
    api_version: API_VERSION,
    caller_name: null,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    direction: 'outbound-api',
    duration,
    end_time: rfc2822(c.endTime),
    forwarded_from: null,
    from: c.from,
    from_formatted: c.from,
    parent_call_sid: null,
    phone_number_sid: null,
    price: null,
    price_unit: 'USD',
    sid: c.sid,
    start_time: rfc2822(c.startTime),
    status: c.status,
    subresource_uris: {},
    to: c.to,
    to_formatted: c.to,
    uri: `/${API_VERSION}/Accounts/${c.accountSid}/Calls/${c.sid}.json`,
  };
}

/** The `<Gather action="…">` of the call's TwiML (XML entities decoded). */
export function gatherAction(twimlText: string | null): string | undefined {
  const m = twimlText ? /<Gather\b[^>]*\baction="([^"]*)"/.exec(twimlText) : null;
  return m
    ? m[1]
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&')
    : undefined;
}

const dispatchOf = (url: string | null) => {
  try {
    return url ? (new URL(url).searchParams.get('dispatch') ?? undefined) : undefined;
  } catch {
    return undefined;
  }
};

/** A call's webhook: one idempotency token per call and event. */
const signedPost = (
  ctx: SimContext,
  kind: 'twilio.call' | 'twilio.gather' | 'twilio.answer',
  event: string,
  call: TwilioCall,
  publicUrl: string,
  params: Record<string, string>,
  capture?: { body?: string },
) =>
  twilioPost(ctx, {
    kind,
    event,
    sid: call.sid,
    recipient: call.to,
    publicUrl,
    params,
    idempotencyToken: `${call.sid}-${event}`,
    capture,
  });

/**
 * The call's TwiML: inline (`Twiml`), else fetched from its `Url` once answered, as Twilio does (signed, with
 * AnsweredBy).
 */
async function twimlOf(ctx: SimContext, call: TwilioCall): Promise<string | null> {
  if (call.twiml || !call.url) return call.twiml;
  const capture: { body?: string } = {};
  const params = {
    ...baseParams(call),
    CallStatus: 'in-progress',
    ...(call.answeredBy ? { AnsweredBy: call.answeredBy } : {}),
  };
  const status = await signedPost(ctx, 'twilio.answer', 'answer', call, call.url, params, capture);
  return status >= 200 && status < 300 ? (capture.body ?? null) : null;
}

const baseParams = (call: TwilioCall): Record<string, string> => ({
  AccountSid: call.accountSid,
  ApiVersion: API_VERSION,
  CallSid: call.sid,
  CallStatus: call.status,
  Called: call.to,
  Caller: call.from,
  Direction: 'outbound-api',
  From: call.from,
  To: call.to,
});

/** Moves the call to `status` and POSTs its StatusCallback when `event` is subscribed. */
async function callStatus(ctx: SimContext, call: TwilioCall, status: string, event: string) {
  const now = new Date();
  call.status = status;
  call.dateUpdated = now;
  if (status === 'in-progress') call.startTime = now;
  if (['completed', 'busy', 'no-answer', 'failed', 'canceled'].includes(status)) call.endTime = now;
  if (!call.statusCallback || !call.events.has(event)) return;
  const params: Record<string, string> = {
    ...baseParams(call),
    CallbackSource: 'call-progress-events',
    SequenceNumber: String(call.sequence++),
    Timestamp: now.toUTCString().replace(/GMT$/, '+0000'),
  };
  if (call.answeredBy && (status === 'in-progress' || status === 'completed')) params.AnsweredBy = call.answeredBy;
  if (call.endTime)
    params.CallDuration = call.startTime
      ? String(Math.round((call.endTime.getTime() - call.startTime.getTime()) / 1000))
      : '0';
  await signedPost(ctx, 'twilio.call', status, call, call.statusCallback, params);
}

/** Plays the recipient's behaviour for a call (see behaviours.ts). */
export async function runCall(ctx: SimContext, call: TwilioCall) {
  const { sleep } = ctx.life;
  const { stepDelayMs } = ctx.settings;
  const decided = ctx.behaviours
    .of(call.to)
    .map(stepOf)
    .find((s) => ['answer_ack', 'no_answer', 'busy', 'voicemail', 'failed'].includes(s.step));
  const outcome = decided?.step ?? 'answer';
  await sleep(decided?.afterMs ?? stepDelayMs);
  if (outcome === 'failed') return callStatus(ctx, call, 'failed', 'completed');
  await callStatus(ctx, call, 'initiated', 'initiated');
  await sleep(stepDelayMs);
  if (outcome === 'busy') return callStatus(ctx, call, 'busy', 'completed');
  await callStatus(ctx, call, 'ringing', 'ringing');
  await sleep(stepDelayMs);
  if (outcome === 'no_answer') return callStatus(ctx, call, 'no-answer', 'completed');
  call.answeredBy = call.machineDetection ? (outcome === 'voicemail' ? 'machine_end_beep' : 'human') : null;
  const twiml = await twimlOf(ctx, call);
  call.spoken = twiml;
  await callStatus(ctx, call, 'in-progress', 'answered');
  await sleep(stepDelayMs);
  const action = gatherAction(twiml);
  if (outcome === 'answer_ack') {
    if (action)
      await signedPost(ctx, 'twilio.gather', 'gather', call, action, {
        ...baseParams(call),
        Digits: '1',
        FinishedOnKey: '',
        msg: 'Gather End',
      });
    else ctx.log.warn({ callSid: call.sid }, 'answer_ack: the call has no <Gather action>; no key press sent');
    await sleep(stepDelayMs);
  }
  await callStatus(ctx, call, 'completed', 'completed');
}

export function registerTwilioVoice(app: SimApp, ctx: SimContext) {
  const { opts, log } = ctx;
  const authOk = (h: string | undefined) => twilioAuthOk(h, opts.accountSid, opts.twilioAuthToken);
  const calls = ctx.twilio.calls;
  const base = `/${API_VERSION}/Accounts/:accountSid/Calls`;

  app.post(`${base}.json`, async (c) => {
    const path = new URL(c.req.url).pathname;
    const form = new URLSearchParams(await c.req.text());
    const to = form.get('To');
    const dispatchId = dispatchOf(form.get('StatusCallback'));
    const record = ctx.records.newRequest('twilio', 'POST', path, {
      params: Object.fromEntries([...new Set(form.keys())].map((k) => [k, form.getAll(k).join(',')])),
      ...(to ? { recipient: to } : {}),
      ...(dispatchId ? { dispatchId } : {}),
    });
    const fail = twilioRejecter(c, record);
    if (!authOk(c.req.header('authorization'))) return fail(twilioError(401, 20003, 'Authenticate'));
    if (c.req.param('accountSid') !== opts.accountSid)
      return fail(twilioError(404, 20404, `The requested resource ${path} was not found`));
    if (!to || !/^\+[1-9]\d{6,14}$/.test(to))
      return fail(twilioError(400, 21211, `Invalid 'To' Phone Number: ${to ?? ''}`));
    if (!form.get('From')) return fail(twilioError(400, 21213, 'No from number is specified'));
    if (!form.get('Twiml') && !form.get('Url') && !form.get('ApplicationSid'))
      return fail(twilioError(400, 21205, 'Url, Twiml or ApplicationSid is required'));
    const plan = ctx.faults.planFor(to, dispatchId ?? `${to}\0${form.get('Twiml') ?? form.get('Url')}`);
    if (plan.fault) record.fault = plan.fault;
    let json: ReturnType<typeof callJson> | undefined;
    if (plan.create) {
      const now = new Date();
      const call: TwilioCall = {
        sid: sid('CA'),
        accountSid: opts.accountSid,
        to,
        from: form.get('From')!,
        twiml: form.get('Twiml'),
        url: form.get('Url'),
        spoken: null,
        statusCallback: form.get('StatusCallback'),
        events: new Set(
          form
            .getAll('StatusCallbackEvent')
            .flatMap((e) => e.split(/[\s,]+/))
            .filter(Boolean)
            .concat('completed'),
        ),
        machineDetection: form.get('MachineDetection'),
        status: 'queued',
        answeredBy: null,
        dateCreated: now,
        dateUpdated: now,
        startTime: null,
        endTime: null,
        sequence: 0,
      };
      calls.set(call.sid, call);
      record.status = 201;
      record.id = call.sid;
      log.info({ api: 'twilio', callSid: call.sid, fault: plan.fault }, 'call queued');
      json = callJson(call);
      ctx.life.spawn(`twilio call ${call.sid}`, () => runCall(ctx, call));
    }
    if (plan.errorStatus) {
      const st = plan.errorStatus;
      return answer(ctx, c, record, plan, () =>
        fail(
          twilioError(
            st,
            st === 429 ? 20429 : 20000 + st,
            st === 429 ? 'Too Many Requests' : st >= 500 ? 'Service unavailable (simulated)' : 'Simulated error',
          ),
        ),
      );
    }
    return answer(ctx, c, record, plan, () => c.json(json!, 201));
  });

  app.get(`${base}.json`, (c) => {
    const u = new URL(c.req.url);
    const q = u.searchParams;
    const record = ctx.records.newRequest('twilio', 'GET', u.pathname, { query: Object.fromEntries(q) });
    const fail = twilioRejecter(c, record);
    if (!authOk(c.req.header('authorization'))) return fail(twilioError(401, 20003, 'Authenticate'));
    if (c.req.param('accountSid') !== opts.accountSid)
      return fail(twilioError(404, 20404, `The requested resource ${u.pathname} was not found`));
    const pageSize = Math.min(1000, Math.max(1, Number(q.get('PageSize') ?? 50) || 50));
    // newest first
    const list = [...calls.values()]
      .filter(
        (x) =>
          (!q.get('To') || x.to === q.get('To')) &&
          (!q.get('From') || x.from === q.get('From')) &&
          (!q.get('Status') || x.status === q.get('Status')),
      )
      .reverse();
    const items = list.slice(0, pageSize);
    const uri = `${u.pathname}?${q}`;
    record.status = 200;
    record.count = items.length;
    record.answeredAt = Date.now();
    return c.json({
      calls: items.map(callJson),
      end: Math.max(items.length, 1) - 1,
      first_page_uri: uri,
      next_page_uri: null,
      page: 0,
      page_size: pageSize,
      previous_page_uri: null,
      start: 0,
      uri,
    });
  });

  app.get(`${base}/:file`, (c) => twilioFetch(ctx, c, (sid) => calls.get(sid), callJson));
}
