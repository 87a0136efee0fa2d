/**
 * A throw-away local stack for integration tests: kinesalite (or kinesis-local as a child process),
 * s3rver and dynalite on free ports, in memory (s3rver in a temp dir), provisioned with unique names.
 *
 *   const stack = await startLocalStack();            // kinesalite, 2 shards
 *   const { config, clients } = stack;                // config.STREAM_NAME etc. are unique
 *   ...
 *   await stack.stop();
 *
 * `startLocalStack({ scheduler: true })` also runs the EventBridge Scheduler emulator in-process (free
 * port, temp data dir, putting due schedules on the stack's kinesalite), points
 * `config.SCHEDULER_ENDPOINT` at it and creates the schedule group; `stack.scheduler` is the emulator,
 * `stack.schedulerClient` a SchedulerClient for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../platform/config.js';
import { awsClients, schedulerClient as makeSchedulerClient, type AwsClients } from '../../platform/aws.js';
import {
  startDynalite,
  startKinesalite,
  startKinesisLocal,
  startS3rver,
  type RunningEngine,
} from '../../infra/local/engines.js';
import { provisionAll, type ProvisionSummary } from '../../infra/local/provision.js';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { startSchedulerEmulator, type SchedulerEmulator } from '../../infra/local/scheduler/server.js';

export interface LocalStackOptions {
  /** Kinesis engine. Default 'kinesalite'. */
  kinesis?: 'kinesalite' | 'kinesis-local';
  /** Shards of the provisioned stream. Default 2. */
  shards?: number;
  /** Create the stream, bucket and tables. Default true. */
  provision?: boolean;
  /** Extra config overrides (applied after the generated endpoints and names). */
  overrides?: Partial<Config>;
  /** Environment loadConfig reads. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Run the Scheduler emulator in-process and create SCHEDULER_GROUP (needs provision). Default false. */
  scheduler?: boolean;
}

export interface LocalStack {
  config: Config;
  clients: AwsClients;
  engines: { kinesis: RunningEngine; s3: RunningEngine; dynamodb: RunningEngine };
  /** Undefined when `provision: false`. */
  provisioned?: ProvisionSummary;
  /** Temp directory holding s3rver's objects (removed by stop()). */
  s3Directory: string;
  /** With `scheduler: true`: the emulator (its data under a temp dir removed by stop()) and a client. */
  scheduler?: SchedulerEmulator;
  schedulerClient?: SchedulerClient;
  /** Destroys the clients, stops the engines, removes temp files. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The environment a child process (a service, a bundle) needs to reach this stack: region, the local
 * engines' credentials and endpoints, and the stream, bucket, table and Scheduler names. Unset values
 * (no Scheduler emulator) are left out.
 */
export function stackEnv(config: Config): Record<string, string> {
  const env: Record<string, string | undefined> = {
    AWS_REGION: config.AWS_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    KINESIS_ENDPOINT: config.KINESIS_ENDPOINT,
    S3_ENDPOINT: config.S3_ENDPOINT,
    DYNAMODB_ENDPOINT: config.DYNAMODB_ENDPOINT,
    SCHEDULER_ENDPOINT: config.SCHEDULER_ENDPOINT,
    SCHEDULER_GROUP: config.SCHEDULER_GROUP,
    STREAM_NAME: config.STREAM_NAME,
    LAKE_BUCKET: config.LAKE_BUCKET,
    CHECKPOINT_TABLE: config.CHECKPOINT_TABLE,
    LEDGER_TABLE: config.LEDGER_TABLE,
    INCIDENTS_TABLE: config.INCIDENTS_TABLE,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** A short random suffix usable in stream, bucket and table names. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';
  process.env.AWS_ACCESS_KEY_ID ||= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ||= 'local';

  const s3Directory = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-s3-'));
  const started: RunningEngine[] = [];
  const track = async (p: Promise<RunningEngine>) => {
    const e = await p;
    started.push(e);
    return e;
  };
  const cleanup = async () => {
    await Promise.allSettled(started.map((e) => e.close()));
    fs.rmSync(s3Directory, { recursive: true, force: true });
  };

  let engines: LocalStack['engines'];
  try {
    const [kinesis, s3, dynamodb] = await Promise.all([
      track(opts.kinesis === 'kinesis-local' ? startKinesisLocal() : startKinesalite()),
      track(startS3rver({ directory: s3Directory })),
      track(startDynalite()),
    ]);
    engines = { kinesis, s3, dynamodb };
  } catch (err) {
    await cleanup();
    throw err;
  }

  const id = uniqueSuffix();
  const config = loadConfig(opts.env ?? process.env, {
    KINESIS_ENDPOINT: engines.kinesis.endpoint,
    S3_ENDPOINT: engines.s3.endpoint,
    DYNAMODB_ENDPOINT: engines.dynamodb.endpoint,
    STREAM_NAME: `pagetrail-events-${id}`,
    STREAM_SHARDS: opts.shards ?? 2,
    LAKE_BUCKET: `pagetrail-lake-${id}`,
    CHECKPOINT_TABLE: `pagetrail-checkpoints-${id}`,
    LEDGER_TABLE: `pagetrail-ledger-${id}`,
    INCIDENTS_TABLE: `pagetrail-incidents-${id}`,
    QUERY_CACHE_DIR: path.join(s3Directory, '..', `pagetrail-cache-${id}`),
    ...opts.overrides,
  });
  const clients = awsClients(config);

  let scheduler: SchedulerEmulator | undefined;
  let schedulerClient: SchedulerClient | undefined;
  const schedulerDir = path.join(s3Directory, '..', `pagetrail-scheduler-${id}`);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await scheduler?.close();
      schedulerClient?.destroy();
      fs.rmSync(schedulerDir, { recursive: true, force: true });
      clients.kinesis.destroy();
      clients.s3.destroy();
      clients.dynamodb.destroy();
      await cleanup();
      fs.rmSync(config.QUERY_CACHE_DIR, { recursive: true, force: true });
    })());

  if (opts.scheduler) {
    try {
      scheduler = await startSchedulerEmulator({
        dataDir: schedulerDir,
        kinesis: clients.kinesis,
        region: config.AWS_REGION,
        accountId: config.AWS_ACCOUNT_ID,
      });
      config.SCHEDULER_ENDPOINT = scheduler.url;
      schedulerClient = makeSchedulerClient(config);
    } catch (err) {
      await stop();
      throw err;
    }
  }

  let provisioned: ProvisionSummary | undefined;
  if (opts.provision !== false) {
    try {
      provisioned = await provisionAll(config, { ...clients, scheduler: schedulerClient }, { timeoutMs: 20_000 });
    } catch (err) {
      await stop();
      throw err;
    }
  }

  return { config, clients, engines, provisioned, s3Directory, scheduler, schedulerClient, stop };
}
