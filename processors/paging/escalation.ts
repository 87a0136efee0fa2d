import type { StreamRecord } from '../../schemas/envelope.js';
import { CONFIRMED_STATUSES, FAILED_STATUSES, type DeliveryStatus, type Severity } from '../../schemas/status.js';
import { addressOf, levelPeople, policyFor, teamFor, type Level, type OnCallConfig, type PageChannel, type Policy } from './oncall-config.js';

/**
 * The escalation policy as a pure state machine: records from the stream and clock ticks in, actions
 * (pages to send, escalations to record) out. No I/O, no clock of its own: tests drive it with any
 * `now`, and the paging processor executes the actions (at most once per step, through the ledger).
 *
 * - An ALARM opens an incident and pages every target of level 1 on every channel of the level.
 * - A page that fails (undelivered, failed, bounced, suppressed…) fails over at once to the next channel
 *   of the policy's failover list that the person has and was not paged on at this level.
 * - A level stops escalating when its `stop_on` is met: a page delivered, or opened/read, or an ack.
 * - At the level's deadline, unless stopped, acked or resolved, the incident escalates to the next level.
 * - An ack stops everything; OK resolves the incident.
 */
export interface PageState {
  stepKey: string;
  level: number;
  person: string;
  channel: PageChannel;
  messageId?: string;
  status: 'pending' | 'sent' | 'failed' | DeliveryStatus;
  failedOver?: boolean;
}

export interface IncidentState {
  incidentId: string;
  alarmArn: string;
  alarmName: string;
  severity: Severity;
  team: string;
  namespace?: string;
  metric?: string;
  reason: string;
  openedAt: number;
  level: number;
  deadlineAt: number;
  /** The current level's stop_on condition was met. */
  levelStopped: boolean;
  pages: Record<string, PageState>;
  /** message id → step key */
  messages: Record<string, string>;
  ackedAt?: number;
  resolvedAt?: number;
  exhausted?: boolean;
  /** Event ids applied (records come back from the stream after the processor applied them). */
  seen: string[];
}

export interface PageAction {
  type: 'page';
  incidentId: string;
  stepKey: string;
  level: number;
  person: string;
  channel: PageChannel;
  address: string;
  reason: 'level' | 'failover';
  escalateAt: number;
}

export interface EscalateAction {
  type: 'escalate';
  incidentId: string;
  stepKey: string;
  reason: 'deadline' | 'failover';
  fromLevel: number;
  toLevel: number;
  fromChannel?: PageChannel;
  toChannel?: PageChannel;
  messageId?: string;
  person?: string;
  at: number;
}

/** Something worth a log line (no page is sent for it). */
export interface NoteAction {
  type: 'note';
  incidentId: string;
  message: string;
}

export type Action = PageAction | EscalateAction | NoteAction;

export interface EngineOptions {
  /** Alarms older than this when read are recorded but not paged (a replay must not page). Default 1 h. */
  maxAlarmAgeMs?: number;
}

const STOP_RANK: Record<Level['stop_on'], (s: PageState['status']) => boolean> = {
  delivered: (s) => CONFIRMED_STATUSES.has(s as DeliveryStatus),
  opened: (s) => s === 'opened' || s === 'clicked',
  ack: () => false,
};

export const pageStepKey = (incidentId: string, level: number, person: string, channel: string) => `${incidentId}|L${level}|${person}|${channel}`;

export class EscalationEngine {
  private readonly maxAlarmAgeMs: number;

  constructor(
    private readonly cfg: OnCallConfig,
    opts: EngineOptions = {},
  ) {
    this.maxAlarmAgeMs = opts.maxAlarmAgeMs ?? 3600_000;
  }

  policyOf(state: IncidentState): Policy | undefined {
    return policyFor(this.cfg, state.team, state.severity);
  }

  /** Applies one record; returns what to do now. `states` holds the open incidents of the shard. */
  onRecord(states: Map<string, IncidentState>, r: StreamRecord, now: number): Action[] {
    const state = states.get(r.incident_id);
    if (state) {
      if (state.seen.includes(r.event_id)) return [];
      state.seen.push(r.event_id);
    }
    switch (r.kind) {
      case 'alarm': {
        if (r.state === 'ALARM') return state ? [] : this.open(states, r, now);
        if (state && r.previous_state === 'ALARM') {
          state.resolvedAt = r.event_time;
          return [{ type: 'note', incidentId: state.incidentId, message: `resolved (${r.state})` }];
        }
        return [];
      }
      case 'dispatch': {
        if (!state || !r.person) return [];
        const key = pageStepKey(r.incident_id, r.level, r.person, r.channel);
        const page = (state.pages[key] ??= { stepKey: key, level: r.level, person: r.person, channel: r.channel as PageChannel, status: 'pending' });
        if (r.message_id) {
          page.messageId = r.message_id;
          state.messages[r.message_id] = key;
        }
        if (page.status === 'pending') page.status = r.outcome;
        return r.outcome === 'failed' ? this.failover(state, page, r.event_time) : [];
      }
      case 'receipt': {
        if (!state) return [];
        const key = state.messages[r.message_id];
        const page = key ? state.pages[key] : undefined;
        if (!page) return [];
        page.status = r.status;
        if (FAILED_STATUSES.has(r.status)) return this.failover(state, page, now);
        const level = this.levelOf(state, page.level);
        if (level && page.level === state.level && STOP_RANK[level.stop_on](r.status)) state.levelStopped = true;
        return [];
      }
      case 'ack': {
        if (!state || state.ackedAt !== undefined) return [];
        state.ackedAt = r.event_time;
        return [{ type: 'note', incidentId: state.incidentId, message: `acknowledged by ${r.person ?? r.recipient ?? 'someone'} via ${r.via}` }];
      }
      case 'escalation': {
        if (state && r.reason === 'deadline' && r.to_level > state.level) this.enterLevel(state, r.to_level, r.event_time);
        return [];
      }
    }
  }

  /** Deadlines: escalates every incident whose current level ran out unconfirmed. */
  onTick(states: Map<string, IncidentState>, now: number): Action[] {
    const actions: Action[] = [];
    for (const state of states.values()) {
      if (!this.active(state) || state.levelStopped || state.exhausted || now < state.deadlineAt) continue;
      const policy = this.policyOf(state);
      const from = state.level;
      if (!policy || from >= policy.levels.length) {
        state.exhausted = true;
        actions.push({ type: 'note', incidentId: state.incidentId, message: `level ${from} deadline passed with no further level: escalation policy exhausted` });
        continue;
      }
      actions.push({ type: 'escalate', incidentId: state.incidentId, stepKey: `${state.incidentId}|esc|L${from}>L${from + 1}`, reason: 'deadline', fromLevel: from, toLevel: from + 1, at: now });
      this.enterLevel(state, from + 1, now);
      actions.push(...this.pageLevel(state, now));
    }
    return actions;
  }

  /** Incidents that can still page (not acked, not resolved). */
  active(state: IncidentState): boolean {
    return state.ackedAt === undefined && state.resolvedAt === undefined;
  }

  private open(states: Map<string, IncidentState>, r: Extract<StreamRecord, { kind: 'alarm' }>, now: number): Action[] {
    const severity = r.severity ?? 'P2';
    const team = teamFor(this.cfg, { alarmName: r.alarm_name, namespace: r.namespace, tags: r.event.detail.alarmTags });
    if (now - r.event_time > this.maxAlarmAgeMs) {
      return [{ type: 'note', incidentId: r.incident_id, message: `alarm from ${new Date(r.event_time).toISOString()} is older than the paging horizon: not paged` }];
    }
    const policy = policyFor(this.cfg, team, severity);
    if (!policy) return [{ type: 'note', incidentId: r.incident_id, message: `team ${team} has no ${severity} policy: not paged` }];
    const state: IncidentState = {
      incidentId: r.incident_id,
      alarmArn: r.alarm_arn,
      alarmName: r.alarm_name,
      severity,
      team,
      namespace: r.namespace,
      metric: r.event.detail.configuration.metrics.find((m) => m.metricStat)?.metricStat?.metric.name,
      reason: r.reason,
      openedAt: r.event_time,
      level: 1,
      deadlineAt: now + policy.levels[0].deadline_s * 1000,
      levelStopped: false,
      pages: {},
      messages: {},
      seen: [r.event_id],
    };
    states.set(r.incident_id, state);
    return this.pageLevel(state, now);
  }

  private levelOf(state: IncidentState, level: number): Level | undefined {
    return this.policyOf(state)?.levels[level - 1];
  }

  private enterLevel(state: IncidentState, level: number, at: number): void {
    const def = this.levelOf(state, level);
    state.level = level;
    state.levelStopped = false;
    state.deadlineAt = at + (def?.deadline_s ?? 0) * 1000;
  }

  private pageLevel(state: IncidentState, now: number): Action[] {
    const level = this.levelOf(state, state.level);
    if (!level) return [];
    const actions: Action[] = [];
    for (const person of levelPeople(this.cfg, level)) {
      for (const channel of level.channels) {
        const address = addressOf(this.cfg, person, channel);
        if (!address) continue;
        actions.push(this.page(state, person, channel, address, 'level'));
      }
    }
    if (actions.length === 0) actions.push({ type: 'note', incidentId: state.incidentId, message: `level ${state.level}: no target has an address on ${level.channels.join('/')}` });
    return actions;
  }

  private page(state: IncidentState, person: string, channel: PageChannel, address: string, reason: PageAction['reason']): PageAction {
    const stepKey = pageStepKey(state.incidentId, state.level, person, channel);
    state.pages[stepKey] ??= { stepKey, level: state.level, person, channel, status: 'pending' };
    return { type: 'page', incidentId: state.incidentId, stepKey, level: state.level, person, channel, address, reason, escalateAt: state.deadlineAt };
  }

  private failover(state: IncidentState, page: PageState, now: number): Action[] {
    if (page.failedOver || !this.active(state)) return [];
    page.failedOver = true;
    const policy = this.policyOf(state);
    const tried = new Set(Object.values(state.pages).filter((p) => p.level === page.level && p.person === page.person).map((p) => p.channel));
    const next = policy?.failover.find((c) => !tried.has(c) && addressOf(this.cfg, page.person, c));
    if (!next) return [{ type: 'note', incidentId: state.incidentId, message: `${page.person}: ${page.channel} failed and no channel is left to fail over to` }];
    const escalate: EscalateAction = {
      type: 'escalate',
      incidentId: state.incidentId,
      stepKey: `${state.incidentId}|failover|${page.stepKey}`,
      reason: 'failover',
      fromLevel: page.level,
      toLevel: page.level,
      fromChannel: page.channel,
      toChannel: next,
      messageId: page.messageId,
      person: page.person,
      at: now,
    };
    const level = state.level;
    state.level = page.level; // the failover page belongs to the failed page's level
    const pageAction = this.page(state, page.person, next, addressOf(this.cfg, page.person, next)!, 'failover');
    state.level = level;
    return [escalate, pageAction];
  }
}
