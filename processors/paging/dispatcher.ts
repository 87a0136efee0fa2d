import type { Twilio } from 'twilio';
import type { Resend } from 'resend';
import { resendTags, twilioStatusCallbackUrl, type PageRef } from '../../schemas/correlation.js';
import type { OnCallConfig, PageChannel } from './oncall-config.js';
import { emailHtml, emailSubject, smsBody, whatsappVariables, type PageContent } from './message-content.js';
import { ProviderError } from './errors.js';

/**
 * Sends one page with the official SDKs: SMS and WhatsApp through `twilio` (StatusCallback carries
 * the page reference; WhatsApp goes out as the approved content template of the severity), email
 * through `resend` (tags carry the page reference; the dispatch id is the idempotency key).
 * Throttling (429), 5xx and network errors are retried with backoff; other refusals are returned as a
 * failed dispatch with the provider's code.
 */
export interface DispatcherOptions {
  twilio: Twilio;
  resend: Resend;
  oncall: OnCallConfig;
  publicBaseUrl: string;
  /** Attempts per page for retryable errors. Default 4. */
  maxAttempts?: number;
  /** Backoff base (doubles each attempt). Default 300 ms. */
  baseDelayMs?: number;
}

export interface PageRequest extends PageRef {
  channel: PageChannel;
  address: string;
  content: PageContent;
}

export type PageResult = { ok: true; messageId: string; provider: 'twilio' | 'resend' } | { ok: false; error: ProviderError; provider: 'twilio' | 'resend' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function twilioError(err: unknown): ProviderError {
  const e = err as { status?: number; code?: number; message?: string };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const retryable = status === undefined || status === 429 || status >= 500;
  return new ProviderError('twilio', String(e.code ?? status ?? 'network'), status, retryable, e.message ?? String(err), { cause: err });
}

function resendError(error: { name?: string; message?: string; statusCode?: number | null }): ProviderError {
  const status = error.statusCode ?? undefined;
  const retryable = status === undefined || status === 429 || status >= 500 || ['rate_limit_exceeded', 'internal_server_error', 'application_error', 'concurrent_idempotent_requests'].includes(error.name ?? '');
  return new ProviderError('resend', error.name ?? 'error', status, retryable, error.message ?? 'unknown error');
}

export class Dispatcher {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;

  constructor(private readonly opts: DispatcherOptions) {
    this.maxAttempts = opts.maxAttempts ?? 4;
    this.baseDelayMs = opts.baseDelayMs ?? 300;
  }

  async send(req: PageRequest): Promise<PageResult> {
    const provider = req.channel === 'email' ? 'resend' : 'twilio';
    let last: ProviderError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        const messageId = req.channel === 'email' ? await this.email(req) : await this.message(req);
        return { ok: true, messageId, provider };
      } catch (err) {
        last = err instanceof ProviderError ? err : provider === 'twilio' ? twilioError(err) : new ProviderError('resend', 'network', undefined, true, String(err), { cause: err });
        if (!last.retryable) break;
        if (attempt < this.maxAttempts) await sleep(this.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      }
    }
    return { ok: false, error: last!, provider };
  }

  private async message(req: PageRequest): Promise<string> {
    const { oncall } = this.opts;
    const statusCallback = twilioStatusCallbackUrl(this.opts.publicBaseUrl, req);
    const sender = oncall.twilio.messaging_service_sid
      ? { messagingServiceSid: oncall.twilio.messaging_service_sid }
      : { from: req.channel === 'whatsapp' ? oncall.twilio.whatsapp_from! : oncall.twilio.sms_from! };
    const content =
      req.channel === 'whatsapp'
        ? { contentSid: oncall.whatsapp_templates[req.content.severity as keyof OnCallConfig['whatsapp_templates']]!.content_sid, contentVariables: JSON.stringify(whatsappVariables(req.content)) }
        : { body: smsBody(req.content) };
    try {
      const msg = await this.opts.twilio.messages.create({ to: req.address, statusCallback, ...sender, ...content });
      return msg.sid;
    } catch (err) {
      throw twilioError(err);
    }
  }

  private async email(req: PageRequest): Promise<string> {
    const { oncall } = this.opts;
    const { data, error } = await this.opts.resend.emails.send(
      {
        from: oncall.email.from,
        to: [req.address],
        subject: emailSubject(req.content),
        html: emailHtml(req.content),
        replyTo: oncall.email.reply_to,
        tags: resendTags({ ...req, severity: req.content.severity }),
      },
      { idempotencyKey: req.dispatchId },
    );
    if (error) throw resendError(error);
    return data.id;
  }
}
