import type { OnCallConfig } from '../../../schemas/oncall/config.js';
import type { IncidentStateView } from '../../../shared/incident-view.js';
import { pagesOf, statusOf, timelineOf } from '../api/incidents.js';
import { esc, timeTag } from './layout.js';

/**
 * The console's live parts, rendered from the paging state (the same reads as the incident API: api/incidents.ts):
 * the open incidents, and one incident's status, pages and timeline. The Server-Sent Events stream sends these same
 * fragments again when they change (live.ts), so a page without JavaScript and one with it show the same words.
 * Nothing here depends on the clock but through `now` (only to leave the day out of today's times): a fragment
 * changes when the state does, and the countdown to the next escalation is the browser's (`data-deadline`).
 */
const CHANNEL: Record<string, string> = { sms: 'SMS', whatsapp: 'WhatsApp', email: 'email', voice: 'voice call' };
const STEPS = ['sent', 'delivered', 'opened', 'acked'] as const;
/** How far a page got (receipts' statuses, schemas/status.ts): 1 sent, 2 delivered, 3 opened (read, clicked). */
const RANK: Record<string, number> = { sent: 1, delayed: 1, delivered: 2, opened: 3, clicked: 3, read: 3 };
const FAILED = new Set(['failed', 'undelivered', 'bounced', 'suppressed', 'canceled', 'complained', 'busy']);
FAILED.add('no-answer');

const nameOf = (cfg: OnCallConfig, person: string) => cfg.people[person]?.name ?? person;

type Page = ReturnType<typeof pagesOf>[number];

/** The page's delivery steps: sent → delivered → opened → acked, done ones marked; a failure says its word. */
export function stepsOf(s: IncidentStateView, p: Page): string {
  const acked = s.ackedAt !== undefined && s.ackedBy === p.person;
  const rank = acked ? 4 : (RANK[p.status] ?? 0);
  const failed = FAILED.has(p.status);
  const items = STEPS.map((step, i) => {
    const done = i < rank;
    return `<li class="${done ? 'done' : ''}">${done ? '✓ ' : ''}${step}</li>`;
  });
  if (failed) items.push(`<li class="bad">✗ ${esc(p.status)}${p.failed_over ? ', failed over' : ''}</li>`);
  const label = acked ? 'acked' : failed ? p.status : rank === 0 ? 'not sent yet' : STEPS[rank - 1];
  return `<ol class="steps" aria-label="delivery: ${esc(label)}" data-status="${esc(label)}">${items.join('')}</ol>`;
}

/** "Escalates to level 2 in 45 s (at 03:01:05 UTC)", or why it will not. */
export function escalationText(s: IncidentStateView, now: number): string {
  if (s.resolvedAt !== undefined) return 'resolved: no escalation';
  if (s.ackedAt !== undefined) return 'acknowledged: escalation stopped';
  if (s.suppressedBy) return `suppressed (maintenance window ${esc(s.suppressedBy)}): never paged`;
  if (s.exhaustedAt !== undefined) return 'every level paged, nobody acknowledged';
  if (s.deadlineAt === undefined) return 'no escalation pending';
  return (
    `next escalation check <span data-deadline="${s.deadlineAt}">at</span> ${timeTag(s.deadlineAt, now)} ` +
    `(level ${s.level + 1} if nobody acknowledges)`
  );
}

function pagesList(s: IncidentStateView, cfg: OnCallConfig): string {
  const pages = pagesOf(s, cfg).filter((p) => !p.notice);
  if (pages.length === 0) return '<p class="muted">No page sent yet.</p>';
  return `<ul class="pages">${pages
    .map(
      (p) =>
        `<li data-person="${esc(p.person)}" data-channel="${esc(p.channel)}"><strong>${esc(nameOf(cfg, p.person))}` +
        `</strong> · ${esc(CHANNEL[p.channel] ?? p.channel)} · level ${p.level >= 99 ? 'fallback' : p.level}` +
        `${p.round > 0 ? ` (repeat ${p.round})` : ''}${stepsOf(s, p)}</li>`,
    )
    .join('')}</ul>`;
}

function noticesLine(s: IncidentStateView, cfg: OnCallConfig): string {
  const notices = pagesOf(s, cfg).filter((p) => p.notice);
  if (notices.length === 0) return '';
  return `<p class="meta" data-notices="${notices.length}">Told (${notices
    .map((n) => `${esc(nameOf(cfg, n.person))}: ${esc(n.notice!)} notice by ${esc(CHANNEL[n.channel] ?? n.channel)}`)
    .join('; ')}).</p>`;
}

const statusPill = (s: IncidentStateView) => {
  const st = statusOf(s);
  return `<span class="pill st-${st}">${st}</span>`;
};
const sevPill = (s: IncidentStateView) => `<span class="pill sev-${esc(s.severity)}">${esc(s.severity)}</span>`;

function ackLine(s: IncidentStateView, cfg: OnCallConfig, now: number): string {
  if (s.ackedAt === undefined) return '';
  const by = esc(nameOf(cfg, s.ackedBy ?? 'someone'));
  return `<p class="meta">Acknowledged by ${by} at ${timeTag(s.ackedAt, now)}</p>`;
}

/** The open (not resolved) incidents, newest first: the list page's live region. */
export function incidentsFragment(states: IncidentStateView[], cfg: OnCallConfig, now: number): string {
  const open = states
    .filter((s) => s.resolvedAt === undefined)
    .sort((a, b) => b.openedAt - a.openedAt || a.incidentId.localeCompare(b.incidentId));
  if (open.length === 0) return '<p class="note" data-count="0">No open incident.</p>';
  const cards = open.map(
    (s) =>
      `<article class="card" data-incident="${esc(s.incidentId)}" aria-labelledby="t-${esc(s.incidentId)}">` +
      `<h2 id="t-${esc(s.incidentId)}"><a href="/console/incidents/${encodeURIComponent(s.incidentId)}">` +
      `${esc(s.alarmName)}</a></h2>` +
      `<p class="meta">${sevPill(s)} ${statusPill(s)} · team ${esc(s.team ?? 'unrouted')} · level ${s.level} · ` +
      `opened ${timeTag(s.openedAt, now)}</p>` +
      `<p class="meta" data-escalation>${escalationText(s, now)}</p>${ackLine(s, cfg, now)}` +
      `${pagesList(s, cfg)}${noticesLine(s, cfg)}</article>`,
  );
  return (
    `<p class="muted" data-count="${open.length}">${open.length} open incident${open.length === 1 ? '' : 's'}` +
    ` (paging state, live).</p>${cards.join('')}`
  );
}

/** One incident's status, pages and timeline: the incident page's live region. */
export function incidentFragment(s: IncidentStateView, cfg: OnCallConfig, now: number): string {
  const timeline = timelineOf(s, cfg)
    .map((e) => `<li>${timeTag(Date.parse(e.at), now)} — ${esc(e.what)}</li>`)
    .join('');
  return (
    `<section class="card" aria-labelledby="status-h" data-status="${statusOf(s)}"><h2 id="status-h">Status</h2>` +
    `<p class="meta">${sevPill(s)} ${statusPill(s)} · team ${esc(s.team ?? 'unrouted')} · level ${s.level} · ` +
    `opened ${timeTag(s.openedAt, now)}</p><p class="meta" data-escalation>${escalationText(s, now)}</p>` +
    `${ackLine(s, cfg, now)}` +
    (s.resolvedAt !== undefined ? `<p class="meta">Resolved at ${timeTag(s.resolvedAt, now)}</p>` : '') +
    `</section><section class="card" aria-labelledby="pages-h"><h2 id="pages-h">Pages</h2>${pagesList(s, cfg)}` +
    `${noticesLine(s, cfg)}</section>` +
    `<section class="card" aria-labelledby="tl-h"><h2 id="tl-h">Timeline</h2><ol class="timeline">${timeline}</ol>` +
    `<p class="muted">From the paging state, in <code>make incident</code>'s words; the lake's timeline chart and ` +
    `verdicts are below, every receipt in <code>make incident ID=${esc(s.incidentId)}</code>.</p></section>`
  );
}
