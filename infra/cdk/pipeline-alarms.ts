import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { OperatorSubscriptions } from './context.js';
import { ERRORS_METRICS_FILTER_ID, FAILURES_METRICS_FILTER_ID } from './storage.js';

export interface PipelineAlarmsProps {
  readonly bucket: s3.IBucket;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The alarm rule (CloudWatch alarm state changes → the loop): AWS/Events FailedInvocations. */
  readonly alarmRule: events.IRule;
  /** The alarm rule's dead-letter queue: alarm events that never reached the stream. */
  readonly alarmDeadLetters: sqs.IQueue;
  /** The alarm rule's intake function, when the rule targets one (alarm-rule.ts): errors, drops, its DLQ. */
  readonly intake?: lambda.IFunction;
  /** The deadlines' schedule group (AWS/Scheduler metrics) and the schedules' dead-letter queue. */
  readonly deadlines: { readonly groupName: string; readonly deadLetters: sqs.IQueue };
  /** The second route's dead-letter queue: SMS/voice events and inbound SMS (replies) SNS could not deliver. */
  readonly smsVoiceDeadLetters?: sqs.IQueue;
  /** The stream processors (Lambda functions behind Kinesis event source mappings). */
  readonly processors: { readonly paging: lambda.IFunction; readonly lake: lambda.IFunction };
  /** Who the topic reaches by email and SMS (context operatorEmails / operatorPhones). */
  readonly operators?: OperatorSubscriptions;
  /** IteratorAge above which the paging function lags (default 1 minute: pages are late). */
  readonly pagingMaxIteratorAge?: Duration;
  /** IteratorAge above which the lake function lags (default 5 minutes past its flush interval). */
  readonly lakeMaxIteratorAge?: Duration;
  /** The lake's batching window, s (default 60): the lake's iterator age includes it. */
  readonly flushIntervalS?: number;
}

/** How an alarm reads its metric: `datapoints` of the last `periods` periods at or above `threshold`. */
interface Rule {
  readonly threshold?: number;
  readonly periods?: number;
  readonly datapoints?: number;
}

/**
 * Alarms on the pipeline itself — every path that can drop, delay or hide an alarm — to an SNS topic
 * that reaches the operators by email and SMS (`operators`), not through pagetrail: the pipeline's
 * alarms are deliberately not in the namespaces the loop pages on, so a broken loop still alerts
 * someone. Every alarm has an alarm and an OK action on the topic.
 *
 * What they cover (README "Deploy on AWS" lists the same):
 * - alarm events lost on the way in: the rule's FailedInvocations and events it could not even
 *   dead-letter; its dead-letter queue's depth; the intake function's errors, dropped async events
 *   and dead-letter queue (when the rule targets one);
 * - deadlines: the Scheduler's target errors and throttles (retried), invocations dropped or not
 *   dead-lettered, and the schedules' dead-letter queue's depth;
 * - the processors: iterator age and errors per function, on-failure records (batches a mapping gave
 *   up on), records filed under errors/;
 * - the webhook receiver answering 5xx.
 */
export class PipelineAlarms extends Construct {
  readonly topic: sns.Topic;
  /** Per function: IteratorAge (lag) and Errors (invocations that failed as a whole). */
  readonly iteratorAge: { paging: cloudwatch.Alarm; lake: cloudwatch.Alarm };
  readonly errors: { paging: cloudwatch.Alarm; lake: cloudwatch.Alarm };
  readonly errorObjects: cloudwatch.Alarm;
  readonly failureObjects: cloudwatch.Alarm;
  readonly receiver5xx: cloudwatch.Alarm;
  readonly alarmDeadLetters: cloudwatch.Alarm;
  /** AWS/Events of the alarm rule: FailedInvocations, and InvocationsFailedToBeSentToDlq (events lost). */
  readonly ruleFailures: { failed: cloudwatch.Alarm; notDeadLettered: cloudwatch.Alarm };
  /** AWS/Scheduler of the deadlines' group, and the schedules' dead-letter queue. */
  readonly deadlines: {
    targetErrors: cloudwatch.Alarm;
    targetThrottled: cloudwatch.Alarm;
    dropped: cloudwatch.Alarm;
    notDeadLettered: cloudwatch.Alarm;
    deadLetters: cloudwatch.Alarm;
  };
  /** The second route's SNS dead-letter queue (only when `smsVoiceDeadLetters` is given). */
  readonly smsVoiceDeadLetters?: cloudwatch.Alarm;
  /** The intake function's alarms (only when `intake` is given). */
  readonly intake?: { errors: cloudwatch.Alarm; dropped: cloudwatch.Alarm; deadLetters?: cloudwatch.Alarm };
  /** Every alarm above. */
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'pagetrail pipeline alarms', enforceSSL: true });
    for (const email of props.operators?.emails ?? []) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    for (const phone of props.operators?.phones ?? []) {
      this.topic.addSubscription(new subscriptions.SmsSubscription(phone));
    }
    const { paging, lake } = props.processors;

    /** An alarm on `metric` (at or above `threshold`, default 1 in 1 of 1 period; missing data is fine). */
    const watch = (sid: string, metric: cloudwatch.IMetric, description: string, rule: Rule = {}) => {
      const alarm = new cloudwatch.Alarm(this, sid, {
        metric,
        alarmDescription: description,
        threshold: rule.threshold ?? 1,
        evaluationPeriods: rule.periods ?? 1,
        datapointsToAlarm: rule.datapoints ?? rule.periods ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.alarms.push(alarm);
      return alarm;
    };
    const sum5 = { statistic: 'Sum', period: Duration.minutes(5) } as const;
    const queueDepth = (sid: string, queue: sqs.IQueue, description: string) =>
      watch(
        sid,
        queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
        description,
      );

    // ---- alarm events on the way in --------------------------------------------------------------------
    // Alarm state changes EventBridge could not put on the stream: never paged. Replay them from the
    // queue (their body is the original event) once the cause is fixed (docs/operations.md).
    this.alarmDeadLetters = queueDepth(
      'AlarmDeadLetters',
      props.alarmDeadLetters,
      "CloudWatch alarm events did not reach the stream (the alarm rule's dead-letter queue): they were not paged",
    );
    // AWS/Events {RuleName}: published only when non-zero.
    const ruleMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName,
        dimensionsMap: { RuleName: props.alarmRule.ruleName },
        ...sum5,
      });
    this.ruleFailures = {
      failed: watch(
        'AlarmRuleFailedInvocations',
        ruleMetric('FailedInvocations'),
        'The alarm rule failed to deliver CloudWatch alarm events to its target after its retries',
      ),
      notDeadLettered: watch(
        'AlarmRuleDeadLetterFailures',
        ruleMetric('InvocationsFailedToBeSentToDlq'),
        'Alarm events the rule could neither deliver nor dead-letter: LOST, never paged (check the queue policy)',
      ),
    };
    if (props.intake) {
      const fn = props.intake;
      const dlq = (fn as { readonly deadLetterQueue?: sqs.IQueue }).deadLetterQueue;
      this.intake = {
        errors: watch(
          'IntakeErrors',
          fn.metricErrors(sum5),
          'The alarm intake function fails (EventBridge retries it; see its log group)',
        ),
        dropped: watch(
          'IntakeAsyncEventsDropped',
          fn.metric('AsyncEventsDropped', sum5),
          'The alarm intake function dropped alarm events without processing them: not paged',
        ),
        ...(dlq && {
          deadLetters: queueDepth(
            'IntakeDeadLetters',
            dlq,
            'Alarm events the intake function failed on (its dead-letter queue): they were not paged',
          ),
        }),
      };
    }

    // Receipts and ACK replies of the second route SNS gave up delivering to the receiver: a reply there is an
    // acknowledgement nobody counted (the page escalates on), so replay them (docs/operations.md) once it answers.
    if (props.smsVoiceDeadLetters)
      this.smsVoiceDeadLetters = queueDepth(
        'SmsVoiceDeadLetters',
        props.smsVoiceDeadLetters,
        'SMS/voice delivery events or ACK replies of the AWS route did not reach the receiver (SNS dead-letter queue)',
      );

    // ---- deadlines (EventBridge Scheduler) -----------------------------------------------------------------
    // AWS/Scheduler {ScheduleGroup}. A target error is retried (DEADLINE_RETRY_POLICY): alarm when errors
    // persist (2 of 3 five-minute periods), before the deadline reaches the dead-letter queue.
    const group = scheduler.ScheduleGroup.fromScheduleGroupName(this, 'DeadlineGroup', props.deadlines.groupName);
    const persistent: Rule = { periods: 3, datapoints: 2 };
    this.deadlines = {
      targetErrors: watch(
        'SchedulerTargetErrors',
        group.metricTargetErrors(sum5),
        'The Scheduler cannot put escalation deadlines on the stream (retrying): escalations are late',
        persistent,
      ),
      targetThrottled: watch(
        'SchedulerTargetThrottled',
        group.metricTargetThrottled(sum5),
        'The stream throttles the Scheduler putting escalation deadlines (retrying): escalations are late',
        persistent,
      ),
      dropped: watch(
        'SchedulerDropped',
        group.metricDropped(sum5),
        'The Scheduler dropped escalation deadlines (retries exhausted): those escalations will not happen',
      ),
      notDeadLettered: watch(
        'SchedulerDeadLetterFailures',
        group.metricFailedToBeSentToDLQ(undefined, sum5),
        'The Scheduler could not send failed escalation deadlines to their dead-letter queue: LOST',
      ),
      deadLetters: queueDepth(
        'DeadlineDeadLetters',
        props.deadlines.deadLetters,
        'Escalation deadlines the Scheduler gave up on (their dead-letter queue): those escalations did not happen',
      ),
    };

    // ---- the processors ----------------------------------------------------------------------------------
    // A processor falling behind: AWS/Lambda IteratorAge (age of the last record of each batch), Maximum.
    const lagging = (fn: lambda.IFunction, sid: string, name: string, threshold: Duration) => {
      const alarm = fn
        .metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) })
        .createAlarm(this, sid, {
          alarmDescription:
            `The ${name} function lags: ` + `records older than ${threshold.toHumanString()} when it reads them`,
          threshold: threshold.toMilliseconds(),
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      this.alarms.push(alarm);
      return alarm;
    };
    const flushS = props.flushIntervalS ?? 60;
    this.iteratorAge = {
      paging: lagging(paging, 'PagingIteratorAge', 'paging', props.pagingMaxIteratorAge ?? Duration.minutes(1)),
      lake: lagging(lake, 'LakeIteratorAge', 'lake', props.lakeMaxIteratorAge ?? Duration.seconds(flushS + 300)),
    };

    // Invocations that threw or timed out (the whole batch is retried; partial failures are not Errors).
    const failing = (fn: lambda.IFunction, sid: string, name: string) =>
      watch(
        sid,
        fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(1) }),
        `The ${name} function fails whole batches (see its log group)`,
        { periods: 5, datapoints: 3 },
      );
    this.errors = { paging: failing(paging, 'PagingErrors', 'paging'), lake: failing(lake, 'LakeErrors', 'lake') };

    const objectsWritten = (filterId: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/S3',
        metricName: 'PutRequests',
        dimensionsMap: { BucketName: props.bucket.bucketName, FilterId: filterId },
        ...sum5,
      });
    // Objects written under errors/: S3 request metrics of the bucket's `errors` filter
    // (AWS/S3 PutRequests{BucketName, FilterId=errors}, published per minute once the filter exists).
    this.errorObjects = watch(
      'ErrorObjects',
      objectsWritten(ERRORS_METRICS_FILTER_ID),
      'Records failed validation and were written to errors/ (see README "Errors")',
    );
    // Batches a mapping gave up on (retries or record age exhausted): on-failure records under aws/lambda/.
    this.failureObjects = watch(
      'FailureObjects',
      objectsWritten(FAILURES_METRICS_FILTER_ID),
      'A stream processor gave up on records: ' +
        'on-failure records (shard, sequence range, records) under aws/lambda/ in the lake bucket',
    );

    // Webhook receiver answering 5xx (providers retry, but a sustained rate loses receipts).
    this.receiver5xx = watch(
      'Receiver5xx',
      props.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, sum5),
      'The webhook receiver answers 5xx',
      { threshold: 5 },
    );

    const action = new actions.SnsAction(this.topic);
    for (const a of this.alarms) {
      a.addAlarmAction(action);
      a.addOkAction(action);
    }
  }
}
