import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ERRORS_METRICS_FILTER_ID } from './storage.js';

export interface PipelineAlarmsProps {
  readonly stream: kinesis.IStream;
  readonly bucket: s3.IBucket;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** Iterator age above which the consumers are lagging (default 5 minutes). */
  readonly maxIteratorAge?: Duration;
}

/**
 * Alarms on the pipeline itself, to an SNS topic (subscribe your own on-call to it: the pipeline's
 * alarms are deliberately not in the namespaces the loop pages on, so a broken loop still alerts).
 */
export class PipelineAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly iteratorAge: cloudwatch.Alarm;
  readonly errorObjects: cloudwatch.Alarm;
  readonly receiver5xx: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'pagetrail pipeline alarms', enforceSSL: true });
    const action = new actions.SnsAction(this.topic);

    // Consumers (paging, lake) falling behind: AWS/Kinesis GetRecords.IteratorAgeMilliseconds, Maximum.
    this.iteratorAge = props.stream
      .metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: Duration.minutes(1) })
      .createAlarm(this, 'IteratorAge', {
        alarmDescription: 'A stream consumer lags: oldest unread record older than the threshold',
        threshold: (props.maxIteratorAge ?? Duration.minutes(5)).toMilliseconds(),
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    // Objects written under errors/: S3 request metrics of the bucket's `errors` filter
    // (AWS/S3 PutRequests{BucketName, FilterId=errors}, published per minute once the filter exists).
    this.errorObjects = new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName: 'PutRequests',
      dimensionsMap: { BucketName: props.bucket.bucketName, FilterId: ERRORS_METRICS_FILTER_ID },
      statistic: 'Sum',
      period: Duration.minutes(5),
    }).createAlarm(this, 'ErrorObjects', {
      alarmDescription: 'Records failed validation and were written to errors/ (see README "Errors")',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

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

    for (const a of [this.iteratorAge, this.errorObjects, this.receiver5xx]) {
      a.addAlarmAction(action);
      a.addOkAction(action);
    }
  }
}
