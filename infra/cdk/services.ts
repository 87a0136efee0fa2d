import { SEVERITY_SETTINGS, VPC_MAX_AZS } from './context.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Duration, Stack, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ERROR_PREFIX, LAKE_TABLES } from '../../schemas/lake.js';
import { suppress, wildcards } from './nag.js';
import { DEFAULT_ONCALL_FILE } from './processors.js';
import { ATHENA_RESULTS_PREFIX, type Storage } from './storage.js';

/** The Docker build context: the repository root (its .dockerignore keeps node_modules and data out). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const RECEIVER_PORT = 8080;

/**
 * A secret name Secrets Manager could take for a complete ARN's random suffix: a hyphen and six
 * letters or digits at the end (`…/resend-webhook-secret`). A partial ARN of such a secret (what ECS
 * and the functions get for a secret imported by name) is then looked up as a complete ARN and not found.
 */
const SUFFIX_LIKE = /-[A-Za-z0-9]{6}$/;

/** Throws (at synthesis) for a secret name whose partial ARN would not resolve; returns the name. */
export function assertResolvableSecretName(name: string): string {
  if (SUFFIX_LIKE.test(name)) {
    throw new Error(
      `secret name ${name} ends in a hyphen and six characters: Secrets Manager would read its partial ARN ` +
        'as a complete ARN with a random suffix and not find it; use another ending (e.g. underscores)',
    );
  }
  return name;
}

/**
 * Secrets Manager names the operator creates before deploying (values from the providers; the
 * `make secrets` tool imports this). The last segment uses underscores, so no name can end like a suffix.
 */
export const PROVIDER_SECRET_NAMES = (stage: string) => ({
  twilioAuthToken: assertResolvableSecretName(`pagetrail/${stage}/twilio_auth_token`),
  resendApiKey: assertResolvableSecretName(`pagetrail/${stage}/resend_api_key`),
  resendWebhookSecret: assertResolvableSecretName(`pagetrail/${stage}/resend_webhook_secret`),
});

/** The secrets the stack generates (random, 48 characters). */
export const GENERATED_SECRET_NAMES = (stage: string) => ({
  apiKey: assertResolvableSecretName(`pagetrail/${stage}/api_key`),
  ackLinkSecret: assertResolvableSecretName(`pagetrail/${stage}/ack_link_secret`),
  alertmanagerToken: assertResolvableSecretName(`pagetrail/${stage}/alertmanager_token`),
  heartbeatSecret: assertResolvableSecretName(`pagetrail/${stage}/heartbeat_secret`),
  consoleSessionSecret: assertResolvableSecretName(`pagetrail/${stage}/console_session_secret`),
});

/**
 * The receiver's CPU architecture, for both the Fargate task and the image build: ARM64 (Graviton),
 * like the functions. Fargate bills ARM64 about 20 % below X86_64 for the same vCPU and memory, and
 * the image holds no native code (one esbuild bundle on node), so nothing ties it to x86.
 */
export const RECEIVER_ARCHITECTURE = {
  cpuArchitecture: ecs.CpuArchitecture.ARM64,
  imagePlatform: ecrAssets.Platform.LINUX_ARM64,
} as const;

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
  /**
   * NAT gateways (default: one per AZ, so egress survives the loss of an AZ). Each costs about
   * USD 33 a month plus USD 0.045 per GB it processes (us-east-1); 1 is cheaper and fine for a stage
   * that may lose its egress with that AZ.
   */
  readonly natGateways?: number;
  /** Where the load balancer writes its access logs (prefix `alb/`); default: none. */
  readonly accessLogs?: s3.IBucket;
  /**
   * Full ARN of the secret holding the Events API v2 routing keys (EVENTS_V2_ROUTING_KEYS: a JSON object, routing key
   * → service or team name, README "Other alert sources"); the operator creates it. Absent: `POST /v2/enqueue`
   * answers every event 400 "Invalid routing key", as PagerDuty does for a key it does not know.
   */
  readonly eventsV2RoutingKeysSecretArn?: string;
  /** The on-call file baked into the image (the console's people, roles and teams); default the demo's. */
  readonly oncallFile?: string;
  /**
   * The lake's Athena workgroup and Glue database: the incident API's history and the console's analytics read the
   * lake through them (ENGINE=athena, analysis/query/athena-engine.ts). Absent: the receiver reads no lake.
   */
  readonly lakeQueries?: { readonly workGroupName: string; readonly databaseName: string };
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
    const { stream, bucket, ledger, incidents, consoleAuth } = storage;
    const region = Stack.of(this).region;
    const minCount = Math.max(2, props.receiverMinCount ?? 2);
    const maxCount = Math.max(minCount, props.receiverMaxCount ?? 10);

    const natGateways = props.natGateways ?? VPC_MAX_AZS;
    if (!Number.isInteger(natGateways) || natGateways < 1 || natGateways > VPC_MAX_AZS) {
      throw new RangeError(`natGateways must be an integer in [1, ${VPC_MAX_AZS}], got ${natGateways}`);
    }
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    // Private subnets reach S3 (the lake, the image layers from ECR) and DynamoDB through gateway
    // endpoints: free, and no NAT processing charge on that traffic.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: VPC_MAX_AZS,
      natGateways,
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [privateSubnets] },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [privateSubnets] },
      },
    });
    if (props.accessLogs) {
      vpc.addFlowLog('FlowLogs', { destination: ec2.FlowLogDestination.toS3(props.accessLogs, 'vpc-flow-logs/') });
    }
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const image =
      props.image ??
      ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'Dockerfile',
        platform: RECEIVER_ARCHITECTURE.imagePlatform,
        buildArgs: { ONCALL_FILE: props.oncallFile ?? DEFAULT_ONCALL_FILE },
      });

    // Secrets: provider credentials are created by the operator (names in PROVIDER_SECRET_NAMES);
    // the API key and the ack-link HMAC key are generated here (GENERATED_SECRET_NAMES). Imported by
    // name, a secret reaches ECS and the functions as a partial ARN: every name passes
    // assertResolvableSecretName, so that partial ARN resolves.
    const names = PROVIDER_SECRET_NAMES(stage);
    const imported = (sid: string, name: string) =>
      secretsmanager.Secret.fromSecretNameV2(this, sid, assertResolvableSecretName(name));
    const twilioAuthToken = imported('TwilioAuthToken', names.twilioAuthToken);
    const resendApiKey = imported('ResendApiKey', names.resendApiKey);
    const resendWebhookSecret = imported('ResendWebhookSecret', names.resendWebhookSecret);
    const generatedNames = GENERATED_SECRET_NAMES(stage);
    const generated = (sid: string, name: string, description: string) => {
      const secret = new secretsmanager.Secret(this, sid, {
        secretName: assertResolvableSecretName(name),
        description,
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
      suppress(secret, [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'Not rotated automatically: the API key is configured in the callers of the intake, and the ' +
            'ack-link key signs links that stay valid for a day; rotate by hand (see infra/cdk/README.md).',
        },
      ]);
      return secret;
    };
    const apiKeyUse = 'x-api-key of POST /events/cloudwatch and /api/v1/ingest/events';
    const apiKey = generated('ApiKey', generatedNames.apiKey, apiKeyUse);
    const ackLinkSecret = generated('AckLinkSecret', generatedNames.ackLinkSecret, 'HMAC key of the signed ack links');
    const alertmanagerToken = generated(
      'AlertmanagerToken',
      generatedNames.alertmanagerToken,
      "bearer token of POST /events/alertmanager (Alertmanager's http_config)",
    );
    const heartbeatSecret = generated(
      'HeartbeatSecret',
      generatedNames.heartbeatSecret,
      'HMAC key of the heartbeat check-in tokens (GET|POST /heartbeat/<check id>.<mac>; make heartbeat-url)',
    );
    const consoleSessionSecret = generated(
      'ConsoleSessionSecret',
      generatedNames.consoleSessionSecret,
      'HMAC key of the console session cookies and their CSRF tokens',
    );
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
      runtimePlatform: {
        cpuArchitecture: RECEIVER_ARCHITECTURE.cpuArchitecture,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
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
          INCIDENTS_TABLE: incidents.tableName, // the ack page's incident lookup (IncidentReader)
          CONSOLE_AUTH_TABLE: consoleAuth.tableName, // console sign-in links, API keys (producers/receiver/auth)
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
          CONSOLE_SESSION_SECRET: ecs.Secret.fromSecretsManager(consoleSessionSecret),
          RESEND_API_KEY: ecs.Secret.fromSecretsManager(resendApiKey), // the console's sign-in mails
          ALERTMANAGER_TOKENS: ecs.Secret.fromSecretsManager(alertmanagerToken),
          HEARTBEAT_SECRET: ecs.Secret.fromSecretsManager(heartbeatSecret),
          ...(props.eventsV2RoutingKeysSecretArn
            ? {
                EVENTS_V2_ROUTING_KEYS: ecs.Secret.fromSecretsManager(
                  secretsmanager.Secret.fromSecretCompleteArn(
                    this,
                    'EventsV2RoutingKeys',
                    props.eventsV2RoutingKeysSecretArn,
                  ),
                ),
              }
            : {}),
        },
      },
    });
    this.publicBaseUrl = props.domain
      ? `https://${props.domain}`
      : `https://${this.receiver.loadBalancer.loadBalancerDnsName}`;
    this.receiver.taskDefinition.defaultContainer!.addEnvironment('PUBLIC_BASE_URL', this.publicBaseUrl);
    this.receiver.targetGroup.configureHealthCheck({
      path: '/healthz',
      healthyHttpCodes: '200',
      interval: Duration.seconds(15),
    });

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
    stream.grant(receiverRole, 'kinesis:PutRecords'); // the batching producer (platform/stream/); no PutRecord call
    stream.grant(receiverRole, 'kinesis:DescribeStreamSummary'); // GET /healthz (producers/receiver/stream-health.ts)
    ledger.grant(receiverRole, 'dynamodb:GetItem'); // ack codes typed back by SMS (AckCodes.resolve)
    storage.grantIncidentItems(receiverRole, 'dynamodb:GetItem'); // ack pages: acknowledged already? (IncidentReader)
    // the incident list (producers/receiver/api/incidents.ts): a Query of the list index, its page's items by key
    storage.grantIncidentList(receiverRole);
    storage.grantIncidentItems(receiverRole, 'dynamodb:BatchGetItem');
    // sign-in links (issue, consume once), rate counters, API key lookups (producers/receiver/auth/store.ts), and
    // sessions: put at sign-in, read (cached) per request, deleted at sign-out (auth/session-store.ts)
    consoleAuth.grant(
      receiverRole,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    const errorObjects = bucket.arnForObjects(`${ERROR_PREFIX}*`);
    receiverRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [errorObjects] }),
    );

    // ALB access logs: the bucket policy names the region's ELB log-delivery principal, so it needs a
    // concrete region (an environment-agnostic synthesis, e.g. a test, warns and goes without).
    if (props.accessLogs && !Token.isUnresolved(Stack.of(this).region)) {
      this.receiver.loadBalancer.logAccessLogs(props.accessLogs, 'alb');
    } else if (props.accessLogs) {
      const message = 'No region: the receiver ALB writes no access logs (set context region).';
      Annotations.of(this).addWarningV2('pagetrail:alb-access-logs', message);
    }
    const lakeReads = props.lakeQueries ? this.readLake(receiverRole, storage, props.lakeQueries) : [];
    this.suppressNagFindings(errorObjects, lakeReads);
  }

  /**
   * The lake through Athena (producers/receiver/api/lake.ts → analysis/query/athena-engine.ts): the workgroup's
   * queries; what Athena does with the role on the receiver's behalf (the Glue catalog's tables and views, the lake's
   * tables' objects, the results under athena-results/ that the workgroup enforces); and the lake cache's listing of
   * `raw/` for the data's age (analysis/report/data-age.ts). Returns the wildcard resources (cdk-nag).
   */
  private readLake(role: iam.IRole, storage: Storage, q: NonNullable<ServicesProps['lakeQueries']>): string[] {
    const { bucket } = storage;
    const stack = Stack.of(this);
    const container = this.receiver.taskDefinition.defaultContainer!;
    container.addEnvironment('ENGINE', 'athena');
    container.addEnvironment('ATHENA_WORKGROUP', q.workGroupName);
    container.addEnvironment('ATHENA_DATABASE', q.databaseName);
    // the image's /app is not writable by its user: the lake cache's saved listings go to /tmp
    container.addEnvironment('QUERY_CACHE_DIR', '/tmp/pagetrail-lake-cache');
    const workgroup = stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: q.workGroupName });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
        resources: [workgroup],
      }),
    );
    const glue = (resource: string) => stack.formatArn({ service: 'glue', resource });
    const tables = glue(`table/${q.databaseName}/*`);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable'],
        resources: [glue('catalog'), glue(`database/${q.databaseName}`), tables],
      }),
    );
    const tableObjects = LAKE_TABLES.map((t) => bucket.arnForObjects(`${t.prefix}*`));
    const results = bucket.arnForObjects(`${ATHENA_RESULTS_PREFIX}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [...tableObjects] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [results] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [bucket.bucketArn] }),
    );
    return [tables, ...tableObjects, results];
  }

  /** What cdk-nag reports on the receiver and stays by design (nag.test.ts). */
  private suppressNagFindings(errorObjects: string, lakeReads: string[]): void {
    const { loadBalancer, taskDefinition } = this.receiver;
    suppress(loadBalancer.connections.securityGroups[0], [
      {
        id: 'AwsSolutions-EC23',
        reason:
          'The receiver is public by design: Twilio and Resend webhooks and ack-link clicks from phones come ' +
          'from anywhere (no fixed ranges); each route but /healthz checks a signature, the API key or a signed link.',
      },
    ]);
    suppress(taskDefinition, [
      {
        id: 'AwsSolutions-ECS2',
        reason:
          'The environment holds only non-secret settings (resource names, port, URLs); every secret comes ' +
          'from Secrets Manager through the container secrets.',
      },
    ]);
    suppress(
      taskDefinition.obtainExecutionRole(),
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'ecr:GetAuthorizationToken has no resource-level permission: ECS pulls images with an account-wide token.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
    suppress(
      taskDefinition.taskRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'The receiver writes rejected requests as new objects with generated keys, under errors/ only' +
            (lakeReads.length
              ? '; Athena reads the lake for it (incident history, analytics): the database’s tables and views, ' +
                'the objects under the lake tables’ prefixes, and its results under athena-results/.'
              : '.'),
          appliesTo: wildcards(this, [errorObjects, ...lakeReads]),
        },
      ],
      true,
    );
  }
}
