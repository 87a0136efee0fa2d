/**
 * `GET /__sim/inbox`: every SMS, WhatsApp message, email and call the simulator was sent, newest first, as
 * a person's phone and mailbox would show them — the time, the channel, the recipient (masked as the logs
 * mask it), the subject and body, and how to acknowledge: the email's ack link (a link a local browser can
 * open: the public URL mapped to the receiver), the SMS/WhatsApp "reply ACK <code>" (a button that makes the
 * simulator send that reply, signed, as the person would), the key a call asks for; a console sign-in mail's link
 * (opened the same way). HTML for a browser, JSON
 * with `Accept: application/json`. `POST /__sim/inbox/<message sid>/reply` sends the reply.
 *
 * Read from the simulator's own stores (in memory: what it was sent since it started).
 */
import { maskPii } from '../../../platform/logger.js';
import type { SimApp, SimContext } from './context.js';
import { decodeEntities, findAckLink, links } from './html.js';
import { ackCodeOf, render } from './message-text.js';
import { replyAck } from './twilio-callbacks.js';

export type InboxChannel = 'sms' | 'whatsapp' | 'email' | 'voice';

export interface InboxEntry {
  /** When the simulator was sent it (ISO 8601, UTC). */
  at: string;
  channel: InboxChannel;
  /** SM… / CA… / the email id. */
  id: string;
  /** The recipient, masked (`+**********01`, `a***@example.com`). */
  to: string;
  /** The provider's status now (delivered, read, completed, …). */
  status: string;
  subject?: string;
  /** The text (an email's text part, else its HTML as text; a call's spoken words), masked. */
  body: string;
  /** The acknowledge link the email carries, as sent, and where a local browser opens it. */
  ackLink?: { sent: string; open: string };
  /** The console's sign-in link a sign-in mail carries, as sent, and where a local browser opens it. */
  signInLink?: { sent: string; open: string };
  /** SMS/WhatsApp: what to reply (`ACK 7KQ2MX`), and the simulator route that sends that reply. */
  ackReply?: { text: string; send: string };
  /** Voice: the key the call asks for. */
  ackKey?: string;
}

/** Text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed. */
const textOf = (html: string) =>
  decodeEntities(html.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ').replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();

/** Every message, email and call the simulator was sent, newest first. */
export function inboxEntries(ctx: SimContext): InboxEntry[] {
  const entries: { ms: number; entry: InboxEntry }[] = [];
  const templates = ctx.opts.contentTemplates;
  for (const m of ctx.twilio.messages.values()) {
    if (m.direction !== 'outbound-api') continue;
    const rendered =
      m.contentSid && templates?.[m.contentSid] ? render(templates[m.contentSid], m.contentVariables) : null;
    const code = ackCodeOf({ body: m.body, rendered, variables: m.contentVariables });
    entries.push({
      ms: m.dateCreated.getTime(),
      entry: {
        at: m.dateCreated.toISOString(),
        channel: m.to.startsWith('whatsapp:') ? 'whatsapp' : 'sms',
        id: m.sid,
        to: maskPii(m.to),
        status: m.status,
        body: maskPii(rendered ?? m.body),
        ...(code ? { ackReply: { text: `ACK ${code}`, send: `/__sim/inbox/${m.sid}/reply` } } : {}),
      },
    });
  }
  for (const e of ctx.resend.emails.values()) {
    const link = findAckLink(e.html ?? '');
    const sent = link ? new URL(link, `${ctx.settings.publicBase}/`).toString() : undefined;
    const signIn = links(e.html ?? '').find((h) => h.includes('/console/sign-in/verify?'));
    const signInSent = signIn ? new URL(signIn, `${ctx.settings.publicBase}/`).toString() : undefined;
    entries.push({
      ms: e.createdAt.getTime(),
      entry: {
        at: e.createdAt.toISOString(),
        channel: 'email',
        id: e.id,
        to: e.to.map(maskPii).join(', '),
        status: e.lastEvent,
        subject: maskPii(e.subject),
        body: maskPii(e.text?.trim() || textOf(e.html ?? '')),
        ...(sent ? { ackLink: { sent, open: ctx.toReceiver(sent) } } : {}),
        ...(signInSent ? { signInLink: { sent: signInSent, open: ctx.toReceiver(signInSent) } } : {}),
      },
    });
  }
  for (const c of ctx.twilio.calls.values()) {
    const said = textOf(
      [...(c.spoken ?? c.twiml ?? '').matchAll(/<Say\b[^>]*>([\s\S]*?)<\/Say\s*>/gi)].map((m) => m[1]).join(' '),
    );
    const key = /press\s+(\d)/i.exec(said)?.[1];
    entries.push({
      ms: c.dateCreated.getTime(),
      entry: {
        at: c.dateCreated.toISOString(),
        channel: 'voice',
        id: c.sid,
        to: maskPii(c.to),
        status: c.status,
        body: maskPii(said || (c.url ? `(TwiML from ${c.url}, fetched when answered)` : '')),
        ...(key ? { ackKey: key } : {}),
      },
    });
  }
  // newest first; at the same millisecond, the one created later first (Map order is creation order)
  return entries
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => b.ms - a.ms || b.i - a.i)
    .map((e) => e.entry);
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const CHANNEL = { sms: 'SMS', whatsapp: 'WhatsApp', email: 'email', voice: 'call' } as const;

function ackCell(e: InboxEntry): string {
  if (e.ackLink) return `<a href="${esc(e.ackLink.open)}">acknowledge</a>`;
  if (e.signInLink) return `<a href="${esc(e.signInLink.open)}">sign in to the console</a>`;
  if (e.ackReply) {
    return (
      `<form method="post" action="${esc(e.ackReply.send)}"><button type="submit">reply ` +
      `${esc(e.ackReply.text)}</button></form>`
    );
  }
  if (e.ackKey) return `press ${esc(e.ackKey)} during the call`;
  return '';
}

/** The inbox as one HTML page (no scripts; a reload shows what arrived since). */
export function inboxHtml(entries: InboxEntry[]): string {
  const rows = entries
    .map(
      (e) =>
        `<tr><td>${esc(e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</td><td>${CHANNEL[e.channel]}</td>` +
        `<td>${esc(e.to)}</td><td>${esc(e.status)}</td>` +
        `<td>${e.subject ? `<b>${esc(e.subject)}</b><br>` : ''}${esc(e.body)}</td><td>${ackCell(e)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Simulator inbox (${entries.length})</title>
<style>body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}td:nth-child(5){max-width:60ch}
button{font:inherit;cursor:pointer}</style></head><body>
<h1>Simulator inbox</h1>
<p>Every SMS, WhatsApp message, email and call the provider simulator was sent since it started, newest first
(recipients masked as in the logs). Reload for new ones; <code>Accept: application/json</code> gives JSON.</p>
${
  entries.length
    ? `<table><thead><tr><th>time (UTC)</th><th>channel</th><th>to</th><th>status</th><th>message</th>` +
      `<th>acknowledge</th></tr></thead><tbody>\n${rows}\n</tbody></table>`
    : '<p>Nothing yet: <code>make send-alarm SAMPLE=rds-cpu</code> pages someone.</p>'
}
</body></html>
`;
}

export function registerInbox(app: SimApp, ctx: SimContext) {
  app.get('/__sim/inbox', (c) => {
    const entries = inboxEntries(ctx);
    const accept = c.req.header('accept') ?? '';
    if (/application\/json/i.test(accept) && !/text\/html/i.test(accept)) return c.json(entries);
    return c.html(inboxHtml(entries));
  });
  app.post('/__sim/inbox/:sid/reply', async (c) => {
    const m = ctx.twilio.messages.get(c.req.param('sid'));
    if (m?.direction !== 'outbound-api') return c.json({ error: 'no such message' }, 404);
    await replyAck(ctx, m);
    return c.redirect('/__sim/inbox', 303);
  });
}
