import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { suppress } from './nag.js';

/** The stage's schedule group (default of context `schedulerGroup`): two stages never share one. */
export const schedulerGroupName = (stage: string) => `pagetrail-${stage}-deadlines`;

export interface DeadlinesProps {
  readonly stream: kinesis.IStream;
  /** Schedule group name (context `schedulerGroup`, default `schedulerGroupName(stage)`). */
  readonly groupName: string;
}

/**
 * Escalation deadlines on EventBridge Scheduler (processors/paging/deadlines.ts): the paging function
 * creates one-time schedules in this group; each fires a templated Kinesis PutRecord of the deadline
 * record onto the stream, keyed by the alarm ARN, under the role declared here. That role can put
 * records on this stream and send to the deadlines' dead-letter queue, nothing else, and only the
 * Scheduler of this account, acting for this group's schedules, can assume it.
 *
 * Dead letters: every schedule names `deadLetters` (SCHEDULER_DLQ_ARN) and a retry policy
 * (processors/paging/deadlines.ts DEADLINE_RETRY_POLICY); a deadline the Scheduler could not put on
 * the stream within it lands there (body: the deadline record) instead of being dropped, and the
 * pipeline alarms watch the queue's depth and the group's AWS/Scheduler metrics.
 */
export class Deadlines extends Construct {
  readonly group: scheduler.CfnScheduleGroup;
  readonly groupName: string;
  /** The role the Scheduler assumes to deliver a deadline (SCHEDULER_ROLE_ARN). */
  readonly role: iam.Role;
  /** Deadlines the Scheduler gave up on (SCHEDULER_DLQ_ARN): kept 14 days, watched by a pipeline alarm. */
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeadlinesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = props.groupName;
    this.group = new scheduler.CfnScheduleGroup(this, 'Group', { name: this.groupName });

    const groupArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule-group',
      resourceName: this.groupName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.role = new iam.Role(this, 'SchedulerRole', {
      description: 'EventBridge Scheduler: puts pagetrail deadline records on the stream',
      // Confused-deputy guard: only this account's Scheduler, for schedules of this group.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': groupArn },
        },
      }),
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kinesis:PutRecord'], resources: [props.stream.streamArn] }),
    );
    // A customer-managed stream key needs GenerateDataKey for writes; the AWS-managed aws/kinesis key needs nothing.
    props.stream.encryptionKey?.grant(this.role, 'kms:GenerateDataKey');

    // A standard queue (the Scheduler takes no FIFO queue), SQS-managed encryption (no key grant needed).
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isDeadLetterQueue = "This queue is itself a dead-letter queue (the deadline schedules'), with an alarm.";
    suppress(this.deadLetters, [
      { id: 'AwsSolutions-SQS3', reason: isDeadLetterQueue },
      { id: 'Serverless-SQSRedrivePolicy', reason: isDeadLetterQueue },
    ]);
    // The Scheduler sends a dead-letter event with the schedule's execution role.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetters.queueArn] }),
    );
  }

  /** `arn:…:schedule/<group>/*`: the schedules of this group (the paging function's scheduler grants). */
  schedulesArn(): string {
    return Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.groupName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /**
   * Lets `grantee` create and delete schedules of this group only, and pass the Scheduler role
   * (to the Scheduler only) — what EventBridgeDeadlines calls.
   */
  grantManageSchedules(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], // no GetSchedule call (EventBridgeDeadlines)
        resources: [this.schedulesArn()],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }
}
