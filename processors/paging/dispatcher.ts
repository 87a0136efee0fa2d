import { setTimeout as delay } from 'node:timers/promises';
import twilioSdk, { type Twilio } from 'twilio';
import type { Resend } from 'resend';
import type { AwsSmsVoice } from '../../platform/providers/aws-sms-voice.js';
import {
  awsContext,
  resendTags,
  twilioStatusCallbackUrl,
  twilioVoiceAnswerUrl,
  twilioVoiceStatusCallbackUrl,
  type PageRef,
} from '../../schemas/correlation.js';
import { silentLogger, type Logger } from '../../platform/logger.js';
import { backoffDelay } from '../../platform/aws-errors.js';
import type { OnCallConfig, PageChannel } from '../../schemas/oncall/config.js';
import {
  carriesReference,
  emailHtml,
  emailSubject,
  emailText,
  pageReference,
  awsVoiceBody,
  smsBody,
  voiceIntro,
  whatsappVariables,
  type PageContent,
} from './message-content.js';
import { PageLookupError, ProviderError } from './errors.js';

export { pageReference } from './message-content.js';

/**
 * Sends one page with the official SDKs and never loses or blindly duplicates it.
 *
 * SMS and WhatsApp go through `twilio` (the StatusCallback URL carries the page's PageRef; WhatsApp as
 * the approved content template of the severity), voice through the `twilio` Calls API (inline TwiML that
 * reads the alarm and gathers one key, answering-machine detection, status callbacks to
 * /webhooks/twilio/voice with the PageRef; the message id is the CallSid), email through `resend` (tags
 * carry the PageRef; the dispatch id is the idempotency key). Every message carries the page reference
 * (`pageReference(dispatchId)`, "Ref 7Q2M9XKD"): SMS body, WhatsApp variable 5, email text/HTML and tag
 * `page_ref`.
 *
 * Outcomes of `send`:
 * - `{ ok: true, messageId }`: the provider has the message (created now, or found after an unknown
 *   outcome).
 * - `{ ok: false, error }`: definitely not sent: a refusal (4xx other than 429), or every attempt was
 *   throttled / never reached the provider (ECONNREFUSED, DNS).
 * - `{ ok: false, unknown: true, error }`: it may have gone out (a timeout, a connection reset, a 5xx)
 *   and could not be settled within the budget. Settle it later with `find(req, sinceMs)`.
 *
 * Retries: 429 and never-reached errors are retried with backoff. An unknown Twilio outcome is never
 * retried blindly: after the backoff, `find()` looks the page up by its reference; found → that is the
 * result; not found → sending again is safe (Twilio did not create it). Email is re-sent with the same
 * idempotency key, which Resend answers with the first result for 24 h (409
 * `concurrent_idempotent_requests` while the first is still in progress: retried).
 * Residual risk (Twilio): a request still being processed at Twilio when the lookup runs is not yet
 * listed; the backoff before the lookup narrows that window, it cannot close it.
 *
 * Time bound: every provider call is bounded by `timeoutMs` (the SDK clients' own timeouts, plus a
 * backstop here that ignores a late answer: a late answer of a timed-out attempt is never taken for
 * the result of another; the message it created is what `find` finds), a lookup by `findTimeoutMs`. A
 * call or lookup is started only when it can end within `budgetMs` of the start of `send`, so `send`
 * resolves within `budgetMs` (default 30 s; with the defaults: at most 3 calls of ≤ 8 s, backoff
 * 300/600 ms, lookups ≤ 16 s, whichever the budget admits first).
 *
 * Content must be a pure function of the dispatch: Resend compares the payload of a request that
 * reuses an idempotency key (another payload → 409 `invalid_idempotent_request`, returned as a
 * definite failure with that code: an email under that key did go out but its id cannot be had).
 */
export interface DispatcherOptions {
  twilio: Pick<Twilio, 'messages' | 'calls'>;
  resend: Pick<Resend, 'emails'>;
  oncall: OnCallConfig;
  publicBaseUrl: string;
  /** Timeout of one provider call (ms). Default 8000. */
  timeoutMs?: number;
  /** Timeout of one lookup (`find`, all its list pages) (ms). Default 2 × timeoutMs. */
  findTimeoutMs?: number;
  /** Provider calls per `send` (lookups not counted). Default 3. */
  maxAttempts?: number;
  /** Backoff before attempt n+1: baseDelayMs · 2^(n-1), at most maxDelayMs, jittered 50–100 %
   * (platform/aws-errors.ts `backoffDelay`). Default 300 ms. */
  baseDelayMs?: number;
  /** Default 2000 ms. */
  maxDelayMs?: number;
  /** Upper bound of one `send` (ms). Default 30000. */
  budgetMs?: number;
  /** Page size of the Twilio message list in `find`. Default 100. */
  findPageSize?: number;
  /** Most recent messages of the recipient examined for a page not yet sent (no date_sent). Default 20. */
  findRecentLimit?: number;
  /** Seconds a voice page rings before Twilio gives up (`no-answer`). Default 30. */
  voiceRingTimeoutS?: number;
  /**
   * The second route for SMS and voice (AWS End User Messaging SMS and Voice); unset: Twilio only, as before.
   * When set, a Twilio send of a channel it carries fails fast instead of retrying Twilio (see `send`), and a
   * page whose `route` is `aws` goes by it.
   */
  secondRoute?: SecondRoute;
  logger?: Logger;
}

/** AWS End User Messaging SMS and Voice as the second route (settings: .env.example, "Second route"). */
export interface SecondRoute {
  client: AwsSmsVoice;
  /** Phone number, pool, sender id (or its ARN) the SMS pages go from. */
  smsOrigination: string;
  /** A voice-capable phone number (or its ARN); unset: voice pages are not rerouted. */
  voiceOrigination?: string;
  /** The configuration set whose event destination (SNS) sends the delivery events back. */
  configurationSet: string;
  /** Amazon Polly voice of voice pages. Default `JOANNA`. */
  voiceId?: string;
}

/** The channels a second route carries. */
export function secondRouteChannels(route: SecondRoute | undefined): PageChannel[] {
  if (!route) return [];
  return route.voiceOrigination ? ['sms', 'voice'] : ['sms'];
}

export interface PageRequest extends PageRef {
  channel: PageChannel;
  address: string;
  /** SMS and voice: `aws` sends by the second route; absent or `twilio`: Twilio (email: always Resend). */
  route?: 'twilio' | 'aws';
  /** Must be a pure function of the dispatch (see DispatcherOptions). */
  content: PageContent;
}

export type Provider = 'twilio' | 'resend' | 'aws';

export type PageResult =
  | { ok: true; messageId: string; provider: Provider }
  | { ok: false; unknown?: false; error: ProviderError; provider: Provider }
  | { ok: false; unknown: true; error: ProviderError; provider: Provider };

/** What one provider call came to. */
type Attempt =
  | { kind: 'ok'; id: string }
  /** Definitely not created; trying again cannot help. */
  | { kind: 'refused'; error: ProviderError }
  /** Definitely not created (429, never reached); try again. */
  | { kind: 'retry'; error: ProviderError }
  /** May have been created (timeout, reset, 5xx). */
  | { kind: 'unknown'; error: ProviderError };

/** The request certainly never reached the provider. */
const NEVER_REACHED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_INVALID_URL',
]);

class CallTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'CallTimeout';
  }
}

/** Resolves as `p`, or rejects with CallTimeout after `ms`; a late settlement of `p` is dropped. */
async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  p.catch(() => undefined);
  const ac = new AbortController();
  try {
    return await Promise.race([
      p,
      delay(ms, undefined, { signal: ac.signal }).then(() => Promise.reject(new CallTimeout(ms))),
    ]);
  } finally {
    ac.abort();
  }
}

function twilioAttempt(err: unknown): Attempt {
  if (err instanceof CallTimeout)
    return {
      kind: 'unknown',
      error: new ProviderError('twilio', 'timeout', undefined, true, err.message, { cause: err }),
    };
  const e = err as { status?: number; code?: number | string; message?: string };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const message = e.message ?? String(err);
  if (status !== undefined) {
    const code = String(e.code ?? status);
    if (status === 429)
      return { kind: 'retry', error: new ProviderError('twilio', code, status, true, message, { cause: err }) };
    if (status >= 500)
      return { kind: 'unknown', error: new ProviderError('twilio', code, status, true, message, { cause: err }) };
    return { kind: 'refused', error: new ProviderError('twilio', code, status, false, message, { cause: err }) };
  }
  const raw = typeof e.code === 'string' ? e.code : 'network';
  // The SDK's own timeout (axios ECONNABORTED / ETIMEDOUT) reads the same as the backstop's.
  const code = raw === 'ECONNABORTED' || raw === 'ETIMEDOUT' ? 'timeout' : raw;
  return {
    kind: NEVER_REACHED.has(code) ? 'retry' : 'unknown',
    error: new ProviderError('twilio', code, undefined, true, message, { cause: err }),
  };
}

/** What an AWS SDK error says about a send (smithy ServiceException: `name`, `$metadata.httpStatusCode`). */
function awsAttempt(err: unknown, aborted: boolean): Attempt {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  const timeout = aborted || err instanceof CallTimeout || e.name === 'TimeoutError' || e.name === 'AbortError';
  const code = timeout ? 'timeout' : (e.name ?? 'error');
  const message = e.message ?? String(err);
  const error = (retryable: boolean) => new ProviderError('aws', code, status, retryable, message, { cause: err });
  if (timeout) return { kind: 'unknown', error: error(true) };
  if (status === 429 || e.name === 'ThrottlingException') return { kind: 'retry', error: error(true) };
  if (status !== undefined && status < 500) return { kind: 'refused', error: error(false) };
  if (status === undefined && typeof e.code === 'string' && NEVER_REACHED.has(e.code))
    return { kind: 'retry', error: error(true) };
  return { kind: 'unknown', error: error(true) };
}

function resendAttempt(
  error: { name?: string; message?: string; statusCode?: number | null },
  timedOut: boolean,
): Attempt {
  const status = error.statusCode ?? undefined;
  const name = timedOut ? 'timeout' : (error.name ?? 'error');
  const message = timedOut ? 'no answer in time' : (error.message ?? 'unknown error');
  const err = (retryable: boolean) => new ProviderError('resend', name, status, retryable, message);
  // statusCode null: the SDK's fetch failed (timeout, reset, refused): it may have reached Resend.
  if (status === undefined || status >= 500 || name === 'concurrent_idempotent_requests')
    return { kind: 'unknown', error: err(true) };
  if (status === 429) return { kind: 'retry', error: err(true) };
  return { kind: 'refused', error: err(false) };
}

export class Dispatcher {
  private readonly timeoutMs: number;
  private readonly findTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly budgetMs: number;
  private readonly findPageSize: number;
  private readonly findRecentLimit: number;
  private readonly log: Logger;

  constructor(private readonly opts: DispatcherOptions) {
    this.timeoutMs = opts.timeoutMs ?? 8_000;
    this.findTimeoutMs = opts.findTimeoutMs ?? 2 * this.timeoutMs;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.baseDelayMs = opts.baseDelayMs ?? 300;
    this.maxDelayMs = opts.maxDelayMs ?? 2_000;
    this.budgetMs = opts.budgetMs ?? 30_000;
    this.findPageSize = opts.findPageSize ?? 100;
    this.findRecentLimit = opts.findRecentLimit ?? 20;
    this.log = opts.logger ?? silentLogger;
  }

  /** The provider a request goes by. */
  providerOf(req: Pick<PageRequest, 'channel' | 'route'>): Provider {
    if (req.channel === 'email') return 'resend';
    return req.route === 'aws' && this.opts.secondRoute ? 'aws' : 'twilio';
  }

  /** Whether a Twilio failure of this channel hands the page to the second route (fail fast). */
  private reroutable(req: PageRequest): boolean {
    return req.route !== 'aws' && secondRouteChannels(this.opts.secondRoute).includes(req.channel);
  }

  async send(req: PageRequest): Promise<PageResult> {
    const provider: Provider = this.providerOf(req);
    const failFast = provider === 'twilio' && this.reroutable(req);
    const started = Date.now();
    const deadline = started + this.budgetMs;
    const fits = (ms: number) => Date.now() + ms <= deadline;
    // every line about a page names the incident, the person, the channel and the message (none yet: null)
    const logRef = {
      incidentId: req.incidentId,
      person: req.content.personName,
      channel: req.channel,
      messageId: null,
      dispatchId: req.dispatchId,
      reference: pageReference(req.dispatchId),
    };
    /** The last attempt whose outcome is unsettled (it may have created the message). */
    let unsettled: ProviderError | undefined;
    let last: ProviderError | undefined;

    const result = (): PageResult =>
      unsettled ? { ok: false, unknown: true, error: unsettled, provider } : { ok: false, error: last!, provider };

    /** Twilio: looks an unsettled attempt up; a message id, or undefined when it was not created. */
    const settle = async (): Promise<string | undefined | 'failed'> => {
      try {
        const found = await this.find(req, started);
        this.log.info({ ...logRef, messageId: found ?? null, found: !!found }, 'unknown send outcome looked up');
        return found;
      } catch (err) {
        // Not the error object itself: its cause (an AxiosError) carries the request URL with the recipient.
        const e = err as PageLookupError;
        this.log.warn({ ...logRef, code: e.code, retryable: e.retryable }, 'lookup of an unknown send outcome failed');
        return 'failed';
      }
    };

    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        const backoff = backoffDelay(attempt - 1, this.baseDelayMs, this.maxDelayMs);
        if (!fits(backoff)) break;
        await delay(backoff);
        if (provider === 'twilio' && unsettled) {
          if (!fits(this.findTimeoutMs)) break;
          const found = await settle();
          if (found === 'failed') break;
          if (found) return { ok: true, messageId: found, provider };
          unsettled = undefined; // not created: sending again is safe
        }
      }
      if (!fits(this.timeoutMs)) break;
      const a =
        provider === 'aws'
          ? await this.awsOnce(req)
          : req.channel === 'email'
            ? await this.emailOnce(req)
            : req.channel === 'voice'
              ? await this.callOnce(req)
              : await this.messageOnce(req);
      if (a.kind === 'ok') return { ok: true, messageId: a.id, provider };
      last = a.error;
      if (provider === 'aws' && a.kind === 'unknown') {
        // no idempotency token and no message list: never sent again blindly (effects.ts settles it: its delivery
        // event names the dispatch; else it is sent again as a possible duplicate)
        this.log.warn({ ...logRef, code: a.error.code, status: a.error.status }, 'AWS send outcome unknown');
        return { ok: false, unknown: true, error: a.error, provider };
      }
      if (failFast && a.kind !== 'refused') {
        // a second route waits: Twilio erred (5xx, reset, throttled) or timed out; not retried on Twilio. An
        // unknown outcome is looked up once (Twilio may have it); otherwise the page fails here and the engine
        // sends it by the other route at once
        this.log.warn(
          { ...logRef, code: a.error.code, status: a.error.status },
          'twilio failed: the page goes by the second route',
        );
        if (a.kind === 'unknown' && fits(this.findTimeoutMs)) {
          const found = await settle();
          if (found && found !== 'failed') return { ok: true, messageId: found, provider };
        }
        return { ok: false, error: a.error, provider };
      }
      if (a.kind === 'refused') {
        this.log.warn({ ...logRef, code: a.error.code, status: a.error.status }, 'page refused by the provider');
        // Resend: a refusal of a re-send does not undo an earlier unknown attempt (e.g. invalid_idempotent_request).
        return unsettled && provider === 'resend'
          ? { ok: false, unknown: true, error: a.error, provider }
          : { ok: false, error: a.error, provider };
      }
      if (a.kind === 'unknown') unsettled = a.error;
      this.log.warn(
        { ...logRef, attempt, outcome: a.kind, code: a.error.code, status: a.error.status },
        'page send attempt did not succeed',
      );
    }
    if (provider === 'twilio' && unsettled && fits(this.findTimeoutMs)) {
      const found = await settle();
      if (found && found !== 'failed') return { ok: true, messageId: found, provider };
      if (found === undefined) return { ok: false, error: unsettled, provider };
    }
    return result();
  }

  /**
   * Settles a send whose outcome is unknown (a crash between claim and completion, a timeout): the
   * provider's id of the page's message, or undefined when the provider has no such message (sending
   * it again is then safe). `sinceMs`: when the first send of this page may have started (the claim's
   * time); the search reaches back 60 s before it. Throws PageLookupError when the lookup itself
   * failed (try again later).
   *
   * Twilio: lists the recipient's messages sent since then (`to`, `dateSentAfter`, up to 100, paged)
   * and, for a page not sent yet (queued/accepted: no date_sent, so no date filter matches it), the
   * recipient's `findRecentLimit` most recent messages created since then; a message matches when
   * its body (for WhatsApp the rendered template) carries the page reference. Several matches → the
   * oldest.
   *
   * Resend has no search by tag: this IS a re-send with the same payload and idempotency key (the
   * dispatch id), which Resend answers with the first email's id when it got through (within 24 h),
   * and which sends the email when it did not: it returns an id either way, undefined only when
   * Resend refuses the payload. Past 23 h of `sinceMs` it throws (the key may have expired).
   */
  async find(req: PageRequest, sinceMs: number): Promise<string | undefined> {
    if (this.providerOf(req) === 'aws') {
      // AWS End User Messaging lists no sent messages: only the page's delivery event (its Context names the
      // dispatch) can settle it; until then the effect runner retries, then sends it again as a possible duplicate
      throw new PageLookupError('aws', req.dispatchId, 'no_lookup', true, 'AWS End User Messaging has no message list');
    }
    if (req.channel === 'voice') return this.findCall(req, sinceMs);
    return req.channel === 'email' ? this.findEmail(req, sinceMs) : this.findMessage(req, sinceMs);
  }

  private async findMessage(req: PageRequest, sinceMs: number): Promise<string | undefined> {
    const reference = pageReference(req.dispatchId);
    const cutoff = sinceMs - 60_000;
    type Listed = Awaited<ReturnType<Twilio['messages']['list']>>[number];
    const ours = (m: Listed) => String(m.direction).startsWith('outbound') && carriesReference(m.body, reference);
    const lookup = async () => {
      // the window around the claim: a minute before it (clock skew), until now; newest first, so a
      // busy number (an alert storm) needs more than one page
      const sent = await this.opts.twilio.messages.list({
        to: req.address,
        dateSentAfter: new Date(cutoff),
        limit: 1000,
        pageSize: this.findPageSize,
      });
      let hits = sent.filter(ours);
      if (!hits.length) {
        const recent = await this.opts.twilio.messages.list({
          to: req.address,
          limit: this.findRecentLimit,
          pageSize: Math.min(this.findPageSize, this.findRecentLimit),
        });
        hits = recent.filter((m) => m.dateCreated && m.dateCreated.getTime() >= cutoff && ours(m));
      }
      hits.sort((a, b) => (a.dateCreated?.getTime() ?? 0) - (b.dateCreated?.getTime() ?? 0));
      return hits[0]?.sid;
    };
    try {
      return await bounded(lookup(), this.findTimeoutMs);
    } catch (err) {
      const e = err as { status?: number; code?: number | string; message?: string };
      const code = err instanceof CallTimeout ? 'timeout' : String(e.code ?? e.status ?? 'network');
      throw new PageLookupError('twilio', req.dispatchId, code, true, e.message ?? String(err), { cause: err });
    }
  }

  /**
   * A call carries no text the Calls list returns (twilio-node CallInstance: sid, to, from, status,
   * direction, dateCreated, startTime, answeredBy…; neither the TwiML nor the StatusCallback URL), so
   * the page reference cannot be matched: the call is found by recipient and time instead — the
   * recipient's `findRecentLimit` most recent outbound-api calls created since a minute before the
   * claim (a queued call has no start time yet, so no `startTimeAfter` filter). One → it; none →
   * undefined; several (two pages to one number within the window) → PageLookupError `ambiguous`,
   * not retryable: guessing could tie the page to another page's call.
   */
  private async findCall(req: PageRequest, sinceMs: number): Promise<string | undefined> {
    const cutoff = sinceMs - 60_000;
    const lookup = async () => {
      const recent = await this.opts.twilio.calls.list({
        to: req.address,
        limit: this.findRecentLimit,
        pageSize: Math.min(this.findPageSize, this.findRecentLimit),
      });
      return recent.filter(
        (c) => String(c.direction).startsWith('outbound-api') && c.dateCreated && c.dateCreated.getTime() >= cutoff,
      );
    };
    let hits: Awaited<ReturnType<typeof lookup>>;
    try {
      hits = await bounded(lookup(), this.findTimeoutMs);
    } catch (err) {
      const e = err as { status?: number; code?: number | string; message?: string };
      const code = err instanceof CallTimeout ? 'timeout' : String(e.code ?? e.status ?? 'network');
      throw new PageLookupError('twilio', req.dispatchId, code, true, e.message ?? String(err), { cause: err });
    }
    if (hits.length > 1) {
      throw new PageLookupError(
        'twilio',
        req.dispatchId,
        'ambiguous',
        false,
        `${hits.length} calls to the recipient within the window: the page's call cannot be told apart`,
      );
    }
    return hits[0]?.sid;
  }

  private async findEmail(req: PageRequest, sinceMs: number): Promise<string | undefined> {
    if (Date.now() - sinceMs > 23 * 3600_000) {
      throw new PageLookupError(
        'resend',
        req.dispatchId,
        'idempotency_expired',
        false,
        'the Resend idempotency key may have expired (24 h): a re-send could send the email twice',
      );
    }
    const a = await this.emailOnce(req);
    if (a.kind === 'ok') return a.id;
    if (a.kind === 'refused') {
      if (a.error.code === 'invalid_idempotent_request') {
        throw new PageLookupError(
          'resend',
          req.dispatchId,
          a.error.code,
          false,
          'an email with this idempotency key went out with another payload; its id cannot be had',
          { cause: a.error },
        );
      }
      return undefined;
    }
    throw new PageLookupError('resend', req.dispatchId, a.error.code, true, a.error.message, { cause: a.error });
  }

  /** One Twilio create call. */
  private async messageOnce(req: PageRequest): Promise<Attempt> {
    const { oncall } = this.opts;
    const reference = pageReference(req.dispatchId);
    const statusCallback = twilioStatusCallbackUrl(this.opts.publicBaseUrl, req);
    const sender = oncall.twilio.messaging_service_sid
      ? { messagingServiceSid: oncall.twilio.messaging_service_sid }
      : { from: req.channel === 'whatsapp' ? oncall.twilio.whatsapp_from! : oncall.twilio.sms_from! };
    const content =
      req.channel === 'whatsapp'
        ? {
            contentSid:
              oncall.whatsapp_templates[req.content.severity as keyof OnCallConfig['whatsapp_templates']]!.content_sid,
            contentVariables: JSON.stringify(whatsappVariables(req.content, reference)),
          }
        : { body: smsBody(req.content, reference) };
    try {
      const msg = await bounded(
        this.opts.twilio.messages.create({ to: req.address, statusCallback, ...sender, ...content }),
        this.timeoutMs,
      );
      return { kind: 'ok', id: msg.sid };
    } catch (err) {
      return twilioAttempt(err);
    }
  }

  /**
   * Where Twilio fetches a voice page's TwiML once the call is answered: the receiver's
   * `/webhooks/twilio/voice/answer`, carrying what to read out and the page reference (a person hears
   * the alarm and "press 1", a voicemail a short message).
   */
  voiceAnswerUrl(req: PageRequest): string {
    return twilioVoiceAnswerUrl(this.opts.publicBaseUrl, req, {
      say: voiceIntro(req.content),
      reference: pageReference(req.dispatchId),
    });
  }

  /** One Twilio Calls create. */
  private async callOnce(req: PageRequest): Promise<Attempt> {
    const from = this.opts.oncall.twilio.voice_from;
    if (!from)
      return {
        kind: 'refused',
        error: new ProviderError('twilio', 'no_voice_from', undefined, false, 'twilio.voice_from is not configured'),
      };
    try {
      const call = await bounded(
        this.opts.twilio.calls.create({
          to: req.address,
          from,
          url: this.voiceAnswerUrl(req),
          method: 'POST',
          statusCallback: twilioVoiceStatusCallbackUrl(this.opts.publicBaseUrl, req),
          statusCallbackMethod: 'POST',
          statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
          // Synchronous detection to the end of a voicemail greeting: Twilio fetches the Url once it
          // knows who answered (AnsweredBy in that request and the answered / completed callbacks), so
          // a voicemail gets its short message after the beep.
          machineDetection: 'DetectMessageEnd',
          timeout: this.opts.voiceRingTimeoutS ?? 30,
        }),
        this.timeoutMs,
      );
      return { kind: 'ok', id: call.sid };
    } catch (err) {
      return twilioAttempt(err);
    }
  }

  /**
   * One AWS End User Messaging send: SendTextMessage (SMS) or SendVoiceMessage (voice, text-to-speech: the alarm and
   * how to acknowledge; a call by this route cannot take a key press). `Context` carries the page reference
   * (`dispatch_id`, `incident_id`, `alarm_arn_b64`); the configuration set's event destination returns it with every
   * delivery event, which is how a receipt finds its page (producers/receiver/aws-sms-voice-webhook.ts).
   */
  private async awsOnce(req: PageRequest): Promise<Attempt> {
    const route = this.opts.secondRoute!;
    const reference = pageReference(req.dispatchId);
    const Context = awsContext(req);
    const signal = AbortSignal.timeout(this.timeoutMs);
    const common = { DestinationPhoneNumber: req.address, ConfigurationSetName: route.configurationSet, Context };
    try {
      const out =
        req.channel === 'voice'
          ? await bounded(
              route.client.sendVoice(
                {
                  ...common,
                  OriginationIdentity: route.voiceOrigination,
                  MessageBody: awsVoiceBody(req.content, reference),
                  MessageBodyTextType: 'TEXT',
                  VoiceId: (route.voiceId ?? 'JOANNA') as 'JOANNA',
                },
                signal,
              ),
              this.timeoutMs + 250,
            )
          : await bounded(
              route.client.sendText(
                {
                  ...common,
                  OriginationIdentity: route.smsOrigination,
                  MessageBody: smsBody(req.content, reference),
                  MessageType: 'TRANSACTIONAL',
                },
                signal,
              ),
              this.timeoutMs + 250,
            );
      if (!out.MessageId)
        return {
          kind: 'unknown',
          error: new ProviderError('aws', 'no_message_id', undefined, true, 'AWS answered without a MessageId'),
        };
      return { kind: 'ok', id: out.MessageId };
    } catch (err) {
      return awsAttempt(err, signal.aborted);
    }
  }

  /** One Resend POST /emails (idempotency key: the dispatch id). */
  private async emailOnce(req: PageRequest): Promise<Attempt> {
    const { oncall } = this.opts;
    const reference = pageReference(req.dispatchId);
    const signal = AbortSignal.timeout(this.timeoutMs);
    const payload = {
      from: oncall.email.from,
      to: [req.address],
      subject: emailSubject(req.content),
      html: emailHtml(req.content, reference),
      text: emailText(req.content, reference),
      replyTo: oncall.email.reply_to,
      tags: [...resendTags({ ...req, severity: req.content.severity }), { name: 'page_ref', value: reference }],
    };
    try {
      // The signal aborts the fetch; the backstop (a little later) covers a client that ignores it.
      const { data, error } = await bounded(
        this.opts.resend.emails.send(payload, { idempotencyKey: req.dispatchId, signal }),
        this.timeoutMs + 250,
      );
      if (error) return resendAttempt(error, signal.aborted);
      return { kind: 'ok', id: data.id };
    } catch (err) {
      const timeout = err instanceof CallTimeout || signal.aborted;
      return {
        kind: 'unknown',
        error: new ProviderError(
          'resend',
          timeout ? 'timeout' : 'network',
          undefined,
          true,
          (err as Error).message ?? String(err),
          { cause: err },
        ),
      };
    }
  }
}
