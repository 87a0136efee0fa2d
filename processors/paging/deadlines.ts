/**
 * Deadlines as EventBridge Scheduler one-time schedules. Paging a level schedules its `deadline`
 * record (schemas/deadline-record.ts) as a schedule whose target is Kinesis PutRecord on the stream,
 * partition key = the record's (the alarm ARN, so it lands on the incident's shard); the paging handler
 * escalates when it reads the record back and the level is still unconfirmed.
 *
 * Timing: AWS invokes a schedule within 60 s after its `at()` time (60-second precision); the local
 * emulator (infra/local/scheduler) within ~100 ms. Nothing fires early. `at()` has whole seconds, so
 * the time is rounded UP to the next second.
 *
 * A deadline already due must not be scheduled: put the record on the stream directly (`isDue`
 * tells). AWS is not documented to invoke an `at()` in the past.
 *
 * Idempotent: the schedule name is derived from the deadline's identity (`deadlineScheduleName`) and
 * the ClientToken from the name, so a retry after a crash answers `'exists'` and never makes a second
 * schedule. Once a schedule has fired it is deleted (ActionAfterCompletion DELETE): a later retry
 * with the same name creates it again and the record arrives twice — the handler ignores a deadline
 * whose level is no longer current, as it must anyway (AWS delivers at least once).
 *
 * Never dropped silently: a put the Scheduler cannot deliver is retried (`DEADLINE_RETRY_POLICY`), then
 * sent to the dead-letter queue `deadLetterArn` (SCHEDULER_DLQ_ARN, set by the stack; the message body
 * is the deadline record), whose depth alarms the operators (infra/cdk/pipeline-alarms.ts).
 */
import { createHash } from 'node:crypto';
import { CreateScheduleCommand, DeleteScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';
import { DeadlineScheduleError } from './errors.js';

export interface DeadlineRequest {
  /** Deterministic, `[0-9A-Za-z_.-]{1,64}` (see `deadlineScheduleName`). */
  name: string;
  /** When the deadline is due (epoch ms). */
  at: number;
  /** The deadline record; its partition key is `partitionKeyOf(record)`. */
  record: StreamRecordIn;
}

export interface DeadlineScheduler {
  /** 'exists' when a schedule of that name is already there (a retry). */
  schedule(req: DeadlineRequest): Promise<'created' | 'exists'>;
  /** Deletes the schedule; a schedule that does not exist (fired, or never made) is fine. */
  cancel(name: string): Promise<void>;
}

export interface EventBridgeDeadlinesOptions {
  client: Pick<SchedulerClient, 'send'>;
  /** The schedule group (SCHEDULER_GROUP); it must exist (provisioning creates it). */
  groupName: string;
  /** The stream's ARN (`streamArn(config)`). */
  streamArn: string;
  /** The role the Scheduler assumes to put the record (SCHEDULER_ROLE_ARN). */
  roleArn: string;
  /**
   * SQS queue the Scheduler sends a deadline to once its retry policy is exhausted (SCHEDULER_DLQ_ARN;
   * the role must be allowed sqs:SendMessage on it). Unset (the local emulator): no DeadLetterConfig.
   */
  deadLetterArn?: string;
  /** The target's retry policy. Default `DEADLINE_RETRY_POLICY`. */
  retryPolicy?: { MaximumEventAgeInSeconds: number; MaximumRetryAttempts: number };
  /** Per call (abortSignal). Default 5000 ms. */
  timeoutMs?: number;
}

const NAME = /^[0-9A-Za-z_.-]{1,64}$/;
/** Scheduler's limit on `Target.Input`. */
const MAX_INPUT_CHARS = 8192;

/**
 * How long the Scheduler retries a deadline it cannot put on the stream (Kinesis throttling or outage,
 * a broken grant) before it goes to the dead-letter queue: 1 hour — the paging horizon
 * (PAGING_MAX_ALARM_AGE_S): an escalation later than that is for an operator to judge, and the
 * Scheduler's target-error alarm has told them within minutes. The attempts are not the bound (185,
 * the maximum, spread by the Scheduler's backoff over that hour).
 */
export const DEADLINE_RETRY_POLICY = { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 } as const;

/** Names errors that are worth retrying (the call may succeed later). */
const RETRYABLE = new Set(['ThrottlingException', 'InternalServerException', 'ServiceUnavailableException', 'Timeout']);

/** A schedule name for a deadline key such as `${incidentId}|r0|L2`: `pt-` + 40 hex of its SHA-256. */
export function deadlineScheduleName(key: string): string {
  return `pt-${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 40)}`;
}

/** True when `at` is not in the future: put the record directly instead of scheduling it. */
export function isDue(at: number, now: number = Date.now()): boolean {
  return at <= now;
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded up to the next whole second. */
export function atExpression(at: number): string {
  return `at(${new Date(Math.ceil(at / 1000) * 1000).toISOString().slice(0, 19)})`;
}

/** An idempotency token (`[a-zA-Z0-9-_]{1,64}`) derived from the schedule name. */
export function clientTokenFor(name: string): string {
  return createHash('sha256').update(`deadline-schedule:${name}`, 'utf8').digest('hex');
}

function errorCode(err: unknown): string {
  const e = err as { name?: string } | undefined;
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'Timeout';
  // a connection that failed (name 'Error'): its code says how (ECONNREFUSED…)
  if (isNetworkError(err)) return (err as NodeJS.ErrnoException).code!;
  return e?.name ?? 'Error';
}

function isNetworkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    code !== undefined && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH)$/.test(code)
  );
}

export class EventBridgeDeadlines implements DeadlineScheduler {
  private readonly timeoutMs: number;

  constructor(private readonly opts: EventBridgeDeadlinesOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  private fail(operation: 'CreateSchedule' | 'DeleteSchedule', name: string, err: unknown): DeadlineScheduleError {
    const code = errorCode(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const retryable = RETRYABLE.has(code) || isNetworkError(err) || (status !== undefined && status >= 500);
    let message = err instanceof Error ? err.message : String(err);
    if (code === 'Timeout') message = `no answer within ${this.timeoutMs} ms`;
    if (operation === 'CreateSchedule' && code === 'ResourceNotFoundException') {
      message += ` (does the schedule group ${this.opts.groupName} exist? provisioning creates it)`;
    }
    return new DeadlineScheduleError(operation, name, code, retryable, message, { cause: err });
  }

  private checkName(operation: 'CreateSchedule' | 'DeleteSchedule', name: string) {
    if (!NAME.test(name)) {
      throw new DeadlineScheduleError(
        operation,
        name,
        'InvalidRequest',
        false,
        'the name must match [0-9A-Za-z_.-]{1,64}',
      );
    }
  }

  async schedule(req: DeadlineRequest): Promise<'created' | 'exists'> {
    this.checkName('CreateSchedule', req.name);
    if (!Number.isFinite(req.at)) {
      throw new DeadlineScheduleError(
        'CreateSchedule',
        req.name,
        'InvalidRequest',
        false,
        `at must be epoch ms, got ${req.at}`,
      );
    }
    let input: string;
    try {
      input = new TextDecoder().decode(encodeRecord(req.record)); // validates the record
    } catch (cause) {
      throw new DeadlineScheduleError(
        'CreateSchedule',
        req.name,
        'InvalidRequest',
        false,
        `invalid record: ${(cause as Error).message}`,
        { cause },
      );
    }
    if (input.length > MAX_INPUT_CHARS) {
      throw new DeadlineScheduleError(
        'CreateSchedule',
        req.name,
        'InvalidRequest',
        false,
        `record is ${input.length} characters; the Scheduler takes ${MAX_INPUT_CHARS}`,
      );
    }
    try {
      await this.opts.client.send(
        new CreateScheduleCommand({
          Name: req.name,
          GroupName: this.opts.groupName,
          ScheduleExpression: atExpression(req.at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          State: 'ENABLED',
          ClientToken: clientTokenFor(req.name),
          Target: {
            Arn: this.opts.streamArn,
            RoleArn: this.opts.roleArn,
            KinesisParameters: { PartitionKey: partitionKeyOf(req.record) },
            Input: input,
            RetryPolicy: { ...(this.opts.retryPolicy ?? DEADLINE_RETRY_POLICY) },
            ...(this.opts.deadLetterArn ? { DeadLetterConfig: { Arn: this.opts.deadLetterArn } } : {}),
          },
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
      return 'created';
    } catch (err) {
      if (errorCode(err) === 'ConflictException') return 'exists';
      throw this.fail('CreateSchedule', req.name, err);
    }
  }

  async cancel(name: string): Promise<void> {
    this.checkName('DeleteSchedule', name);
    try {
      await this.opts.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.opts.groupName }), {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if (errorCode(err) === 'ResourceNotFoundException') return;
      throw this.fail('DeleteSchedule', name, err);
    }
  }
}
