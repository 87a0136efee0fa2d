import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { suppress } from './nag.js';

/**
 * Metric namespaces whose metric alarms enter the loop (composite and Metrics Insights alarms name
 * none and always enter: see `alarmEventPattern`). AWS/ECS and AWS/RDS are the product's scope;
 * ECS/ContainerInsights is added because the estate's "running tasks below desired" alarm
 * (estate-alarms.ts) can only be built from Container Insights metrics. The receiver's intake gets the
 * same list (ALARM_NAMESPACES).
 */
export const ALARM_NAMESPACES = ['AWS/ECS', 'AWS/RDS', 'ECS/ContainerInsights'] as const;

/**
 * The record envelope the rule writes: what the stream's alarm records look like (schemas/envelope.ts).
 * `<aws.events.event.json>` is EventBridge's reserved variable for the WHOLE original event as JSON;
 * the similar `<aws.events.event>` omits the `detail` field (the alarm itself), so it must not be used.
 */
export const ENVELOPE_TEMPLATE = '{"v":1,"kind":"alarm","event":<aws.events.event.json>}';

/** A raw InputTransformer template with no InputPathsMap (CDK's fromObject would add a variable). */
class RawTemplateInput extends events.RuleTargetInput {
  constructor(private readonly template: string) {
    super();
  }
  bind(_rule: events.IRule): events.RuleTargetInputProperties {
    return { inputTemplate: this.template };
  }
}

/**
 * The rule's pattern: CloudWatch alarm state changes of
 *   - metric alarms (and metric-math alarms over named metrics) of the given namespaces, or
 *   - alarms whose metrics name no namespace: Metrics Insights / expression-only alarms, and composite
 *     alarms (no `configuration.metrics` at all), or
 *   - composite alarms, by their `configuration.alarmRule`.
 * The receiver's intake applies the same filter (producers/receiver/alarm-intake.ts `ignoredBecause`).
 * EventBridge matches an array field when any element matches, and `exists: false` only when no
 * element has the field: a metric-math alarm over an AWS/EC2 metric is still filtered out.
 */
export function alarmEventPattern(namespaces: readonly string[] = ALARM_NAMESPACES): events.EventPattern {
  return {
    source: ['aws.cloudwatch'],
    detailType: ['CloudWatch Alarm State Change'],
    detail: {
      $or: [
        { configuration: { metrics: { metricStat: { metric: { namespace: [...namespaces] } } } } },
        { configuration: { metrics: { metricStat: { metric: { namespace: events.Match.doesNotExist() } } } } },
        { configuration: { alarmRule: events.Match.exists() } },
      ],
    },
  };
}

export interface AlarmRuleProps {
  readonly stream: kinesis.IStream;
  readonly namespaces?: readonly string[];
}

/**
 * CloudWatch alarm state changes → the stream, keyed by alarm ARN (every record of an incident on one
 * shard). An event EventBridge cannot put on the stream (after its retries, up to 24 hours: throttling,
 * a broken grant) lands in a dead-letter queue instead of vanishing: an alarm that was never paged
 * (the DeadLetters pipeline alarm watches it).
 */
export class AlarmRule extends Construct {
  readonly rule: events.Rule;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: AlarmRuleProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Rule', {
      description:
        'CloudWatch alarm state changes (ECS, RDS metric alarms; composite and Metrics Insights alarms) ' +
        'to the pagetrail stream',
      eventPattern: alarmEventPattern(props.namespaces ?? ALARM_NAMESPACES),
    });
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isDeadLetterQueue = "This queue is itself a dead-letter queue (the alarm rule target's), with an alarm.";
    suppress(this.deadLetters, [
      { id: 'AwsSolutions-SQS3', reason: isDeadLetterQueue },
      { id: 'Serverless-SQSRedrivePolicy', reason: isDeadLetterQueue },
    ]);
    this.rule.addTarget(
      new targets.KinesisStream(props.stream, {
        partitionKeyPath: '$.resources[0]',
        message: new RawTemplateInput(ENVELOPE_TEMPLATE),
        deadLetterQueue: this.deadLetters,
      }),
    );
  }
}
