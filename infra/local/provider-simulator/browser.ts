/** The simulated person (or link scanner) in a browser: follows links from an email to the receiver. */
import { pathOnly, type SimContext } from './context.js';
import { findAckLink, forms } from './html.js';
import { Closed } from './lifecycle.js';
import type { Email } from './resend-model.js';

export const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/126.0 Safari/537.36 pagetrail-simulator';

/** One browser request (following redirects, rewriting public URLs to the receiver); recorded. */
export async function browse(
  ctx: SimContext,
  kind: 'ack.get' | 'ack.post' | 'link.scan',
  e: Email,
  publicUrl: string,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; fields?: Record<string, string> },
): Promise<{ status: number; text: string; url: string; cookies: string[] }> {
  let url = publicUrl;
  let method = init.method;
  let body = init.body;
  const headers: Record<string, string> = {
    'user-agent': BROWSER_UA,
    accept: 'text/html,application/xhtml+xml',
    ...init.headers,
  };
  let status = 0;
  let text = '';
  let error: string | undefined;
  const cookies: string[] = [];
  for (let hop = 0; hop < 5; hop++) {
    try {
      const res = await fetch(ctx.toReceiver(url), {
        method,
        headers:
          method === 'POST'
            ? headers
            : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-type')),
        body: method === 'POST' ? body : undefined,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.life.signal, AbortSignal.timeout(ctx.settings.callbackTimeoutMs)]),
      });
      status = res.status;
      text = await res.text();
      for (const c of res.headers.getSetCookie()) cookies.push(c.split(';')[0]);
      const location = res.headers.get('location');
      if (status >= 300 && status < 400 && location) {
        url = new URL(location, url).toString();
        if (status !== 307 && status !== 308) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
    } catch (err) {
      if (ctx.life.signal.aborted) throw new Closed();
      status = 0;
      error = (err as Error).message;
    }
    break;
  }
  ctx.records.callbacks.push({
    at: new Date().toISOString(),
    kind,
    event: `${init.method} ${pathOnly(publicUrl)}`,
    messageId: e.id,
    recipient: e.to[0],
    method: init.method,
    url: ctx.toReceiver(publicUrl),
    signedUrl: publicUrl,
    ...(init.fields ? { params: init.fields } : {}),
    headers,
    attempt: 1,
    status,
    ...(error ? { error } : {}),
    responseText: text.slice(0, 2048),
  });
  ctx.log.debug({ kind, messageId: e.id, path: pathOnly(publicUrl), status }, 'browser request');
  return { status, text, url, cookies };
}

/** A person opens the acknowledge link and presses the button: GET the page, POST its form. */
export async function clickAck(ctx: SimContext, e: Email) {
  const link = findAckLink(e.html ?? '');
  if (!link) {
    ctx.log.warn({ messageId: e.id }, 'click_ack: no /ack? link in the html');
    return;
  }
  const publicLink = new URL(link, ctx.settings.publicBase + '/').toString();
  const page = await browse(ctx, 'ack.get', e, publicLink, { method: 'GET' });
  if (page.status !== 200) return;
  const form = forms(page.text).find((f) => f.method === 'post');
  if (!form) {
    ctx.log.warn({ messageId: e.id }, 'click_ack: the acknowledge page has no POST form');
    return;
  }
  const action = new URL(form.action || page.url, page.url).toString();
  const fields = Object.fromEntries(form.fields);
  const origin = new URL(page.url).origin;
  await browse(ctx, 'ack.post', e, action, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin,
      referer: page.url,
      ...(page.cookies.length ? { cookie: page.cookies.join('; ') } : {}),
    },
    body: new URLSearchParams(form.fields).toString(),
    fields,
  });
}

/** A mail security scanner pre-fetches the acknowledge link (GET only). */
export async function scanAckLink(ctx: SimContext, e: Email) {
  const link = findAckLink(e.html ?? '');
  if (link)
    await browse(ctx, 'link.scan', e, new URL(link, ctx.settings.publicBase + '/').toString(), {
      method: 'GET',
      headers: { 'user-agent': 'Mozilla/5.0 (compatible; SafeLinks-Scanner/1.0; pagetrail-simulator)' },
    });
}
