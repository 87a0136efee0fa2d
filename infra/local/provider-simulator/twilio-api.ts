/** Twilio Messages API routes: create (with faults and hangs), list, fetch; the store is ctx.twilio. */
import type { SimApp, SimContext } from './context.js';
import { answer } from './faults.js';
import { referenceIn, render, renderDefault } from './message-text.js';
import { runTwilio } from './scripts.js';
import { twilioAuthOk, twilioFetch, twilioRejecter } from './twilio-http.js';
import { registerTwilioList } from './twilio-list.js';
import { API_VERSION, messageJson, sid, twilioError, type TwilioError, type TwilioMessage } from './twilio-model.js';
import { validateTwilio } from './twilio-validate.js';

/** The dispatch id a StatusCallback URL carries (`?dispatch=`). */
const dispatchOf = (statusCallback: string | null): string | undefined => {
  if (!statusCallback) return undefined;
  try {
    return new URL(statusCallback).searchParams.get('dispatch') ?? undefined;
  } catch {
    return undefined;
  }
};

export function registerTwilioApi(app: SimApp, ctx: SimContext) {
  const { opts, log } = ctx;
  const authOk = (header: string | undefined) => twilioAuthOk(header, opts.accountSid, opts.twilioAuthToken);

  app.post(`/${API_VERSION}/Accounts/:accountSid/Messages.json`, async (c) => {
    const path = new URL(c.req.url).pathname;
    const form = new URLSearchParams(await c.req.text());
    const params: Record<string, string> = {};
    for (const k of new Set(form.keys())) params[k] = form.getAll(k).join(',');
    const dispatchId = dispatchOf(form.get('StatusCallback'));
    const bodyRef = referenceIn(form.get('Body'));
    const record = ctx.records.newRequest('twilio', 'POST', path, {
      params,
      ...(form.get('To') ? { recipient: form.get('To')! } : {}),
      ...(dispatchId ? { dispatchId } : {}),
      ...(bodyRef ? { reference: bodyRef } : {}),
    });
    const fail = twilioRejecter(c, record, (e) =>
      log.info({ api: 'twilio', path, status: e.status, code: e.code }, 'api request rejected'),
    );
    if (!authOk(c.req.header('authorization'))) {
      c.header('WWW-Authenticate', 'Basic realm="Twilio API"');
      return fail(twilioError(401, 20003, 'Authenticate'));
    }
    if (c.req.param('accountSid') !== opts.accountSid)
      return fail(twilioError(404, 20404, `The requested resource ${path} was not found`));
    const invalid = validateTwilio(form);
    if (invalid) return fail(invalid);

    const to = form.get('To')!;
    const whatsapp = to.startsWith('whatsapp:');
    const mg = form.get('MessagingServiceSid');
    const from = form.get('From');
    const contentSid = form.get('ContentSid');
    const contentVariables = form.get('ContentVariables')
      ? (JSON.parse(form.get('ContentVariables')!) as Record<string, unknown>)
      : null;
    const vars = contentVariables
      ? Object.fromEntries(Object.entries(contentVariables).map(([k, v]) => [k, String(v)]))
      : null;
    const template = contentSid ? opts.contentTemplates?.[contentSid] : undefined;
    const body = form.get('Body') ?? (template ? render(template, vars) : contentSid ? renderDefault(vars) : '');
    const reference = referenceIn(body);
    if (reference) record.reference = reference;

    const plan = ctx.faults.planFor(to, dispatchId ?? `${to}\0${body}`);
    if (plan.fault) record.fault = plan.fault;
    let json: ReturnType<typeof messageJson> | undefined;
    if (plan.create) {
      const created = new Date();
      const { senders } = ctx.settings;
      const m: TwilioMessage = {
        sid: sid('SM'),
        accountSid: opts.accountSid,
        to,
        from: from ?? null,
        sender: from ?? (whatsapp ? senders.whatsapp : senders.sms),
        messagingServiceSid: mg ?? null,
        body,
        contentSid: contentSid ?? null,
        contentVariables: vars,
        statusCallback: form.get('StatusCallback'),
        status: from ? 'queued' : 'accepted',
        direction: 'outbound-api',
        errorCode: null,
        errorMessage: null,
        numMedia: form.getAll('MediaUrl').length,
        dateCreated: created,
        dateUpdated: created,
        dateSent: null,
      };
      ctx.twilio.messages.set(m.sid, m);
      record.status = 201;
      record.id = m.sid;
      log.info(
        {
          api: 'twilio',
          messageId: m.sid,
          channel: whatsapp ? 'whatsapp' : 'sms',
          template: !!contentSid,
          fault: plan.fault,
        },
        'message accepted',
      );
      json = messageJson(m);
      ctx.life.spawn(`twilio ${m.sid}`, () => runTwilio(ctx, m));
    }
    if (plan.errorStatus) {
      const st = plan.errorStatus;
      const e: TwilioError = twilioError(
        st,
        st === 429 ? 20429 : 20000 + st,
        st === 429 ? 'Too Many Requests' : st >= 500 ? 'Service unavailable (simulated)' : 'Simulated error',
      );
      return answer(ctx, c, record, plan, () => fail(e));
    }
    return answer(ctx, c, record, plan, () => c.json(json!, 201));
  });

  registerTwilioList(app, ctx);

  app.get(`/${API_VERSION}/Accounts/:accountSid/Messages/:file`, (c) =>
    twilioFetch(ctx, c, (sid) => ctx.twilio.messages.get(sid), messageJson),
  );
}
