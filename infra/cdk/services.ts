import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ERROR_PREFIX, EVENTS_TABLE, RAW_TABLE } from '../../schemas/lake.js';
import type { Storage } from './storage.js';
import { STATE_PREFIX } from './storage.js';

/** The Docker build context: the repository root (its .dockerignore keeps node_modules and data out). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const RECEIVER_PORT = 8080;
export const LAKE_HEALTH_PORT = 8081;
export const PAGING_HEALTH_PORT = 8082;

/** Container command of each service (what `make run` spawns per service, see infra/run.ts). */
export const COMMANDS = {
  receiver: ['node', '--import', 'tsx', 'producers/receiver/main.ts'],
  paging: ['node', '--import', 'tsx', 'processors/paging/main.ts'],
  lake: ['node', '--import', 'tsx', 'processors/lake/main.ts'],
} as const;

/** Secrets Manager names the operator creates before deploying (values from the providers). */
export const PROVIDER_SECRET_NAMES = (stage: string) => ({
  twilioAuthToken: `pagetrail/${stage}/twilio-auth-token`,
  resendApiKey: `pagetrail/${stage}/resend-api-key`,
  resendWebhookSecret: `pagetrail/${stage}/resend-webhook-secret`,
});

export interface ServicesProps {
  readonly stage: string;
  readonly storage: Storage;
  /** ACM certificate of the receiver's HTTPS listener. */
  readonly certificateArn: string;
  /** Public host name of the receiver (PUBLIC_BASE_URL = https://domain); default: the ALB's DNS name. */
  readonly domain?: string;
  readonly twilioAccountSid: string;
  /** Path of the on-call file inside the image (default: the demo rota). */
  readonly oncallFile?: string;
  /** Alarm namespaces the receiver's intake accepts (ALARM_NAMESPACES). */
  readonly alarmNamespaces: readonly string[];
  /** The image; default: built from the repo's Dockerfile at deploy time. */
  readonly image?: ecs.ContainerImage;
  readonly receiverDesiredCount?: number;
}

/** `node` health probe (the image has no curl): GET http://127.0.0.1:<port>/healthz must answer 2xx. */
const nodeHealthCheck = (port: number): ecs.HealthCheck => ({
  command: [
    'CMD',
    'node',
    '-e',
    `fetch('http://127.0.0.1:${port}/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`,
  ],
  interval: Duration.seconds(30),
  timeout: Duration.seconds(5),
  retries: 3,
  startPeriod: Duration.seconds(30),
});

/**
 * The Fargate cluster and the three services, each with its own task role holding only the actions
 * its code calls (see the SDK commands in producers/ and processors/), and only the secrets it reads.
 */
export class Services extends Construct {
  readonly cluster: ecs.Cluster;
  readonly receiver: ecsPatterns.ApplicationLoadBalancedFargateService;
  readonly paging: ecs.FargateService;
  readonly lake: ecs.FargateService;

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const { storage, stage } = props;
    const { stream, bucket, checkpoints, ledger } = storage;
    const region = Stack.of(this).region;

    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const image = props.image ?? ecs.ContainerImage.fromAsset(REPO_ROOT, { file: 'Dockerfile' });

    // Secrets: provider credentials are created by the operator (names in PROVIDER_SECRET_NAMES);
    // the API key and the ack-link HMAC key are generated here.
    const names = PROVIDER_SECRET_NAMES(stage);
    const twilioAuthToken = secretsmanager.Secret.fromSecretNameV2(this, 'TwilioAuthToken', names.twilioAuthToken);
    const resendApiKey = secretsmanager.Secret.fromSecretNameV2(this, 'ResendApiKey', names.resendApiKey);
    const resendWebhookSecret = secretsmanager.Secret.fromSecretNameV2(this, 'ResendWebhookSecret', names.resendWebhookSecret);
    const generated = (sid: string, name: string, description: string) =>
      new secretsmanager.Secret(this, sid, {
        secretName: `pagetrail/${stage}/${name}`,
        description,
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
    const apiKey = generated('ApiKey', 'api-key', 'x-api-key of POST /events/cloudwatch and /api/v1/ingest/events');
    const ackLinkSecret = generated('AckLinkSecret', 'ack-link-secret', 'HMAC key of the signed acknowledge links');

    const common: Record<string, string> = {
      AWS_REGION: region,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // KINESIS_ENDPOINT, S3_ENDPOINT, DYNAMODB_ENDPOINT unset: the SDK uses AWS and the task role.
      STREAM_NAME: stream.streamName,
      LAKE_BUCKET: bucket.bucketName,
      CHECKPOINT_TABLE: checkpoints.tableName,
      LEDGER_TABLE: ledger.tableName,
      LOG_LEVEL: 'info',
    };
    const logDriver = (prefix: string) =>
      ecs.LogDrivers.awsLogs({ streamPrefix: prefix, logRetention: logs.RetentionDays.ONE_MONTH });

    // ---- receiver: behind an HTTPS ALB --------------------------------------------------------------
    this.receiver = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Receiver', {
      cluster: this.cluster,
      cpu: 512,
      memoryLimitMiB: 1024,
      desiredCount: props.receiverDesiredCount ?? 2,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      redirectHTTP: true,
      publicLoadBalancer: true,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      taskImageOptions: {
        image,
        containerName: 'receiver',
        containerPort: RECEIVER_PORT,
        command: [...COMMANDS.receiver],
        logDriver: logDriver('receiver'),
        environment: {
          ...common,
          PORT: String(RECEIVER_PORT),
          PUBLIC_BASE_URL: 'PLACEHOLDER', // set below (needs the load balancer)
          ALARM_NAMESPACES: props.alarmNamespaces.join(','),
          SEVERITY_DEFAULT: 'P2',
          BODY_LIMIT_BYTES: '262144',
        },
        secrets: {
          TWILIO_AUTH_TOKEN: ecs.Secret.fromSecretsManager(twilioAuthToken),
          RESEND_WEBHOOK_SECRET: ecs.Secret.fromSecretsManager(resendWebhookSecret),
          API_KEY: ecs.Secret.fromSecretsManager(apiKey),
          ACK_LINK_SECRET: ecs.Secret.fromSecretsManager(ackLinkSecret),
        },
      },
    });
    const publicBaseUrl = props.domain ? `https://${props.domain}` : `https://${this.receiver.loadBalancer.loadBalancerDnsName}`;
    this.receiver.taskDefinition.defaultContainer!.addEnvironment('PUBLIC_BASE_URL', publicBaseUrl);
    this.receiver.targetGroup.configureHealthCheck({ path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(15) });
    const receiverRole = this.receiver.taskDefinition.taskRole;
    stream.grant(receiverRole, 'kinesis:PutRecord', 'kinesis:PutRecords');
    ledger.grant(receiverRole, 'dynamodb:GetItem'); // ack codes typed back by SMS (AckCodes.resolve)
    receiverRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${ERROR_PREFIX}*`)] }),
    );

    // ---- the stream processors: no load balancer, container health checks ---------------------------
    const processor = (sid: string, name: 'paging' | 'lake', healthPort: number, environment: Record<string, string>, secrets: Record<string, ecs.Secret>) => {
      const task = new ecs.FargateTaskDefinition(this, `${sid}Task`, { cpu: 512, memoryLimitMiB: 1024 });
      task.addContainer(name, {
        image,
        command: [...COMMANDS[name]],
        environment: { ...common, ...environment },
        secrets,
        logging: logDriver(name),
        healthCheck: nodeHealthCheck(healthPort),
        stopTimeout: Duration.seconds(60), // drain: flush and checkpoint every shard
      });
      const service = new ecs.FargateService(this, sid, {
        cluster: this.cluster,
        taskDefinition: task,
        desiredCount: 1,
        circuitBreaker: { rollback: true },
        // One consumer at a time per group during deploys (shard leases hand over on stop).
        minHealthyPercent: 0,
        maxHealthyPercent: 100,
      });
      return service;
    };

    this.paging = processor('Paging', 'paging', PAGING_HEALTH_PORT, {
      PUBLIC_BASE_URL: publicBaseUrl,
      TWILIO_ACCOUNT_SID: props.twilioAccountSid,
      ONCALL_FILE: props.oncallFile ?? 'infra/local/oncall/demo.json',
      PAGING_GROUP: 'paging',
      PAGING_HEALTH_PORT: String(PAGING_HEALTH_PORT),
      ACK_LINK_TTL_S: '86400',
      PAGING_MAX_ALARM_AGE_S: '3600',
    }, {
      TWILIO_AUTH_TOKEN: ecs.Secret.fromSecretsManager(twilioAuthToken),
      RESEND_API_KEY: ecs.Secret.fromSecretsManager(resendApiKey),
      ACK_LINK_SECRET: ecs.Secret.fromSecretsManager(ackLinkSecret),
    });
    const pagingRole = this.paging.taskDefinition.taskRole;
    const KINESIS_READ = ['kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards'];
    stream.grant(pagingRole, ...KINESIS_READ);
    stream.grant(pagingRole, 'kinesis:PutRecords'); // dispatch / escalation records
    ledger.grant(pagingRole, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    checkpoints.grant(pagingRole, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query');

    this.lake = processor('Lake', 'lake', LAKE_HEALTH_PORT, {
      CONSUMER_GROUP: 'lake',
      LAKE_HEALTH_PORT: String(LAKE_HEALTH_PORT),
      FLUSH_INTERVAL_S: '60',
      FLUSH_MAX_ROWS: '50000',
      JOIN_WINDOW_S: '86400',
      ALLOWED_LATENESS_S: '300',
      MAX_STATE_ENTRIES: '200000',
    }, {});
    const lakeRole = this.lake.taskDefinition.taskRole;
    stream.grant(lakeRole, ...KINESIS_READ);
    checkpoints.grant(lakeRole, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query');
    const lakePrefixes = [EVENTS_TABLE.prefix, RAW_TABLE.prefix, ERROR_PREFIX, STATE_PREFIX];
    lakeRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: lakePrefixes.map((p) => bucket.arnForObjects(`${p}*`)) }),
    );
    // Old join-state snapshots are deleted after a newer one is durable (processors/lake/lake-store.ts).
    lakeRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [bucket.arnForObjects(`${STATE_PREFIX}*`)] }));
    lakeRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': lakePrefixes.map((p) => `${p}*`) } },
      }),
    );
  }
}
