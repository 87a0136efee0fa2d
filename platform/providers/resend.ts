import { Resend } from 'resend';

/**
 * The official Resend client. resend 6.x takes the API base from the constructor option `baseUrl`
 * (else from env RESEND_BASE_URL, read once at construction, else https://api.resend.com); it joins
 * `${baseUrl}${path}`, so a trailing slash is removed here. Unset → the real Resend API.
 *
 * Timeouts: resend 6.x calls the global `fetch` (no custom fetch option) but passes a per-request
 * `signal` through (`emails.send(payload, { signal })`). The client returned here adds
 * `AbortSignal.timeout(timeoutMs)` to every request (combined with the caller's signal, if any).
 *
 * Note: the SDK does not throw on API errors: `emails.send` resolves `{ data: null, error: { name,
 * message, statusCode } }`. An aborted or failed fetch also resolves, as `{ name: 'application_error',
 * statusCode: null }`; a caller that must tell a timeout apart checks its own signal.
 */
export interface ResendClientOptions {
  apiKey: string;
  /** e.g. http://127.0.0.1:4580 (env RESEND_BASE_URL). */
  baseUrl?: string;
  /** Timeout (ms) of every request. Default 8000. */
  timeoutMs?: number;
}

export const DEFAULT_RESEND_TIMEOUT_MS = 8_000;

/** A Resend client whose every request is aborted after `timeoutMs`. */
export class TimeoutResend extends Resend {
  constructor(
    key: string,
    readonly timeoutMs: number,
    options?: ConstructorParameters<typeof Resend>[1],
  ) {
    super(key, options);
  }

  override fetchRequest<T>(path: string, options: { signal?: AbortSignal | null } = {}) {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    return super.fetchRequest<T>(path, { ...options, signal });
  }
}

export function resendClient(opts: ResendClientOptions): Resend {
  if (!opts.apiKey) throw new Error('RESEND_API_KEY is required');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RESEND_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new Error(`Resend timeoutMs must be a positive integer, got ${timeoutMs}`);
  const baseUrl = opts.baseUrl?.trim().replace(/\/+$/, '');
  if (baseUrl) {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new Error(`RESEND_BASE_URL must be an http(s) URL, got protocol ${u.protocol}`);
  }
  return new TimeoutResend(opts.apiKey, timeoutMs, baseUrl ? { baseUrl } : undefined);
}
