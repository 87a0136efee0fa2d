import type { DeliveryStatus, Severity } from '../../schemas/status.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import type { PageChannel } from '../../schemas/oncall/config.js';

/**
 * The paging state of one incident: what the escalation engine decided, and the effects it decided
 * but that are not yet known to be done (the outbox). One DynamoDB item per incident
 * (incident-store.ts), written with a version condition, so no state is tied to a shard: a reshard,
 * a restart or a second worker reads the same item.
 *
 * The outbox is the exactly-once hinge: a decision and its effects are saved together before any
 * effect is carried out, and every effect is idempotent (a page is claimed by that same write — or, when
 * decided while the outbox runs, in the dispatch ledger — and settled through the provider when its outcome
 * is unknown; a record has a deterministic event id; a
 * schedule has a deterministic name). Whatever line a crash hits, the next delivery of any record of
 * the incident finds the effects still in the outbox and carries them out again.
 */
/** Which page: its step in the dispatch ledger, its dispatch id, and who is paged at which round and level how. */
export interface PageStep {
  stepKey: string;
  dispatchId: string;
  round: number;
  level: number;
  person: string;
  channel: PageChannel;
}

export interface PageState extends PageStep {
  /** Where it goes (E.164 number or email address; absent in states saved before it was kept). */
  address?: string;
  messageId?: string;
  status: 'pending' | 'sent' | 'failed' | DeliveryStatus;
  failedOver?: boolean;
  /**
   * When the page was claimed (epoch ms): by the conditional write that saved its decision (`claimPages`), or, for a
   * page decided while the outbox ran (a failover after a refusal), in the dispatch ledger. Claimed and not
   * dispatched: its send's outcome is unknown until it is settled (effects.ts).
   */
  claimedAt?: number;
  /** Its dispatch record is on the stream (the send's outcome is settled). */
  dispatched?: boolean;
  /** When the provider took it (epoch ms): its delivery deadline counts from here. */
  sentAt?: number;
  /** A send of it timed out or outlived its budget (its outcome is unknown): not a crash before the send. */
  sendUnknown?: true;
  /** Provider lookups of this page (an unknown send) that failed so far. */
  lookupFailures?: number;
  /** Not a page but a notice to someone already paged: the incident was acknowledged or resolved. */
  notice?: NoticeKind;
  /** SMS or voice by the second route (AWS End User Messaging); absent: the channel's first route (Twilio). */
  route?: 'aws';
}

/** Why a page went by the other route (schemas/dispatch-record.ts `rerouted`). */
export type RerouteCause = 'error' | 'timeout' | 'no_receipt' | 'failed_receipt';

export type NoticeKind = 'ack' | 'resolve';

/** What a notice tells (rendered by message-content.ts). */
export interface Notice {
  kind: NoticeKind;
  /** When it happened (epoch ms). */
  at: number;
  /** Who acknowledged (a person id), when known. */
  by?: string;
}

/** Send one page (claimed in the ledger first; settled through the provider if its outcome is unknown). */
export interface PageEffect extends PageStep {
  type: 'page';
  address: string;
  reason: 'level' | 'failover' | 'fallback' | 'notice' | 'drill';
  /** When the page's level escalates (shown in the message, recorded on the dispatch). */
  escalateAt: number;
  /** When the decision was made (the dispatch record's time if the send happens on a retry). */
  decidedAt: number;
  /** Why this person: the schedule, layer and override that resolved them (absent for a named person). */
  resolvedBy?: ResolvedBy;
  /** The team's quiet hours chose the channel (a low severity at night). */
  quietHours?: true;
  /** A notice (reason `notice`): what it tells. */
  notice?: Notice;
  /** A drill's failure told to the person or the schedule's owner (reason `drill`, level 2): what failed. */
  drillFailure?: string;
  /** SMS or voice by the second route (AWS End User Messaging); absent: the channel's first route. */
  route?: 'aws';
  /** Sent by the other route because the same page by the first one failed (escalation.ts `reroute`). */
  rerouted?: { from: 'twilio' | 'aws'; cause: RerouteCause };
}

export interface ResolvedBy {
  schedule: string;
  layer: number | string;
  source: 'override' | 'rotation' | 'ical';
  override?: true;
}

/** Put a record on the stream (escalation, exhausted): its event id is deterministic, so a redo is a no-op. */
export interface RecordEffect {
  type: 'record';
  record: StreamRecordIn;
}

/** Schedule a `deadline` record for `at` (EventBridge Scheduler; a deterministic name makes it once). */
export interface ScheduleEffect {
  type: 'schedule';
  name: string;
  at: number;
  record: StreamRecordIn;
  /** The Scheduler could not take it (first failure, epoch ms): it waits in the outbox (effects.ts). */
  deferredAt?: number;
}

export type Effect = PageEffect | RecordEffect | ScheduleEffect;

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
  /** Repeat round of the policy (0 = first pass). */
  round: number;
  level: number;
  deadlineAt: number;
  /** The current level's stop_on condition was met. */
  levelStopped: boolean;
  /** step key → page */
  pages: Record<string, PageState>;
  /** dispatch id → step key (receipts name their dispatch; known before the send) */
  dispatches: Record<string, string>;
  /** provider message id → step key */
  messages: Record<string, string>;
  /** The incident's SMS/WhatsApp acknowledge code (allocated before its first page). */
  ackCode?: string;
  ackedAt?: number;
  ackedBy?: string;
  resolvedAt?: number;
  exhaustedAt?: number;
  /** Opened inside a maintenance window (its name): recorded, never paged. */
  suppressedBy?: string;
  /**
   * The team had no policy for the severity: what was paged instead (schemas/oncall/config.ts `policyRouteFor`):
   * the team's default policy, the file's unrouted_fallback (once), or nobody.
   */
  unrouted?: 'team_default' | 'global' | 'none';
  /**
   * ALARMs after an OK within the flapping window that continued this incident (no new page), and the latest one's
   * time.
   */
  retriggers?: number;
  retriggeredAt?: number;
  /**
   * By hand (incident API, console; escalation.ts "Escalate, reassign, snooze"): the person a `reassign` made the
   * responder; the snooze in force (until when, who, when asked, and whether the incident was acknowledged then);
   * how many snoozes and reassigns so far (they name their schedules and pages); how many times an ack was lifted
   * (an escalate or reassign of an acknowledged incident, a snooze of one ending: the next ack is a new record);
   * `rearmed`: the current level's deadline was moved by hand, so an earlier deadline of the level is stale.
   */
  responder?: string;
  snooze?: { until: number; by: string; at: number; acked: boolean };
  snoozes?: number;
  reassigns?: number;
  reopens?: number;
  rearmed?: true;
  /** ALARM → ALARM re-evaluations applied to this incident (no page), and the latest one's time. */
  reevaluations?: number;
  reevaluatedAt?: number;
  /** Event ids applied, newest last (bounded: SEEN_CAP). */
  seen: string[];
  /** Settle wake-ups scheduled so far (names each one), and when the pending one is due. */
  settleAttempts?: number;
  settleDueAt?: number;
  /**
   * While the Scheduler cannot take a deadline (effects.ts): the event id of the wake-up record put on the
   * stream to try again (one at a time), and how many were put so far (names each one).
   */
  wakeup?: string;
  wakeups?: number;
  /** Effects decided and not yet known to be done, in order. */
  outbox: Effect[];
  /** Not an incident: a reachability drill (drills/engine.ts), or the drill planner's tick. */
  drill?: DrillState;
}

/** The parts every new incident's state starts with: level 0 of round 0, nothing paged, recorded or due yet. */
type Fresh = 'round' | 'level' | 'levelStopped' | 'pages' | 'dispatches' | 'messages' | 'seen' | 'outbox';

/** A new incident's state (an alarm's, a drill's, the drill planner's): `s` over the fresh parts. */
export function newIncidentState(s: Omit<IncidentState, Fresh> & Partial<Pick<IncidentState, Fresh>>): IncidentState {
  return {
    round: 0,
    level: 0,
    levelStopped: false,
    pages: {},
    dispatches: {},
    messages: {},
    seen: [],
    outbox: [],
    ...s,
  };
}

/** A reachability drill's progress (drills/engine.ts): its pages are the state's `pages`. */
export interface DrillState {
  /** `plan`: the planner's tick (no pages). */
  kind: 'drill' | 'plan';
  schedule: string;
  person: string;
  shiftStart: number;
  /** When its proof window closes (set when the test pages are decided). */
  windowEndsAt?: number;
  /** Waiting for quiet hours to end: when it is due again. */
  waitingUntil?: number;
  /** Channels the person answered on (`OK <code>`, key 1, the email's link). */
  responded: string[];
  /** Channels a delivery receipt (delivered, opened, clicked; voice: answered by a person) came back for. */
  delivered: string[];
  /** Per channel: the provider's error code of a failed send or receipt. */
  errors: Record<string, { code?: string; provider?: string }>;
  outcome?: 'passed' | 'failed' | 'skipped';
  /** The result in words (what failed, or why it was skipped), and when it was decided (epoch ms). */
  summary?: string;
  decidedAt?: number;
}

/** Bounds that keep one incident's item far below DynamoDB's 400 KB. */
export const SEEN_CAP = 256;
export const PAGES_CAP = 400;

export function remember(state: IncidentState, eventId: string): void {
  state.seen.push(eventId);
  if (state.seen.length > SEEN_CAP) state.seen.splice(0, state.seen.length - SEEN_CAP);
}

/**
 * Claims the outbox's pages that are not claimed yet (`claimedAt = now`) and returns their step keys: the state's
 * conditional put that follows is their claim (one write holds the decision and its claims). Only the run that
 * follows that put sends them at once; any other run finds them claimed and settles them (effects.ts).
 */
export function claimPages(state: IncidentState, now: number): Set<string> {
  const claimed = new Set<string>();
  for (const e of state.outbox) {
    const page = e.type === 'page' ? state.pages[e.stepKey] : undefined;
    if (!page || page.dispatched || page.claimedAt !== undefined) continue;
    page.claimedAt = now;
    claimed.add(page.stepKey);
  }
  return claimed;
}

/** Incidents that can still page (not acked, not resolved). */
export function isActive(state: IncidentState): boolean {
  return state.ackedAt === undefined && state.resolvedAt === undefined;
}

/** When an incident stopped paging for good (acked or resolved); undefined while it is open. */
export function closedAt(state: IncidentState): number | undefined {
  if (state.ackedAt === undefined && state.resolvedAt === undefined) return undefined;
  return Math.max(state.ackedAt ?? -Infinity, state.resolvedAt ?? -Infinity);
}
