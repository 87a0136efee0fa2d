import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';

/**
 * The official Twilio client. twilio-node has no base-URL option, so when `apiBaseUrl` is set (env
 * TWILIO_API_BASE_URL, e.g. the local provider simulator) every request the SDK makes to a
 * `*.twilio.com` host (api.twilio.com, api.us1.twilio.com, messaging.twilio.com, …) is rewritten to
 * that base, keeping the path and query. Unset → the real Twilio API.
 */
export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** e.g. http://127.0.0.1:4580 (an optional path prefix is kept: http://host/twilio → /twilio/2010-04-01/…). */
  apiBaseUrl?: string;
  /**
   * Timeout (ms) of every request the SDK makes (axios request timeout and socket timeout of the
   * SDK's RequestClient). Default 8000 (the SDK's own default is 30 s). On a timeout the SDK rejects
   * with an AxiosError `ECONNABORTED`: the request may have reached Twilio.
   */
  timeoutMs?: number;
}

export const DEFAULT_TWILIO_TIMEOUT_MS = 8_000;

/** A RequestClient that sends every Twilio API request to another base URL. */
export class BaseUrlRequestClient extends twilio.RequestClient {
  private readonly base: URL;

  constructor(apiBaseUrl: string, opts?: ConstructorParameters<typeof twilio.RequestClient>[0]) {
    super(opts);
    this.base = new URL(apiBaseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new Error(`TWILIO_API_BASE_URL must be an http(s) URL, got protocol ${this.base.protocol}`);
    }
  }

  /** The URI a request for `uri` is sent to. */
  rewrite(uri: string): string {
    const u = new URL(uri);
    if (!/(^|\.)twilio\.com$/i.test(u.hostname)) return uri;
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return `${this.base.origin}${prefix}${u.pathname}${u.search}`;
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request<TData>({ ...opts, uri: this.rewrite(opts.uri) });
  }
}

export type TwilioClient = ReturnType<typeof twilio>;

export function twilioClient(opts: TwilioClientOptions): TwilioClient {
  if (!/^AC[0-9a-fA-F]{32}$/.test(opts.accountSid))
    throw new Error('TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits');
  if (!opts.authToken) throw new Error('TWILIO_AUTH_TOKEN is required');
  const timeout = opts.timeoutMs ?? DEFAULT_TWILIO_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout <= 0)
    throw new Error(`Twilio timeoutMs must be a positive integer, got ${timeout}`);
  const base = opts.apiBaseUrl?.trim();
  const httpClient = base ? new BaseUrlRequestClient(base, { timeout }) : undefined;
  // `timeout` is also passed with every request (BaseTwilio → RequestClient.request), custom client or not.
  return twilio(opts.accountSid, opts.authToken, { ...(httpClient ? { httpClient } : {}), timeout });
}
