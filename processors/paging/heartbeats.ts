import { setTimeout as delay } from 'node:timers/promises';
import { GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AlertRecordIn, AlertSource } from '../../schemas/alert-record.js';
import type { StreamRecord, StreamRecordIn } from '../../schemas/envelope.js';
import { alertIncidentId, eventId } from '../../schemas/ids.js';
import type { OnCallConfig } from '../../schemas/oncall/config.js';
import { heartbeatAlarmId, periodInWords, type HeartbeatCheck } from '../../schemas/oncall/heartbeats.js';
import { isConditionFailure } from '../../platform/aws-errors.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { crashpoint } from '../runtime/crashpoint.js';
import { deadlineScheduleName, isDue, type DeadlineScheduler } from './deadlines.js';
import { HeartbeatStateError } from './errors.js';

/**
 * Heartbeat checks in the paging engine (schemas/oncall/heartbeats.ts; README "Heartbeats"). Every record of a check
 * (its check-ins and its deadlines) carries the check's alarm id as partition key: one shard, read in order, so the
 * race of a check-in with its deadline is decided by the order the two reached the stream, the same way on every
 * replay.
 *
 * Each check keeps one item in the incidents table (`pk` = `heartbeat#<check id>`): `last`, the newest check-in's time
 * (receiver's clock), and the deadline armed: `armedAfter` (the check-in it follows) and `armedDue` (when it falls
 * due: `armedAfter + period_s + grace_s`). The deadline is a `heartbeat` record with `phase: due` (state ALARM), put
 * on the stream at that time by a one-time EventBridge Scheduler schedule like the escalation deadlines
 * (deadlines.ts: 60-second precision on AWS, ~100 ms locally), named from the check and `after` (armed twice:
 * made once).
 *
 * - a check-in moves `last` on; if no deadline is pending (none armed, or the armed one is already past due), it arms
 *   one after it. A deadline is not re-armed for every check-in: a storm of check-ins costs two DynamoDB reads and
 *   one write each, and at most one schedule per `period + grace`. It then goes on to the incident logic (handler.ts):
 *   an alert-source OK, it resolves the check's open incident, if any;
 * - a deadline whose `after` is older than `last` (a newer check-in came first) is stale: it arms the next deadline
 *   from `last` (if not armed already) and stops there; else the check missed: the record goes on to the incident
 *   logic and opens an incident (severity, team and policy from the check; its reason in words). Its incident id is
 *   derived from its event id (from the check and `after`): the deadline redelivered, or delivered twice by the
 *   Scheduler, finds that incident and opens no second one.
 *
 * A check removed from the on-call file: its records are dropped (a note in the log).
 */

/** An alert-source alarm record; the keeper is handed those whose source is `heartbeat`. */
type HeartbeatRecord = Extract<StreamRecord, { kind: 'alarm'; source: AlertSource }>;

export interface CheckState {
  /** The newest check-in's time (ms). */
  last: number;
  /** The check-in the armed deadline follows, and when it falls due (ms). */
  armedAfter?: number;
  armedDue?: number;
}

export interface HeartbeatStateStore {
  get(checkId: string): Promise<CheckState | undefined>;
  put(checkId: string, state: CheckState): Promise<void>;
}

export const heartbeatKey = (checkId: string) => `heartbeat#${checkId}`;

/** Check items are kept this long after the last check-in (a check silent for longer starts afresh). */
const KEEP_S = 90 * 86_400;

/** The checks' items in the incidents table (INCIDENTS_TABLE). */
export class DynamoHeartbeatStore implements HeartbeatStateStore {
  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly table: string,
    private readonly timeoutMs = 5000,
  ) {}

  async get(checkId: string): Promise<CheckState | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.dynamodb.send(
        new GetItemCommand({ TableName: this.table, Key: { pk: { S: heartbeatKey(checkId) } }, ConsistentRead: true }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
      item = out.Item;
    } catch (cause) {
      throw new HeartbeatStateError(checkId, 'GetItem', { cause });
    }
    if (!item?.last?.N) return undefined;
    const n = (a: AttributeValue | undefined) => (a?.N === undefined ? undefined : Number(a.N));
    return { last: Number(item.last.N), armedAfter: n(item.armedAfter), armedDue: n(item.armedDue) };
  }

  /** Writes the state unless the stored `last` is newer (never moves a check back). */
  async put(checkId: string, s: CheckState): Promise<void> {
    const num = (v: number) => ({ N: String(v) });
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: heartbeatKey(checkId) },
            last: num(s.last),
            ...(s.armedAfter !== undefined ? { armedAfter: num(s.armedAfter) } : {}),
            ...(s.armedDue !== undefined ? { armedDue: num(s.armedDue) } : {}),
            ttl: num(Math.ceil(s.last / 1000 + KEEP_S)),
            updatedAt: { S: new Date().toISOString() },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #last <= :last',
          ExpressionAttributeNames: { '#last': 'last' },
          ExpressionAttributeValues: { ':last': num(s.last) },
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
    } catch (err) {
      if (isConditionFailure(err)) return; // a newer check-in's state is there: it stands
      throw new HeartbeatStateError(checkId, 'PutItem', { cause: err });
    }
  }
}

export interface HeartbeatKeeperOptions {
  cfg: Pick<OnCallConfig, 'heartbeats'>;
  store: HeartbeatStateStore;
  deadlines: Pick<DeadlineScheduler, 'schedule'>;
  /** Puts a deadline already due on the stream directly. */
  producer: { putStreamRecords(records: readonly StreamRecordIn[]): Promise<unknown> };
  now?: () => number;
  logger?: Logger;
  /**
   * Least time between two attempts to arm one check while the Scheduler refuses (each failed attempt puts its record
   * back on the stream, and the next attempt comes when it is read back). Default 1000 ms.
   */
  rearmIntervalMs?: number;
}

/** What the keeper made of a record: `pass` it on to the incident logic, or stop here; a note for the log. */
export interface Admitted {
  pass: boolean;
  note?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The deadline of a check armed after the check-in at `after`: its record (deterministic ids). */
export function heartbeatDue(checkId: string, check: HeartbeatCheck, after: number, now: number): AlertRecordIn {
  const arn = heartbeatAlarmId(checkId);
  const due = after + (check.period_s + check.grace_s) * 1000;
  const id = eventId('heartbeat-due', arn, iso(after));
  const name = check.name ?? checkId;
  const grace = check.grace_s > 0 ? ` (grace ${check.grace_s} s)` : '';
  const about = check.description ? `: ${check.description}` : '';
  return {
    v: 1,
    kind: 'alarm',
    source: 'heartbeat',
    phase: 'due',
    event_id: id,
    incident_id: alertIncidentId(arn, id, due),
    alarm_arn: arn,
    event_time: iso(due),
    key: checkId,
    alarm_name: name.slice(0, 1024),
    state: 'ALARM',
    severity: check.severity,
    labels: {},
    reason:
      `no check-in from ${name} since ${iso(after)}, expected ${periodInWords(check.period_s)}${grace}${about}`.slice(
        0,
        4096,
      ),
    after: iso(after),
    // when the deadline was armed: how late it fired shows in the lake
    raw: JSON.stringify({ armed_at: iso(now), period_s: check.period_s, grace_s: check.grace_s }),
  };
}

/** A record as read, back in the form it is written in (to put it on the stream again: `arm`). */
function asWritten(r: HeartbeatRecord): AlertRecordIn {
  const { previous_state: _p, namespace: _n, episode_start: _e, event_time, after, members, ...rest } = r;
  return {
    ...rest,
    event_time: iso(event_time),
    ...(after !== undefined ? { after: iso(after) } : {}),
    ...(members
      ? {
          members: members.map((m) => ({
            ...m,
            starts_at: m.starts_at === undefined ? undefined : iso(m.starts_at),
            ends_at: m.ends_at === undefined ? undefined : iso(m.ends_at),
          })),
        }
      : {}),
  };
}

export class HeartbeatKeeper {
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly rearmIntervalMs: number;
  /** When arming each check last failed (this process): paces the retries. */
  private readonly failedAt = new Map<string, number>();

  constructor(private readonly opts: HeartbeatKeeperOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
    this.rearmIntervalMs = opts.rearmIntervalMs ?? 1000;
  }

  /** Applies a check's record to its state (arming its next deadline); whether the incident logic sees it. */
  async admit(r: HeartbeatRecord): Promise<Admitted> {
    const check = this.opts.cfg.heartbeats[r.key];
    if (!check)
      return { pass: false, note: `heartbeat of check ${r.key}, which the on-call file no longer has: dropped` };
    const s = await this.opts.store.get(r.key);
    if (r.phase === 'due') {
      const after = r.after ?? r.event_time;
      if (s === undefined || s.last <= after) return { pass: true, note: `check ${r.key} missed its check-in` };
      // a newer check-in came first: the next deadline follows it
      if (s.armedAfter !== s.last) await this.opts.store.put(r.key, await this.arm(r.key, check, s, r));
      return { pass: false, note: `deadline of check ${r.key}: a newer check-in came first, re-armed` };
    }
    const t = r.event_time;
    const next: CheckState = { ...s, last: Math.max(s?.last ?? 0, t) };
    const pending = s?.armedDue !== undefined && s.armedDue >= t;
    const state = pending ? next : await this.arm(r.key, check, next, r);
    if (!pending) crashpoint('heartbeat-after-armed'); // scheduled, not yet written: a replay arms the same name
    if (!s || state.last !== s.last || state.armedAfter !== s.armedAfter) await this.opts.store.put(r.key, state);
    return { pass: true };
  }

  /**
   * The deadline after `s.last`, scheduled (or put on the stream when already due). A Scheduler that cannot take it
   * (failing the record would hold up every later record of the shard): logged as an error, the check left unarmed,
   * and `trigger` (the record being handled) put back on the stream, so that reading it again tries again — at most
   * once per `rearmIntervalMs` per check, until the Scheduler takes it or the deadline is due (then the deadline goes
   * on the stream directly). A check never stays unwatched because its job died during a Scheduler outage. The
   * record read again is the same record (same event id: the lake and the incident keep it once).
   */
  private async arm(
    checkId: string,
    check: HeartbeatCheck,
    s: CheckState,
    trigger: HeartbeatRecord,
  ): Promise<CheckState> {
    const since = this.now() - (this.failedAt.get(checkId) ?? Number.NEGATIVE_INFINITY);
    if (since < this.rearmIntervalMs) await delay(this.rearmIntervalMs - since);
    const now = this.now();
    const record = heartbeatDue(checkId, check, s.last, now);
    const at = s.last + (check.period_s + check.grace_s) * 1000;
    try {
      if (isDue(at, now)) await this.opts.producer.putStreamRecords([record]);
      else
        await this.opts.deadlines.schedule({
          name: deadlineScheduleName(`heartbeat|${checkId}|${s.last}`),
          at,
          record,
        });
    } catch (err) {
      this.failedAt.set(checkId, this.now());
      this.log.error(
        { check: checkId, dueAt: iso(at), err: (err as Error).message },
        'heartbeat deadline not armed (the Scheduler or the stream failed); its record is put back to try again',
      );
      // the stream down too: throws, and the mapping retries the batch (nothing else could be written either)
      await this.opts.producer.putStreamRecords([asWritten(trigger)]);
      return { last: s.last };
    }
    this.failedAt.delete(checkId);
    return { last: s.last, armedAfter: s.last, armedDue: at };
  }
}
