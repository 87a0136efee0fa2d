import { Annotations, CfnOutput, Duration, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

export type Severity = 'P1' | 'P2' | 'P3' | 'P4';

export interface EstateEcsService {
  readonly cluster: string;
  readonly service: string;
  readonly severity?: Severity;
}

export interface EstateRdsInstance {
  readonly instanceId: string;
  readonly severity?: Severity;
  /** Replica lag alarm (only meaningful on read replicas). Default false. */
  readonly replica?: boolean;
  /** vCPUs of the instance class: the DBLoad threshold (default 2). */
  readonly vcpus?: number;
  /** Allocated storage in GiB: FreeStorageSpace alarms below 10 % of it (default: below 5 GiB). */
  readonly allocatedStorageGiB?: number;
  /** max_connections of the instance: DatabaseConnections alarms above 80 % of it (default 80). */
  readonly maxConnections?: number;
}

export interface EstateAlarmsProps {
  readonly ecsServices?: readonly EstateEcsService[];
  readonly rdsInstances?: readonly EstateRdsInstance[];
  /** Severity when an entry names none (default P2). */
  readonly defaultSeverity?: Severity;
  /**
   * Start of every alarm name (the stack passes `pagetrail-<stage>-`): alarm names are unique per
   * account and region, so two stages watching the same service need their own names. Default none.
   */
  readonly namePrefix?: string;
}

/**
 * Standard alarms on the user's own ECS services and RDS instances, each tagged `severity`, with tag
 * propagation enabled (`ActionConfiguration.AlarmTagsPropagation.Enabled`): without it CloudWatch
 * leaves the tags out of the EventBridge event and a P1 alarm would page at SEVERITY_MAP/DEFAULT's
 * severity. Creating or updating such an alarm needs `cloudwatch:ListTagsForResource` on it: the
 * default CDK bootstrap execution role (AdministratorAccess) has it; a narrowed one must allow it. Their
 * state changes reach the loop through the alarm rule (namespaces AWS/ECS, AWS/RDS, ECS/ContainerInsights).
 *
 * DBLoad is a Performance Insights metric: it only exists on instances with Performance Insights
 * enabled, which this construct cannot switch on for instances it does not own. It emits a warning
 * annotation and a stack output listing the instances to check.
 */
/** Puts the alarm's tags into its state-change events (`detail.alarmTags`): the L2 Alarm has no prop for it. */
export function propagateTags(alarm: cloudwatch.Alarm): void {
  (alarm.node.defaultChild as cloudwatch.CfnAlarm).actionConfiguration = { alarmTagsPropagation: { enabled: true } };
}

export class EstateAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: EstateAlarmsProps) {
    super(scope, id);
    const def = props.defaultSeverity ?? 'P2';
    const tag = (alarm: cloudwatch.Alarm, severity: Severity) => {
      Tags.of(alarm).add('severity', severity);
      Tags.of(alarm).add('pagetrail', 'estate');
      propagateTags(alarm);
      this.alarms.push(alarm);
      return alarm;
    };
    const five = Duration.minutes(5);
    const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;

    for (const s of props.ecsServices ?? []) {
      const sev = s.severity ?? def;
      const dims = { ClusterName: s.cluster, ServiceName: s.service };
      const prefix = `${props.namePrefix ?? ''}ecs-${s.cluster}-${s.service}`;
      const sid = `${s.cluster}-${s.service}`;
      for (const metricName of ['CPUUtilization', 'MemoryUtilization']) {
        tag(
          new cloudwatch.Metric({
            namespace: 'AWS/ECS',
            metricName,
            dimensionsMap: dims,
            statistic: 'Average',
            period: five,
          }).createAlarm(this, `${sid}-${metricName}`, {
            alarmName: `${prefix}-${metricName === 'CPUUtilization' ? 'cpu' : 'memory'}-high`,
            alarmDescription: `${metricName} of ECS service ${s.service} above 85 % for 15 minutes`,
            threshold: 85,
            evaluationPeriods: 3,
            comparisonOperator: GT,
            treatMissingData: cloudwatch.TreatMissingData.MISSING,
          }),
          sev,
        );
      }
      // Running below desired: Container Insights publishes both counts (enable Container Insights on the cluster).
      const ci = (metricName: string) =>
        new cloudwatch.Metric({
          namespace: 'ECS/ContainerInsights',
          metricName,
          dimensionsMap: dims,
          statistic: 'Average',
          period: Duration.minutes(1),
        });
      tag(
        new cloudwatch.MathExpression({
          expression: 'desired - running',
          usingMetrics: { desired: ci('DesiredTaskCount'), running: ci('RunningTaskCount') },
          label: 'tasks missing',
          period: Duration.minutes(1),
        }).createAlarm(this, `${sid}-RunningTasks`, {
          alarmName: `${prefix}-running-below-desired`,
          alarmDescription: `ECS service ${s.service} runs fewer tasks than desired for 5 minutes`,
          threshold: 0,
          evaluationPeriods: 5,
          comparisonOperator: GT,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
        sev,
      );
    }

    const rds = props.rdsInstances ?? [];
    for (const db of rds) {
      const sev = db.severity ?? def;
      const m = (metricName: string, statistic = 'Average') =>
        new cloudwatch.Metric({
          namespace: 'AWS/RDS',
          metricName,
          dimensionsMap: { DBInstanceIdentifier: db.instanceId },
          statistic,
          period: five,
        });
      const prefix = `${props.namePrefix ?? ''}rds-${db.instanceId}`;
      const alarm = (
        sid: string,
        metric: cloudwatch.Metric,
        name: string,
        description: string,
        threshold: number,
        op: cloudwatch.ComparisonOperator,
        periods = 3,
      ) =>
        tag(
          metric.createAlarm(this, `${db.instanceId}-${sid}`, {
            alarmName: `${prefix}-${name}`,
            alarmDescription: description,
            threshold,
            evaluationPeriods: periods,
            comparisonOperator: op,
          }),
          sev,
        );

      alarm('Cpu', m('CPUUtilization'), 'cpu-high', `CPU of ${db.instanceId} above 85 % for 15 minutes`, 85, GT);
      const maxConn = db.maxConnections ?? 100;
      alarm(
        'Connections',
        m('DatabaseConnections', 'Maximum'),
        'connections-high',
        `Connections of ${db.instanceId} above 80 % of ${maxConn}`,
        Math.floor(maxConn * 0.8),
        GT,
      );
      const freeBytes = db.allocatedStorageGiB ? db.allocatedStorageGiB * 0.1 * 1024 ** 3 : 5 * 1024 ** 3;
      alarm(
        'FreeStorage',
        m('FreeStorageSpace', 'Minimum'),
        'storage-low',
        `Free storage of ${db.instanceId} below ${Math.round(freeBytes / 1024 ** 3)} GiB`,
        freeBytes,
        LT,
        1,
      );
      if (db.replica) {
        alarm(
          'ReplicaLag',
          m('ReplicaLag', 'Maximum'),
          'replica-lag',
          `Replica ${db.instanceId} more than 5 minutes behind`,
          300,
          GT,
        );
      }
      alarm(
        'DbLoad',
        m('DBLoad'),
        'db-load-high',
        `DB load (Performance Insights) of ${db.instanceId} above its ${db.vcpus ?? 2} vCPUs`,
        db.vcpus ?? 2,
        GT,
      );
    }

    if (rds.length > 0) {
      const ids = rds.map((r) => r.instanceId).join(',');
      Annotations.of(this).addWarningV2(
        'pagetrail:performance-insights',
        `DBLoad alarms need Performance Insights enabled on ${ids}; ` +
          `this stack cannot enable it on instances it does not own (the alarms stay INSUFFICIENT_DATA otherwise).`,
      );
      new CfnOutput(this, 'PerformanceInsightsRequired', {
        description:
          'Enable Performance Insights on these RDS instances for the DBLoad alarms ' +
          '(aws rds modify-db-instance --enable-performance-insights)',
        value: ids,
      });
    }
  }
}
