/**
 * Idempotent creation of the stream, bucket, tables and schedule group the product uses. Safe to run
 * any number of times, concurrently too (a create that loses a race is treated as "already exists").
 * Works against the local engines and AWS alike; an existing resource is never modified, except that
 * TTL is turned on for the incidents table when it is off, and its list index is added when it lacks it.
 */
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  type AttributeDefinition,
  type TableDescription,
  type GlobalSecondaryIndex,
  DescribeTimeToLiveCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateScheduleGroupCommand, GetScheduleGroupCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Config } from '../../platform/config.js';
import type { AwsClients } from '../../platform/aws.js';
import { INCIDENT_LIST_INDEX } from '../../shared/incident-list-index.js';

export class ProvisionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProvisionError';
  }
}

export interface WaitOptions {
  /** How long to wait for a resource to become ACTIVE. Default 60 s. */
  timeoutMs?: number;
  /** Poll interval. Default 100 ms. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errName(err: unknown): string {
  const e = err as { name?: string; Code?: string; code?: string } | undefined;
  return e?.name ?? e?.Code ?? e?.code ?? 'Error';
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** Adds what failed and, for connection errors, a hint that the engine is not running. */
function describeFailure(what: string, err: unknown): ProvisionError {
  const name = errName(err);
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const unreachable =
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    /ECONNREFUSED|socket hang up|connect ETIMEDOUT/.test(msg);
  const hint = unreachable ? ' (is the engine running? `make up` starts the local stack)' : '';
  return new ProvisionError(`${what} failed: ${name}: ${msg}${hint}`, { cause: err });
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 60_000, pollMs = 100 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new ProvisionError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Kinesis

export interface StreamInfo {
  name: string;
  created: boolean;
  status: string;
  /** Open shards now; may differ from the requested count for a stream that already existed. */
  openShardCount: number;
  arn?: string;
}

async function describeStream(kinesis: KinesisClient, name: string) {
  try {
    const out = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return out.StreamDescriptionSummary;
  } catch (err) {
    if (errName(err) === 'ResourceNotFoundException') return undefined;
    throw describeFailure(`DescribeStreamSummary ${name}`, err);
  }
}

/** Creates the stream when missing and waits until it is ACTIVE. */
export async function ensureStream(
  kinesis: KinesisClient,
  name: string,
  shardCount: number,
  wait: WaitOptions = {},
): Promise<StreamInfo> {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new ProvisionError(`ensureStream ${name}: shardCount must be a positive integer, got ${shardCount}`);
  }
  let created = false;
  let summary = await describeStream(kinesis, name);
  if (summary?.StreamStatus === 'DELETING') {
    await until(
      `stream ${name} to finish deleting`,
      async () => ((await describeStream(kinesis, name)) === undefined ? true : undefined),
      wait,
    );
    summary = undefined;
  }
  if (!summary) {
    try {
      await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
      created = true;
    } catch (err) {
      // lost a race with another provisioner: fine
      if (errName(err) !== 'ResourceInUseException')
        throw describeFailure(`CreateStream ${name} (${shardCount} shards)`, err);
    }
  }
  const active = await until(
    `stream ${name} to become ACTIVE`,
    async () => {
      const s = await describeStream(kinesis, name);
      return s?.StreamStatus === 'ACTIVE' ? s : undefined;
    },
    wait,
  );
  return {
    name,
    created,
    status: active.StreamStatus ?? 'ACTIVE',
    openShardCount: active.OpenShardCount ?? shardCount,
    arn: active.StreamARN,
  };
}

// ---------------------------------------------------------------------------------------------
// S3

export interface BucketInfo {
  name: string;
  created: boolean;
}

async function bucketExists(s3: S3Client, name: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: name }));
    return true;
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404 || errName(err) === 'NotFound' || errName(err) === 'NoSuchBucket') return false;
    if (status === 403) {
      throw new ProvisionError(
        `bucket ${name} exists but this account cannot access it (403); ` +
          `bucket names are global on AWS, pick another LAKE_BUCKET`,
        { cause: err },
      );
    }
    throw describeFailure(`HeadBucket ${name}`, err);
  }
}

/** Creates the bucket when missing. */
export async function ensureBucket(s3: S3Client, name: string): Promise<BucketInfo> {
  if (await bucketExists(s3, name)) return { name, created: false };
  const region = await s3.config.region();
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: name,
        // us-east-1 is the one region that rejects an explicit LocationConstraint
        ...(region && region !== 'us-east-1'
          ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
          : {}),
      }),
    );
    return { name, created: true };
  } catch (err) {
    if (errName(err) === 'BucketAlreadyOwnedByYou' || errName(err) === 'BucketAlreadyExists') {
      if (await bucketExists(s3, name)) return { name, created: false };
    }
    throw describeFailure(`CreateBucket ${name}`, err);
  }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

export interface TableSpec {
  name: string;
  keySchema: KeySchemaElement[];
  /** The key attributes of the table and of its indexes. */
  attributes: AttributeDefinition[];
  /** Global secondary indexes (on-demand, like the table). */
  indexes?: GlobalSecondaryIndex[];
}

export interface TableInfo {
  name: string;
  created: boolean;
  status: string;
  /** For tables with a TTL attribute: 'enabled', or 'unsupported' by the engine (dynalite). */
  ttl?: 'enabled' | 'unsupported';
}

/** Checkpoints: one item per (consumer group + stream, shard): HASH pk (S), RANGE sk (S). */
export function checkpointTableSpec(name: string): TableSpec {
  return {
    name,
    keySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    attributes: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
  };
}

/** Dispatch ledger: HASH pk (S). */
export function ledgerTableSpec(name: string): TableSpec {
  return {
    name,
    keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    attributes: [{ AttributeName: 'pk', AttributeType: 'S' }],
  };
}

/**
 * Paging state, one item per incident: HASH pk (S); TTL attribute `ttl` (epoch seconds); the incident list's sparse
 * index (shared/incident-list-index.ts): HASH listPk, RANGE listSk, projecting the keys and `listTeam`.
 */
export function incidentsTableSpec(name: string): TableSpec & { ttlAttribute: string } {
  return {
    name,
    keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    attributes: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'listPk', AttributeType: 'S' },
      { AttributeName: 'listSk', AttributeType: 'S' },
    ],
    indexes: [
      {
        IndexName: INCIDENT_LIST_INDEX,
        KeySchema: [
          { AttributeName: 'listPk', KeyType: 'HASH' },
          { AttributeName: 'listSk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['listTeam'] },
      },
    ],
    ttlAttribute: 'ttl',
  };
}

/**
 * Turns on TTL on `attribute` unless it already is. dynalite 4 has no UpdateTimeToLive (it answers
 * UnknownOperationException): 'unsupported', and items simply never expire locally.
 */
export async function ensureTimeToLive(
  dynamodb: DynamoDBClient,
  table: string,
  attribute: string,
): Promise<'enabled' | 'unsupported'> {
  try {
    const d = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: table }));
    const ttl = d.TimeToLiveDescription;
    if (
      (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') &&
      ttl.AttributeName === attribute
    )
      return 'enabled';
    if (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') {
      throw new ProvisionError(
        `table ${table} has TTL on "${ttl.AttributeName}", expected "${attribute}"; ` +
          `change it or use another table name`,
      );
    }
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
    if (errName(err) !== 'UnknownOperationException') throw describeFailure(`DescribeTimeToLive ${table}`, err);
  }
  try {
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
    return 'enabled';
  } catch (err) {
    if (errName(err) === 'UnknownOperationException') return 'unsupported';
    throw describeFailure(`UpdateTimeToLive ${table}`, err);
  }
}

async function describeTable(dynamodb: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (err) {
    if (errName(err) === 'ResourceNotFoundException') return undefined;
    throw describeFailure(`DescribeTable ${name}`, err);
  }
}

function keyString(keys: KeySchemaElement[] | undefined, attrs: AttributeDefinition[] | undefined): string {
  const type = (n?: string) => attrs?.find((a) => a.AttributeName === n)?.AttributeType ?? '?';
  return (keys ?? []).map((k) => `${k.KeyType} ${k.AttributeName} (${type(k.AttributeName)})`).join(' + ');
}

/** Creates the table (PAY_PER_REQUEST) when missing, waits for ACTIVE; fails if the keys differ. */
export async function ensureTable(
  dynamodb: DynamoDBClient,
  spec: TableSpec,
  wait: WaitOptions = {},
): Promise<TableInfo> {
  if (spec.name.length < 3)
    throw new ProvisionError(`table name "${spec.name}" is too short (DynamoDB needs >= 3 characters)`);
  let created = false;
  let table = await describeTable(dynamodb, spec.name);
  if (!table) {
    try {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: spec.name,
          KeySchema: spec.keySchema,
          AttributeDefinitions: spec.attributes,
          ...(spec.indexes?.length ? { GlobalSecondaryIndexes: spec.indexes } : {}),
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      created = true;
    } catch (err) {
      if (errName(err) !== 'ResourceInUseException') throw describeFailure(`CreateTable ${spec.name}`, err);
    }
  }
  table = await until(
    `table ${spec.name} to become ACTIVE`,
    async () => {
      const t = await describeTable(dynamodb, spec.name);
      return t?.TableStatus === 'ACTIVE' ? t : undefined;
    },
    wait,
  );
  const want = keyString(spec.keySchema, spec.attributes);
  const have = keyString(table.KeySchema, table.AttributeDefinitions);
  if (want !== have) {
    throw new ProvisionError(
      `table ${spec.name} exists with key schema [${have}], expected [${want}]; delete it or use another table name`,
    );
  }
  for (const index of spec.indexes ?? []) await ensureIndex(dynamodb, spec, table, index, wait);
  return { name: spec.name, created, status: table.TableStatus ?? 'ACTIVE' };
}

/**
 * Adds a global secondary index a table made before it lacks (UpdateTable), and waits for it to be ACTIVE (on AWS
 * DynamoDB backfills it from the table's items). dynalite cannot add one to an existing table: ProvisionError
 * saying what to do.
 */
async function ensureIndex(
  dynamodb: DynamoDBClient,
  spec: TableSpec,
  table: TableDescription,
  index: GlobalSecondaryIndex,
  wait: WaitOptions,
): Promise<void> {
  if (table.GlobalSecondaryIndexes?.some((i) => i.IndexName === index.IndexName)) return;
  const keyNames = new Set(index.KeySchema?.map((k) => k.AttributeName));
  try {
    await dynamodb.send(
      new UpdateTableCommand({
        TableName: spec.name,
        AttributeDefinitions: spec.attributes.filter((a) => keyNames.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [
          { Create: { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection } },
        ],
      }),
    );
  } catch (err) {
    throw new ProvisionError(
      `table ${spec.name} has no index ${index.IndexName} and it could not be added ` +
        `(${errName(err)}: dynalite cannot add one to an existing table): \`make clean\` drops the local data and ` +
        'its tables, or set another table name',
      { cause: err },
    );
  }
  await until(
    `index ${index.IndexName} of ${spec.name} to become ACTIVE`,
    async () => {
      const t = await describeTable(dynamodb, spec.name);
      return t?.GlobalSecondaryIndexes?.find((i) => i.IndexName === index.IndexName)?.IndexStatus === 'ACTIVE'
        ? true
        : undefined;
    },
    wait,
  );
}

/** The console's auth table (producers/receiver/auth/store.ts): HASH `pk`, TTL attribute `ttl`. */
export function consoleAuthTableSpec(name: string): TableSpec & { ttlAttribute: string } {
  return {
    name,
    keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    attributes: [{ AttributeName: 'pk', AttributeType: 'S' }],
    ttlAttribute: 'ttl',
  };
}

/** Creates the console's auth table when missing, with its TTL. */
export async function ensureConsoleAuthTable(
  dynamodb: DynamoDBClient,
  name: string,
  wait: WaitOptions = {},
): Promise<TableInfo> {
  const spec = consoleAuthTableSpec(name);
  const info = await ensureTable(dynamodb, spec, wait);
  info.ttl = await ensureTimeToLive(dynamodb, spec.name, spec.ttlAttribute);
  return info;
}

export async function ensureTables(
  dynamodb: DynamoDBClient,
  names: { checkpointTable: string; ledgerTable: string; incidentsTable: string },
  wait: WaitOptions = {},
): Promise<{ checkpoint: TableInfo; ledger: TableInfo; incidents: TableInfo }> {
  const all = [names.checkpointTable, names.ledgerTable, names.incidentsTable];
  if (new Set(all).size !== all.length) {
    throw new ProvisionError(`checkpoint, ledger and incidents tables must differ (${all.join(', ')})`);
  }
  const incidentsSpec = incidentsTableSpec(names.incidentsTable);
  const [checkpoint, ledger, incidents] = await Promise.all([
    ensureTable(dynamodb, checkpointTableSpec(names.checkpointTable), wait),
    ensureTable(dynamodb, ledgerTableSpec(names.ledgerTable), wait),
    ensureTable(dynamodb, incidentsSpec, wait),
  ]);
  incidents.ttl = await ensureTimeToLive(dynamodb, incidentsSpec.name, incidentsSpec.ttlAttribute);
  return { checkpoint, ledger, incidents };
}

// ---------------------------------------------------------------------------------------------
// EventBridge Scheduler

export interface ScheduleGroupInfo {
  name: string;
  created: boolean;
  arn?: string;
}

/** Creates the schedule group (deadlines) when missing. */
export async function ensureScheduleGroup(scheduler: SchedulerClient, name: string): Promise<ScheduleGroupInfo> {
  try {
    const g = await scheduler.send(new GetScheduleGroupCommand({ Name: name }));
    return { name, created: false, arn: g.Arn };
  } catch (err) {
    if (errName(err) !== 'ResourceNotFoundException') throw describeFailure(`GetScheduleGroup ${name}`, err);
  }
  try {
    const out = await scheduler.send(new CreateScheduleGroupCommand({ Name: name }));
    return { name, created: true, arn: out.ScheduleGroupArn };
  } catch (err) {
    // lost a race with another provisioner: fine
    if (errName(err) === 'ConflictException') return { name, created: false };
    throw describeFailure(`CreateScheduleGroup ${name}`, err);
  }
}

// ---------------------------------------------------------------------------------------------

export interface ProvisionSummary {
  stream: StreamInfo;
  bucket: BucketInfo;
  tables: { checkpoint: TableInfo; ledger: TableInfo; incidents: TableInfo };
  /** Present when a scheduler client was given. */
  scheduleGroup?: ScheduleGroupInfo;
  /** Present when CONSOLE_AUTH_TABLE was given. */
  consoleAuthTable?: TableInfo;
}

/**
 * Stream, bucket and tables named in the config, all in parallel; with `clients.scheduler`, the
 * deadlines' schedule group (SCHEDULER_GROUP) too.
 */
export async function provisionAll(
  config: Pick<
    Config,
    | 'STREAM_NAME'
    | 'STREAM_SHARDS'
    | 'LAKE_BUCKET'
    | 'CHECKPOINT_TABLE'
    | 'LEDGER_TABLE'
    | 'INCIDENTS_TABLE'
    | 'SCHEDULER_GROUP'
  > &
    Partial<Pick<Config, 'CONSOLE_AUTH_TABLE'>>,
  clients: AwsClients & { scheduler?: SchedulerClient },
  wait: WaitOptions = {},
): Promise<ProvisionSummary> {
  const results = await Promise.allSettled([
    ensureStream(clients.kinesis, config.STREAM_NAME, config.STREAM_SHARDS, wait),
    ensureBucket(clients.s3, config.LAKE_BUCKET),
    ensureTables(
      clients.dynamodb,
      {
        checkpointTable: config.CHECKPOINT_TABLE,
        ledgerTable: config.LEDGER_TABLE,
        incidentsTable: config.INCIDENTS_TABLE,
      },
      wait,
    ),
    clients.scheduler ? ensureScheduleGroup(clients.scheduler, config.SCHEDULER_GROUP) : Promise.resolve(undefined),
    config.CONSOLE_AUTH_TABLE
      ? ensureConsoleAuthTable(clients.dynamodb, config.CONSOLE_AUTH_TABLE, wait)
      : Promise.resolve(undefined),
  ]);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new ProvisionError(
      `provisioning failed:\n${failures.map((f) => `  - ${f instanceof Error ? f.message : String(f)}`).join('\n')}`,
      { cause: failures },
    );
  }
  const [stream, bucket, tables, group, consoleAuth] = results as [
    PromiseFulfilledResult<StreamInfo>,
    PromiseFulfilledResult<BucketInfo>,
    PromiseFulfilledResult<ProvisionSummary['tables']>,
    PromiseFulfilledResult<ScheduleGroupInfo | undefined>,
    PromiseFulfilledResult<TableInfo | undefined>,
  ];
  return {
    stream: stream.value,
    bucket: bucket.value,
    tables: tables.value,
    ...(group.value ? { scheduleGroup: group.value } : {}),
    ...(consoleAuth.value ? { consoleAuthTable: consoleAuth.value } : {}),
  };
}
