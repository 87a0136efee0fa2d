import {
  drillArn,
  drillPlanId,
  type DrillChannelResult,
  type DrillRecordIn,
  type DrillRecord,
} from '../../../schemas/drill-record.js';
import type { StreamRecord } from '../../../schemas/envelope.js';
import { eventId } from '../../../schemas/ids.js';
import { addressOf, type OnCallConfig, type PageChannel } from '../../../schemas/oncall/config.js';
import { CONFIRMED_STATUSES, FAILED_STATUSES, type DeliveryStatus } from '../../../schemas/status.js';
import { explainFailure } from '../../../shared/provider-codes.js';
import { deadlineScheduleName } from '../deadlines.js';
import { newIncidentState, type DrillState, type IncidentState, type PageState } from '../incident-state.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';
import { onCallAt, resolveLevel } from '../../../shared/schedules/resolve.js';
import { StateDraft } from '../state-draft.js';
import { drillChannels, drillQuietHours, drillWhatsappTemplate, plannedDrills, quietUntil } from './plan.js';

/**
 * Reachability drills as a pure state machine, beside the escalation engine (which hands it every record of a drill:
 * escalation.ts). A drill's state is an incident-shaped item of the same table (`drill` set), so its test pages are
 * claimed, sent, settled and recorded exactly once by the same effect runner as pages, and their receipts and acks
 * come back through the same webhooks.
 *
 * - `plan` (the planner's tick, once per hour slot): schedules every drill due within `planHorizonMs`
 *   (plan.ts `plannedDrills`) as a one-time Scheduler schedule of its `due` record (deterministic name: planned twice,
 *   made once), and the next two ticks; a drill already due is put on the stream at once.
 * - `due`: the person must still be the one coming on call (else skipped `not_on_call`) and the shift not started
 *   (else skipped `shift_started`). In quiet hours (unless `allow_in_quiet_hours`) the drill waits: a `due` again when
 *   they end; if the shift starts first it is skipped (`quiet_hours`). Otherwise: a test page on every channel the
 *   person would be paged on (plan.ts `drillChannels`), and the window's end scheduled.
 * - receipts, dispatch outcomes and acks (`OK <code>` replies, key 1, the email's link) collect the proof; the drill
 *   passes as soon as its `proof` is met, else at `window_end` it fails: a `result` record says what failed per
 *   channel (the provider code in words), and the person and the schedule's `owner` are told (level 2 pages).
 */
export interface DrillEngineOptions {
  calendars?: () => ReadonlyMap<string, IcalCalendar> | undefined;
  /** How far ahead a tick plans drills. Default 2 h (ticks run hourly: each drill is planned at least once ahead). */
  planHorizonMs?: number;
}

const HOUR = 3_600_000;
/** Test pages are level 1; a failure told to the person and the owner is level 2 (the lake's `drill_notice`). */
export const DRILL_PAGE_LEVEL = 1;
export const DRILL_NOTICE_LEVEL = 2;

export interface DrillApplied {
  state?: IncidentState;
  changed?: boolean;
  note?: string;
  level?: 'warn';
}

const iso = (t: number) => new Date(t).toISOString();
const PROVIDER_NAMES: Record<string, string> = { twilio: 'Twilio', resend: 'Resend' };
/** Who carried a page: Resend for email, else Twilio, or AWS End User Messaging on the second route. */
const providerOf = (page: PageState & { route?: string }) =>
  page.channel === 'email' ? 'resend' : page.route === 'aws' ? 'aws' : 'twilio';

export class DrillEngine {
  private readonly planHorizonMs: number;

  constructor(
    private readonly cfg: OnCallConfig,
    private readonly opts: DrillEngineOptions = {},
  ) {
    this.planHorizonMs = opts.planHorizonMs ?? 2 * HOUR;
  }

  /** Whether any schedule has a drill (else no planner tick is ever scheduled). */
  enabled(): boolean {
    return Object.values(this.cfg.schedules).some((s) => s.drill !== undefined);
  }

  /** The planner tick of the hour slot holding `now`: put it on the stream at start-up (a no-op if it ran). */
  tickRecord(now: number): DrillRecordIn {
    const slot = Math.floor(now / HOUR) * HOUR;
    return this.tick(slot, now);
  }

  private tick(slot: number, now: number): DrillRecordIn {
    return {
      v: 1,
      kind: 'drill',
      event_id: eventId('drill', 'plan', iso(slot)),
      incident_id: drillPlanId(slot),
      alarm_arn: drillArn(),
      event_time: iso(slot),
      phase: 'plan',
      scheduled_at: iso(now),
    };
  }

  apply(state: IncidentState | undefined, r: StreamRecord, now: number): DrillApplied {
    if (state?.seen.includes(r.event_id)) return { state, changed: false };
    if (!state) {
      if (r.kind !== 'drill') return {};
      if (r.phase === 'plan') return this.plan(r, now);
      if (r.phase !== 'due') return {};
      const drill = this.cfg.schedules[r.schedule!]?.drill;
      if (!drill) return { note: `drill of schedule ${r.schedule} due, but the schedule has no drill now: dropped` };
      const fresh = newIncidentState({
        incidentId: r.incident_id,
        alarmArn: r.alarm_arn,
        alarmName: `reachability drill of ${r.schedule}`,
        severity: drillWhatsappTemplate(this.cfg) ?? 'P1',
        team: '',
        reason: `reachability drill before ${r.person}'s shift of ${r.schedule}`,
        openedAt: now,
        deadlineAt: r.shift_start!,
        drill: {
          kind: 'drill',
          schedule: r.schedule!,
          person: r.person!,
          shiftStart: r.shift_start!,
          responded: [],
          delivered: [],
          errors: {},
        },
      });
      state = fresh;
    }
    const draft = new StateDraft(state);
    const note = this.applyTo(draft, r, now);
    if (!draft.changed && state.seen.length > 0) return { state, changed: false, note };
    draft.remember(r.event_id);
    return { state: draft.state, changed: true, note };
  }

  /** The outcome of a test page's send (the effect runner's, or its dispatch record read back). */
  dispatched(
    state: IncidentState,
    page: PageState,
    messageId: string | undefined,
    outcome: 'sent' | 'failed',
    at: number,
    errorCode?: string,
  ): string | undefined {
    const error = { code: errorCode, provider: providerOf(page) };
    return this.dispatchedIn(new StateDraft(state, { inPlace: true }), page.stepKey, messageId, outcome, at, error);
  }

  private applyTo(d: StateDraft, r: StreamRecord, now: number): string | undefined {
    const drill = d.state.drill;
    if (drill?.kind !== 'drill') return undefined;
    switch (r.kind) {
      case 'drill':
        if (r.phase === 'due') return this.due(d, now);
        if (r.phase === 'window_end') return this.finish(d, now, true);
        return undefined;
      case 'dispatch': {
        const key = d.state.dispatches[r.event_id];
        if (!key) return undefined;
        const error = { code: r.error_code, provider: r.provider };
        return this.dispatchedIn(d, key, r.message_id ?? undefined, r.outcome, r.event_time, error);
      }
      case 'receipt': {
        const key = (r.dispatch_id && d.state.dispatches[r.dispatch_id]) || d.state.messages[r.message_id];
        const page = key ? d.state.pages[key] : undefined;
        if (!page) return undefined;
        if (!page.messageId) {
          d.setPage(page.stepKey, 'messageId', r.message_id);
          d.setLookup('messages', r.message_id, page.stepKey);
        }
        d.setPage(page.stepKey, 'status', r.status);
        // a failure told (level 2), or a receipt after the drill was decided: recorded, changes nothing
        if (page.level !== DRILL_PAGE_LEVEL || drill.outcome) return undefined;
        if (CONFIRMED_STATUSES.has(r.status)) this.mark(d, 'delivered', page.channel);
        if (r.status === 'clicked') this.mark(d, 'responded', page.channel);
        if (FAILED_STATUSES.has(r.status))
          this.setError(d, page.channel, { code: r.error_code ?? r.status, provider: r.provider });
        return this.passIfProven(d, now);
      }
      case 'ack': {
        if (drill.outcome) return undefined;
        this.mark(d, 'responded', r.channel);
        this.mark(d, 'delivered', r.channel); // an answer on a channel proves the page reached the person
        return this.passIfProven(d, now);
      }
      default:
        return undefined;
    }
  }

  private mark(d: StateDraft, list: 'responded' | 'delivered', channel: string): void {
    const drill = d.state.drill!;
    if (drill[list].includes(channel)) return;
    d.set('drill', { ...drill, [list]: [...drill[list], channel] });
  }

  private setError(d: StateDraft, channel: string, error: { code?: string; provider?: string }): void {
    const drill = d.state.drill!;
    d.set('drill', { ...drill, errors: { ...drill.errors, [channel]: error } });
  }

  private dispatchedIn(
    d: StateDraft,
    stepKey: string,
    messageId: string | undefined,
    outcome: 'sent' | 'failed',
    at: number,
    error?: { code?: string; provider?: string },
  ): string | undefined {
    const page = d.state.pages[stepKey];
    if (!page) return undefined;
    if (messageId) {
      d.setPage(stepKey, 'messageId', messageId);
      d.setLookup('messages', messageId, stepKey);
    }
    d.setPage(stepKey, 'dispatched', true);
    if (page.status === 'pending') d.setPage(stepKey, 'status', outcome);
    if (outcome === 'sent') d.setPage(stepKey, 'sentAt', page.sentAt ?? at);
    if (outcome === 'failed' && page.level === DRILL_PAGE_LEVEL && !d.state.drill?.outcome) {
      this.setError(d, page.channel, { code: error?.code ?? 'refused', provider: error?.provider });
      return `drill: the ${page.channel} test page to ${page.person} was refused (${error?.code ?? 'no code'})`;
    }
    return undefined;
  }

  /** A planner tick: every drill due within the horizon scheduled, and the next two ticks. */
  private plan(r: Extract<StreamRecord, { kind: 'drill' }>, now: number): DrillApplied {
    const slot = Math.floor(r.event_time / HOUR) * HOUR;
    const state = newIncidentState({
      incidentId: r.incident_id,
      alarmArn: r.alarm_arn,
      alarmName: 'reachability drill planner',
      severity: 'P4',
      team: '',
      reason: 'plans the drills due in the next hours',
      openedAt: now,
      deadlineAt: now,
      seen: [r.event_id],
      resolvedAt: now, // nothing to page: kept 7 days, then expires
      drill: { kind: 'plan', schedule: '', person: '', shiftStart: slot, responded: [], delivered: [], errors: {} },
    });
    if (!this.enabled()) return { state, changed: true, note: 'drill planner: no schedule has a drill' };
    const drills = plannedDrills(this.cfg, Math.max(now, r.event_time), this.planHorizonMs, this.opts.calendars?.());
    for (const p of drills) {
      state.outbox.push({
        type: 'schedule',
        name: deadlineScheduleName(`${p.id}|due`),
        at: p.dueAt,
        record: {
          v: 1,
          kind: 'drill',
          event_id: eventId('drill', p.id, 'due'),
          incident_id: p.id,
          alarm_arn: drillArn(p.schedule),
          event_time: iso(p.dueAt),
          phase: 'due',
          schedule: p.schedule,
          person: p.person,
          shift_start: iso(p.shiftStart),
          scheduled_at: iso(now),
        },
      });
    }
    for (const next of [slot + HOUR, slot + 2 * HOUR]) {
      const record = this.tick(next, now);
      state.outbox.push({ type: 'schedule', name: deadlineScheduleName(`drill-plan|${iso(next)}`), at: next, record });
    }
    return { state, changed: true, note: `drill planner: ${drills.length} drill(s) planned` };
  }

  /** The drill came due (or again after quiet hours): send its test pages, or wait, or skip. */
  private due(d: StateDraft, now: number): string | undefined {
    const drill = d.state.drill!;
    if (drill.outcome || drill.windowEndsAt !== undefined) return undefined; // already running or decided
    const def = this.cfg.schedules[drill.schedule]?.drill;
    const schedule = this.cfg.schedules[drill.schedule];
    if (!def || !schedule) return undefined;
    const who = onCallAt(schedule, drill.shiftStart, { people: this.cfg.people, calendars: this.opts.calendars?.() });
    if (who?.person !== drill.person)
      return this.skip(d, now, 'not_on_call', `${drill.person} is no longer on call at ${iso(drill.shiftStart)}`);
    if (now >= drill.shiftStart)
      return this.skip(d, now, 'shift_started', `the drill came due after the shift started (${iso(now)})`);
    if (!def.allow_in_quiet_hours) {
      const until = quietUntil(drillQuietHours(this.cfg, drill.schedule), now, drill.shiftStart - now);
      if (until !== undefined && until >= drill.shiftStart)
        return this.skip(d, now, 'quiet_hours', 'quiet hours last until the shift starts: not drilled');
      if (until !== undefined) {
        d.set('drill', { ...drill, waitingUntil: until });
        d.push({
          type: 'schedule',
          name: deadlineScheduleName(`${d.state.incidentId}|due|${until}`),
          at: until,
          record: this.drillRecord(d.state, 'due', until, { scheduled_at: iso(now) }, `after-quiet|${until}`),
        });
        return `drill of ${drill.person} (${drill.schedule}) waits for quiet hours to end at ${iso(until)}`;
      }
    }
    const channels = drillChannels(this.cfg, drill.schedule, drill.person);
    const windowEndsAt = Math.ceil((now + def.window_s * 1000) / 1000) * 1000;
    d.set('drill', { ...drill, windowEndsAt, waitingUntil: undefined });
    d.set('level', DRILL_PAGE_LEVEL);
    d.set('deadlineAt', windowEndsAt);
    if (channels.length === 0) return this.finish(d, now, true);
    for (const channel of channels) {
      const stepKey = `${d.state.incidentId}|drill|${drill.person}|${channel}`;
      this.page(d, stepKey, drill.person, channel, DRILL_PAGE_LEVEL, windowEndsAt, now);
    }
    d.push({
      type: 'schedule',
      name: deadlineScheduleName(`${d.state.incidentId}|window_end`),
      at: windowEndsAt,
      record: this.drillRecord(d.state, 'window_end', windowEndsAt, { scheduled_at: iso(now) }),
    });
    const on = channels.join(', ');
    return `drill of ${drill.person} (${drill.schedule}): test pages on ${on}, proof by ${iso(windowEndsAt)}`;
  }

  private page(
    d: StateDraft,
    stepKey: string,
    person: string,
    channel: PageChannel,
    level: number,
    escalateAt: number,
    now: number,
    drillFailure?: string,
  ): void {
    const address = addressOf(this.cfg, person, channel);
    if (!address || d.state.pages[stepKey]) return;
    const dispatchId = eventId('dispatch', stepKey);
    d.addPage({ stepKey, dispatchId, round: 0, level, person, channel, address, status: 'pending' });
    d.push({
      type: 'page',
      stepKey,
      dispatchId,
      round: 0,
      level,
      person,
      channel,
      address,
      reason: 'drill',
      escalateAt,
      decidedAt: now,
      ...(drillFailure ? { drillFailure } : {}),
    });
  }

  private drillRecord(
    state: IncidentState,
    phase: DrillRecord['phase'],
    at: number,
    extra: Partial<DrillRecordIn>,
    key: string = phase,
  ): DrillRecordIn {
    const drill = state.drill!;
    return {
      v: 1,
      kind: 'drill',
      event_id: eventId('drill', state.incidentId, key),
      incident_id: state.incidentId,
      alarm_arn: state.alarmArn,
      event_time: iso(at),
      phase,
      schedule: drill.schedule,
      person: drill.person,
      shift_start: iso(drill.shiftStart),
      ...extra,
    } as DrillRecordIn;
  }

  private skip(d: StateDraft, now: number, why: NonNullable<DrillRecord['why']>, words: string): string {
    const drill = d.state.drill!;
    d.set('drill', { ...drill, outcome: 'skipped', waitingUntil: undefined, summary: words, decidedAt: now });
    d.set('resolvedAt', now);
    d.push({
      type: 'record',
      record: this.drillRecord(d.state, 'result', now, { outcome: 'skipped', why, summary: `not proven: ${words}` }),
    });
    return `drill of ${drill.person} (${drill.schedule}) skipped: ${words}`;
  }

  /** Each test page's evidence. */
  private evidence(drill: DrillState, pages: PageState[]): DrillChannelResult[] {
    return pages.map((p) => {
      const error = drill.errors[p.channel];
      const why = error && explainFailure({ provider: error.provider, status: p.status, error_code: error.code });
      return {
        channel: p.channel,
        delivered: drill.delivered.includes(p.channel) || drill.responded.includes(p.channel),
        responded: drill.responded.includes(p.channel),
        status: p.status,
        ...(error?.provider ? { provider: error.provider } : {}),
        ...(error?.code ? { error_code: error.code } : {}),
        ...(why ? { explanation: `${why.label}: ${why.detail}` } : {}),
      };
    });
  }

  /** What the proof still lacks, in words (empty: proven). */
  private missing(d: StateDraft, evidence: DrillChannelResult[]): string[] {
    const proof = this.cfg.schedules[d.state.drill!.schedule]?.drill?.proof ?? { delivery: true, response: 'any' };
    if (evidence.length === 0) return ['no channel to drill: the person has no address the policies page on'];
    const out: string[] = [];
    for (const e of evidence) {
      const code = e.error_code
        ? ` (${PROVIDER_NAMES[e.provider ?? ''] ?? e.provider ?? 'provider'} ${e.error_code}` +
          `${e.explanation ? `: ${e.explanation.split(':')[0]}` : ''})`
        : '';
      if (FAILED_STATUSES.has(e.status as DeliveryStatus) || e.status === 'failed')
        out.push(`${e.channel}: ${e.status}${code}`);
      else if (proof.delivery && !e.delivered) out.push(`${e.channel}: no delivery receipt (last status ${e.status})`);
      else if (proof.response === 'every' && !e.responded) out.push(`${e.channel}: no answer`);
    }
    if (proof.response === 'any' && !evidence.some((e) => e.responded))
      out.push('no answer on any channel (OK <code> by SMS/WhatsApp, key 1 on the call, the link in the email)');
    return out;
  }

  private testPages(state: IncidentState): PageState[] {
    return Object.values(state.pages).filter((p) => p.level === DRILL_PAGE_LEVEL);
  }

  private passIfProven(d: StateDraft, now: number): string | undefined {
    const drill = d.state.drill!;
    if (drill.outcome || drill.windowEndsAt === undefined) return undefined;
    const pages = this.testPages(d.state);
    if (pages.length === 0 || this.missing(d, this.evidence(drill, pages)).length > 0) return undefined;
    return this.finish(d, now, false);
  }

  /** Decides the drill: passed, or failed (told to the person and the owner). */
  private finish(d: StateDraft, now: number, windowEnded: boolean): string | undefined {
    const drill = d.state.drill!;
    if (drill.outcome || (windowEnded && drill.windowEndsAt === undefined)) return undefined;
    const evidence = this.evidence(drill, this.testPages(d.state));
    const missing = this.missing(d, evidence);
    const outcome = missing.length === 0 ? 'passed' : 'failed';
    const summary =
      outcome === 'passed'
        ? `reachable on ${evidence.map((e) => e.channel).join(', ')}` +
          ` (answered on ${
            evidence
              .filter((e) => e.responded)
              .map((e) => e.channel)
              .join(', ') || 'none needed'
          })`
        : missing.join('; ');
    d.set('drill', { ...drill, outcome, summary: summary.slice(0, 2000), decidedAt: now });
    d.set('resolvedAt', now);
    d.push({
      type: 'record',
      record: this.drillRecord(d.state, 'result', now, {
        outcome,
        channels: evidence,
        summary: summary.slice(0, 2000),
      }),
    });
    if (outcome === 'passed') return `drill of ${drill.person} (${drill.schedule}) passed: ${summary}`;
    const told = this.tellFailure(d, evidence, summary, now);
    return `drill of ${drill.person} (${drill.schedule}) FAILED: ${summary}; told ${told.join(', ') || 'nobody'}`;
  }

  /** The person (on a channel that worked, if any) and the owner, once each, on the first notify channel they have. */
  private tellFailure(d: StateDraft, evidence: DrillChannelResult[], summary: string, now: number): string[] {
    const drill = d.state.drill!;
    const def = this.cfg.schedules[drill.schedule]?.drill;
    if (!def) return [];
    const owners = resolveLevel(this.cfg, { targets: def.owner }, now, this.opts.calendars?.()).map((r) => r.person);
    const told: string[] = [];
    for (const person of [drill.person, ...owners.filter((p) => p !== drill.person)]) {
      const works = (c: string) => evidence.some((e) => e.channel === c && e.delivered);
      const candidates = def.notify_channels.filter((c) => addressOf(this.cfg, person, c) !== undefined);
      const channel = person === drill.person ? (candidates.find(works) ?? candidates[0]) : candidates[0];
      if (!channel) continue;
      const stepKey = `${d.state.incidentId}|drill-failed|${person}|${channel}`;
      this.page(d, stepKey, person, channel, DRILL_NOTICE_LEVEL, now, now, summary);
      told.push(person);
    }
    return told;
  }
}
