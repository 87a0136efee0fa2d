import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { lambdaBundleDir } from '../lambda/bundle.js';
import { SEVERITY_SETTINGS } from './context.js';
import { suppress } from './nag.js';
import { LAMBDA_RUNTIME } from './processors.js';

/**
 * Metric namespaces whose metric alarms enter the loop (composite and Metrics Insights alarms name
 * none and always enter: see `alarmEventPattern`). AWS/ECS and AWS/RDS are the product's scope;
 * ECS/ContainerInsights is added because the estate's "running tasks below desired" alarm
 * (estate-alarms.ts) can only be built from Container Insights metrics. The receiver's intake gets the
 * same list (ALARM_NAMESPACES).
 */
export const ALARM_NAMESPACES = ['AWS/ECS', 'AWS/RDS', 'ECS/ContainerInsights'] as const;

/**
 * The context key that may name the root of the prebuilt Lambda bundles for the alarm function, when the
 * construct is not given `bundleDir` (the template tests point it at their stand-in bundles: testing.ts).
 */
export const BUNDLE_DIR_CONTEXT = 'lambdaBundleDir';

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

/**
 * How long an alarm event is retried before it is dead-lettered: by EventBridge when it cannot invoke the
 * function, by Lambda when the function fails. An hour: the paging function does not page an alarm older
 * than PAGING_MAX_ALARM_AGE_S (3600 s, processors.ts), so retrying longer only delays the operator's alarm.
 */
export const ALARM_EVENT_MAX_AGE = Duration.hours(1);
/** EventBridge's attempts to invoke the function (185, its maximum; the event age above bounds them). */
export const RULE_RETRY_ATTEMPTS = 185;
/** Lambda's retries of a failed asynchronous invocation (2, its maximum). */
export const INTAKE_RETRY_ATTEMPTS = 2;

export interface AlarmRuleProps {
  readonly stream: kinesis.IStream;
  readonly namespaces?: readonly string[];
  /**
   * Root of the prebuilt Lambda bundles (`alarm-intake` in it): the stack's lambdaBundleDir. Default: the
   * BUNDLE_DIR_CONTEXT context, else dist/lambda (written by `make lambdas`).
   */
  readonly bundleDir?: string;
}

/**
 * CloudWatch alarm state changes → the alarm intake function → the stream. The function runs the
 * receiver's intake (producers/eventbridge/handler.ts): namespace filter, severity, and the partition key
 * of schemas/partition-key.ts — the alarm ARN, or its hash when the ARN is over Kinesis's 256-character
 * limit (alarm names may be 255 characters). EventBridge's Kinesis target can only take a key from a path
 * of the event (`$.resources[0]`), so a long ARN would be refused there and the alarm never paged.
 *
 * Nothing is lost silently:
 * - EventBridge cannot invoke the function (throttled, a broken permission): retried for up to
 *   ALARM_EVENT_MAX_AGE, then the event goes to `deadLetters`;
 * - the function fails (the stream refuses or is down; a malformed event, with its reason): Lambda retries
 *   it INTAKE_RETRY_ATTEMPTS times, then the event goes to `intakeDeadLetters` (the function's
 *   dead-letter queue: the event, with ErrorCode and ErrorMessage attributes).
 * `intake` is the function, for the pipeline alarms (errors, dropped async events, its dead-letter queue).
 */
export class AlarmRule extends Construct {
  readonly rule: events.Rule;
  /** The rule target's dead-letter queue: events EventBridge could not deliver to the function. */
  readonly deadLetters: sqs.Queue;
  /** The alarm intake function (the rule's target). */
  readonly intake: lambda.Function;
  /** The function's dead-letter queue: events it failed on after Lambda's retries. */
  readonly intakeDeadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: AlarmRuleProps) {
    super(scope, id);
    const namespaces = props.namespaces ?? ALARM_NAMESPACES;
    this.rule = new events.Rule(this, 'Rule', {
      description:
        'CloudWatch alarm state changes (ECS, RDS metric alarms; composite and Metrics Insights alarms) ' +
        'to the pagetrail alarm intake function',
      eventPattern: alarmEventPattern(namespaces),
    });
    const deadLetterQueue = (qid: string, whose: string) => {
      const queue = new sqs.Queue(this, qid, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const reason = `This queue is itself a dead-letter queue (${whose}), with an alarm.`;
      suppress(queue, [
        { id: 'AwsSolutions-SQS3', reason },
        { id: 'Serverless-SQSRedrivePolicy', reason },
      ]);
      return queue;
    };
    this.deadLetters = deadLetterQueue('DeadLetters', "the alarm rule target's");
    this.intakeDeadLetters = deadLetterQueue('IntakeDeadLetters', "the alarm intake function's");

    const bundleDir = props.bundleDir ?? (this.node.tryGetContext(BUNDLE_DIR_CONTEXT) as string | undefined);
    this.intake = new lambda.Function(this, 'Intake', {
      description: 'pagetrail alarm intake: CloudWatch alarm events (EventBridge rule) to the stream',
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(lambdaBundleDir('alarm-intake', bundleDir)),
      memorySize: 256,
      // The producer's own retries of a failing stream (8 attempts, each bounded by the SDK's deadlines).
      timeout: Duration.minutes(5),
      environment: {
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        LOG_LEVEL: 'info',
        STREAM_NAME: props.stream.streamName,
        ALARM_NAMESPACES: namespaces.join(','),
        ...SEVERITY_SETTINGS,
      },
      deadLetterQueue: this.intakeDeadLetters,
      retryAttempts: INTAKE_RETRY_ATTEMPTS,
      maxEventAge: ALARM_EVENT_MAX_AGE,
      logGroup: new logs.LogGroup(this, 'IntakeLogs', { retention: logs.RetentionDays.ONE_MONTH }),
    });
    props.stream.grant(this.intake, 'kinesis:PutRecords'); // KinesisProducer
    const runtime = 'nodejs22.x, the Node LTS the receiver image runs too; the bundles target node20 and run on 22.';
    suppress(this.intake, [
      { id: 'AwsSolutions-L1', reason: runtime },
      { id: 'Serverless-LambdaLatestVersion', reason: runtime },
      {
        id: 'Serverless-LambdaTracing',
        reason: 'The bundles carry no X-Ray instrumentation; structured logs and the pipeline alarms trace an alarm.',
      },
    ]);
    suppress(this.intake.node.findChild('EventInvokeConfig'), [
      {
        id: 'Serverless-LambdaAsyncFailureDestination',
        reason:
          'Failed asynchronous invocations go to the function dead-letter queue (DeadLetterConfig: the event itself, ' +
          'replayable as it is, with ErrorCode and ErrorMessage), which is alarmed; a destination would duplicate it.',
      },
    ]);
    suppress(
      this.intake.role!,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason: "AWSLambdaBasicExecutionRole: what Lambda needs to write the function's own log streams.",
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
      ],
      true,
    );

    this.rule.addTarget(
      new targets.LambdaFunction(this.intake, {
        deadLetterQueue: this.deadLetters,
        retryAttempts: RULE_RETRY_ATTEMPTS,
        maxEventAge: ALARM_EVENT_MAX_AGE,
      }),
    );
  }
}
