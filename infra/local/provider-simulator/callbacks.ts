/** Delivery of a signed callback to the receiver, retried with exponential backoff as the provider does. */
import { pathOnly, type SimContext } from './context.js';
import { Closed } from './lifecycle.js';
import type { CallbackKind } from './records.js';

export interface Outgoing {
  kind: CallbackKind;
  event: string;
  messageId: string;
  recipient: string;
  url: string;
  signedUrl?: string;
  params?: Record<string, string>;
  payload?: unknown;
  /** Headers and body of attempt n (Svix re-signs each attempt with a fresh timestamp). */
  build: (attempt: number) => { headers: Record<string, string>; body: string };
  retryOn: (status: number) => boolean;
  /** Set to the final answer's body (a call's TwiML, fetched from its Url). */
  capture?: { body?: string };
}

/** POSTs a callback, retrying as the provider does; resolves with the final status (0: unreachable). */
export async function deliver(ctx: SimContext, o: Outgoing): Promise<number> {
  const { attempts, baseDelayMs, maxDelayMs, callbackTimeoutMs } = ctx.settings;
  const backoff = (attempt: number) => Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  let status = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const { headers, body } = o.build(attempt);
    let error: string | undefined;
    try {
      const res = await fetch(o.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.life.signal, AbortSignal.timeout(callbackTimeoutMs)]),
      });
      status = res.status;
      const text = await res.text().catch(() => undefined);
      if (o.capture) o.capture.body = text;
    } catch (err) {
      if (ctx.life.signal.aborted) throw new Closed();
      status = 0;
      error = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    }
    ctx.records.callbacks.push({
      at: new Date().toISOString(),
      kind: o.kind,
      event: o.event,
      messageId: o.messageId,
      recipient: o.recipient,
      method: 'POST',
      url: o.url,
      signedUrl: o.signedUrl,
      params: o.params,
      payload: o.payload,
      headers,
      attempt,
      status,
      ...(error ? { error } : {}),
    });
    const retry = status === 0 || o.retryOn(status);
    ctx.log[retry ? 'warn' : 'debug'](
      { kind: o.kind, event: o.event, messageId: o.messageId, path: pathOnly(o.url), attempt, status, error },
      'callback',
    );
    if (!retry) return status;
    if (attempt < attempts) await ctx.life.sleep(backoff(attempt));
  }
  ctx.log.warn({ kind: o.kind, event: o.event, messageId: o.messageId, attempts }, 'callback given up');
  return status;
}
