import type { IncidentStateView, PageView } from '../../shared/incident-view.js';
import { clock } from './timeline-format.js';
import type { People } from './timeline.js';

/**
 * What the paging state (DynamoDB) knows of an incident now, in words and as JSON, for `make incident`:
 * the lake is seconds behind the paging processor (it flushes every FLUSH_INTERVAL_S), so an incident
 * a minute old may have pages, an escalation or an ack the lake does not show yet. Notices (the
 * incident was acked or resolved, told to people already paged) are counted apart: they are not pages.
 */
const CHANNEL: Record<string, string> = { sms: 'SMS', whatsapp: 'WhatsApp', email: 'email', voice: 'voice call' };
const channelName = (c: string) => CHANNEL[c] ?? c;

export interface PagingNowOptions {
  people: People;
  timeZone?: string;
}

const nameOf = (people: People, id: string | undefined) => (id === undefined ? undefined : (people[id]?.name ?? id));

/** The pages (not the notices), first claimed first. */
function pagesOf(s: IncidentStateView): PageView[] {
  return Object.values(s.pages)
    .filter((p) => !p.notice)
    .sort(
      (a, b) =>
        (a.claimedAt ?? Number.MAX_SAFE_INTEGER) - (b.claimedAt ?? Number.MAX_SAFE_INTEGER) || a.level - b.level,
    );
}

const noticesOf = (s: IncidentStateView) => Object.values(s.pages).filter((p) => p.notice).length;

/** `acknowledged by Carol Otieno at 12:00:25`, `resolved at …`, `open`. */
function statusText(s: IncidentStateView, people: People, time: (ms: number) => string): string {
  const parts: string[] = [];
  if (s.suppressedBy) parts.push(`suppressed (maintenance window ${s.suppressedBy}): never paged`);
  if (s.ackedAt !== undefined)
    parts.push(`acknowledged${s.ackedBy ? ` by ${nameOf(people, s.ackedBy)}` : ''} at ${time(s.ackedAt)}`);
  if (s.exhaustedAt !== undefined) parts.push(`every level paged, nobody acknowledged (${time(s.exhaustedAt)})`);
  if (s.resolvedAt !== undefined) parts.push(`resolved at ${time(s.resolvedAt)}`);
  if (parts.length === 0) parts.push('open, not acknowledged');
  // by hand (incident API, console): the responder a reassign made, a snooze in force
  if (s.responder) parts.push(`reassigned to ${nameOf(people, s.responder)}`);
  if (s.snooze && s.resolvedAt === undefined)
    parts.push(`snoozed by ${nameOf(people, s.snooze.by)} until ${time(s.snooze.until)}`);
  return parts.join(' · ');
}

/** The lines of the paging state's part (no trailing blank line). */
export function pagingNowText(s: IncidentStateView, opts: PagingNowOptions): string[] {
  const c = clock(opts.timeZone);
  const time = (ms: number) => (c.day(ms) === c.day(s.openedAt) ? c.time(ms) : `${c.day(ms)} ${c.time(ms)}`);
  const pages = pagesOf(s);
  const notices = noticesOf(s);
  const lines = [
    `Paging state now (DynamoDB, ahead of the lake): level ${s.level} · ${statusText(s, opts.people, time)}`,
  ];
  if (pages.length === 0) lines.push('  no page yet');
  for (const p of pages)
    lines.push(
      `  ${p.claimedAt === undefined ? '--:--:--' : time(p.claimedAt)}  ${nameOf(opts.people, p.person)} ` +
        `(level ${p.level}) by ${channelName(p.channel)}: ${p.status}${p.failedOver ? ' (failed over)' : ''}`,
    );
  if (notices) lines.push(`  + ${notices} notice${notices === 1 ? '' : 's'} (acked/resolved, told; not pages)`);
  return lines;
}

/** The same as JSON (times in the zone, with their offset). */
export function pagingNowJson(s: IncidentStateView, opts: PagingNowOptions): unknown {
  const c = clock(opts.timeZone);
  const iso = (ms: number | undefined) => (ms === undefined ? null : c.iso(ms));
  const person = (id: string | undefined) => (id === undefined ? null : { id, name: nameOf(opts.people, id) });
  return {
    source: 'paging state (DynamoDB)',
    level: s.level,
    acknowledged: s.ackedAt === undefined ? null : { at: iso(s.ackedAt), by: person(s.ackedBy) },
    resolvedAt: iso(s.resolvedAt),
    exhaustedAt: iso(s.exhaustedAt),
    pages: pagesOf(s).map((p) => ({
      person: person(p.person),
      level: p.level,
      channel: p.channel,
      status: p.status,
      claimedAt: iso(p.claimedAt),
    })),
    notices: noticesOf(s),
  };
}
