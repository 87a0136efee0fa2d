import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ERRORS_METRICS_FILTER_ID, FAILURES_METRICS_FILTER_ID } from './storage.js';

export interface PipelineAlarmsProps {
  readonly bucket: s3.IBucket;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The alarm rule's dead-letter queue: alarm events that never reached the stream. */
  readonly alarmDeadLetters: sqs.IQueue;
  /** The stream processors (Lambda functions behind Kinesis event source mappings). */
  readonly processors: { readonly paging: lambda.IFunction; readonly lake: lambda.IFunction };
  /** IteratorAge above which the paging function lags (default 1 minute: pages are late). */
  readonly pagingMaxIteratorAge?: Duration;
  /** IteratorAge above which the lake function lags (default 5 minutes past its flush interval). */
  readonly lakeMaxIteratorAge?: Duration;
  /** The lake's batching window, s (default 60): the lake's iterator age includes it. */
  readonly flushIntervalS?: number;
}

/**
 * Alarms on the pipeline itself, to an SNS topic (subscribe your own on-call to it: the pipeline's
 * alarms are deliberately not in the namespaces the loop pages on, so a broken loop still alerts).
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

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'pagetrail pipeline alarms', enforceSSL: true });
    const action = new actions.SnsAction(this.topic);
    const { paging, lake } = props.processors;

    // A processor falling behind: AWS/Lambda IteratorAge (age of the last record of each batch), Maximum.
    const lagging = (fn: lambda.IFunction, sid: string, name: string, threshold: Duration) =>
      fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }).createAlarm(this, sid, {
        alarmDescription:
          `The ${name} function lags: ` + `records older than ${threshold.toHumanString()} when it reads them`,
        threshold: threshold.toMilliseconds(),
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const flushS = props.flushIntervalS ?? 60;
    this.iteratorAge = {
      paging: lagging(paging, 'PagingIteratorAge', 'paging', props.pagingMaxIteratorAge ?? Duration.minutes(1)),
      lake: lagging(lake, 'LakeIteratorAge', 'lake', props.lakeMaxIteratorAge ?? Duration.seconds(flushS + 300)),
    };

    // Invocations that threw or timed out (the whole batch is retried; partial failures are not Errors).
    const failing = (fn: lambda.IFunction, sid: string, name: string) =>
      fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(1) }).createAlarm(this, sid, {
        alarmDescription: `The ${name} function fails whole batches (see its log group)`,
        threshold: 1,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.errors = { paging: failing(paging, 'PagingErrors', 'paging'), lake: failing(lake, 'LakeErrors', 'lake') };

    const objectsWritten = (sid: string, filterId: string, description: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/S3',
        metricName: 'PutRequests',
        dimensionsMap: { BucketName: props.bucket.bucketName, FilterId: filterId },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }).createAlarm(this, sid, {
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    // Objects written under errors/: S3 request metrics of the bucket's `errors` filter
    // (AWS/S3 PutRequests{BucketName, FilterId=errors}, published per minute once the filter exists).
    this.errorObjects = objectsWritten(
      'ErrorObjects',
      ERRORS_METRICS_FILTER_ID,
      'Records failed validation and were written to errors/ (see README "Errors")',
    );
    // Batches a mapping gave up on (record age or retries exhausted): on-failure records under aws/lambda/.
    this.failureObjects = objectsWritten(
      'FailureObjects',
      FAILURES_METRICS_FILTER_ID,
      'A stream processor gave up on records: ' +
        'on-failure records (shard, sequence range, records) under aws/lambda/ in the lake bucket',
    );

    // Webhook receiver answering 5xx (providers retry, but a sustained rate loses receipts).
    this.receiver5xx = props.loadBalancer.metrics
      .httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum', period: Duration.minutes(5) })
      .createAlarm(this, 'Receiver5xx', {
        alarmDescription: 'The webhook receiver answers 5xx',
        threshold: 5,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    // Alarm state changes EventBridge could not put on the stream: never paged. Replay them from the
    // queue (their body is the original event) once the cause is fixed.
    this.alarmDeadLetters = props.alarmDeadLetters
      .metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) })
      .createAlarm(this, 'AlarmDeadLetters', {
        alarmDescription:
          "CloudWatch alarm events did not reach the stream (the alarm rule's dead-letter queue): they were not paged",
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    const all = [
      this.alarmDeadLetters,
      this.iteratorAge.paging,
      this.iteratorAge.lake,
      this.errors.paging,
      this.errors.lake,
      this.errorObjects,
      this.failureObjects,
      this.receiver5xx,
    ];
    for (const a of all) {
      a.addAlarmAction(action);
      a.addOkAction(action);
    }
  }
}
