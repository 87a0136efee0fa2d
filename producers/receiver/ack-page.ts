import type { Context, Hono } from 'hono';
import type { AckRecordIn } from '../../schemas/ack-record.js';
import { eventId } from '../../schemas/ids.js';
import { ackLinkFields, verifyAckLink, type AckLinkClaims } from '../../shared/ack-links.js';
import { COLORS, cloudWatchAlarmUrl, utcTime } from '../../shared/page-look.js';
import { SignatureError } from './errors.js';
import { guarded, utf8, writeRecords, type RouteDeps } from './http.js';

/**
 * GET /ack renders a confirmation page with a POST form and writes nothing: mail scanners and link
 * previews fetch GET links. POST /ack verifies the signed fields again and writes the ack record.
 * An invalid or expired link → 401 page, nothing written; it points to the SMS fallback.
 *
 * The pages look like the page email (severity colour, card, footer). With `incidents` (the paging
 * processor's incident items, read-only) they say when the incident was already acknowledged (by
 * whom), resolved, or escalated past the person; without it, or when the lookup fails or takes longer
 * than `incidentLookupTimeoutMs`, they show the form alone.
 */

/** What the ack page needs of an incident's paging state (processors/paging/incident-state.ts). */
export interface AckIncidentView {
  severity?: string;
  level: number;
  round: number;
  ackedAt?: number;
  ackedBy?: string;
  resolvedAt?: number;
  exhaustedAt?: number;
  pages: Record<string, { person: string; level: number; round: number }>;
}

/** Read-only lookup of an incident (shared/incident-item.ts `IncidentReader` fits). */
export interface IncidentLookup {
  get(incidentId: string): Promise<{ state: AckIncidentView } | undefined>;
}

export interface AckPageDeps {
  incidents?: IncidentLookup;
  /** Default 1500 ms: past it the page is shown without the incident's status. */
  incidentLookupTimeoutMs?: number;
}

const esc = (s: string) =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[ch]!);

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
};

const NEUTRAL = '#475467';

/** The email's look: a coloured header bar on a card, the pagetrail footer. */
function page(c: Context, status: 200 | 401, title: string, inner: string, color = NEUTRAL): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">\
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)} · pagetrail</title>
<style>body{margin:0;background:#f2f4f7;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#101828}
.card{max-width:560px;margin:24px auto;background:#fff;border-radius:8px;overflow:hidden}
.head{background:${color};color:#fff;padding:16px 24px;font-size:18px;font-weight:600}
.body{padding:20px 24px}.note{padding:10px 12px;border-radius:6px;background:#fef3f2;color:#7a271a;margin:0 0 16px}
.ok{background:#ecfdf3;color:#054f31}.muted{color:#667085;font-size:13px}a{color:${color}}
button{font-size:1.05rem;padding:10px 18px;border:0;border-radius:6px;background:${color};color:#fff;\
font-weight:600;cursor:pointer}
footer{max-width:560px;margin:0 auto 24px;font-size:11px;color:#98a2b3;text-align:center}</style></head>
<body><div class="card"><div class="head">${esc(title)}</div><div class="body">${inner}</div></div>\
<footer>pagetrail · closed-loop alerting</footer></body></html>`;
  return c.body(html, status, HEADERS);
}

const alarmName = (arn: string) => arn.split(':alarm:')[1] ?? arn;

const SMS_FALLBACK =
  'To acknowledge anyway, reply <b>ACK &lt;code&gt;</b> to the SMS or WhatsApp message of this page ' +
  '(the code is in it, and at the bottom of the email).';

const invalid = (c: Context) =>
  page(
    c,
    401,
    'Link not valid',
    `<p>This acknowledge link is invalid or has expired. Nothing was recorded.</p><p>${SMS_FALLBACK}</p>`,
  );

/** The incident's status, or undefined (no lookup, not found, failed or too slow: the page does without). */
async function incidentView(deps: RouteDeps & AckPageDeps, incidentId: string): Promise<AckIncidentView | undefined> {
  if (!deps.incidents) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = deps.incidentLookupTimeoutMs ?? 1500;
  try {
    const found = await Promise.race([
      deps.incidents.get(incidentId),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    if (found === 'timeout') {
      deps.logger.warn(
        { route: '/ack', incident_id: incidentId, timeoutMs },
        'incident lookup timed out: ack page without its status',
      );
      return undefined;
    }
    return found?.state;
  } catch (err) {
    deps.logger.warn(
      { route: '/ack', incident_id: incidentId, err: (err as Error).message },
      'incident lookup failed: ack page without its status',
    );
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Sentences about the incident's state, as seen by `person`. */
export function statusNotes(
  view: AckIncidentView | undefined,
  person: string,
): { acked?: string; resolved?: string; escalated?: string } {
  if (!view) return {};
  const notes: { acked?: string; resolved?: string; escalated?: string } = {};
  if (view.ackedAt !== undefined) {
    const by = view.ackedBy ? (view.ackedBy === person ? 'you' : view.ackedBy) : 'someone';
    notes.acked = `Already acknowledged by ${by} at ${utcTime(view.ackedAt)}.`;
  }
  if (view.resolvedAt !== undefined) notes.resolved = `The alarm went back to OK at ${utcTime(view.resolvedAt)}.`;
  const mine = Object.values(view.pages).filter((p) => p.person === person);
  const myTop = mine.reduce<{ level: number; round: number } | undefined>(
    (a, p) => (!a || p.round > a.round || (p.round === a.round && p.level > a.level) ? p : a),
    undefined,
  );
  if (view.exhaustedAt !== undefined)
    notes.escalated = `The escalation policy was exhausted at ${utcTime(view.exhaustedAt)}: the fallback was paged.`;
  else if (myTop && (view.round > myTop.round || (view.round === myTop.round && view.level > myTop.level))) {
    notes.escalated =
      `This incident already escalated to level ${view.level}` + `${view.round > 0 ? ` (repeat ${view.round})` : ''}.`;
  }
  return notes;
}

function alarmLine(claims: AckLinkClaims, person: string): string {
  const console = cloudWatchAlarmUrl(claims.alarmArn);
  return (
    `<p>Alarm <strong>${esc(alarmName(claims.alarmArn))}</strong>` +
    `${console ? ` (<a href="${esc(console)}">CloudWatch</a>)` : ''}, ` +
    `incident ${esc(claims.incidentId)}, as <strong>${esc(person)}</strong>.</p>`
  );
}

const colorOf = (view: AckIncidentView | undefined) => (view?.severity && COLORS[view.severity]) || NEUTRAL;

function confirmPage(
  c: Context,
  claims: AckLinkClaims,
  fields: Record<string, string>,
  view: AckIncidentView | undefined,
): Response {
  const notes = statusNotes(view, claims.person);
  const color = colorOf(view);
  if (notes.acked) {
    return page(
      c,
      200,
      'Already acknowledged',
      `<p class="note ok">${esc(notes.acked)}</p>${alarmLine(claims, claims.person)}` +
        `${notes.escalated ? `<p>${esc(notes.escalated)}</p>` : ''}` +
        `<p>Nothing more to do here; escalation has stopped.</p>`,
      color,
    );
  }
  const hidden = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  const warnings = [notes.resolved, notes.escalated]
    .filter(Boolean)
    .map((n) => `<p class="note">${esc(n!)}</p>`)
    .join('');
  return page(
    c,
    200,
    `${view?.severity ? `${view.severity} · ` : ''}Acknowledge the alert?`,
    warnings +
      alarmLine(claims, claims.person) +
      `<p>Acknowledging stops the escalation to the next person.</p>` +
      `<form method="post" action="/ack">${hidden}<button type="submit">Acknowledge</button></form>` +
      `<p class="muted">Or reply ACK &lt;code&gt; to the SMS of this page.</p>`,
    color,
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

export function ackRoutes(app: Hono, deps: RouteDeps & AckPageDeps): void {
  const secret = deps.config.ACK_LINK_SECRET;

  app.get('/ack', async (c) => {
    const query = new URL(c.req.url).searchParams;
    let claims: AckLinkClaims;
    try {
      claims = verifyAckLink(query, secret, deps.now());
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      deps.rejections.reject('ack_link', { route: 'GET /ack', reason: err.reason }, 'rejected ack link');
      return invalid(c);
    }
    return confirmPage(c, claims, ackLinkFields(query), await incidentView(deps, claims.incidentId));
  });

  app.post(
    '/ack',
    guarded(deps, '/ack', async (c, body) => {
      let claims: AckLinkClaims;
      try {
        claims = verifyAckLink(new URLSearchParams(utf8(body)), secret, deps.now());
      } catch (err) {
        if (!(err instanceof SignatureError)) throw err;
        deps.rejections.reject('ack_link', { route: 'POST /ack', reason: err.reason }, 'rejected ack link');
        return invalid(c);
      }
      const view = await incidentView(deps, claims.incidentId);
      const record = ackRecordOf(claims, deps.now());
      await writeRecords(deps, [record]);
      deps.logger.info(
        {
          route: 'POST /ack',
          incident_id: claims.incidentId,
          person: claims.person,
          channel: 'email',
          event_id: record.event_id,
        },
        'acknowledged by link',
      );
      const notes = statusNotes(view, claims.person);
      const before =
        notes.acked && view?.ackedBy !== claims.person
          ? `<p class="note ok">${esc(notes.acked)} Your acknowledgement is recorded too.</p>`
          : '';
      return page(
        c,
        200,
        'Acknowledged',
        `${before}<p>Thank you, ${esc(claims.person)}. ` +
          `Alarm <strong>${esc(alarmName(claims.alarmArn))}</strong> is acknowledged; escalation stops.</p>` +
          (notes.escalated ? `<p>${esc(notes.escalated)}</p>` : ''),
        colorOf(view),
      );
    }),
  );
}
