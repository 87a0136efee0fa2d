import { Annotations, CfnOutput, CfnParameter, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { ALARM_NAMESPACES, AlarmRule } from './alarm-rule.js';
import { AthenaQueries } from './athena.js';
import { EstateAlarms, type EstateEcsService, type EstateRdsInstance } from './estate-alarms.js';
import { LakeCatalog } from './lake-catalog.js';
import { assertStage, checkOperators, isProductionStageName, type OperatorSubscriptions } from './context.js';
import { Deadlines, schedulerGroupName } from './deadlines.js';
import { PipelineAlarms } from './pipeline-alarms.js';
import { Processors } from './processors.js';
import { Services } from './services.js';
import { SecondRoute } from './second-route.js';
import { Storage } from './storage.js';

export interface PagetrailStackProps extends StackProps {
  readonly stage: string;
  /** Provisioned shard count; undefined = on-demand stream. */
  readonly shardCount?: number;
  /** ACM certificate of the receiver; undefined = a CloudFormation parameter `CertificateArn`. */
  readonly certificateArn?: string;
  readonly domain?: string;
  readonly twilioAccountSid?: string;
  /** On-call file in the repository, bundled with the paging function. */
  readonly oncallFile?: string;
  /** EventBridge Scheduler group of the deadlines (default pagetrail-<stage>-deadlines). */
  readonly schedulerGroup?: string;
  /** Lake flush interval, s (1..300, default 60). */
  readonly flushIntervalS?: number;
  /** Receiver autoscaling ceiling (default 10). */
  readonly receiverMaxTasks?: number;
  /** NAT gateways of the VPC (default one per AZ, 2; 1 saves one NAT gateway's cost, see services.ts). */
  readonly natGateways?: number;
  readonly estate?: { ecsServices?: EstateEcsService[]; rdsInstances?: EstateRdsInstance[] };
  /** Who the pipeline alarms reach by email / SMS (the alarm topic's subscriptions), not through pagetrail. */
  readonly operators?: OperatorSubscriptions;
  /**
   * A production stage refuses to synthesize with no operator subscription (default: a stage named
   * prod, production, prod-… or production-…); any other stage gets a synth warning.
   */
  readonly production?: boolean;
  /**
   * The second route for SMS and voice (AWS End User Messaging SMS and Voice): the ARNs of the origination identity
   * of SMS pages and, optionally, of a voice-capable number (second-route.ts). Absent: Twilio only.
   */
  readonly smsVoice?: { originationArn: string; voiceOriginationArn?: string };
  /** Full ARN of the secret of the Events API v2 routing keys (services.ts); absent: /v2/enqueue knows no key. */
  readonly eventsV2RoutingKeysSecretArn?: string;
  /** SNS topics whose HTTPS subscriptions `POST /events/sns` accepts (SNS_ALERT_TOPIC_ARNS); absent: none. */
  readonly snsAlertTopicArns?: string[];
  /** Override the container image (tests); default: built from the repo's Dockerfile. */
  readonly image?: ecs.ContainerImage;
  /** Root of the prebuilt Lambda bundles (default dist/lambda, `make lambdas`). */
  readonly lambdaBundleDir?: string;
  readonly removalPolicy?: RemovalPolicy;
}

/** Names of the Glue database and Athena workgroup for a stage (Glue names: lowercase, underscores). */
export const databaseName = (stage: string) => `pagetrail_${stage.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
export const workGroupName = (stage: string) => `pagetrail-${stage}`;

export class PagetrailStack extends Stack {
  readonly storage: Storage;
  readonly services: Services;
  readonly deadlines: Deadlines;
  readonly processors: Processors;

  constructor(scope: Construct, id: string, props: PagetrailStackProps) {
    super(scope, id, props);
    const stage = assertStage(props.stage);
    const production = props.production ?? isProductionStageName(stage);
    const noOperators = checkOperators(stage, production, props.operators);
    if (noOperators) Annotations.of(this).addWarningV2('pagetrail:no-operators', noOperators);

    this.storage = new Storage(this, 'Storage', { shardCount: props.shardCount, removalPolicy: props.removalPolicy });
    const { stream, bucket } = this.storage;

    const alarmRule = new AlarmRule(this, 'AlarmRule', {
      stream,
      namespaces: ALARM_NAMESPACES,
      bundleDir: props.lambdaBundleDir,
    });

    const db = databaseName(stage);
    new LakeCatalog(this, 'Catalog', { bucket, databaseName: db });
    new AthenaQueries(this, 'Athena', { bucket, workGroupName: workGroupName(stage), databaseName: db });

    const certificateArn =
      props.certificateArn ??
      new CfnParameter(this, 'CertificateArn', {
        type: 'String',
        description: 'ACM certificate ARN of the receiver HTTPS listener',
      }).valueAsString;
    const twilioAccountSid =
      props.twilioAccountSid ??
      new CfnParameter(this, 'TwilioAccountSid', {
        type: 'String',
        description: 'Twilio Account SID (AC + 32 hex)',
        allowedPattern: '^AC[0-9a-f]{32}$',
      }).valueAsString;

    this.services = new Services(this, 'Services', {
      stage,
      storage: this.storage,
      certificateArn,
      domain: props.domain,
      alarmNamespaces: ALARM_NAMESPACES,
      image: props.image,
      receiverMaxCount: props.receiverMaxTasks,
      natGateways: props.natGateways,
      accessLogs: this.storage.accessLogs,
      eventsV2RoutingKeysSecretArn: props.eventsV2RoutingKeysSecretArn,
      oncallFile: props.oncallFile,
      lakeQueries: { workGroupName: workGroupName(stage), databaseName: db },
    });

    const groupName = props.schedulerGroup ?? schedulerGroupName(stage);
    this.deadlines = new Deadlines(this, 'Deadlines', { stream, groupName });
    this.processors = new Processors(this, 'Processors', {
      stage,
      storage: this.storage,
      deadlines: this.deadlines,
      secrets: this.services.secrets,
      publicBaseUrl: this.services.publicBaseUrl,
      twilioAccountSid,
      oncallFile: props.oncallFile,
      flushIntervalS: props.flushIntervalS,
      bundleDir: props.lambdaBundleDir,
    });

    // POST /events/sns: the alert topics the receiver accepts (subscribing them: infra/cdk/README.md "Alert topics")
    if (props.snsAlertTopicArns?.length)
      this.services.receiver.taskDefinition.defaultContainer!.addEnvironment(
        'SNS_ALERT_TOPIC_ARNS',
        props.snsAlertTopicArns.join(','),
      );

    let secondRoute: SecondRoute | undefined;
    if (props.smsVoice) {
      secondRoute = new SecondRoute(this, 'SecondRoute', {
        ...props.smsVoice,
        publicBaseUrl: this.services.publicBaseUrl,
        paging: this.processors.paging,
        receiverContainer: this.services.receiver.taskDefinition.defaultContainer!,
        stage,
      });
    }

    const pipeline = new PipelineAlarms(this, 'PipelineAlarms', {
      bucket,
      loadBalancer: this.services.receiver.loadBalancer,
      alarmRule: alarmRule.rule,
      alarmDeadLetters: alarmRule.deadLetters,
      intake: alarmRule.intake, // the rule's target: errors, dropped events, its dead-letter queue
      deadlines: this.deadlines,
      smsVoiceDeadLetters: secondRoute?.deadLetters,
      processors: this.processors,
      operators: props.operators,
      flushIntervalS: props.flushIntervalS,
    });

    if (props.estate && ((props.estate.ecsServices?.length ?? 0) > 0 || (props.estate.rdsInstances?.length ?? 0) > 0)) {
      new EstateAlarms(this, 'Estate', {
        ecsServices: props.estate.ecsServices,
        rdsInstances: props.estate.rdsInstances,
        namePrefix: `pagetrail-${stage}-`,
      });
    }

    new CfnOutput(this, 'StreamName', { value: stream.streamName });
    new CfnOutput(this, 'LakeBucket', { value: bucket.bucketName });
    new CfnOutput(this, 'CheckpointTable', { value: this.storage.checkpoints.tableName });
    new CfnOutput(this, 'LedgerTable', { value: this.storage.ledger.tableName });
    new CfnOutput(this, 'IncidentsTable', { value: this.storage.incidents.tableName });
    new CfnOutput(this, 'SchedulerGroup', { value: this.deadlines.groupName });
    new CfnOutput(this, 'PagingFunction', { value: this.processors.paging.functionName });
    new CfnOutput(this, 'LakeFunction', { value: this.processors.lake.functionName });
    new CfnOutput(this, 'AthenaDatabase', { value: db });
    new CfnOutput(this, 'AthenaWorkgroup', { value: workGroupName(stage) });
    new CfnOutput(this, 'ReceiverUrl', {
      value: `https://${props.domain ?? this.services.receiver.loadBalancer.loadBalancerDnsName}`,
    });
    new CfnOutput(this, 'PipelineAlarmTopic', { value: pipeline.topic.topicArn });
    // The dead-letter queues to read and replay (docs/operations.md "What to do when…").
    new CfnOutput(this, 'AlarmDeadLetterQueue', { value: alarmRule.deadLetters.queueUrl });
    new CfnOutput(this, 'DeadlineDeadLetterQueue', { value: this.deadlines.deadLetters.queueUrl });
  }
}
