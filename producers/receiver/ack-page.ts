import type { Context, Hono } from 'hono';
import type { AckRecordIn } from '../../schemas/ack-record.js';
import { eventId } from '../../schemas/ids.js';
import { ackLinkFields, verifyAckLink, type AckLinkClaims } from '../../shared/ack-links.js';
import { SignatureError } from './errors.js';
import { guarded, utf8, writeRecords, type RouteDeps } from './http.js';

/**
 * GET /ack renders a confirmation page with a POST form and writes nothing: mail scanners and link
 * previews fetch GET links. POST /ack verifies the signed fields again and writes the ack record.
 * An invalid or expired link → 401 page, nothing written.
 */

const esc = (s: string) => s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[ch]!);

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
};

function page(c: Context, status: 200 | 401, title: string, inner: string): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}button{font-size:1.1rem;padding:.6rem 1.4rem}</style></head><body><h1>${esc(title)}</h1>${inner}</body></html>`;
  return c.body(html, status, HEADERS);
}

const alarmName = (arn: string) => arn.split(':alarm:')[1] ?? arn;

const invalid = (c: Context) => page(c, 401, 'Link not valid', '<p>This acknowledge link is invalid or has expired. Nothing was recorded.</p>');

function confirmPage(c: Context, claims: AckLinkClaims, fields: Record<string, string>): Response {
  const hidden = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  return page(
    c,
    200,
    'Acknowledge the alert?',
    `<p>Alarm <strong>${esc(alarmName(claims.alarmArn))}</strong> (incident ${esc(claims.incidentId)}), as <strong>${esc(claims.person)}</strong>.</p>` +
      `<p>Acknowledging stops the escalation to the next person.</p>` +
      `<form method="post" action="/ack">${hidden}<button type="submit">Acknowledge</button></form>`,
  );
}

export function ackRecordOf(claims: AckLinkClaims, nowMs: number): AckRecordIn {
  return {
    v: 1,
    kind: 'ack',
    event_id: eventId('ack', 'link', claims.incidentId, claims.person),
    incident_id: claims.incidentId,
    alarm_arn: claims.alarmArn,
    event_time: new Date(nowMs).toISOString(),
    channel: 'email',
    via: 'email_link',
    person: claims.person,
  };
}

export function ackRoutes(app: Hono, deps: RouteDeps): void {
  const secret = deps.config.ACK_LINK_SECRET;

  app.get('/ack', (c) => {
    const query = new URL(c.req.url).searchParams;
    try {
      const claims = verifyAckLink(query, secret, deps.now());
      return confirmPage(c, claims, ackLinkFields(query));
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      deps.logger.warn({ route: 'GET /ack', reason: err.reason }, 'rejected ack link');
      return invalid(c);
    }
  });

  app.post(
    '/ack',
    guarded(deps, '/ack', async (c, body) => {
      let claims: AckLinkClaims;
      try {
        claims = verifyAckLink(new URLSearchParams(utf8(body)), secret, deps.now());
      } catch (err) {
        if (!(err instanceof SignatureError)) throw err;
        deps.logger.warn({ route: 'POST /ack', reason: err.reason }, 'rejected ack link');
        return invalid(c);
      }
      const record = ackRecordOf(claims, deps.now());
      await writeRecords(deps, [record]);
      deps.logger.info({ route: 'POST /ack', incident_id: claims.incidentId, event_id: record.event_id }, 'acknowledged by link');
      return page(c, 200, 'Acknowledged', `<p>Thank you, ${esc(claims.person)}. Alarm <strong>${esc(alarmName(claims.alarmArn))}</strong> is acknowledged; escalation stops.</p>`);
    }),
  );
}
