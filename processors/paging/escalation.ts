import type { StreamRecord } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import type { EscalationRecordIn } from '../../schemas/escalation-record.js';
import { FALLBACK_LEVEL } from '../../schemas/dispatch-record.js';
import { CONFIRMED_STATUSES, FAILED_STATUSES, type DeliveryStatus, type Severity } from '../../schemas/status.js';
import {
  isActive,
  PAGES_CAP,
  type RerouteCause,
  type Effect,
  type IncidentState,
  type NoticeKind,
  type PageEffect,
  type PageState,
  type ResolvedBy,
  newIncidentState,
} from './incident-state.js';
import { StateDraft } from './state-draft.js';
import { maintenanceFor, quietChannels } from './quiet/windows.js';
import {
  addressOf,
  effectivePolicyFor,
  policyRouteFor,
  teamFor,
  type Level,
  type OnCallConfig,
  type PageChannel,
  type Policy,
  type PolicyRoute,
} from '../../schemas/oncall/config.js';
import { resolveLevel } from '../../shared/schedules/resolve.js';
import type { IcalCalendar } from '../../shared/schedules/ical.js';
import { deadlineScheduleName } from './deadlines.js';
import {
  DEFAULT_SEVERITY_SETTINGS,
  resolveSeverity,
  routeAlarm,
  type SeveritySettings,
} from '../../schemas/alarm-routing.js';
import { alarmMetricName } from '../../schemas/cloudwatch-alarm.js';
import { sourceSeverity, sourceTeam } from '../../schemas/oncall/sources.js';

/** An alarm record from an alert source (Alertmanager, events-v2): schemas/alert-record.ts. */
type AlertAlarm = Extract<StreamRecord, { kind: 'alarm'; source: 'alertmanager' | 'events-v2' | 'heartbeat' }>;
import { isDrillId } from '../../schemas/drill-record.js';
import { DrillEngine } from './drills/engine.js';

/**
 * The escalation policy as a pure state machine: a record and the incident's state in, the new state
 * out with the effects it decided appended to its outbox, and whether anything changed. The state
 * passed in is never written (`apply` writes a copy-on-write working copy, state-draft.ts). No I/O
 * and no clock of its own: tests drive it with any `now`; the paging handler saves the new state,
 * then carries out the outbox.
 *
 * - An ALARM opens an incident: pages every target of level 1 on every channel of the level and
 *   schedules the level's deadline. Its severity is the record's (the intake resolved it), else
 *   `resolveSeverity` (schemas/alarm-routing.ts: tag > SEVERITY_MAP > SEVERITY_DEFAULT) — the same
 *   answer for a record the EventBridge rule wrote; its team is the `team` tag, else the on-call
 *   routes, else the default team. An ALARM applied to an incident already open (a re-evaluation:
 *   the handler brings an ALARM → ALARM record to the alarm's open incident) is recorded, never paged.
 * - No silent routing: a team with no policy for the severity pages its `default_policy`, else the
 *   file's `unrouted_fallback` (once), and the incident is recorded `unrouted` with that fallback (an
 *   escalation record the lake keeps) and a warning; with neither, an `unrouted` record with fallback
 *   `none` and an error (nobody paged). A `severity` tag that is not P1..P4 (`P9`) is warned about too.
 * - A page that fails (undelivered, failed, bounced…) fails over at once to the next channel of the
 *   policy's failover list that the person has and was not paged on at this level.
 * - A level is confirmed when its `stop_on` is met: a page delivered, or opened/read, or an ack.
 * - A `deadline` record of the current round and level, unconfirmed: escalate to the next level (pages
 *   it, schedules its deadline); after the last level, repeat the policy `repeat` times from level 1;
 *   then write an `exhausted` escalation and page the policy's fallback once. Any other deadline
 *   (stale, acked, resolved, confirmed) is a no-op.
 * - An ack stops everything; OK resolves the incident. With the policy's `notify`, the people already
 *   paged are told (once each, on the channels they were paged on): notices are dispatches like pages.
 * - Keeping quiet (quiet/): an ALARM inside a maintenance window opens an incident that is recorded as
 *   `suppressed` and never pages; a team's quiet hours narrow a low severity's channels (P3 by email
 *   at night); an ALARM within the flapping window after the OK (the handler brings it here) reopens
 *   the incident it resolved: a `retrigger` record, no new page, and the current level's deadline
 *   re-armed unless the incident was acknowledged or its level confirmed.
 * - By hand (an `action` record from the incident API or the console): escalate (the next level now, `manual`),
 *   reassign (page a person now, make them the responder, restart the level's deadline) and snooze (pause the
 *   escalation; an acknowledged incident's ack is lifted at the end): docs/design/closed-loop.md "Escalate, reassign,
 *   snooze (by hand)".
 */
export interface EngineOptions {
  /** Alarms older than this when read are recorded but not paged (a replay must not page). Default 1 h. */
  maxAlarmAgeMs?: number;
  /**
   * SEVERITY_MAP / SEVERITY_DEFAULT (shared with the receiver) for records that carry no severity. Default: no map, P2.
   */
  severity?: SeveritySettings;
  /**
   * The iCalendar layers' calendars as last loaded (schedules/ical-feed.ts); without them an iCalendar layer has
   * nobody.
   */
  calendars?: () => ReadonlyMap<string, IcalCalendar> | undefined;
  /**
   * The channels a second route carries (AWS End User Messaging: `sms`, and `voice` with a voice number); empty
   * (the default): one route per channel, as before. See `failover` and `routeFor`.
   */
  secondRoute?: readonly PageChannel[];
}

type EscalationReason = EscalationRecordIn['reason'];
type ActionRecord = Extract<StreamRecord, { kind: 'action' }>;
const SNOOZE_WORDS = (until: number) => new Date(until).toISOString().replace('.000Z', 'Z');

/** The other route of a page's route. */
const otherRoute = (route: 'twilio' | 'aws'): 'twilio' | 'aws' => (route === 'aws' ? 'twilio' : 'aws');
const ROUTE_NAME = { twilio: 'Twilio', aws: 'AWS End User Messaging' } as const;

export interface Applied {
  /**
   * The state after the record: a new object when `changed`, else the state passed in. Undefined when
   * the record concerns no incident this engine pages (nothing to save). A new state shares the parts
   * the record left alone with the state passed in: whoever then writes it in place (the effect runner
   * does) writes those parts of the old state too; the handler no longer uses the old one.
   */
  state?: IncidentState;
  /** The record changed the state (a new incident, a decision, a page's status…): save it. */
  changed?: boolean;
  /** Something worth a log line. */
  note?: string;
  /** The note's log level when more than information: `warn` (e.g. unrouted → a fallback), `error` (nobody paged). */
  level?: 'warn' | 'error';
}

/** A tag value as quoted in a log line (a tag value may be 256 characters). */
const quoted = (v: string) => JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);

const STOP_RANK: Record<Level['stop_on'], (s: PageState['status']) => boolean> = {
  delivered: (s) => CONFIRMED_STATUSES.has(s as DeliveryStatus),
  opened: (s) => s === 'opened' || s === 'clicked',
  ack: () => false,
};

/** The ledger key of one page: round 0 keeps the original form (dispatch ids stay stable). */
export const pageStepKey = (incidentId: string, round: number, level: number, person: string, channel: string) =>
  round === 0
    ? `${incidentId}|L${level}|${person}|${channel}`
    : `${incidentId}|r${round}|L${level}|${person}|${channel}`;

export const dispatchIdOf = (stepKey: string) => eventId('dispatch', stepKey);

export class EscalationEngine {
  private readonly maxAlarmAgeMs: number;
  private readonly calendars?: () => ReadonlyMap<string, IcalCalendar> | undefined;
  private readonly severity: SeveritySettings;
  private readonly secondRoute: ReadonlySet<PageChannel>;
  /** Reachability drills (drills/engine.ts): every record of a drill (a `drl_` id) is theirs. */
  readonly drills: DrillEngine;

  constructor(
    private readonly cfg: OnCallConfig,
    opts: EngineOptions = {},
  ) {
    this.maxAlarmAgeMs = opts.maxAlarmAgeMs ?? 3600_000;
    this.severity = opts.severity ?? DEFAULT_SEVERITY_SETTINGS;
    this.calendars = opts.calendars;
    this.drills = new DrillEngine(cfg, { calendars: opts.calendars });
    this.secondRoute = new Set(opts.secondRoute ?? []);
  }

  /**
   * The severity and team an alarm record pages with (both paths: intake and EventBridge rule), and its `severity` tag
   * when that was not P1..P4 (ignored).
   */
  routing(r: Extract<StreamRecord, { kind: 'alarm' }>): {
    severity: Severity;
    team: string;
    unknownSeverityTag?: string;
  } {
    if (r.source !== 'cloudwatch') return this.alertRouting(r);
    const hint = routeAlarm(r.event, this.severity);
    const severity = r.severity ?? hint.severity;
    const team = teamFor(this.cfg, {
      alarmName: r.alarm_name,
      namespace: r.namespace,
      tags: hint.team ? { team: hint.team } : undefined,
    });
    return { severity, team, ...(hint.unknownSeverityTag ? { unknownSeverityTag: hint.unknownSeverityTag } : {}) };
  }

  /** The policy the incident runs: the team's for its severity, else the team's default; none for global/none. */
  policyOf(state: IncidentState): Policy | undefined {
    if (state.unrouted === 'global' || state.unrouted === 'none') return undefined;
    return effectivePolicyFor(this.cfg, state.team, state.severity);
  }

  /**
   * Applies one record to the incident's state (undefined: none yet) without writing it. Idempotent:
   * a record applied before (its event id remembered), or one that changes nothing (our own records
   * read back, a duplicate receipt, a stale deadline), returns the state passed in and `changed`
   * false, so the handler writes nothing for it. Otherwise `state` is a new object (sharing the parts
   * the record left alone) that remembers the record's event id.
   */
  apply(state: IncidentState | undefined, r: StreamRecord, now: number): Applied {
    if (state?.drill || isDrillId(r.incident_id)) return this.drills.apply(state, r, now);
    if (state?.seen.includes(r.event_id)) return { state, changed: false };
    if (!state) {
      if (r.kind !== 'alarm' || r.state !== 'ALARM') return {};
      return { ...this.open(r, now), changed: true };
    }
    const draft = new StateDraft(state);
    const note = this.applyTo(draft, r, now);
    if (!draft.changed) return { state, changed: false, note };
    draft.remember(r.event_id);
    return { state: draft.state, changed: true, note };
  }

  /** Writes what the record changes into the draft; a note worth a log line. */
  private applyTo(d: StateDraft, r: StreamRecord, now: number): string | undefined {
    const state = d.state;
    switch (r.kind) {
      case 'alarm':
        if (r.source !== 'cloudwatch') return this.alertUpdate(d, r, now);
        if (r.state !== 'ALARM' && r.previous_state === 'ALARM' && state.resolvedAt === undefined) {
          d.set('resolvedAt', r.event_time);
          const told = this.notify(d, 'resolve', now);
          return `resolved (${r.state})${told ? `; telling ${told} page(s)` : ''}`;
        }
        if (r.state === 'ALARM' && r.previous_state !== 'ALARM' && this.flapsBack(state, r.event_time)) {
          return this.retrigger(d, r.event_id, r.event_time, now);
        }
        if (r.state === 'ALARM' && r.previous_state === 'ALARM') {
          // a re-evaluation brought here by the handler: recorded on the incident, no page
          d.set('reevaluations', (state.reevaluations ?? 0) + 1);
          d.set('reevaluatedAt', Math.max(state.reevaluatedAt ?? 0, r.event_time));
          return `re-evaluated (ALARM → ALARM): no new incident, no page`;
        }
        return undefined;
      case 'dispatch': {
        const key = state.dispatches[r.event_id];
        if (!key || !state.pages[key]) return undefined;
        return this.dispatchedIn(d, key, r.message_id ?? undefined, r.outcome, r.event_time, r.error_code);
      }
      case 'receipt': {
        const key = (r.dispatch_id && state.dispatches[r.dispatch_id]) || state.messages[r.message_id];
        if (!key || !state.pages[key]) return undefined;
        if (!state.pages[key].messageId) this.bindMessage(d, key, r.message_id);
        d.setPage(key, 'status', r.status);
        if (FAILED_STATUSES.has(r.status)) return this.failover(d, key, now, undefined, 'failed_receipt');
        const page = state.pages[key];
        const level = this.levelOf(state, page.level);
        const current = page.level === state.level && page.round === state.round;
        if (level && !page.notice && current && STOP_RANK[level.stop_on](r.status)) d.set('levelStopped', true);
        return undefined;
      }
      case 'ack': {
        if (state.ackedAt !== undefined) return undefined;
        d.set('ackedAt', r.event_time);
        // a key press on a call names no person: the call it was made on does
        const by = r.person ?? (r.message_id ? state.pages[state.messages[r.message_id] ?? '']?.person : undefined);
        d.set('ackedBy', by);
        const told = this.notify(d, 'ack', now, by);
        return `acknowledged by ${by ?? 'someone'} via ${r.via}${told ? `; telling ${told} page(s)` : ''}`;
      }
      case 'action': {
        if (r.action === 'escalate') return this.escalateByHand(d, r, now);
        if (r.action === 'reassign') return this.reassign(d, r, now);
        if (r.action === 'snooze') return this.snooze(d, r, now);
        // resolved by hand (incident API, console): as an OK would, it stops the incident and tells those paged;
        // a note changes nothing here (the lake keeps it)
        if (r.action !== 'resolve' || state.resolvedAt !== undefined) return undefined;
        d.set('resolvedAt', r.event_time);
        const told = this.notify(d, 'resolve', now);
        return `resolved by ${r.person} via ${r.via}${told ? `; telling ${told} page(s)` : ''}`;
      }
      case 'escalation':
        return undefined; // our own records coming back: the decision is already in the state
      case 'deadline':
        if (r.purpose === 'delivery') return this.silence(d, r.dispatch_id, r.event_time, now);
        return r.purpose === 'level' ? this.deadline(d, r.round, r.level, now, r.event_time) : undefined;
    }
  }

  /**
   * The outcome of a page this engine decided, as the effect runner learns it from the send: binds
   * the message id, and fails over at once when the provider refused it. Unlike `apply`, it writes
   * `state` itself: the state the effect runner is carrying out, which it saves afterwards.
   */
  dispatched(
    state: IncidentState,
    page: PageState,
    messageId: string | undefined,
    outcome: 'sent' | 'failed',
    at: number,
    errorCode?: string,
  ): string | undefined {
    if (state.drill) return this.drills.dispatched(state, page, messageId, outcome, at, errorCode);
    const d = new StateDraft(state, { inPlace: true });
    return this.dispatchedIn(d, page.stepKey, messageId, outcome, at, errorCode);
  }

  /** A page's send outcome (the send's result, or its dispatch record read back). */
  private dispatchedIn(
    d: StateDraft,
    stepKey: string,
    messageId: string | undefined,
    outcome: 'sent' | 'failed',
    at: number,
    errorCode?: string,
  ): string | undefined {
    if (messageId) this.bindMessage(d, stepKey, messageId);
    const first = !d.state.pages[stepKey].dispatched;
    d.setPage(stepKey, 'dispatched', true);
    if (d.state.pages[stepKey].status === 'pending') d.setPage(stepKey, 'status', outcome);
    if (outcome === 'failed')
      return this.failover(d, stepKey, at, undefined, errorCode === 'timeout' ? 'timeout' : 'error');
    if (first) {
      d.setPage(stepKey, 'sentAt', at);
      this.scheduleDelivery(d, stepKey, at);
    }
    return undefined;
  }

  /**
   * A sent page's delivery deadline (the policy's `delivery_s` for its channel): a `delivery` deadline record due
   * then, when that is before its level's own deadline and the page can still fail over (not a notice, the
   * incident open, its level current). Deterministic name and event id: a redo schedules it once.
   */
  private scheduleDelivery(d: StateDraft, stepKey: string, sentAt: number): void {
    const state = d.state;
    const page = state.pages[stepKey];
    if (page.notice || page.failedOver || !isActive(state) || state.exhaustedAt !== undefined) return;
    if (page.round !== state.round || page.level !== state.level || state.levelStopped) return;
    const window = this.policyOf(state)?.delivery_s[page.channel] ?? 0;
    if (window <= 0) return;
    const at = Math.ceil((sentAt + window * 1000) / 1000) * 1000; // whole seconds, as the Scheduler keeps them
    if (at >= state.deadlineAt) return; // the level escalates first
    d.push({
      type: 'schedule',
      name: deadlineScheduleName(`${state.incidentId}|delivery|${stepKey}`),
      at,
      record: {
        v: 1,
        kind: 'deadline',
        event_id: eventId('deadline', state.incidentId, 'delivery', stepKey),
        incident_id: state.incidentId,
        alarm_arn: state.alarmArn,
        event_time: new Date(at).toISOString(),
        purpose: 'delivery',
        dispatch_id: page.dispatchId,
        round: page.round,
        level: Math.max(1, page.level),
        scheduled_at: new Date(sentAt).toISOString(),
      },
    });
  }

  /**
   * A page's delivery deadline came due: silent still (no delivered, opened or clicked, no failure either) → the
   * person's next channel, as a failure receipt would, recorded `cause: no_receipt` with how long it was silent.
   * A page confirmed, failed over, of a level no longer current, or of a closed incident: nothing.
   */
  private silence(d: StateDraft, dispatchId: string | undefined, dueAt: number, now: number): string | undefined {
    const state = d.state;
    const key = dispatchId ? state.dispatches[dispatchId] : undefined;
    const page = key ? state.pages[key] : undefined;
    if (!page || page.notice || page.failedOver || !isActive(state)) return undefined;
    if (CONFIRMED_STATUSES.has(page.status as DeliveryStatus) || FAILED_STATUSES.has(page.status as DeliveryStatus))
      return undefined;
    if (page.round !== state.round || page.level !== state.level || state.levelStopped) return undefined;
    const silenceMs = Math.max(0, Math.max(now, dueAt) - (page.sentAt ?? dueAt));
    const note = this.failover(d, page.stepKey, now, { cause: 'no_receipt', silence_ms: silenceMs });
    if (!note) return undefined;
    const seconds = Math.round(silenceMs / 1000);
    const then = note.replace(/^[^:]*: /, '');
    return `${page.person}: no delivery receipt for the ${page.channel} page in ${seconds} s; ${then}`;
  }

  private bindMessage(d: StateDraft, stepKey: string, messageId: string): void {
    d.setPage(stepKey, 'messageId', messageId);
    d.setLookup('messages', messageId, stepKey);
  }

  private open(r: Extract<StreamRecord, { kind: 'alarm' }>, now: number): Applied {
    const { severity, team, unknownSeverityTag } = this.routing(r);
    if (now - r.event_time > this.maxAlarmAgeMs) {
      return { note: `alarm from ${new Date(r.event_time).toISOString()} is older than the paging horizon: not paged` };
    }
    const tagNote =
      unknownSeverityTag === undefined
        ? undefined
        : `severity tag ${quoted(unknownSeverityTag)} is not P1..P4: ignored, paged as ${severity} ` +
          '(SEVERITY_MAP / SEVERITY_DEFAULT)';
    const say = (note: string | undefined, level?: 'warn' | 'error'): Pick<Applied, 'note' | 'level'> => {
      const all = [tagNote, note].filter((n) => n !== undefined).join('; ');
      return { ...(all ? { note: all } : {}), ...(level ? { level } : tagNote ? { level: 'warn' as const } : {}) };
    };
    const state = newIncidentState({
      incidentId: r.incident_id,
      alarmArn: r.alarm_arn,
      alarmName: r.alarm_name,
      severity,
      team,
      namespace: r.namespace,
      metric: r.source === 'cloudwatch' ? alarmMetricName(r.event) : undefined,
      reason: r.reason,
      openedAt: r.event_time,
      deadlineAt: now,
      seen: [r.event_id],
    });
    const d = new StateDraft(state, { inPlace: true }); // a new state: ours to write
    if (r.source !== 'cloudwatch') this.restate(d, r, 'ALARM');
    const window = maintenanceFor(
      this.cfg.maintenance,
      { alarmName: r.alarm_name, team, tags: r.source === 'cloudwatch' ? r.event.detail.alarmTags : r.labels },
      r.event_time,
    );
    if (window) {
      d.set('suppressedBy', window.name);
      const extra = { maintenance_window: window.name, alarm_event_id: r.event_id };
      const e = { reason: 'suppressed' as const, from: 0, to: 0, round: 0, at: now, extra };
      this.record(d, `${state.incidentId}|suppressed`, e);
      return { state, ...say(`inside maintenance window "${window.name}": recorded as suppressed, not paged`) };
    }
    const route = policyRouteFor(this.cfg, team, severity);
    if (route.fallback === undefined) {
      const note = this.enterLevel(d, 0, 1, now);
      return { state, ...say(note, note ? 'warn' : undefined) }; // level 1 paged nobody: the next level may
    }
    return { state, ...say(...this.unrouted(d, route, r.event_id, unknownSeverityTag, now)) };
  }

  /**
   * The team has no policy for the severity: page the fallback `policyRouteFor` chose and record `unrouted` with it.
   * A warning when someone was paged; an error when nobody was.
   */
  private unrouted(
    d: StateDraft,
    route: Exclude<PolicyRoute, { fallback?: undefined }>,
    alarmEventId: string,
    severityTag: string | undefined,
    now: number,
  ): [string, 'warn' | 'error'] {
    const { incidentId, team, severity } = d.state;
    d.set('unrouted', route.fallback);
    const to = route.fallback === 'team_default' ? 1 : route.fallback === 'global' ? FALLBACK_LEVEL : 0;
    const extra = {
      alarm_event_id: alarmEventId,
      fallback: route.fallback,
      team,
      severity,
      ...(severityTag ? { severity_tag: severityTag.slice(0, 256) } : {}),
    };
    this.record(d, `${incidentId}|unrouted`, { reason: 'unrouted', from: 0, to, round: 0, at: now, extra });
    const why = `team ${team} has no ${severity} policy: unrouted`;
    if (route.fallback === 'team_default') {
      const nobody = this.enterLevel(d, 0, 1, now);
      return nobody
        ? [`${why} → the team's default_policy, but ${nobody}`, 'error']
        : [`${why} → the team's default_policy`, 'warn'];
    }
    if (route.fallback === 'global') {
      const pages = this.pageTargets(d, route.targets, 0, FALLBACK_LEVEL, 'fallback', now, now);
      return pages === 0
        ? [`${why} → unrouted_fallback, but no target has an address on ${route.targets.channels.join('/')}`, 'error']
        : [`${why} → unrouted_fallback (${pages} page(s))`, 'warn'];
    }
    return [`${why}, and no default_policy or unrouted_fallback: NOT PAGED (recorded as unrouted)`, 'error'];
  }

  /**
   * Severity and team of an alert-source alarm (schemas/oncall/sources.ts): the record's severity, else its labels'
   * through `sources.severities`, else SEVERITY_MAP by name / SEVERITY_DEFAULT; the team label or the routing key's
   * service, else the routes by alarm-name prefix, else the default team.
   */
  private alertRouting(r: AlertAlarm): { severity: Severity; team: string } {
    const sources = this.cfg.sources;
    const severity =
      r.severity ?? sourceSeverity(sources, r.labels) ?? resolveSeverity({ alarmName: r.alarm_name }, this.severity);
    // a heartbeat check's team is the check's (schemas/oncall/heartbeats.ts)
    const hinted =
      r.source === 'heartbeat'
        ? this.cfg.heartbeats[r.key]?.team
        : sourceTeam(sources, this.cfg.teams, r.labels, r.service);
    const team = teamFor(this.cfg, { alarmName: r.alarm_name, tags: hinted ? { team: hinted } : undefined });
    return { severity, team };
  }

  /**
   * An alert-source record on its open incident (the handler brought it here; docs/design/closed-loop.md "Alarm
   * intake"): OK resolves it (Alertmanager: every member resolved; events-v2: `resolve`); ACK (events-v2
   * `acknowledge`) acknowledges it, as an `ack` record via `events-v2`; ALARM (a changed group, a repeated trigger)
   * is recorded and pages nobody. Each is restated for the lake under the incident's id.
   */
  private alertUpdate(d: StateDraft, r: AlertAlarm, now: number): string | undefined {
    const state = d.state;
    if (state.resolvedAt !== undefined) return undefined; // a late record of a closed incident: nothing to change
    const counts = r.firing === undefined ? '' : ` (${r.firing} firing of ${r.members?.length ?? 0})`;
    if (r.state === 'OK') {
      d.set('resolvedAt', r.event_time);
      this.restate(d, r, 'OK');
      const told = this.notify(d, 'resolve', now);
      return `resolved by ${r.source}${told ? `; telling ${told} page(s)` : ''}`;
    }
    if (r.state === 'ACK') {
      if (state.ackedAt !== undefined) return undefined;
      d.set('ackedAt', r.event_time);
      d.set('ackedBy', undefined);
      d.push({
        type: 'record',
        record: {
          v: 1,
          kind: 'ack',
          event_id: eventId('ack', state.incidentId, r.event_id),
          incident_id: state.incidentId,
          alarm_arn: state.alarmArn,
          event_time: new Date(r.event_time).toISOString(),
          channel: 'webhook',
          via: 'events-v2',
        },
      });
      const told = this.notify(d, 'ack', now);
      return `acknowledged via events-v2${told ? `; telling ${told} page(s)` : ''}`;
    }
    d.set('reevaluations', (state.reevaluations ?? 0) + 1);
    d.set('reevaluatedAt', Math.max(state.reevaluatedAt ?? 0, r.event_time));
    this.restate(d, r, 'ALARM');
    return `${r.source} update${counts}: same incident, no page`;
  }

  /**
   * The intake record restated under the incident's id (an alarm record with `restates`): what the lake counts as
   * the incident opening, changing and resolving. Small (no payload: the intake record keeps it); deterministic id.
   */
  private restate(d: StateDraft, r: AlertAlarm, state: 'ALARM' | 'OK'): void {
    const s = d.state;
    d.push({
      type: 'record',
      record: {
        v: 1,
        kind: 'alarm',
        source: r.source,
        event_id: eventId('restated', s.incidentId, r.event_id),
        incident_id: s.incidentId,
        alarm_arn: s.alarmArn,
        event_time: new Date(r.event_time).toISOString(),
        key: r.key.slice(0, 2048),
        alarm_name: s.alarmName.slice(0, 1024),
        state,
        severity: s.severity,
        reason: r.reason.slice(0, 4096),
        ...(r.firing !== undefined ? { firing: r.firing } : {}),
        ...(r.truncated !== undefined ? { truncated: r.truncated } : {}),
        ...(r.service !== undefined ? { service: r.service } : {}),
        labels: { team: s.team },
        restates: r.event_id,
      },
    });
  }

  /** The flapping window (the on-call file's flapping.window_s, in ms); 0 when off. */
  flapWindowMs(): number {
    return this.cfg.flapping.window_s * 1000;
  }

  /**
   * Whether an ALARM at `at` continues this resolved incident: it came after the OK, within the
   * flapping window, and the incident paged (a suppressed one is left to a fresh maintenance check).
   */
  flapsBack(state: IncidentState, at: number): boolean {
    if (state.resolvedAt === undefined || state.suppressedBy !== undefined) return false;
    return at >= state.resolvedAt && at - state.resolvedAt <= this.flapWindowMs();
  }

  /**
   * The alarm flapped back: reopen the incident without paging anew; re-arm the current level's deadline if it can
   * still escalate.
   */
  private retrigger(d: StateDraft, alarmEventId: string, at: number, now: number): string {
    const state = d.state;
    const after = Math.round((at - state.resolvedAt!) / 1000);
    d.set('resolvedAt', undefined);
    d.set('retriggers', (state.retriggers ?? 0) + 1);
    d.set('retriggeredAt', at);
    const { level, round } = state;
    const extra = { alarm_event_id: alarmEventId };
    const e = { reason: 'retrigger' as const, from: level, to: level, round, at: now, extra };
    this.record(d, `${state.incidentId}|retrigger|${alarmEventId}`, e);
    const note = `re-triggered ${after} s after OK (flapping): same incident, no new page`;
    if (state.ackedAt !== undefined || state.exhaustedAt !== undefined || state.levelStopped) return note;
    const def = this.levelOf(state, state.level);
    if (!def) return note;
    d.set('deadlineAt', Math.ceil((now + def.deadline_s * 1000) / 1000) * 1000);
    this.scheduleDeadline(d, `t${state.retriggers}`, now);
    return `${note}; level ${state.level} escalates at ${new Date(state.deadlineAt).toISOString()} unless confirmed`;
  }

  /**
   * Tells the people already paged (pages not failed; on an ack, not the person who acked) and the
   * policy's `notify.also` that the incident was acknowledged or resolved: once per kind, person and
   * channel. Returns the notices queued.
   */
  private notify(d: StateDraft, kind: NoticeKind, now: number, by?: string): number {
    const state = d.state;
    const notify = this.policyOf(state)?.notify;
    if (!notify?.on.includes(kind)) return 0;
    const paged = new Map<string, { level: number; channels: Set<string> }>();
    for (const p of Object.values(state.pages)) {
      if (p.notice || p.status === 'failed' || FAILED_STATUSES.has(p.status as DeliveryStatus)) continue;
      if (kind === 'ack' && p.person === by) continue;
      const seen = paged.get(p.person) ?? { level: p.level, channels: new Set<string>() };
      seen.level = Math.min(seen.level, p.level);
      seen.channels.add(p.channel);
      paged.set(p.person, seen);
    }
    // `also`: told though never paged (e.g. the rest of the team), at the first notice channel they have
    for (const { person } of resolveLevel(this.cfg, { targets: notify.also }, now, this.calendars?.())) {
      if (!paged.has(person) && !(kind === 'ack' && person === by))
        paged.set(person, { level: Math.max(state.level, 1), channels: new Set() });
    }
    const at = (kind === 'ack' ? state.ackedAt : state.resolvedAt) ?? now;
    let n = 0;
    for (const [person, { level, channels }] of paged) {
      const has = (c: PageChannel) => addressOf(this.cfg, person, c) !== undefined;
      let on: PageChannel[] = notify.channels.filter((c) => channels.has(c) && has(c));
      if (on.length === 0) on = notify.channels.filter(has).slice(0, 1);
      for (const channel of on) {
        const stepKey = `${state.incidentId}|notice|${kind}|${person}|${channel}`;
        const notice = { kind, at, ...(kind === 'ack' && by ? { by } : {}) };
        const address = addressOf(this.cfg, person, channel)!;
        const p = { round: 0, level, person, channel, address, escalateAt: at, decidedAt: now, notice };
        if (this.page(d, { ...p, reason: 'notice' }, stepKey)) n++;
      }
    }
    return n;
  }

  private levelOf(state: IncidentState, level: number): Level | undefined {
    return this.policyOf(state)?.levels[level - 1];
  }

  /**
   * A deadline record arrived: escalate if it is the current level's and the level is unconfirmed. `dueAt`: the
   * record's time. A snooze of an acknowledged incident ends with its own deadline of the level (`resume`).
   */
  private deadline(d: StateDraft, round: number, level: number, now: number, dueAt = now): string | undefined {
    const state = d.state;
    const snooze = state.snooze;
    const current = round === state.round && level === state.level;
    if (snooze?.acked && current && dueAt >= snooze.until && state.resolvedAt === undefined) {
      // an ack after the snooze was asked wins (nothing is lifted); so does a resolve
      if (state.ackedAt !== undefined && state.ackedAt <= snooze.at) return this.resume(d, now);
    }
    if (!isActive(state) || state.exhaustedAt !== undefined) return undefined;
    if (!current)
      return `stale deadline (round ${round} level ${level}; now round ${state.round} level ${state.level}): ignored`;
    if (state.rearmed && dueAt < state.deadlineAt)
      return `level ${level}'s deadline was moved by hand to ${new Date(state.deadlineAt).toISOString()}: ignored`;
    if (state.levelStopped) return `level ${level} was confirmed before its deadline: no escalation`;
    return this.advance(d, now);
  }

  /**
   * Goes to the next level now (a deadline, or by hand: `by` and the action's event id `key`): pages it and schedules
   * its deadline; after the last level, the policy's repeat, then exhausted (the fallback paged once).
   */
  private advance(d: StateDraft, now: number, by?: { person: string; key: string }): string | undefined {
    const state = d.state;
    const policy = this.policyOf(state);
    const from = state.level;
    const extra = by ? { by: by.person } : undefined;
    const keyOf = (auto: string) => (by ? `${state.incidentId}|manual|${by.key}` : auto);
    if (policy && from < policy.levels.length) {
      const r = state.round;
      const key = keyOf(`${state.incidentId}|esc|${r ? `r${r}|` : ''}L${from}>L${from + 1}`);
      this.record(d, key, { reason: by ? 'manual' : 'deadline', from, to: from + 1, round: r, at: now, extra });
      return this.enterLevel(d, state.round, from + 1, now);
    }
    if (policy && state.round < policy.repeat) {
      const key = keyOf(`${state.incidentId}|repeat|r${state.round + 1}`);
      this.record(d, key, { reason: 'repeat', from, to: 1, round: state.round + 1, at: now, extra });
      return this.enterLevel(d, state.round + 1, 1, now);
    }
    d.set('exhaustedAt', now);
    const e = { reason: 'exhausted' as const, from, to: from, round: state.round, at: now, extra };
    this.record(d, keyOf(`${state.incidentId}|exhausted`), e);
    const fallback = policy?.fallback;
    if (!fallback) return `escalation policy exhausted after ${state.round + 1} round(s); no fallback configured`;
    const pages = this.pageTargets(d, fallback, state.round, FALLBACK_LEVEL, 'fallback', now, now);
    return `escalation policy exhausted after ${state.round + 1} round(s): paging the fallback (${pages} page(s))`;
  }

  /**
   * Escalate by hand (an `action` record, escalate): the next level now, as its deadline would (past the last level:
   * repeat, then exhausted), recorded `manual` with `by`, whatever the level's confirmation. An acknowledged incident
   * is reopened (the ack lifted: the next level must acknowledge again); a snooze ends. No-op: resolved, exhausted,
   * no policy levels (suppressed, unrouted to the global fallback or nobody), or the incident has left the level the
   * person saw (`from_level` / `round`: two people pressing Escalate escalate once).
   */
  private escalateByHand(d: StateDraft, r: ActionRecord, now: number): string | undefined {
    const state = d.state;
    const who = `escalate by ${r.person}`;
    if (state.resolvedAt !== undefined) return `${who}: the incident is resolved; nothing to escalate`;
    if (state.exhaustedAt !== undefined) return `${who}: the escalation policy is exhausted; nothing left`;
    if (!this.policyOf(state) || state.suppressedBy !== undefined || state.level === 0)
      return `${who}: the incident runs no escalation policy; nothing to escalate`;
    if (r.from_level !== undefined && (r.from_level !== state.level || (r.round ?? 0) !== state.round))
      return `${who} from level ${r.from_level}: the incident is at level ${state.level} already; ignored`;
    const lifted = this.liftAck(d);
    const from = state.level;
    const note = this.advance(d, now, { person: r.person, key: r.event_id });
    const to = d.state.exhaustedAt !== undefined ? 'the fallback (policy exhausted)' : `level ${d.state.level}`;
    const said = `escalated by ${r.person} via ${r.via} from level ${from} to ${to}${lifted ? ' (ack lifted)' : ''}`;
    return note ? `${said}; ${note}` : said;
  }

  /**
   * Reassign by hand: page `to_person` now on the current level's channels they have an address on (else the first
   * of the policy's failover channels they have), make them the responder, and restart the current level's deadline
   * from now: unconfirmed by then, the escalation goes on to the next level per policy. An acknowledged incident is
   * reopened (the new responder acknowledges); a snooze ends. Recorded `reassign` (person, by). An incident that runs
   * no level (suppressed, exhausted) pages the person and arms nothing.
   */
  private reassign(d: StateDraft, r: ActionRecord, now: number): string | undefined {
    const state = d.state;
    const to = r.to_person;
    const who = `reassign by ${r.person}`;
    if (to === undefined) return undefined;
    if (state.resolvedAt !== undefined) return `${who}: the incident is resolved; nothing to reassign`;
    if (!this.cfg.people[to]) return `${who}: ${to} is not in the on-call file; ignored`;
    const level = Math.max(1, state.level);
    const def = this.levelOf(state, level);
    const has = (c: PageChannel) => addressOf(this.cfg, to, c) !== undefined;
    let channels = (def?.channels ?? []).filter(has);
    if (channels.length === 0)
      channels = (this.policyOf(state)?.failover ?? (['sms', 'voice', 'email'] as PageChannel[]))
        .filter(has)
        .slice(0, 1);
    if (channels.length === 0) return `${who}: ${to} has no address to page; ignored`;
    const lifted = this.liftAck(d);
    if (state.snooze) d.set('snooze', undefined);
    const n = (state.reassigns ?? 0) + 1;
    d.set('reassigns', n);
    d.set('responder', to);
    d.set('levelStopped', false);
    const deadline = def ? Math.ceil((now + def.deadline_s * 1000) / 1000) * 1000 : now;
    const extra = { person: to, by: r.person };
    const e = { reason: 'reassign' as const, from: state.level, to: state.level, round: state.round, at: now, extra };
    this.record(d, `${state.incidentId}|reassign|${r.event_id}`, e);
    for (const channel of channels) {
      const address = addressOf(this.cfg, to, channel)!;
      const p = { round: state.round, level, person: to, channel, address, reason: 'level' as const };
      this.page(d, { ...p, escalateAt: deadline, decidedAt: now }, `${state.incidentId}|reassign${n}|${to}|${channel}`);
    }
    const on = channels.join('/');
    const said = `reassigned by ${r.person} via ${r.via} to ${to} (${on})${lifted ? '; ack lifted' : ''}`;
    // no level runs (suppressed: nobody was paged; exhausted): the person is paged, nothing escalates after
    if (!def || state.exhaustedAt !== undefined || state.level === 0) return said;
    d.set('deadlineAt', deadline);
    d.set('rearmed', true);
    this.scheduleDeadline(d, `a${n}`, now);
    return `${said}; level ${level} escalates at ${new Date(deadline).toISOString()} unless confirmed`;
  }

  /**
   * Snooze by hand for `minutes` (5..1440). Resolved: no-op. Open (not acknowledged): the escalation pauses — no
   * page, failover or escalation until the snooze ends — and the level's deadline moves by the snooze (what was left
   * of it runs after the snooze ends). Acknowledged: at the snooze's end the ack is lifted and the current level is
   * paged again with a fresh deadline (`resume`), unless it was resolved or acknowledged again meanwhile. A new
   * snooze replaces the one in force. The wake-up is a deadline of the level (its own name and event id).
   */
  private snooze(d: StateDraft, r: ActionRecord, now: number): string | undefined {
    const state = d.state;
    if (r.minutes === undefined) return undefined;
    const who = `snooze by ${r.person}`;
    if (state.resolvedAt !== undefined) return `${who}: the incident is resolved; nothing to snooze`;
    if (state.level === 0 || state.exhaustedAt !== undefined)
      return `${who}: nothing escalates on this incident; nothing to snooze`;
    const until = Math.ceil((r.event_time + r.minutes * 60_000) / 1000) * 1000;
    const acked = state.ackedAt !== undefined;
    // what was left of the level's deadline (after the snooze in force, if any) runs after this one
    const left = acked ? 0 : Math.max(0, state.deadlineAt - Math.max(r.event_time, state.snooze?.until ?? 0));
    const n = (state.snoozes ?? 0) + 1;
    d.set('snoozes', n);
    d.set('snooze', { until, by: r.person, at: r.event_time, acked });
    d.set('deadlineAt', Math.ceil((until + left) / 1000) * 1000);
    d.set('rearmed', true);
    this.scheduleDeadline(d, `s${n}`, now);
    const said = `snoozed by ${r.person} via ${r.via} for ${r.minutes} min until ${SNOOZE_WORDS(until)}`;
    if (acked) return `${said}: then the ack is lifted and level ${state.level} paged again unless resolved`;
    return `${said}: no page until then; level ${state.level} escalates at ${SNOOZE_WORDS(d.state.deadlineAt)}`;
  }

  /** The snooze of an acknowledged incident ended: lift the ack and page the current level again. */
  private resume(d: StateDraft, now: number): string | undefined {
    const state = d.state;
    const snooze = state.snooze!;
    d.set('snooze', undefined);
    this.liftAck(d);
    const n = state.snoozes ?? 1;
    const { level, round } = state;
    const e = { reason: 'resume' as const, from: level, to: level, round, at: now, extra: { by: snooze.by } };
    this.record(d, `${state.incidentId}|resume|${n}`, e);
    const def = this.levelOf(state, level);
    const said = `snooze by ${snooze.by} ended: ack lifted`;
    if (!def) return `${said}; level ${level} is not defined`;
    d.set('levelStopped', false);
    d.set('deadlineAt', Math.ceil((now + def.deadline_s * 1000) / 1000) * 1000);
    d.set('rearmed', true);
    const pages = this.pageTargets(d, def, round, level, 'level', state.deadlineAt, now, `resume${n}`);
    this.scheduleDeadline(d, `r${n}`, now);
    return `${said}; level ${level} paged again (${pages} page(s))`;
  }

  /** Reopens an acknowledged incident (an escalate or reassign by hand, a snooze's end); whether it was acked. */
  private liftAck(d: StateDraft): boolean {
    if (d.state.ackedAt === undefined) return false;
    d.set('ackedAt', undefined);
    d.set('ackedBy', undefined);
    d.set('reopens', (d.state.reopens ?? 0) + 1);
    return true;
  }

  /** Queues an escalation record; `key` makes its event id (deterministic: a redo is a no-op). */
  private record(
    d: StateDraft,
    key: string,
    e: {
      reason: EscalationReason;
      from: number;
      to: number;
      round: number;
      at: number;
      extra?: Record<string, unknown>;
    },
  ): void {
    const state = d.state;
    d.push({
      type: 'record',
      record: {
        v: 1,
        kind: 'escalation',
        event_id: eventId('escalation', key),
        incident_id: state.incidentId,
        alarm_arn: state.alarmArn,
        event_time: new Date(e.at).toISOString(),
        reason: e.reason,
        from_level: e.from,
        to_level: e.to,
        ...(e.round > 0 ? { round: e.round } : {}),
        ...e.extra,
      },
    });
  }

  /** Enters a level: pages its targets on its channels and schedules its deadline. */
  private enterLevel(d: StateDraft, round: number, level: number, now: number): string | undefined {
    const def = this.levelOf(d.state, level);
    d.set('round', round);
    d.set('level', level);
    d.set('levelStopped', false);
    if (d.state.rearmed) d.set('rearmed', undefined);
    if (d.state.snooze) d.set('snooze', undefined);
    // whole seconds: EventBridge Scheduler's at() has no finer resolution, so the deadline a person is
    // promised is the one the schedule can keep
    d.set('deadlineAt', Math.ceil((now + (def?.deadline_s ?? 0) * 1000) / 1000) * 1000);
    if (!def) return `level ${level} is not defined`;
    const pages = this.pageTargets(d, def, round, level, 'level', d.state.deadlineAt, now);
    this.scheduleDeadline(d, undefined, now);
    return pages === 0 ? `level ${level}: no target has an address on ${def.channels.join('/')}` : undefined;
  }

  /**
   * Schedules the current level's deadline at `state.deadlineAt`; `again` names a re-armed one (after a re-trigger).
   */
  private scheduleDeadline(d: StateDraft, again: string | undefined, now: number): void {
    const state = d.state;
    const { round, level } = state;
    const key = [state.incidentId, `r${round}`, `L${level}`, ...(again ? [again] : [])];
    d.push({
      type: 'schedule',
      name: deadlineScheduleName(key.join('|')),
      at: state.deadlineAt,
      record: {
        v: 1,
        kind: 'deadline',
        event_id: eventId('deadline', state.incidentId, String(round), String(level), ...(again ? [again] : [])),
        incident_id: state.incidentId,
        alarm_arn: state.alarmArn,
        event_time: new Date(state.deadlineAt).toISOString(),
        purpose: 'level',
        round,
        level,
        scheduled_at: new Date(now).toISOString(),
      },
    });
  }

  private pageTargets(
    d: StateDraft,
    targets: Pick<Level, 'targets' | 'channels'>,
    round: number,
    level: number,
    reason: PageEffect['reason'],
    escalateAt: number,
    now: number,
    keySuffix?: string,
  ): number {
    const state = d.state;
    let n = 0;
    // quiet hours: a low severity at night goes out only on the team's quiet channels
    const quiet = quietChannels<PageChannel>(this.cfg.teams[state.team]?.quiet_hours, state.severity, now);
    const channels = quiet ?? targets.channels;
    // who is paged is decided now (a schedule's on-call person at the decision time) and saved with
    // the decision, so a redo after a crash pages the same people
    for (const { person, schedule } of resolveLevel(this.cfg, targets, now, this.calendars?.())) {
      const resolvedBy: ResolvedBy | undefined = schedule
        ? {
            schedule: schedule.id,
            layer: schedule.layer,
            source: schedule.source,
            ...(schedule.override ? { override: true as const } : {}),
          }
        : undefined;
      for (const channel of channels) {
        const address = addressOf(this.cfg, person, channel);
        if (!address) continue;
        const why = { ...(resolvedBy ? { resolvedBy } : {}), ...(quiet ? { quietHours: true as const } : {}) };
        const p = { round, level, person, channel, address, reason, escalateAt, decidedAt: now, ...why };
        const key = keySuffix
          ? `${pageStepKey(state.incidentId, round, level, person, channel)}|${keySuffix}`
          : undefined;
        if (this.page(d, p, key)) n++;
      }
    }
    return n;
  }

  private page(
    d: StateDraft,
    p: Omit<PageEffect, 'type' | 'stepKey' | 'dispatchId'>,
    stepKey = pageStepKey(d.state.incidentId, p.round, p.level, p.person, p.channel),
  ): boolean {
    const state = d.state;
    if (state.pages[stepKey] || Object.keys(state.pages).length >= PAGES_CAP) return false;
    const dispatchId = dispatchIdOf(stepKey);
    const { round, level, person, channel } = p;
    const notice = p.notice ? { notice: p.notice.kind } : {};
    const route = p.route ?? this.routeFor(state, person, channel);
    const r = route ? { route } : {};
    d.addPage({
      stepKey,
      dispatchId,
      round,
      level,
      person,
      channel,
      address: p.address,
      status: 'pending',
      ...notice,
      ...r,
    });
    const effect: Effect = { type: 'page', stepKey, dispatchId, ...p, ...r };
    d.push(effect);
    return true;
  }

  /**
   * The route of a new SMS or voice page to a person (undefined: the first route, Twilio). The second route once the
   * person's latest page on that channel in this incident failed by the first (failed, undelivered, silent: failed
   * over), and back to the first once the second failed; a page that did not fail keeps its route.
   */
  private routeFor(state: IncidentState, person: string, channel: PageChannel): 'aws' | undefined {
    if (!this.secondRoute.has(channel)) return undefined;
    let last: PageState | undefined;
    for (const p of Object.values(state.pages)) if (!p.notice && p.person === person && p.channel === channel) last = p;
    if (!last) return undefined;
    const failed = last.failedOver || last.status === 'failed' || FAILED_STATUSES.has(last.status as DeliveryStatus);
    const route = last.route ?? 'twilio';
    return (failed ? otherRoute(route) : route) === 'aws' ? 'aws' : undefined;
  }

  /**
   * A second route: the same page by the channel's other route, once per round, level, person and channel (exactly
   * once: a deterministic step key `…|<route>`), when the failed page's channel has one. Returns the note, or
   * undefined when there is none (then the next channel).
   */
  private reroute(
    d: StateDraft,
    page: PageState,
    now: number,
    cause: RerouteCause,
    silent?: { cause: 'no_receipt'; silence_ms: number },
  ): string | undefined {
    const state = d.state;
    if (!this.secondRoute.has(page.channel) || page.notice) return undefined;
    const from = page.route ?? 'twilio';
    const to = otherRoute(from);
    const base = pageStepKey(state.incidentId, page.round, page.level, page.person, page.channel);
    const tried = Object.values(state.pages).some(
      (p) =>
        !p.notice &&
        p.round === page.round &&
        p.level === page.level &&
        p.person === page.person &&
        p.channel === page.channel &&
        (p.route ?? 'twilio') === to,
    );
    const address = addressOf(this.cfg, page.person, page.channel);
    if (tried || !address) return undefined;
    const escalateAt = this.recordFailover(d, page, page.channel, now, silent, { to_route: to });
    const { round, level, person, channel } = page;
    const route = to === 'aws' ? ('aws' as const) : undefined;
    const p = { round, level, person, channel, address, reason: 'failover' as const, escalateAt, decidedAt: now };
    this.page(d, { ...p, ...(route ? { route } : {}), rerouted: { from, cause } }, `${base}|${to}`);
    return `${page.person}: ${page.channel} by ${ROUTE_NAME[from]} failed; sending it by ${ROUTE_NAME[to]}`;
  }

  /**
   * Records the failover of `page` to `toChannel` (its own channel when a second route takes it), once per page, and
   * returns when the page that replaces it escalates: the level's deadline while it is the current level, else now.
   */
  private recordFailover(
    d: StateDraft,
    page: PageState,
    toChannel: PageChannel,
    now: number,
    silent?: { cause: 'no_receipt'; silence_ms: number },
    more: { to_route?: string } = {},
  ): number {
    const state = d.state;
    this.record(d, `${state.incidentId}|failover|${page.stepKey}`, {
      reason: 'failover',
      from: page.level,
      to: page.level,
      round: page.round,
      at: now,
      extra: {
        from_channel: page.channel,
        to_channel: toChannel,
        ...(page.messageId ? { message_id: page.messageId } : {}),
        person: page.person,
        ...silent,
        ...more,
      },
    });
    return page.level === state.level && page.round === state.round ? state.deadlineAt : now;
  }

  private failover(
    d: StateDraft,
    stepKey: string,
    now: number,
    silent?: { cause: 'no_receipt'; silence_ms: number },
    cause: RerouteCause = silent ? 'no_receipt' : 'failed_receipt',
  ): string | undefined {
    const state = d.state;
    const page = state.pages[stepKey];
    if (page.failedOver || page.notice || !isActive(state)) return undefined;
    if (state.snooze && now < state.snooze.until)
      return `${page.person}: ${page.channel} failed; snoozed until ${new Date(state.snooze.until).toISOString()}`;
    d.setPage(stepKey, 'failedOver', true);
    const rerouted = this.reroute(d, page, now, cause, silent);
    if (rerouted) return rerouted;
    const policy = this.policyOf(state);
    const tried = new Set(
      Object.values(state.pages)
        .filter((p) => !p.notice && p.round === page.round && p.level === page.level && p.person === page.person)
        .map((p) => p.channel),
    );
    const quiet = quietChannels<PageChannel>(this.cfg.teams[state.team]?.quiet_hours, state.severity, now);
    const next = policy?.failover.find(
      (c) => !tried.has(c) && (!quiet || quiet.includes(c)) && addressOf(this.cfg, page.person, c),
    );
    if (!next) return `${page.person}: ${page.channel} failed and no channel is left to fail over to`;
    const escalateAt = this.recordFailover(d, page, next, now, silent);
    const address = addressOf(this.cfg, page.person, next)!;
    const { round, level, person } = page;
    this.page(d, { round, level, person, channel: next, address, reason: 'failover', escalateAt, decidedAt: now });
    return `${page.person}: ${page.channel} failed; failing over to ${next}`;
  }
}
