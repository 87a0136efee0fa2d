import { SEVERITY_SETTINGS } from './context.js';
import { cpSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ERROR_PREFIX, EVENTS_TABLE, RAW_TABLE } from '../../schemas/lake.js';
import { lambdaBundleDir, REPO_ROOT } from '../lambda/bundle.js';
import type { Deadlines } from './deadlines.js';
import { suppress, wildcards } from './nag.js';
import { FAILURES_PREFIX, STATE_PREFIX, type Storage } from './storage.js';

/** Every prefix the lake function writes (and so reads back and may delete). */
export const LAKE_PREFIXES = [EVENTS_TABLE.prefix, RAW_TABLE.prefix, ERROR_PREFIX, STATE_PREFIX] as const;

/** Where the paging function finds the on-call file: bundled beside index.mjs (LAMBDA_TASK_ROOT). */
export const ONCALL_PATH_IN_FUNCTION = '/var/task/oncall.json';
export const DEFAULT_ONCALL_FILE = 'infra/local/oncall/demo.json';
export const DEFAULT_FLUSH_INTERVAL_S = 10;
/**
 * nodejs22.x. The bundles target node20 (the language level of this repo's toolchain and tests) and
 * run unchanged on 22; AWS deprecated nodejs20.x on 2026-04-30 (no new functions from 2027-02-01, no
 * updates from 2027-03-03), so a stack deployed from now on must not be created on it.
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;

/** Records per lake invocation = per flush: Lambda's largest Kinesis batch (FLUSH_MAX_ROWS of the function). */
export const LAKE_BATCH_SIZE = 10_000;

/**
 * When an event source mapping gives up on a failing batch: after MAX_RETRY_ATTEMPTS failed invocations
 * (bisecting a batch does not use them up) or once its records reach MAX_RECORD_AGE, whichever comes
 * first; then the batch's shard and sequence range — and, with an S3 destination, its records — are
 * written under aws/lambda/ (the FailureObjects alarm fires) and the shard moves on.
 * - paging, 10 retries or 15 minutes: a record that keeps failing must not hold the other incidents of
 *   its shard (a day, before issue 17). A batch that fails as a whole is bisected down to the failing
 *   record, which is then tried 10 more times; an outage (DynamoDB, throttling) is ridden out for up to
 *   15 minutes. A record given up on is replayed by hand (docs/operations.md), and must be within the
 *   paging horizon (PAGING_MAX_ALARM_AGE_S, 1 h) to still page: the 15 minutes leave 45 for that.
 * - lake, unbounded retries, 6 days: just under the stream's 7-day retention, so the audit trail is
 *   retried as long as the stream holds it and nothing ages out of the stream unrecorded (no incident
 *   waits on it; `make backfill FAILURES=1` replays what it gives up on).
 */
export const MAX_RECORD_AGE = { paging: Duration.minutes(15), lake: Duration.days(6) } as const;
export const MAX_RETRY_ATTEMPTS = { paging: 10, lake: -1 } as const;

export interface ProcessorsProps {
  /** The stage (names the stream consumer pagetrail-<stage>-paging). */
  readonly stage: string;
  readonly storage: Storage;
  readonly deadlines: Deadlines;
  readonly secrets: {
    readonly twilioAuthToken: secretsmanager.ISecret;
    readonly resendApiKey: secretsmanager.ISecret;
    readonly ackLinkSecret: secretsmanager.ISecret;
  };
  /** https://<receiver host> (ack links, provider callbacks). */
  readonly publicBaseUrl: string;
  readonly twilioAccountSid: string;
  /** On-call file in the repository, bundled with the paging function (default: the demo rota). */
  readonly oncallFile?: string;
  /** Lake flush interval, s: FLUSH_INTERVAL_S and the lake mapping's batching window (default 10, at most 300). */
  readonly flushIntervalS?: number;
  /** Root of the prebuilt bundles (default dist/lambda, written by `make lambdas`). */
  readonly bundleDir?: string;
}

/**
 * The S3 on-failure destination with least privilege: CDK's S3OnFailureDestination grants the function
 * read/write on the whole bucket; Lambda needs only s3:PutObject (under its fixed aws/lambda/ prefix)
 * and s3:ListBucket.
 */
class ScopedS3OnFailure implements lambda.IEventSourceDlq {
  constructor(private readonly bucket: s3.IBucket) {}
  bind(_target: lambda.IEventSourceMapping, fn: lambda.IFunction): lambda.DlqDestinationConfig {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${FAILURES_PREFIX}*`)],
      }),
    );
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    return { destination: this.bucket.bucketArn };
  }
}

/**
 * The stream processors as Lambda functions (Node 22, arm64) behind Kinesis event source mappings: one
 * batch per shard at a time (ParallelizationFactor 1: per-shard, hence per-incident, order),
 * ReportBatchItemFailures, bisect on error, TRIM_HORIZON, on-failure records to the lake bucket.
 * Code: the bundles `make lambdas` writes (infra/lambda/bundle.ts), used as they are.
 */
export class Processors extends Construct {
  readonly paging: lambda.Function;
  readonly lake: lambda.Function;
  readonly pagingMapping: lambda.EventSourceMapping;
  /** The paging mapping's enhanced fan-out consumer of the stream. */
  readonly pagingConsumer: kinesis.StreamConsumer;
  readonly lakeMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: ProcessorsProps) {
    super(scope, id);
    const { storage, deadlines, secrets } = props;
    const { stream, bucket, checkpoints, ledger, incidents } = storage;
    const flushIntervalS = props.flushIntervalS ?? DEFAULT_FLUSH_INTERVAL_S;
    if (!Number.isInteger(flushIntervalS) || flushIntervalS < 1 || flushIntervalS > 300) {
      throw new RangeError(
        `flushIntervalS must be an integer in [1, 300] (the batching window limit), got ${flushIntervalS}`,
      );
    }

    // What platform/config.ts reads, for both functions (AWS_REGION is set by Lambda itself).
    const common: Record<string, string> = {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: 'info',
      AWS_ACCOUNT_ID: Stack.of(this).account,
      STREAM_NAME: stream.streamName,
      STREAM_ARN: stream.streamArn,
      LAKE_BUCKET: bucket.bucketName,
      CHECKPOINT_TABLE: checkpoints.tableName,
      LEDGER_TABLE: ledger.tableName,
      INCIDENTS_TABLE: incidents.tableName,
      SCHEDULER_GROUP: deadlines.groupName,
      SCHEDULER_ROLE_ARN: deadlines.role.roleArn,
      SCHEDULER_DLQ_ARN: deadlines.deadLetters.queueArn,
    };
    const bundleDir = (name: string) => lambdaBundleDir(name, props.bundleDir);
    const fn = (
      sid: string,
      code: lambda.Code,
      o: { memoryMiB: number; timeout: Duration; environment: Record<string, string>; description: string },
    ) =>
      new lambda.Function(this, sid, {
        description: o.description,
        runtime: LAMBDA_RUNTIME,
        architecture: lambda.Architecture.ARM_64,
        handler: 'index.handler',
        code,
        memorySize: o.memoryMiB,
        timeout: o.timeout,
        environment: { ...common, ...o.environment },
        logGroup: new logs.LogGroup(this, `${sid}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
      });

    // ---- paging ---------------------------------------------------------------------------------------
    const oncallSource = path.resolve(REPO_ROOT, props.oncallFile ?? DEFAULT_ONCALL_FILE);
    const pagingDir = bundleDir('paging');
    // The prebuilt bundle plus the on-call file, assembled in-process (local bundling: never Docker).
    const pagingCode = lambda.Code.fromAsset(pagingDir, {
      bundling: {
        image: LAMBDA_RUNTIME.bundlingImage, // required by the API; never pulled (local bundling succeeds)
        local: {
          tryBundle(outputDir: string): boolean {
            cpSync(pagingDir, outputDir, { recursive: true });
            copyFileSync(oncallSource, path.join(outputDir, path.basename(ONCALL_PATH_IN_FUNCTION)));
            return true;
          },
        },
      },
    });
    this.paging = fn('Paging', pagingCode, {
      description: 'pagetrail paging loop (Kinesis event source mapping)',
      memoryMiB: 1024,
      timeout: Duration.seconds(60),
      environment: {
        PUBLIC_BASE_URL: props.publicBaseUrl,
        TWILIO_ACCOUNT_SID: props.twilioAccountSid,
        ONCALL_FILE: ONCALL_PATH_IN_FUNCTION,
        ACK_LINK_TTL_S: '86400',
        PAGING_MAX_ALARM_AGE_S: '3600',
        ...SEVERITY_SETTINGS,
        // Secret references, resolved at cold start (platform/secrets.ts); never the values.
        TWILIO_AUTH_TOKEN_SECRET_ARN: secrets.twilioAuthToken.secretArn,
        RESEND_API_KEY_SECRET_ARN: secrets.resendApiKey.secretArn,
        ACK_LINK_SECRET_SECRET_ARN: secrets.ackLinkSecret.secretArn,
      },
    });
    for (const s of [secrets.twilioAuthToken, secrets.resendApiKey, secrets.ackLinkSecret]) {
      this.paging.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArnPattern(s)] }),
      );
    }
    stream.grant(this.paging, 'kinesis:PutRecords'); // dispatch and escalation records (KinesisProducer)
    // ledger + ack codes
    ledger.grant(this.paging, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem');
    // IncidentStore (conditional puts on version; the alarm's pointer is marked resolved on resolve)
    storage.grantIncidentItems(
      this.paging,
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    );
    deadlines.grantManageSchedules(this.paging);
    // Pages leave at once: the paging mapping reads through an enhanced fan-out consumer (records pushed
    // over SubscribeToShard, ~70 ms after the write) instead of the shared-throughput poll, which reads
    // each shard about once a second; the lake, which batches for minutes anyway, polls.
    this.pagingConsumer = new kinesis.StreamConsumer(this, 'PagingConsumer', {
      stream,
      streamConsumerName: `pagetrail-${props.stage}-paging`,
    });
    this.pagingMapping = this.mapping(
      this.paging,
      {
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(0), // invoke as soon as records arrive
        maxRecordAge: MAX_RECORD_AGE.paging,
        retryAttempts: MAX_RETRY_ATTEMPTS.paging,
        consumer: this.pagingConsumer,
      },
      bucket,
      stream,
    );

    // ---- lake -----------------------------------------------------------------------------------------
    this.lake = fn('Lake', lambda.Code.fromAsset(bundleDir('lake')), {
      description: 'pagetrail lake writer (Kinesis event source mapping)',
      // Parquet encoding of up to 10,000 records per batch plus the join state; CPU scales with memory.
      memoryMiB: 2048,
      timeout: Duration.seconds(300),
      environment: {
        CONSUMER_GROUP: 'lake',
        FLUSH_INTERVAL_S: String(flushIntervalS),
        FLUSH_MAX_ROWS: String(LAKE_BATCH_SIZE),
        JOIN_WINDOW_S: '86400',
        ALLOWED_LATENESS_S: '300',
        RECEIPT_WAIT_S: '10',
        MAX_STATE_ENTRIES: '200000',
        // A larger young generation halves scavenge time for the short-lived rows (docs/adr/0001-parquet-writer.md).
        NODE_OPTIONS: '--max-semi-space-size=64',
      },
    });
    // Shard heads (processors/lake/wiring.ts), lineage (ListShards via the mapping's read grant).
    checkpoints.grant(this.lake, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query');
    // Ticks after a flush that leaves receipts waiting (processors/lake/ticks.ts): a quiet shard's clock.
    stream.grant(this.lake, 'kinesis:PutRecords');
    const lakeObjects = LAKE_PREFIXES.map((p) => bucket.arnForObjects(`${p}*`));
    this.lake.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: lakeObjects }),
    );
    // Deletes under every prefix it writes: old join-state snapshots once a newer one is durable
    // (processors/lake/lake-store.ts), and an abandoned uncommitted flush's objects — events, raw records,
    // error objects and its state — when a retried or bisected batch no longer matches it
    // (processors/lake/handler.ts, start-state.ts). A denied delete would fail that batch for good.
    this.lake.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: lakeObjects }));
    this.lakeMapping = this.mapping(
      this.lake,
      {
        batchSize: LAKE_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(flushIntervalS),
        maxRecordAge: MAX_RECORD_AGE.lake,
        retryAttempts: MAX_RETRY_ATTEMPTS.lake,
      },
      bucket,
      stream,
    );

    const failures = bucket.arnForObjects(`${FAILURES_PREFIX}*`);
    const schedules = deadlines.schedulesArn();
    this.suppressNagFindings(this.paging, [failures, schedules], 'its on-failure records and its deadline schedules');
    this.suppressNagFindings(this.lake, [...lakeObjects, failures], 'its objects per prefix, its on-failure records');
  }

  /** What cdk-nag reports on a function and stays by design (nag.test.ts). */
  private suppressNagFindings(fn: lambda.Function, objectArns: string[], what: string): void {
    const runtime = 'nodejs22.x, the Node LTS the receiver image runs too; the bundles target node20 and run on 22.';
    suppress(fn, [
      { id: 'AwsSolutions-L1', reason: runtime },
      { id: 'Serverless-LambdaLatestVersion', reason: runtime },
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked only by its Kinesis event source mapping, never asynchronously: a batch given up goes to ' +
          "the mapping's S3 on-failure destination (aws/lambda/), watched by the FailureObjects alarm.",
      },
      {
        id: 'Serverless-LambdaTracing',
        reason: 'The bundles carry no X-Ray instrumentation; structured logs and the pipeline alarms trace a batch.',
      },
    ]);
    suppress(
      fn.role!,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason: "AWSLambdaBasicExecutionRole: what Lambda needs to write the function's own log streams.",
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: `Object and schedule names are generated per write: the function gets ${what}, prefix by prefix.`,
          appliesTo: wildcards(this, objectArns),
        },
      ],
      true,
    );
  }

  private mapping(
    fn: lambda.Function,
    o: {
      batchSize: number;
      maxBatchingWindow: Duration;
      maxRecordAge: Duration;
      retryAttempts: number;
      consumer?: kinesis.IStreamConsumer;
    },
    bucket: s3.IBucket,
    stream: Storage['stream'],
  ): lambda.EventSourceMapping {
    // KinesisEventSource also grants the function's role the stream read actions the mapping uses
    // (DescribeStream*, GetRecords, GetShardIterator, ListShards…) on this stream.
    const props: sources.KinesisEventSourceProps = {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: o.batchSize,
      maxBatchingWindow: o.maxBatchingWindow,
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: o.retryAttempts,
      maxRecordAge: o.maxRecordAge,
      onFailure: new ScopedS3OnFailure(bucket),
    };
    // KinesisConsumerEventSource grants SubscribeToShard / DescribeStreamConsumer on the consumer as well
    const source = o.consumer
      ? new sources.KinesisConsumerEventSource(o.consumer, props)
      : new sources.KinesisEventSource(stream, props);
    fn.addEventSource(source);
    return fn.node.children.find((c): c is lambda.EventSourceMapping => c instanceof lambda.EventSourceMapping)!;
  }
}

/**
 * The IAM resource of a secret: imported-by-name secrets have a partial ARN (no random suffix), so the
 * grant needs the `-??????` wildcard that stands for the suffix; secrets created here have a full ARN.
 */
function secretArnPattern(secret: secretsmanager.ISecret): string {
  return (secret as { secretFullArn?: string }).secretFullArn ?? `${secret.secretArn}-??????`;
}
