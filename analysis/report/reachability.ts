import { DateTime } from 'luxon';
import { z } from 'zod';
import { DrillChannelResult } from '../../schemas/drill-record.js';
import type { OnCallConfig } from '../../schemas/oncall/config.js';
import { explainFailure } from '../../shared/provider-codes.js';
import type { IcalCalendar } from '../../shared/schedules/ical.js';
import { type Shift, shiftsOf } from '../../shared/schedules/shifts.js';
import { type Html, html, table } from './html.js';
import type { QueryFn } from './timeline.js';
import { records, toMs, toStr } from './values.js';

/**
 * The report's "On call: reachability" section: per schedule, the shifts from the report's end to 7 days later (who,
 * from/to, which layer or override), each with the person's latest reachability drill result read from the lake
 * (processors/lake/join.ts writes a drill's result as an `events` row: kind `drill`, status = the outcome passed /
 * failed / skipped, reason = why it was skipped (`quiet_hours`, `not_on_call`, `shift_started`) else `drill_result`,
 * person, detail = {schedule, shift_start, channels: each channel's evidence, summary}).
 *
 * Per shift, as `make oncall` decides it (processors/paging/drills/status.ts, there from DynamoDB): the drill of this
 * very shift when it has passed or failed; else the person's latest passed or failed drill of the schedule in the 7
 * days up to the report's end; else "not proven" (a skipped drill proves nothing, and says why it was skipped).
 * Drills are never pages: this reads the `events` table, the views (and so the report's counts) leave drills out.
 */
export type Reachability = 'reachable' | 'not proven' | 'unreachable';

const DAY = 86_400_000;
/** How far ahead the shifts are listed and how far back a drill result counts. */
export const REACHABILITY_HORIZON_MS = 7 * DAY;

/** One drill's result, as the lake has it. */
export interface DrillResult {
  schedule: string;
  person: string;
  /** The shift the drill was for (epoch ms). */
  shiftStart?: number;
  /** When it was decided. */
  at: number;
  outcome: 'passed' | 'failed' | 'skipped';
  /** Why it was skipped. */
  why?: string;
  summary?: string;
  channels: DrillChannelResult[];
}

const ResultDetail = z.object({
  schedule: z.string().min(1),
  shift_start: z.iso.datetime({ offset: true }).optional(),
  channels: z.array(DrillChannelResult).optional(),
  summary: z.string().optional(),
});

const RESULTS_SQL = `SELECT person, status, reason, detail, "timestamp" FROM events
WHERE kind = 'drill' AND status IN ('passed', 'failed', 'skipped') AND person IS NOT NULL`;

/**
 * Every drill result of the lake (kind `drill`, phase result), oldest first. A row whose detail is not a drill
 * result's (not JSON, no schedule) is left out and counted in `unreadable`.
 */
export async function loadDrillResults(query: QueryFn): Promise<{ results: DrillResult[]; unreadable: number }> {
  const results: DrillResult[] = [];
  let unreadable = 0;
  for (const r of records(await query(RESULTS_SQL))) {
    const at = toMs(r.timestamp);
    let detail: z.infer<typeof ResultDetail> | undefined;
    try {
      const parsed = ResultDetail.safeParse(JSON.parse(toStr(r.detail) ?? 'null'));
      detail = parsed.success ? parsed.data : undefined;
    } catch {
      detail = undefined;
    }
    if (!detail || at === undefined) {
      unreadable++;
      continue;
    }
    const why = toStr(r.reason);
    results.push({
      schedule: detail.schedule,
      person: String(r.person),
      ...(detail.shift_start ? { shiftStart: Date.parse(detail.shift_start) } : {}),
      at,
      outcome: String(r.status) as DrillResult['outcome'],
      ...(why && why !== 'drill_result' ? { why } : {}),
      ...(detail.summary ? { summary: detail.summary } : {}),
      channels: detail.channels ?? [],
    });
  }
  return { results: results.sort((a, b) => a.at - b.at), unreadable };
}

/** One row of the section: a shift (or a gap: nobody on call) and how sure we are they can be reached. */
export interface ShiftReachability {
  schedule: string;
  from: number;
  to: number;
  /** Undefined: nobody on call. */
  person?: string;
  /** Why this person: `layer <name or index>` (rotation or iCalendar) or `override <index>`. */
  why?: string;
  status?: Reachability;
  /** The evidence in words (which drill, when, what it showed). */
  evidence: string;
  /** A failed drill's channels that did not prove, each in words with the provider code explained. */
  failedChannels: string[];
}

const SKIPPED: Record<string, string> = {
  quiet_hours: 'skipped for quiet hours (due in quiet hours, and they lasted until the shift started)',
  not_on_call: 'skipped: the person was no longer on call for that shift',
  shift_started: 'skipped: it came due after the shift had started',
};
const skippedWords = (r: DrillResult) => SKIPPED[r.why ?? ''] ?? `skipped${r.why ? ` (${r.why})` : ''}`;

const PROVIDER: Record<string, string> = { twilio: 'Twilio', resend: 'Resend', aws: 'AWS End User Messaging' };

/** A channel that did not prove, in words: "SMS undelivered — Twilio 30003 unreachable handset: The phone was…". */
export function channelFailure(c: DrillChannelResult): string {
  const name = c.channel === 'sms' ? 'SMS' : c.channel === 'whatsapp' ? 'WhatsApp' : c.channel;
  const what = c.delivered ? 'delivered but not answered' : c.status;
  if (!c.error_code) return `${name}: ${what}${c.delivered ? '' : ' (no delivery receipt)'}`;
  const known = explainFailure({ provider: c.provider, status: c.status, error_code: c.error_code });
  const words = c.explanation ?? (known ? `${known.label}: ${known.detail}` : 'a code this report does not know');
  return `${name}: ${what} — ${PROVIDER[c.provider ?? ''] ?? c.provider ?? 'provider'} ${c.error_code}, ${words}`;
}

/** The channels of a failed drill that did not prove it (not delivered, or delivered and not answered). */
const failedChannels = (r: DrillResult) =>
  r.outcome === 'failed' ? r.channels.filter((c) => !c.delivered || !c.responded).map(channelFailure) : [];

const whyOf = (who: NonNullable<Shift['who']>) =>
  who.override ? `override ${who.layer}` : `layer ${who.layer}${who.source === 'ical' ? ' (iCalendar)' : ''}`;

/**
 * The section's rows: every schedule's shifts in [at, at + 7 days), each with its person's reachability as of `at`
 * (the report's end) from `results`.
 */
export function reachabilityRows(
  cfg: OnCallConfig,
  results: readonly DrillResult[],
  opts: { at: number; calendars?: ReadonlyMap<string, IcalCalendar>; timeZone?: string },
): ShiftReachability[] {
  const { at } = opts;
  const when = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm ZZ');
  const recent = results.filter((r) => r.at <= at && r.at > at - REACHABILITY_HORIZON_MS);
  const out: ShiftReachability[] = [];
  for (const [id, schedule] of Object.entries(cfg.schedules)) {
    const zone = opts.timeZone ?? schedule.time_zone;
    const ctx = { people: cfg.people, calendars: opts.calendars };
    for (const s of shiftsOf(schedule, at, at + REACHABILITY_HORIZON_MS, ctx)) {
      const base = { schedule: id, from: s.from, to: s.to, failedChannels: [] as string[] };
      if (!s.who) {
        out.push({ ...base, evidence: 'nobody on call: a page to this schedule reaches no one' });
        continue;
      }
      const row = { ...base, person: s.who.person, why: whyOf(s.who) };
      const mine = recent.filter((r) => r.schedule === id && r.person === s.who!.person);
      const own = s.handoffAt === undefined ? undefined : mine.findLast((r) => r.shiftStart === s.handoffAt);
      const decisive = own && own.outcome !== 'skipped' ? own : mine.findLast((r) => r.outcome !== 'skipped');
      const latest = mine.at(-1);
      const skipNote =
        latest?.outcome === 'skipped' && (!decisive || latest.at > decisive.at)
          ? `latest drill (shift of ${when(latest.shiftStart ?? latest.at, zone)}) ${skippedWords(latest)}`
          : undefined;
      if (decisive) {
        const thisShift = decisive === own ? 'this shift' : `the shift of ${when(decisive.shiftStart!, zone)}`;
        const said = `drill for ${thisShift} ${decisive.outcome} ${when(decisive.at, zone)}${
          decisive.summary ? `: ${decisive.summary}` : ''
        }`;
        out.push({
          ...row,
          status: decisive.outcome === 'passed' ? 'reachable' : 'unreachable',
          evidence: skipNote ? `${said}; ${skipNote}` : said,
          failedChannels: failedChannels(decisive),
        });
        continue;
      }
      const none = schedule.drill
        ? 'no drill result in the last 7 days'
        : 'no drill result in the last 7 days (the schedule has no drill block)';
      out.push({ ...row, status: 'not proven', evidence: skipNote ?? none });
    }
  }
  return out;
}

const BADGE: Record<Reachability, string> = { reachable: 'yes', unreachable: 'no', 'not proven': 'pending' };

/** The section: one table per schedule. */
export function renderReachability(
  cfg: OnCallConfig,
  rows: readonly ShiftReachability[],
  opts: { timeZone?: string; unreadable?: number; icalMissing?: string[] } = {},
): Html {
  const name = (id: string) => {
    const n = cfg.people[id]?.name;
    return n && n !== id ? `${n} (${id})` : id;
  };
  const tables = Object.entries(cfg.schedules).map(([id, schedule]) => {
    const zone = opts.timeZone ?? schedule.time_zone;
    const t = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat('ccc yyyy-MM-dd HH:mm ZZ');
    const mine = rows.filter((r) => r.schedule === id);
    return html`<h3 id="${`reachability-${id}`}">${id} <small>(${zone}${
      schedule.drill ? '' : '; no drill block: nobody is drilled for it'
    })</small></h3>
${table(
  ['from', 'to', 'who', 'why', 'reachability', 'evidence'],
  mine.map((r) => [
    t(r.from),
    t(r.to),
    r.person ? name(r.person) : html`<span class="fail">nobody</span>`,
    r.why ?? '—',
    r.status
      ? html`<span class="verdict verdict-${BADGE[r.status]}" data-reachability="${r.status}">${r.status}</span>`
      : '—',
    r.failedChannels.length
      ? html`${r.evidence}<ul class="failed-channels">${r.failedChannels.map((c) => html`<li>${c}</li>`)}</ul>`
      : r.evidence,
  ]),
  { id: `reachability-table-${id}`, cls: [undefined, undefined, undefined, undefined, undefined, 'explain'] },
)}`;
  });
  const notes: string[] = [];
  if (opts.unreadable) notes.push(`${opts.unreadable} drill result row(s) of the lake could not be read: left out.`);
  for (const s of opts.icalMissing ?? []) notes.push(`iCalendar ${s} could not be read: its layer has nobody here.`);
  return html`<section id="reachability"><h2>On call: reachability</h2>
<p class="note">The shifts of the next 7 days from the report's end, per schedule, and whether the person on call is \
proven reachable by a reachability drill (a test page before each shift on every channel they are paged on): \
<strong>reachable</strong> (the drill passed), <strong>unreachable</strong> (it failed: the channels that did not \
prove it are listed, with the provider's code in words), <strong>not proven</strong> (no passed or failed drill in the \
7 days up to the report's end). Drills are not pages: they are counted nowhere else in this report.</p>
${notes.map((n) => html`<p class="note">${n}</p>`)}
${tables.length ? tables : html`<p class="empty">The on-call file has no schedule.</p>`}</section>`;
}
