import type { StructuredLogger } from '../../platform/logger.js';
import { intakeAlarms, type IntakeOutcome } from '../receiver/alarm-intake.js';
import type { AlarmIntakeSettings } from '../receiver/config.js';
import { PayloadError } from '../receiver/errors.js';
import type { StreamWriter } from '../receiver/stream-write.js';
import { MalformedAlarmEventError } from './errors.js';

/**
 * The EventBridge alarm rule's target (infra/cdk/alarm-rule.ts): a CloudWatch "Alarm State Change" event,
 * invoked asynchronously, through the same intake as the receiver's POST /events/cloudwatch
 * (producers/receiver/alarm-intake.ts): namespace filter, severity, the alarm record, its partition key
 * (schemas/partition-key.ts: the ARN, or its hash when the ARN is over 256 characters — EventBridge's own
 * Kinesis target cannot hash, so the rule invokes this function instead of writing to the stream).
 *
 * - Written: resolves once the stream acknowledged the record.
 * - The stream fails (StreamWriteError): rethrown, so Lambda retries the event (twice) and then puts it in
 *   the function's dead-letter queue.
 * - Malformed (not an alarm event, or a record the stream can never accept): MalformedAlarmEventError, with
 *   the reason, logged as an error; nothing is written, and Lambda dead-letters the event with that reason
 *   (a retry meets the same answer: the event is not retried for longer than Lambda's two async retries).
 */

export interface AlarmIntakeHandlerDeps {
  config: AlarmIntakeSettings;
  producer: StreamWriter;
  logger: StructuredLogger;
}

export type AlarmIntakeHandler = (event: unknown) => Promise<IntakeOutcome>;

const eventIdOf = (event: unknown): string | undefined => {
  const id = (event as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
};

export function createAlarmIntakeHandler(deps: AlarmIntakeHandlerDeps): AlarmIntakeHandler {
  return async (event) => {
    let outcome: IntakeOutcome;
    try {
      outcome = await intakeAlarms(event, deps);
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err; // the stream: retried by Lambda
      const failure = new MalformedAlarmEventError(err.reason, err.path, eventIdOf(event), { cause: err });
      deps.logger.error(
        { id: failure.eventId, reason: failure.reason, path: failure.path || undefined },
        'malformed alarm event: not written (dead-lettered with its reason)',
      );
      throw failure;
    }
    for (const i of outcome.ignored) deps.logger.info({ id: i.id, alarm: i.alarm, reason: i.reason }, 'alarm ignored');
    for (const w of outcome.written) deps.logger.info({ ...w }, 'alarm written');
    return outcome;
  };
}
