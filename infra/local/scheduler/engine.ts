/**
 * The emulator's state and clock: schedule groups and schedules (kept in memory, persisted through
 * `ScheduleStore`), and the loop that fires every due `at()` schedule by Kinesis PutRecord.
 *
 * Firing: every `tickMs` (default 100 ms) each ENABLED schedule whose time has come is put on its
 * stream (stream name from the target ARN, `Data` = `Target.Input` as UTF-8, `PartitionKey` =
 * `KinesisParameters.PartitionKey`), so a schedule fires within ~`tickMs` of its `at()` time (AWS:
 * within 60 s). Then ActionAfterCompletion DELETE removes it (NONE keeps it, completed). A schedule
 * persisted while the emulator was down fires as soon as it starts.
 *
 * Delivery is at least once: a put that fails (Kinesis down, throttled, stream missing, timeout) is
 * retried with exponential backoff (`retryBaseMs` doubling up to `retryMaxMs`) for as long as the
 * schedule is younger than its `RetryPolicy.MaximumEventAgeInSeconds` (default 86400, measured from
 * the `at()` time), then dropped with an error log (AWS would use the dead-letter queue). Deviation from
 * AWS, on purpose: `MaximumRetryAttempts` is honoured only when 0 (no retries); otherwise the emulator's
 * short backoff retries until the age limit, where AWS spreads its attempts over the whole window. A
 * kill between a successful put and the delete of the schedule file fires it again on the next start
 * (AWS also invokes targets at least once: consumers dedupe).
 */
import { PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { silentLogger, type Logger } from '../../../platform/logger.js';
import { conflict, notFound, validationError } from './errors.js';
import {
  parseAtExpression,
  streamNameOf,
  NAME_PATTERN,
  type CreateScheduleBody,
  type StoredGroup,
  type StoredSchedule,
} from './model.js';
import type { ScheduleStore } from './store.js';

export const DEFAULT_GROUP = 'default';

export interface SchedulerEngineOptions {
  store: ScheduleStore;
  /** What the emulator puts records with (a KinesisClient pointed at KINESIS_ENDPOINT). */
  kinesis: Pick<KinesisClient, 'send'>;
  /** For the ARNs it returns. Defaults us-east-1 / 000000000000. */
  region?: string;
  accountId?: string;
  /** How often due schedules are looked for (ms). Default 100. */
  tickMs?: number;
  /** Timeout of one PutRecord (ms). Default 5000. */
  putTimeoutMs?: number;
  /** First retry delay after a failed put (ms), doubling per attempt. Default 200. */
  retryBaseMs?: number;
  /** Longest retry delay (ms). Default 5000. */
  retryMaxMs?: number;
  logger?: Logger;
}

export interface SchedulerHealth {
  /** False while some delivery is failing (being retried). */
  ok: boolean;
  /** Schedules waiting to fire (enabled, not yet delivered), including those being retried. */
  pending: number;
  /** Deliveries being retried after a failed put. */
  retrying: number;
  /** Records put since start. */
  fired: number;
  /** Schedules given up on (older than MaximumEventAgeInSeconds) since start. */
  dropped: number;
  lastError: { at: string; schedule: string; message: string } | null;
}

interface Entry {
  s: StoredSchedule;
  /** False until the create is persisted. */
  ready: boolean;
  attempts: number;
  nextAttemptAt: number;
  inFlight?: Promise<void>;
}

const keyOf = (group: string, name: string) => `${group}/${name}`;

function checkName(kind: string, name: string) {
  if (!NAME_PATTERN.test(name)) {
    throw validationError(`${kind} name "${name}" must match [0-9a-zA-Z-_.]+ and be 1-64 characters`);
  }
}

export class SchedulerEngine {
  private readonly groups = new Map<string, StoredGroup>();
  private readonly schedules = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly region: string;
  private readonly accountId: string;
  private timer?: NodeJS.Timeout;
  private readonly closing = new AbortController();
  private firedCount = 0;
  private droppedCount = 0;
  private lastError: SchedulerHealth['lastError'] = null;

  constructor(private readonly opts: SchedulerEngineOptions) {
    this.log = opts.logger ?? silentLogger;
    this.region = opts.region ?? 'us-east-1';
    this.accountId = opts.accountId ?? '000000000000';
    const now = Date.now();
    this.groups.set(DEFAULT_GROUP, {
      v: 1,
      arn: this.groupArn(DEFAULT_GROUP),
      name: DEFAULT_GROUP,
      creationDate: now,
      lastModificationDate: now,
    });
  }

  private groupArn(name: string) {
    return `arn:aws:scheduler:${this.region}:${this.accountId}:schedule-group/${name}`;
  }

  private scheduleArn(group: string, name: string) {
    return `arn:aws:scheduler:${this.region}:${this.accountId}:schedule/${group}/${name}`;
  }

  /** Loads what the store holds and starts the clock (due schedules fire on the first tick). */
  async start(): Promise<void> {
    const { groups, schedules, problems } = await this.opts.store.load();
    for (const p of problems) this.log.warn({ err: p }, 'scheduler: skipped a stored file');
    for (const g of groups) this.groups.set(g.name, g);
    for (const s of schedules) {
      if (!this.groups.has(s.groupName)) {
        this.log.warn(
          { schedule: keyOf(s.groupName, s.name) },
          'scheduler: stored schedule of a missing group; skipped',
        );
        continue;
      }
      this.schedules.set(keyOf(s.groupName, s.name), { s, ready: true, attempts: 0, nextAttemptAt: 0 });
    }
    const due = schedules.filter((s) => s.atMs <= Date.now() && !s.completedAt && s.state === 'ENABLED').length;
    this.log.info({ groups: this.groups.size, schedules: this.schedules.size, due }, 'scheduler: state loaded');
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 100);
    this.timer.unref();
    this.tick();
  }

  /** Stops the clock, aborts puts in flight (they are retried on the next start), waits for the store. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.closing.abort();
    await Promise.allSettled([...this.schedules.values()].flatMap((e) => (e.inFlight ? [e.inFlight] : [])));
    await this.opts.store.idle();
  }

  // -------------------------------------------------------------------------------------------
  // groups

  async createGroup(name: string): Promise<StoredGroup> {
    checkName('Schedule group', name);
    if (this.groups.has(name)) throw conflict(`Schedule group ${name} already exists.`);
    const now = Date.now();
    const group: StoredGroup = { v: 1, arn: this.groupArn(name), name, creationDate: now, lastModificationDate: now };
    this.groups.set(name, group);
    try {
      await this.opts.store.putGroup(group);
    } catch (err) {
      this.groups.delete(name);
      throw err;
    }
    return group;
  }

  getGroup(name: string): StoredGroup {
    const g = this.groups.get(name);
    if (!g) throw notFound(`Schedule group ${name} does not exist.`);
    return g;
  }

  /** Deletes the group and its schedules. */
  async deleteGroup(name: string): Promise<void> {
    if (name === DEFAULT_GROUP) throw validationError('The default schedule group cannot be deleted.');
    this.getGroup(name);
    const inGroup = [...this.schedules.values()].filter((e) => e.s.groupName === name);
    for (const e of inGroup) this.schedules.delete(keyOf(name, e.s.name));
    this.groups.delete(name);
    await Promise.all(inGroup.map((e) => this.opts.store.deleteSchedule(name, e.s.name)));
    await this.opts.store.deleteGroup(name);
  }

  // -------------------------------------------------------------------------------------------
  // schedules

  async createSchedule(name: string, body: CreateScheduleBody): Promise<StoredSchedule> {
    checkName('Schedule', name);
    const groupName = body.GroupName ?? DEFAULT_GROUP;
    if (!this.groups.has(groupName)) throw notFound(`Schedule group ${groupName} does not exist.`);
    const atMs = parseAtExpression(body.ScheduleExpression, body.ScheduleExpressionTimezone);
    const key = keyOf(groupName, name);
    if (this.schedules.has(key)) throw conflict(`Schedule ${name} already exists.`);
    const now = Date.now();
    const s: StoredSchedule = {
      v: 1,
      arn: this.scheduleArn(groupName, name),
      groupName,
      name,
      scheduleExpression: body.ScheduleExpression,
      scheduleExpressionTimezone: body.ScheduleExpressionTimezone,
      atMs,
      flexibleTimeWindow: body.FlexibleTimeWindow,
      target: body.Target,
      state: body.State ?? 'ENABLED',
      actionAfterCompletion: body.ActionAfterCompletion ?? 'NONE',
      description: body.Description,
      startDate: body.StartDate,
      endDate: body.EndDate,
      kmsKeyArn: body.KmsKeyArn,
      creationDate: now,
      lastModificationDate: now,
    };
    const entry: Entry = { s, ready: false, attempts: 0, nextAttemptAt: 0 };
    this.schedules.set(key, entry); // reserves the name against a concurrent create
    try {
      await this.opts.store.putSchedule(s);
    } catch (err) {
      if (this.schedules.get(key) === entry) this.schedules.delete(key);
      throw err;
    }
    entry.ready = true;
    if (atMs < now - 60_000) {
      this.log.warn(
        { schedule: key, at: new Date(atMs).toISOString() },
        'scheduler: at() already past when created; fires now (AWS may never invoke it)',
      );
    } else {
      this.log.debug({ schedule: key, at: new Date(atMs).toISOString() }, 'scheduler: schedule created');
    }
    return s;
  }

  getSchedule(name: string, groupName = DEFAULT_GROUP): StoredSchedule {
    checkName('Schedule', name);
    const e = this.schedules.get(keyOf(groupName, name));
    if (!e || !e.ready) throw notFound(`Schedule ${name} does not exist.`);
    return e.s;
  }

  async deleteSchedule(name: string, groupName = DEFAULT_GROUP): Promise<void> {
    this.getSchedule(name, groupName);
    this.schedules.delete(keyOf(groupName, name));
    await this.opts.store.deleteSchedule(groupName, name);
  }

  listSchedules(filter: { groupName?: string; namePrefix?: string; state?: string }): StoredSchedule[] {
    return [...this.schedules.values()]
      .filter((e) => e.ready)
      .map((e) => e.s)
      .filter(
        (s) =>
          (filter.groupName === undefined || s.groupName === filter.groupName) &&
          (filter.namePrefix === undefined || s.name.startsWith(filter.namePrefix)) &&
          (filter.state === undefined || s.state === filter.state),
      )
      .sort((a, b) => keyOf(a.groupName, a.name).localeCompare(keyOf(b.groupName, b.name)));
  }

  // -------------------------------------------------------------------------------------------
  // firing

  health(): SchedulerHealth {
    let pending = 0;
    let retrying = 0;
    for (const e of this.schedules.values()) {
      if (e.s.state === 'ENABLED' && !e.s.completedAt) pending++;
      if (e.attempts > 0) retrying++;
    }
    return {
      ok: retrying === 0,
      pending,
      retrying,
      fired: this.firedCount,
      dropped: this.droppedCount,
      lastError: this.lastError,
    };
  }

  fired(): number {
    return this.firedCount;
  }

  private tick() {
    if (this.closing.signal.aborted) return;
    const now = Date.now();
    for (const [key, e] of this.schedules) {
      if (!e.ready || e.inFlight || e.s.state !== 'ENABLED' || e.s.completedAt) continue;
      if (now < e.s.atMs || now < e.nextAttemptAt) continue;
      e.inFlight = this.fire(key, e).finally(() => (e.inFlight = undefined));
    }
  }

  private async fire(key: string, e: Entry): Promise<void> {
    const { target } = e.s;
    const stream = target.Arn.slice(target.Arn.lastIndexOf('/') + 1);
    try {
      streamNameOf(target.Arn); // a hand-edited file: fails like a put
      const out = await this.opts.kinesis.send(
        new PutRecordCommand({
          StreamName: stream,
          PartitionKey: target.KinesisParameters.PartitionKey,
          Data: Buffer.from(target.Input, 'utf8'),
        }),
        { abortSignal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.opts.putTimeoutMs ?? 5000)]) },
      );
      this.firedCount++;
      this.log.info(
        {
          schedule: key,
          stream,
          shardId: out.ShardId,
          sequenceNumber: out.SequenceNumber,
          lateMs: Date.now() - e.s.atMs,
          attempts: e.attempts + 1,
        },
        'scheduler: fired',
      );
    } catch (err) {
      if (this.closing.signal.aborted) return; // stopping: it fires again on the next start
      const now = Date.now();
      e.attempts++;
      const message = `${(err as Error).name}: ${(err as Error).message}`;
      this.lastError = { at: new Date(now).toISOString(), schedule: key, message };
      const maxAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? 86_400) * 1000;
      if (target.RetryPolicy?.MaximumRetryAttempts === 0 || now - e.s.atMs > maxAgeMs) {
        this.droppedCount++;
        this.log.error(
          { schedule: key, stream, attempts: e.attempts, err },
          'scheduler: delivery given up (retry policy exhausted); record dropped',
        );
        await this.complete(key, e);
        return;
      }
      const delay = Math.min((this.opts.retryBaseMs ?? 200) * 2 ** (e.attempts - 1), this.opts.retryMaxMs ?? 5000);
      e.nextAttemptAt = now + delay;
      const level = e.attempts === 1 || e.attempts % 20 === 0 ? 'warn' : 'debug';
      this.log[level](
        { schedule: key, stream, attempts: e.attempts, retryInMs: delay, error: message },
        'scheduler: put failed; retrying',
      );
      return;
    }
    await this.complete(key, e);
  }

  /** After the target was invoked (or given up on): DELETE removes the schedule, NONE marks it completed. */
  private async complete(key: string, e: Entry) {
    e.attempts = 0;
    if (this.schedules.get(key) !== e) return; // deleted (or replaced) meanwhile
    try {
      if (e.s.actionAfterCompletion === 'DELETE') {
        this.schedules.delete(key);
        await this.opts.store.deleteSchedule(e.s.groupName, e.s.name);
      } else {
        e.s = { ...e.s, completedAt: Date.now(), lastModificationDate: Date.now() };
        await this.opts.store.putSchedule(e.s);
      }
    } catch (err) {
      // in memory it is done; on disk it may remain and fire again after a restart (at least once)
      this.log.error({ schedule: key, err }, 'scheduler: could not record the completion');
    }
  }
}
