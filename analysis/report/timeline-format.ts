import { FALLBACK_LEVEL } from '../../schemas/dispatch-record.js';
import type { PagedChannel, Timeline, TimelineStep } from './timeline.js';
import { formatDuration } from './duration.js';
import { whyPaged } from './why-paged.js';

/**
 * A timeline in words (`make incident`) and as JSON (`FORMAT=json`): one sentence per step, with
 * times in one time zone said once in the header. `describeStep` is the sentence alone, for any view
 * (the HTML report uses it for its tooltips).
 */
export interface FormatOptions {
  /** IANA time zone of the times shown. Default `UTC`. A bad name throws RangeError. */
  timeZone?: string;
}

const CHANNEL: Record<string, string> = {
  sms: 'SMS',
  whatsapp: 'WhatsApp',
  email: 'email',
  voice: 'voice',
  webhook: 'webhook',
};
const PROVIDER: Record<string, string> = {
  twilio: 'Twilio',
  resend: 'Resend',
  aws: 'AWS End User Messaging',
  external: 'provider',
};
/** How the first route failed, for a page sent by the second (schemas/dispatch-record.ts `rerouted.cause`). */
const REROUTE_CAUSE: Record<string, string> = {
  error: 'an error',
  timeout: 'no answer in time',
  no_receipt: 'no delivery receipt',
  failed_receipt: 'not delivered',
};

/** "sent by AWS End User Messaging after Twilio failed (no delivery receipt)" for a page of the second route. */
export function routeText(ch: Pick<PagedChannel, 'route' | 'rerouted'>): string {
  if (!ch.rerouted || !ch.route) return '';
  const by = PROVIDER[ch.route] ?? ch.route;
  const from = PROVIDER[ch.rerouted.from] ?? ch.rerouted.from;
  const why = REROUTE_CAUSE[ch.rerouted.cause];
  return ` (sent by ${by} after ${from} failed${why ? `: ${why}` : ''})`;
}
const VIA: Record<string, string> = {
  sms_reply: 'SMS reply',
  whatsapp_reply: 'WhatsApp reply',
  email_link: 'email link',
  voice_key: 'pressed 1 on the call',
  api: 'API',
  console: 'console',
};

const channelName = (c: string | null) => (c === null ? 'an unknown channel' : (CHANNEL[c] ?? c));
const levelName = (l: number | null) => (l === null ? 'level ?' : l === FALLBACK_LEVEL ? 'fallback' : `level ${l}`);

/** A clock in a time zone: `time` HH:MM:SS, `day` YYYY-MM-DD, `iso` with the zone's offset. */
export function clock(timeZone = 'UTC') {
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  });
  const parts = (ms: number) =>
    Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value])) as Record<string, string>;
  const offsetOf = (p: Record<string, string>) =>
    p.timeZoneName === 'GMT' ? '+00:00' : p.timeZoneName.replace('GMT', '');
  return {
    timeZone,
    time: (ms: number) => {
      const p = parts(ms);
      return `${p.hour}:${p.minute}:${p.second}`;
    },
    day: (ms: number) => {
      const p = parts(ms);
      return `${p.year}-${p.month}-${p.day}`;
    },
    iso: (ms: number) => {
      const p = parts(ms);
      const frac = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
      return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}.${frac}${offsetOf(p)}`;
    },
    offset: (ms: number) => offsetOf(parts(ms)),
  };
}
export type Clock = ReturnType<typeof clock>;

function errorText(provider: string | null, code: string | null, message: string | null): string {
  const who = provider ? (PROVIDER[provider] ?? provider) : '';
  const head = [who, code].filter(Boolean).join(' ');
  if (!head && !message) return '';
  return ` (${[head, message].filter(Boolean).join(': ')})`;
}

function channelText(ch: PagedChannel, time: (ms: number) => string): string {
  const by = `by ${channelName(ch.channel)}${routeText(ch)}`;
  if (ch.outcome === 'failed') {
    return `${by} → failed to send${errorText(ch.provider, ch.errorCode, ch.errorMessage)}`;
  }
  if (ch.events.length === 0) return `${by} → sent, no report yet`;
  const evs = ch.events.map(
    (e) => `${e.word} ${time(e.at)}${e.failed ? errorText(ch.provider, e.errorCode, e.errorMessage) : ''}`,
  );
  return `${by} → ${evs.join(', ')}`;
}

/** The sentence of a step, without its time. */
export function describeStep(step: TimelineStep, time: (ms: number) => string): string {
  switch (step.kind) {
    case 'alarm':
      // an alert source's alarm (Alertmanager, Events API v2) fired; a CloudWatch alarm went to ALARM
      return step.source && step.source !== 'cloudwatch'
        ? `${step.source} alarm ${step.alarmName ?? '?'}${step.severity ? ` (${step.severity})` : ''} fired: ` +
            'incident opened'
        : `alarm ${step.alarmName ?? '?'}${step.severity ? ` (${step.severity})` : ''} went to ALARM: incident opened`;
    case 'paged': {
      // why this person, when a schedule chose them (the same words as the report's incident page)
      const by = step.channels.find((c) => c.resolvedBy)?.resolvedBy;
      return (
        `paged ${step.person.name} (${levelName(step.level)}${by ? `, on call by ${whyPaged(by)}` : ''}) ` +
        `${step.channels.map((c) => channelText(c, time)).join('; ')}`
      );
    }
    case 'failover': {
      // the same channel by the other route (AWS End User Messaging), or the next channel
      const to = step.toRoute
        ? `its ${channelName(step.fromChannel)} by ${PROVIDER[step.toRoute] ?? step.toRoute}`
        : '';
      if (step.silenceMs !== undefined)
        return (
          `${step.person.name}'s ${channelName(step.fromChannel)} page had no delivery receipt after ` +
          `${formatDuration(step.silenceMs / 1000)}: failed over on silence to ${to || 'the next channel'}`
        );
      return (
        `${step.person.name}'s ${channelName(step.fromChannel)} page failed: ` +
        (to ? `sending it again as ${to}` : 'failing over to the next channel')
      );
    }
    case 'escalated':
      if (step.reason === 'manual')
        return `escalated by hand to ${levelName(step.toLevel)} by ${step.by?.name ?? 'someone'} (manual)`;
      if (step.by)
        return step.reason === 'repeat'
          ? `escalated by hand by ${step.by.name} past the last level: the policy repeats from ` +
              `${levelName(step.toLevel)} (repeat)`
          : `escalated by hand by ${step.by.name} past the last level: escalation policy exhausted, only the ` +
              'fallback (if any) is paged (exhausted)';
      if (step.reason === 'deadline')
        return `escalated to ${levelName(step.toLevel)} (deadline: ${levelName(step.fromLevel)} not confirmed)`;
      if (step.reason === 'repeat')
        return (
          `${levelName(step.fromLevel)} not confirmed, last level: ` +
          `the policy repeats from ${levelName(step.toLevel)} (repeat)`
        );
      return (
        `${levelName(step.fromLevel)} not confirmed: ` +
        `escalation policy exhausted, only the fallback (if any) is paged (exhausted)`
      );
    case 'deadline':
      return `${levelName(step.level)} deadline came due: already confirmed, no escalation`;
    case 'acknowledged':
      return (
        `acknowledged by ${step.person?.name ?? 'someone unknown'}` +
        `${step.via ? ` (${VIA[step.via] ?? step.via})` : ''}`
      );
    case 'told':
      return (
        `told ${step.person.name} the incident was ${step.notice === 'ack' ? 'acknowledged' : 'resolved'} ` +
        `${step.channels.map((c) => channelText(c, time)).join('; ')}`
      );
    case 'suppressed':
      return `inside maintenance window ${step.window ?? '(unnamed)'}: recorded as suppressed, nobody paged`;
    case 'reassigned':
      return `reassigned to ${step.person.name} by ${step.by?.name ?? 'someone'}: paged now, the responder`;
    case 'snoozed':
      return (
        `snoozed ${step.minutes === null ? '' : `${step.minutes} min `}by ${step.by?.name ?? 'someone'}` +
        `${step.via ? ` (${VIA[step.via] ?? step.via})` : ''}: no page until it ends`
      );
    case 'resumed':
      return (
        `snooze by ${step.by?.name ?? 'someone'} ended: acknowledgement lifted, ` +
        `${levelName(step.level)} paged again`
      );
    case 'retriggered':
      return 'alarm back to ALARM soon after its OK (flapping): the incident continues, no new page';
    case 'unrouted': {
      const tag = step.severityTag ? ` (severity tag ${step.severityTag} maps to no severity)` : '';
      const what = `team ${step.team ?? '?'} has no ${step.severity ?? '?'} policy${tag}`;
      if (step.fallback === 'team_default') return `${what}: unrouted → the team's default policy`;
      if (step.fallback === 'global') return `${what}: unrouted → the on-call file's unrouted_fallback`;
      return `${what} and no fallback: unrouted, nobody paged`;
    }
    case 'receipt': {
      const e = step.event;
      return (
        `${channelName(step.channel)} message ${step.messageId ?? '?'} (no page found for it) → ` +
        `${e.word}${e.failed ? errorText(null, e.errorCode, e.errorMessage) : ''}`
      );
    }
    case 'members': {
      const [n, was] = [step.firing, step.was];
      const alerts = (k: number) => `${k} alert${k === 1 ? '' : 's'}`;
      const who = step.source ?? 'the source';
      return n < was
        ? `${who}: ${was - n} of the group's ${alerts(was)} resolved, ${n} still firing: the incident stays open`
        : `${who}: ${n - was} more alert${n - was === 1 ? '' : 's'} firing in the group (${n} now): ` +
            'the same incident, no new page';
    }
    case 'resolved':
      return step.source === 'alertmanager'
        ? 'alertmanager: every alert of the group resolved: incident resolved'
        : 'alarm back to OK: incident resolved';
  }
}

const zoneLabel = (c: Clock, at: number) => (c.timeZone === 'UTC' ? 'UTC' : `${c.timeZone} (UTC${c.offset(at)})`);

/** `make incident`: a header (times' zone said once), one line per step, then the verdicts. */
export function formatTimelineText(t: Timeline, opts: FormatOptions = {}): string {
  const c = clock(opts.timeZone);
  const first = t.steps[0]?.at ?? t.openedAt ?? 0;
  const lines: string[] = [];
  lines.push(
    `Incident ${t.incidentId} · ${t.source && t.source !== 'cloudwatch' ? `${t.source} ` : ''}alarm ` +
      `${t.alarmName ?? '?'} · ${t.severity ?? 'no severity'} · ${c.day(first)} · times in ${zoneLabel(c, first)}`,
  );
  lines.push('');
  let day = c.day(first);
  for (const s of t.steps) {
    const d = c.day(s.at);
    if (d !== day) {
      lines.push(`-- ${d}`);
      day = d;
    }
    lines.push(`${c.time(s.at)}  ${describeStep(s, c.time)}`);
  }
  if (t.steps.length === 0) lines.push('(no events in the lake yet)');
  const v = t.verdicts;
  lines.push('');
  lines.push('Verdicts (README: "What the verdicts mean")');
  lines.push(`  first responder opened before escalation: ${v.firstResponderOpenedBeforeEscalation ?? '-'}`);
  lines.push(`  any responder opened before escalation:   ${v.anyResponderOpenedBeforeEscalation ?? '-'}`);
  lines.push(`  acknowledged by:                          ${v.acknowledgedBy?.name ?? '-'}`);
  if (v.pages.length) {
    lines.push('  per page, opened before this page escalated:');
    for (const p of v.pages)
      lines.push(
        `    ${c.time(p.at)}  ${p.person.name} (${levelName(p.level)}) ` +
          `by ${channelName(p.channel)}: ${p.verdict ?? '-'}`,
      );
  }
  return lines.join('\n');
}

/** `FORMAT=json`: the timeline with times as ISO 8601 in the zone, and each step's sentence. */
export function timelineJson(t: Timeline, opts: FormatOptions = {}): unknown {
  const c = clock(opts.timeZone);
  const iso = (ms: number | null) => (ms === null ? null : c.iso(ms));
  return {
    incidentId: t.incidentId,
    alarmName: t.alarmName,
    alarmArn: t.alarmArn,
    source: t.source,
    severity: t.severity,
    timeZone: c.timeZone,
    openedAt: iso(t.openedAt),
    acknowledgedAt: iso(t.acknowledgedAt),
    escalatedAt: iso(t.escalatedAt),
    resolvedAt: iso(t.resolvedAt),
    steps: t.steps.map((s) => ({ ...withIsoTimes(s, c), text: describeStep(s, c.time) })),
    verdicts: { ...t.verdicts, pages: t.verdicts.pages.map((p) => ({ ...p, at: c.iso(p.at) })) },
  };
}

function withIsoTimes(s: TimelineStep, c: Clock): Record<string, unknown> {
  const out: Record<string, unknown> = { ...s, at: c.iso(s.at) };
  if (s.kind === 'paged' || s.kind === 'told')
    out.channels = s.channels.map((ch) => ({
      ...ch,
      at: c.iso(ch.at),
      events: ch.events.map((e) => ({ ...e, at: c.iso(e.at) })),
    }));
  if (s.kind === 'receipt') out.event = { ...s.event, at: c.iso(s.event.at) };
  return out;
}
