import { SEVERITY_SETTINGS } from './context.js';
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
import { ERROR_PREFIX } from '../../schemas/lake.js';
import type { Storage } from './storage.js';

/** The Docker build context: the repository root (its .dockerignore keeps node_modules and data out). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const RECEIVER_PORT = 8080;

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
  /** Alarm namespaces the receiver's intake accepts (ALARM_NAMESPACES). */
  readonly alarmNamespaces: readonly string[];
  /** The image; default: built from the repo's Dockerfile at deploy time (the receiver bundle). */
  readonly image?: ecs.ContainerImage;
  /** Tasks at all times (default 2, at least 2: one per AZ, and a deploy never drops below it). */
  readonly receiverMinCount?: number;
  /** Autoscaling ceiling (default 10). */
  readonly receiverMaxCount?: number;
  /** Target CPU utilisation of the receiver's tasks, % (default 60). */
  readonly receiverCpuTarget?: number;
  /** Target ALB requests per task per minute (default 3000). */
  readonly receiverRequestsPerTarget?: number;
}

/**
 * The webhook receiver on ECS Fargate behind an HTTPS ALB (the stream processors are Lambda functions,
 * processors.ts), and the secrets: provider credentials the operator creates, plus the API key and the
 * ack-link key generated here. The receiver's task role holds only the actions its code calls.
 * Construct ids are those of the earlier three-service layout, so an update keeps the VPC, the ALB
 * (and its DNS name) and the named secrets instead of replacing them.
 */
export class Services extends Construct {
  readonly cluster: ecs.Cluster;
  readonly receiver: ecsPatterns.ApplicationLoadBalancedFargateService;
  readonly scaling: ecs.ScalableTaskCount;
  /** https://<domain or ALB DNS name>: what Twilio and Resend call, and the base of ack links. */
  readonly publicBaseUrl: string;
  readonly secrets: {
    readonly twilioAuthToken: secretsmanager.ISecret;
    readonly resendApiKey: secretsmanager.ISecret;
    readonly resendWebhookSecret: secretsmanager.ISecret;
    readonly apiKey: secretsmanager.ISecret;
    readonly ackLinkSecret: secretsmanager.ISecret;
  };

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const { storage, stage } = props;
    const { stream, bucket, ledger } = storage;
    const region = Stack.of(this).region;
    const minCount = Math.max(2, props.receiverMinCount ?? 2);
    const maxCount = Math.max(minCount, props.receiverMaxCount ?? 10);

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
    this.secrets = { twilioAuthToken, resendApiKey, resendWebhookSecret, apiKey, ackLinkSecret };

    this.receiver = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Receiver', {
      cluster: this.cluster,
      cpu: 512,
      memoryLimitMiB: 1024,
      desiredCount: minCount,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      redirectHTTP: true,
      publicLoadBalancer: true,
      circuitBreaker: { rollback: true },
      // Rolling deploys start new tasks before stopping old ones: never below the running count.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      taskImageOptions: {
        image,
        containerName: 'receiver',
        containerPort: RECEIVER_PORT,
        // The image's CMD runs the bundled receiver (Dockerfile).
        logDriver: ecs.LogDrivers.awsLogs({ streamPrefix: 'receiver', logRetention: logs.RetentionDays.ONE_MONTH }),
        environment: {
          AWS_REGION: region,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          // KINESIS_ENDPOINT, S3_ENDPOINT, DYNAMODB_ENDPOINT unset: the SDK uses AWS and the task role.
          STREAM_NAME: stream.streamName,
          LAKE_BUCKET: bucket.bucketName,
          LEDGER_TABLE: ledger.tableName,
          LOG_LEVEL: 'info',
          PORT: String(RECEIVER_PORT),
          PUBLIC_BASE_URL: 'PLACEHOLDER', // set below (needs the load balancer)
          ALARM_NAMESPACES: props.alarmNamespaces.join(','),
          ...SEVERITY_SETTINGS,
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
    this.publicBaseUrl = props.domain ? `https://${props.domain}` : `https://${this.receiver.loadBalancer.loadBalancerDnsName}`;
    this.receiver.taskDefinition.defaultContainer!.addEnvironment('PUBLIC_BASE_URL', this.publicBaseUrl);
    this.receiver.targetGroup.configureHealthCheck({ path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(15) });

    // Autoscaling: at least minCount tasks; target tracking on CPU and on ALB requests per task.
    this.scaling = this.receiver.service.autoScaleTaskCount({ minCapacity: minCount, maxCapacity: maxCount });
    this.scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.receiverCpuTarget ?? 60,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });
    this.scaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: props.receiverRequestsPerTarget ?? 3000,
      targetGroup: this.receiver.targetGroup,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });

    const receiverRole = this.receiver.taskDefinition.taskRole;
    stream.grant(receiverRole, 'kinesis:PutRecord', 'kinesis:PutRecords');
    stream.grant(receiverRole, 'kinesis:DescribeStreamSummary'); // GET /healthz (producers/receiver/stream-health.ts)
    ledger.grant(receiverRole, 'dynamodb:GetItem'); // ack codes typed back by SMS (AckCodes.resolve)
    receiverRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${ERROR_PREFIX}*`)] }),
    );
  }
}
