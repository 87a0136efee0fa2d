import { createHash } from 'node:crypto';
import { COLORS, cloudWatchAlarmUrl, utcTime } from '../../shared/page-look.js';

/**
 * What a page says, per channel: a short SMS, WhatsApp template variables, and a branded email, HTML
 * with a plain-text part (severity, alarm, metric, reason, when it escalates, acknowledge, runbook and
 * CloudWatch console links). Pure functions.
 *
 * Every message carries the page reference (`pageReference(dispatchId)`, "Ref 7Q2M9XKD"): it is how a
 * send whose outcome is unknown (a timeout, a crash between claim and completion) is found again at
 * the provider (Dispatcher.find). The content must be a pure function of the dispatch: the same
 * dispatch rendered twice must give the same message (Resend compares the payload of an idempotent
 * re-send, see dispatcher.ts).
 */
export interface PageContent {
  incidentId: string;
  alarmName: string;
  severity: string;
  namespace?: string;
  metric?: string;
  reason: string;
  personName: string;
  level: number;
  ackCode: string;
  ackUrl: string;
  runbookUrl?: string;
  openedAt: number;
  /** When this page escalates unless someone acknowledges (epoch ms; the page's deadline). */
  escalateAt?: number;
  /** The alarm's ARN: the email links to the alarm in the CloudWatch console. */
  alarmArn?: string;
  /** Not a page: tells someone already paged that the incident was acknowledged (by whom) or resolved. */
  notice?: { kind: 'ack' | 'resolve'; at: number; byName?: string };
  /**
   * Not a page: a reachability drill before a shift (processors/paging/drills): a test asking for an answer, or
   * (`failure`) a failed drill told to the person and the schedule's owner.
   */
  drill?: { schedule: string; shiftStart: number; windowEndsAt: number; failure?: string; personName?: string };
}

/** A drill's message in one paragraph: the test and how to answer it, or what failed. */
export function drillText(c: PageContent): string {
  const d = c.drill!;
  if (d.failure)
    return (
      `Reachability drill FAILED for ${d.personName ?? c.personName} before the ${d.schedule} shift at ` +
      `${utcTime(d.shiftStart)}: ` +
      `${clip(d.failure, 300)}. Fix the phone or the address before the shift.`
    );
  return (
    `Reachability drill (not an alarm): you go on call for ${d.schedule} at ${utcTime(d.shiftStart)}. ` +
    `Reply OK ${c.ackCode} (or press 1, or open the link in the email) by ${utcTime(d.windowEndsAt)}.`
  );
}

/** "billing-db-connections acknowledged by Carol" / "billing-db-connections resolved" (a notice's headline). */
export function noticeHeadline(c: PageContent): string {
  const n = c.notice!;
  return n.kind === 'ack' ? `${c.alarmName} acknowledged by ${n.byName ?? 'someone'}` : `${c.alarmName} resolved`;
}

const noticeLine = (c: PageContent) =>
  c.notice!.kind === 'ack'
    ? `Acknowledged at ${utcTime(c.notice!.at)}: escalation has stopped.`
    : `Resolved at ${utcTime(c.notice!.at)}: the alarm is back to OK.`;

/** "Escalates at 2026-11-28 10:05:00 UTC unless acknowledged." (empty without a deadline) */
const escalationLine = (c: PageContent) =>
  c.escalateAt !== undefined && c.escalateAt > c.openedAt
    ? `Escalates at ${utcTime(c.escalateAt)} unless acknowledged.`
    : '';

/** Crockford base32: no I, L, O, U (nothing to misread when a person reads it out). */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Length of a page reference: 8 characters = 40 bits. */
export const PAGE_REFERENCE_LENGTH = 8;

/**
 * The short, human-safe reference of a page (one dispatch): 8 Crockford base32 characters of
 * SHA-256(dispatchId), e.g. `7Q2M9XKD`. Deterministic, so it can be recomputed from the dispatch id
 * after a crash. 40 bits: two pages to the same address within a lookup window collide with a
 * probability of about n²/2⁴¹.
 */
export function pageReference(dispatchId: string): string {
  const h = createHash('sha256').update(dispatchId, 'utf8').digest();
  let bits = 0n;
  for (let i = 0; i < 5; i++) bits = (bits << 8n) | BigInt(h[i]);
  let out = '';
  for (let i = PAGE_REFERENCE_LENGTH - 1; i >= 0; i--) out += CROCKFORD[Number((bits >> BigInt(5 * i)) & 31n)];
  return out;
}

/** True when `text` carries `reference` as a whole token (not inside a longer run of letters/digits). */
export function carriesReference(text: string | null | undefined, reference: string): boolean {
  if (!text) return false;
  return new RegExp(`(?:^|[^0-9A-Za-z])${reference}(?:$|[^0-9A-Za-z])`).test(text);
}

/** "Ref 7Q2M9XKD" as it appears in every message. */
export const referenceText = (reference: string) => `Ref ${reference}`;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function smsBody(c: PageContent, reference: string): string {
  if (c.drill) return `[DRILL] ${drillText(c)} ${referenceText(reference)}`;
  if (c.notice)
    return (
      `[${c.severity}] ${clip(noticeHeadline(c), 120)}. No action needed. ` +
      `${c.incidentId} ${referenceText(reference)}`
    );
  return (
    clip(`[${c.severity}] ${c.alarmName} ALARM: ${c.reason}`, 120) +
    ` Reply ACK ${c.ackCode} to acknowledge. ${c.incidentId} ${referenceText(reference)}`
  );
}

/**
 * ContentVariables of the approved WhatsApp template: 1 severity, 2 alarm, 3 reason, 4 "ACK <code>"
 * ("Reply {{4}} to acknowledge"), 5 "Ref <reference>" (the template ends with "{{5}}"; the rendered
 * body is what Twilio's message list returns and what Dispatcher.find matches).
 */
export function whatsappVariables(c: PageContent, reference: string): Record<string, string> {
  if (c.drill)
    return {
      '1': 'DRILL',
      '2': `reachability drill (${c.drill.schedule})`,
      '3': clip(drillText(c), 200),
      '4': `OK ${c.ackCode}`,
      '5': referenceText(reference),
    };
  return {
    '1': c.severity,
    '2': c.alarmName,
    '3': clip(c.reason, 200),
    '4': `ACK ${c.ackCode}`,
    '5': referenceText(reference),
  };
}

export function emailSubject(c: PageContent): string {
  if (c.drill)
    return c.drill.failure
      ? `[DRILL FAILED] ${c.drill.personName ?? c.personName} is not reachable for ${c.drill.schedule}`
      : `[DRILL] Are you reachable? ${c.drill.schedule} shift at ${utcTime(c.drill.shiftStart)}`;
  if (c.notice) return `[${c.severity}] ${noticeHeadline(c)}`;
  return `[${c.severity}] ${c.alarmName} is in ALARM`;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** The plain-text part of the email (sent with the HTML). */
export function emailText(c: PageContent, reference: string): string {
  if (c.drill)
    return [
      drillText(c),
      '',
      ...(c.drill.failure ? [] : [`I got this: ${c.ackUrl}`, '']),
      referenceText(reference),
    ].join('\n');
  if (c.notice) {
    return [
      `${c.severity} · ${noticeHeadline(c)}`,
      '',
      `${c.personName}, you were paged for this incident.`,
      noticeLine(c),
      '',
      `Incident: ${c.incidentId}`,
      `Opened: ${utcTime(c.openedAt)}`,
      '',
      referenceText(reference),
    ].join('\n');
  }
  return [
    `${c.severity} · ${c.alarmName} is in ALARM`,
    '',
    `${c.personName}, you are on call (level ${c.level}).`,
    c.reason,
    '',
    `Incident: ${c.incidentId}`,
    ...(c.namespace ? [`Metric: ${c.namespace}${c.metric ? ` ${c.metric}` : ''}`] : []),
    `Opened: ${utcTime(c.openedAt)}`,
    ...(escalationLine(c) ? [escalationLine(c)] : []),
    '',
    `Acknowledge: ${c.ackUrl}`,
    ...(c.runbookUrl ? [`Runbook: ${c.runbookUrl}`] : []),
    ...(cloudWatchAlarmUrl(c.alarmArn) ? [`Alarm in CloudWatch: ${cloudWatchAlarmUrl(c.alarmArn)}`] : []),
    `Or reply ACK ${c.ackCode} to the SMS. Until someone acknowledges, this page escalates.`,
    '',
    referenceText(reference),
  ].join('\n');
}

/** The HTML email around a message: the header bar (`color`, `headline` HTML), the `body` HTML, the footer. */
function emailPage(color: string, headline: string, body: string, reference: string): string {
  return `<!doctype html>
<html><body style="margin:0;background:#f2f4f7;\
font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#101828">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" \
style="background:#fff;border-radius:8px;overflow:hidden">
<tr><td style="background:${color};color:#fff;padding:16px 24px;font-size:18px;font-weight:600">\
${headline}</td></tr>
<tr><td style="padding:20px 24px">
${body}</td></tr></table>
<p style="font-size:11px;color:#98a2b3">pagetrail · closed-loop alerting · ${esc(referenceText(reference))}</p>
</td></tr></table></body></html>`;
}

export function emailHtml(c: PageContent, reference: string): string {
  if (c.drill)
    return emailPage(
      c.drill.failure ? '#b42318' : '#475467',
      c.drill.failure ? 'Reachability drill failed' : 'Reachability drill',
      `<p style="margin:0 0 16px">${esc(drillText(c))}</p>${
        c.drill.failure
          ? ''
          : `<p style="margin:0"><a href="${esc(c.ackUrl)}" style="display:inline-block;background:#475467;` +
            `color:#fff;text-decoration:none;padding:10px 18px;border-radius:6px;font-weight:600">I got this</a></p>`
      }
`,
      reference,
    );
  const color = COLORS[c.severity] ?? '#475467';
  if (c.notice) {
    return emailPage(
      '#027a48',
      `${esc(c.severity)} · ${esc(noticeHeadline(c))}`,
      `<p style="margin:0 0 12px">${esc(c.personName)}, you were paged for this incident.</p>
<p style="margin:0 0 16px;color:#344054">${esc(noticeLine(c))}</p>
<p style="margin:0;font-size:14px;color:#667085">Incident ${esc(c.incidentId)} · opened ${esc(utcTime(c.openedAt))}</p>
`,
      reference,
    );
  }
  const console = cloudWatchAlarmUrl(c.alarmArn);
  const row = (k: string, v: string) =>
    `<tr><td style="padding:4px 12px 4px 0;color:#667085">${esc(k)}</td><td style="padding:4px 0">${esc(v)}</td></tr>`;
  return emailPage(
    color,
    `${esc(c.severity)} · ${esc(c.alarmName)} is in ALARM`,
    `<p style="margin:0 0 12px">${esc(c.personName)}, you are on call (level ${c.level}).</p>
<p style="margin:0 0 16px;color:#344054">${esc(c.reason)}</p>
<table role="presentation" cellpadding="0" cellspacing="0" style="font-size:14px">
${row('Incident', c.incidentId)}${row('Alarm', c.alarmName)}${
  c.namespace ? row('Metric', `${c.namespace}${c.metric ? ` ${c.metric}` : ''}`) : ''
}${row('Opened', utcTime(c.openedAt))}${
  c.escalateAt !== undefined && c.escalateAt > c.openedAt
    ? row('Escalates', `${utcTime(c.escalateAt)} unless acknowledged`)
    : ''
}
</table>
<p style="margin:24px 0 8px"><a href="${esc(c.ackUrl)}" style="display:inline-block;background:${color};color:#fff;\
text-decoration:none;padding:10px 18px;border-radius:6px;font-weight:600">Acknowledge</a>
${c.runbookUrl ? `&nbsp; <a href="${esc(c.runbookUrl)}" style="color:${color}">Runbook</a>` : ''}${
  console ? `&nbsp; <a href="${esc(console)}" style="color:${color}">Alarm in CloudWatch</a>` : ''
}</p>
<p style="margin:16px 0 0;font-size:12px;color:#667085">Or reply <b>ACK ${esc(c.ackCode)}</b> to the SMS. \
Until someone acknowledges, this page escalates.</p>
`,
    reference,
  );
}

/**
 * What a voice page reads out (text-to-speech) to the person who answers, before the receiver's
 * prompt "Press 1 to acknowledge" (producers/receiver/twilio-voice.ts builds the call's TwiML: the
 * prompt, the goodbye, the short voicemail message).
 */
const spoken = (s: string) => s.replace(/[_-]+/g, ' ');

export function voiceIntro(c: PageContent): string {
  if (c.drill)
    return c.drill.failure
      ? `This is pagetrail. ${drillText(c)}`
      : `This is pagetrail, a reachability drill, not an alarm. You go on call for ${spoken(c.drill.schedule)} soon.`;
  return `This is pagetrail. ${c.severity} alarm. ${spoken(c.alarmName)} is in alarm. ${clip(c.reason, 200)}`;
}

/**
 * What a voice page by AWS End User Messaging reads out: the alarm, then how to acknowledge — such a call cannot
 * take a key press (SendVoiceMessage only speaks), so it names the SMS reply and the email link — and the page
 * reference.
 */
export function awsVoiceBody(c: PageContent, reference: string): string {
  if (c.notice)
    return `This is pagetrail. ${clip(noticeHeadline(c), 200)}. No action needed. ${referenceText(reference)}`;
  return (
    `${voiceIntro(c)}. To acknowledge, reply ACK ${c.ackCode.split('').join(' ')} to a pagetrail text message, ` +
    `or open the link in the email. ${referenceText(reference)}`
  );
}
