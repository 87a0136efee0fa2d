import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ERROR_PREFIX, RAW_TABLE } from '../../schemas/lake.js';
import { INCIDENT_LIST_INDEX } from '../../shared/incident-list-index.js';
import { suppress } from './nag.js';

export const STATE_PREFIX = 'state/';
export const ATHENA_RESULTS_PREFIX = 'athena-results/';
/**
 * Where Lambda writes the stream processors' on-failure records (the event source mappings' S3
 * destination): `aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/<timestamp>-<uuid>`. The prefix is
 * fixed by Lambda (the API takes a bucket ARN, no prefix).
 */
export const FAILURES_PREFIX = 'aws/lambda/';
/** The S3 request-metrics filter on the error prefix (CloudWatch dimension FilterId). */
export const ERRORS_METRICS_FILTER_ID = 'errors';
/** The S3 request-metrics filter on the on-failure prefix. */
export const FAILURES_METRICS_FILTER_ID = 'failures';

export interface StorageProps {
  /** Undefined: on-demand capacity. A number: provisioned with that many shards. */
  readonly shardCount?: number;
  /** Days the raw archive (raw/) is kept (default 400). */
  readonly rawRetentionDays?: number;
  readonly errorRetentionDays?: number;
  readonly stateRetentionDays?: number;
  /** Days the on-failure records (aws/lambda/) are kept (default 90). */
  readonly failureRetentionDays?: number;
  /** Days the access logs (S3 server access, ALB, VPC flow logs) are kept (default 90). */
  readonly accessLogRetentionDays?: number;
  /** RETAIN (default) keeps the data when the stack is deleted. */
  readonly removalPolicy?: RemovalPolicy;
}

/** Where the lake bucket's server access logs go in the access-log bucket (beside `alb/`, `vpc-flow-logs/`). */
export const LAKE_ACCESS_LOGS_PREFIX = 's3/lake/';

/**
 * The stream, the lake bucket, the DynamoDB tables (checkpoints, dispatch ledger, incidents), and the
 * access-log bucket (the lake bucket's server access logs, the receiver ALB's access logs, the VPC's
 * flow logs).
 */
export class Storage extends Construct {
  readonly stream: kinesis.Stream;
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly checkpoints: dynamodb.Table;
  readonly ledger: dynamodb.Table;
  readonly incidents: dynamodb.Table;
  /** The console's sign-in links, rate counters and API keys (producers/receiver/auth/store.ts). */
  readonly consoleAuth: dynamodb.Table;

  /**
   * `actions` on the incidents table's items only. Table.grant would add its indexes (`/index/*`) to every action
   * since the table has one: an item action needs none, and the list index is granted on its own (grantIncidentList).
   */
  grantIncidentItems(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.incidents.tableArn] });
  }

  /** dynamodb:Query on the incidents table's list index (shared/incident-list-index.ts), and nothing else. */
  grantIncidentList(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.incidents.tableArn}/index/${INCIDENT_LIST_INDEX}`],
    });
  }

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    // S3 server access logs delivered under a bucket policy (logging.s3.amazonaws.com), not the legacy
    // LogDeliveryWrite ACL: the access-log bucket keeps ACLs disabled (BucketOwnerEnforced). This is the
    // feature flag's value for new CDK apps; set here, for this construct, before its buckets exist.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);

    this.stream = new kinesis.Stream(this, 'Stream', {
      // KMS with the AWS-managed key aws/kinesis: no key policy to maintain, and producers/consumers
      // need no kms: permissions (a customer key would need kms:GenerateDataKey/Decrypt grants).
      encryption: kinesis.StreamEncryption.MANAGED,
      ...(props.shardCount === undefined
        ? { streamMode: kinesis.StreamMode.ON_DEMAND }
        : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: props.shardCount }),
      retentionPeriod: Duration.hours(24 * 7),
      removalPolicy,
    });

    // SSE-S3: the only encryption ALB access logs can be delivered to.
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy,
      lifecycleRules: [
        { id: 'expire', expiration: Duration.days(props.accessLogRetentionDays ?? 90) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
    suppress(this.accessLogs, [
      { id: 'AwsSolutions-S1', reason: 'The access-log bucket itself: logging it would log its own log deliveries.' },
    ]);

    this.bucket = new s3.Bucket(this, 'LakeBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: LAKE_ACCESS_LOGS_PREFIX,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      removalPolicy,
      // Request metrics on the error prefix: AWS/S3 PutRequests{BucketName, FilterId=errors} counts
      // the objects written there (the pipeline alarm on it is in pipeline-alarms.ts).
      // Same for the processors' on-failure records (FailureObjects alarm).
      metrics: [
        { id: ERRORS_METRICS_FILTER_ID, prefix: ERROR_PREFIX },
        { id: FAILURES_METRICS_FILTER_ID, prefix: FAILURES_PREFIX },
      ],
      lifecycleRules: [
        { id: 'raw-archive', prefix: RAW_TABLE.prefix, expiration: Duration.days(props.rawRetentionDays ?? 400) },
        { id: 'errors', prefix: ERROR_PREFIX, expiration: Duration.days(props.errorRetentionDays ?? 90) },
        // Join-state snapshots are rewritten at every checkpoint; only the latest is read.
        { id: 'state', prefix: STATE_PREFIX, expiration: Duration.days(props.stateRetentionDays ?? 30) },
        { id: 'failures', prefix: FAILURES_PREFIX, expiration: Duration.days(props.failureRetentionDays ?? 90) },
        { id: 'athena-results', prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(30) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });

    const tableDefaults = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy,
    } as const;
    // Checkpoints (processors/consumer/checkpoint-store.ts): the lake's per-shard heads.
    this.checkpoints = new dynamodb.Table(this, 'Checkpoints', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    });
    // Dispatch ledger and ack codes (processors/paging/ledger.ts, ack-codes.ts); items expire via `ttl`.
    this.ledger = new dynamodb.Table(this, 'DispatchLedger', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'ttl',
    });
    // Paging state, one item per incident (processors/paging/incident-store.ts); items expire via `ttl`. Its
    // sparse list index holds incident items only (shared/incident-list-index.ts): the receiver's incident list.
    this.incidents = new dynamodb.Table(this, 'Incidents', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'ttl',
    });
    this.incidents.addGlobalSecondaryIndex({
      indexName: INCIDENT_LIST_INDEX,
      partitionKey: { name: 'listPk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'listSk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['listTeam'],
    });
    // Console sign-in links (hashed, 10 minutes, once), sign-in rate counters and API keys (hashed); links and
    // counters expire via `ttl`, keys have none.
    this.consoleAuth = new dynamodb.Table(this, 'ConsoleAuth', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'ttl',
    });
  }
}
