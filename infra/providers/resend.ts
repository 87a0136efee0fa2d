import { Resend } from 'resend';

/**
 * The official Resend client. resend 6.x takes the API base from the constructor option `baseUrl`
 * (else from env RESEND_BASE_URL, read once at construction, else https://api.resend.com); it joins
 * `${baseUrl}${path}`, so a trailing slash is removed here. Unset → the real Resend API.
 *
 * Note: the SDK does not throw on API errors: `emails.send` resolves `{ data: null, error: { name,
 * message, statusCode } }`.
 */
export interface ResendClientOptions {
  apiKey: string;
  /** e.g. http://127.0.0.1:4580 (env RESEND_BASE_URL). */
  baseUrl?: string;
}

export function resendClient(opts: ResendClientOptions): Resend {
  if (!opts.apiKey) throw new Error('RESEND_API_KEY is required');
  const baseUrl = opts.baseUrl?.trim().replace(/\/+$/, '');
  if (baseUrl) {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`RESEND_BASE_URL must be an http(s) URL, got protocol ${u.protocol}`);
  }
  return new Resend(opts.apiKey, baseUrl ? { baseUrl } : undefined);
}
