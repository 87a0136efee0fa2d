import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';

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
 * records on this stream and nothing else, and only the Scheduler of this account, acting for this
 * group's schedules, can assume it.
 */
export class Deadlines extends Construct {
  readonly group: scheduler.CfnScheduleGroup;
  readonly groupName: string;
  /** The role the Scheduler assumes to deliver a deadline (SCHEDULER_ROLE_ARN). */
  readonly role: iam.Role;

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
