/**
 * The emulator's data model: the request bodies it accepts (validated with the limits of the
 * EventBridge Scheduler API reference), what it stores, and the `at()` expression it fires.
 *
 * Supported subset (anything else is a ValidationException naming the limitation):
 * - one-time schedules `at(yyyy-mm-ddThh:mm:ss)` in `ScheduleExpressionTimezone` UTC (the default);
 *   `rate()` and `cron()` are not emulated;
 * - Kinesis targets only (`Target.Arn` a stream ARN, `KinesisParameters.PartitionKey`, `Input` = the
 *   record's bytes as UTF-8).
 */
import { z } from 'zod';
import { validationError } from './errors.js';

/** Schedule and group names: `[0-9a-zA-Z-_.]+`, 1–64 characters. */
export const NAME_PATTERN = /^[0-9a-zA-Z_.-]{1,64}$/;
const Name = z.string().regex(NAME_PATTERN, 'must match [0-9a-zA-Z-_.]+ and be 1-64 characters');
const ClientToken = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must match [a-zA-Z0-9-_]+ and be 1-64 characters');
const KINESIS_STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([a-zA-Z0-9_.-]{1,128})$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;

export const RetryPolicy = z.strictObject({
  MaximumEventAgeInSeconds: z.number().int().min(60).max(86_400).optional(),
  MaximumRetryAttempts: z.number().int().min(0).max(185).optional(),
});

export const Target = z
  .object({
    Arn: z
      .string()
      .min(1)
      .max(1600)
      .regex(
        KINESIS_STREAM_ARN,
        'the local emulator supports Kinesis stream targets only (arn:aws:kinesis:<region>:<account>:stream/<name>)',
      ),
    RoleArn: z.string().min(1).max(1600).regex(ROLE_ARN, 'must be an IAM role ARN'),
    Input: z.string().min(1).max(8192),
    KinesisParameters: z.strictObject({ PartitionKey: z.string().min(1).max(256) }),
    RetryPolicy: RetryPolicy.optional(),
    DeadLetterConfig: z.strictObject({ Arn: z.string().min(1).max(1600).optional() }).optional(),
  })
  .catchall(z.never({ error: 'the local emulator supports Kinesis targets only' }));
export type Target = z.infer<typeof Target>;

export const FlexibleTimeWindow = z
  .strictObject({
    Mode: z.enum(['OFF', 'FLEXIBLE']),
    MaximumWindowInMinutes: z.number().int().min(1).max(1440).optional(),
  })
  .refine((w) => w.Mode === 'OFF' || w.MaximumWindowInMinutes !== undefined, {
    error: 'MaximumWindowInMinutes is required when Mode is FLEXIBLE',
  });

const epochSeconds = z.number().finite();

/** CreateSchedule body (the name is in the path). */
export const CreateScheduleBody = z.object({
  ScheduleExpression: z.string().min(1).max(256),
  ScheduleExpressionTimezone: z.string().min(1).max(50).optional(),
  FlexibleTimeWindow,
  Target,
  GroupName: Name.optional(),
  State: z.enum(['ENABLED', 'DISABLED']).optional(),
  ActionAfterCompletion: z.enum(['NONE', 'DELETE']).optional(),
  ClientToken: ClientToken.optional(),
  Description: z.string().max(512).optional(),
  StartDate: epochSeconds.optional(),
  EndDate: epochSeconds.optional(),
  KmsKeyArn: z.string().min(1).max(2048).optional(),
});
export type CreateScheduleBody = z.infer<typeof CreateScheduleBody>;

export const CreateGroupBody = z.object({
  ClientToken: ClientToken.optional(),
  Tags: z
    .array(z.strictObject({ Key: z.string().min(1).max(128), Value: z.string().min(1).max(256) }))
    .max(200)
    .optional(),
});

/** A schedule as stored on disk (one JSON file) and kept in memory. */
export interface StoredSchedule {
  v: 1;
  arn: string;
  groupName: string;
  name: string;
  scheduleExpression: string;
  scheduleExpressionTimezone?: string;
  /** When the `at()` expression is due (epoch ms). */
  atMs: number;
  flexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  target: Target;
  state: 'ENABLED' | 'DISABLED';
  actionAfterCompletion: 'NONE' | 'DELETE';
  description?: string;
  startDate?: number;
  endDate?: number;
  kmsKeyArn?: string;
  /** Epoch ms. */
  creationDate: number;
  lastModificationDate: number;
  /** Set once the target was invoked (kept only with ActionAfterCompletion NONE). */
  completedAt?: number;
}

export interface StoredGroup {
  v: 1;
  arn: string;
  name: string;
  creationDate: number;
  lastModificationDate: number;
}

const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Etc/UCT', 'UCT', 'Zulu', 'Etc/Zulu']);

/** `at(2026-11-28T10:05:01)` in UTC → epoch ms. Throws a ValidationException otherwise. */
export function parseAtExpression(expression: string, timezone: string | undefined): number {
  if (/^(rate|cron)\(/.test(expression)) {
    throw validationError(`ScheduleExpression ${expression}: the local emulator supports one-time at() schedules only`);
  }
  const m = AT.exec(expression);
  if (!m) throw validationError(`Invalid Schedule Expression ${expression}.`);
  if (timezone !== undefined && !UTC_NAMES.has(timezone)) {
    throw validationError(`ScheduleExpressionTimezone ${timezone}: the local emulator supports UTC only`);
  }
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== s
  ) {
    throw validationError(`Invalid Schedule Expression ${expression}.`);
  }
  return ms;
}

/** The stream name of a Kinesis stream ARN (validated by `Target`). */
export function streamNameOf(arn: string): string {
  const m = KINESIS_STREAM_ARN.exec(arn);
  if (!m) throw validationError(`${arn} is not a Kinesis stream ARN`);
  return m[1];
}

/** `a: b; c: d` from zod issues, with the JSON path of each. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}
