/**
 * The whole closed loop on throw-away local engines, for end-to-end and fault tests: kinesalite,
 * s3rver, dynalite and the Scheduler emulator (test/helpers/local-stack.ts), the receiver (in-process,
 * on a free port), the provider simulator (in-process, the demo's behaviours) — and the stream
 * handlers behind the local event source mapping, either in-process or as a real child process
 * (`processors/paging/main.ts`, `processors/lake/main.ts`) that a test can SIGKILL.
 */
import { DEFAULT_SNS_ALERT_TOPIC_ARN } from '../../infra/local/provider-simulator/sns-publish.js';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { serve } from '@hono/node-server';
import { stackEnv, startLocalStack, type LocalStack } from './local-stack.js';
import {
  startProviderSimulator,
  type ProviderSimulator,
  type ProviderSimulatorOptions,
} from '../../infra/local/provider-simulator/server.js';
import { loadBehavioursFile } from '../../infra/local/provider-simulator/behaviours.js';
import { streamArn } from '../../platform/aws.js';
import { BatchingProducer } from '../../platform/stream/batching-producer.js';
import { createApp } from '../../producers/receiver/app.js';
import { consoleDepsOf } from '../../producers/receiver/auth/wiring.js';
import { QueryLakeHistory } from '../../producers/receiver/api/lake.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { ReceiverConfigSchema } from '../../producers/receiver/config.js';
import { S3ErrorSink } from '../../producers/receiver/error-sink.js';
import { AckCodes } from '../../shared/ack-codes.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { LocalEventSourceMapping } from '../../processors/runtime/event-source-mapping.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import { pagingHandlerFromEnv } from '../../processors/paging/wiring.js';
import { lakeHandlerFromEnv } from '../../processors/lake/wiring.js';
import { silentLogger } from '../../platform/logger.js';
import { childEnv } from './clock.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import type { QueryResult } from '../../analysis/query/result.js';

export const SECRETS = {
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  authToken: 'e2e-twilio-auth-token-0123456789',
  resendApiKey: 're_e2e_key',
  webhookSecret: 'whsec_' + Buffer.from('e2e-resend-webhook-secret!').toString('base64'),
  apiKey: 'e2e-api-key-0123456789',
  ackSecret: 'e2e-ack-link-secret-0123456789abcdef',
  /** POST /events/alertmanager's bearer token; /v2/enqueue's routing key (team db). */
  alertmanagerToken: 'e2e-alertmanager-token-0123',
  eventsV2RoutingKey: 'e2e0routing0key0for0team0db00000',
  heartbeatSecret: 'e2e-heartbeat-secret-0123456789abcdef',
  consoleSessionSecret: 'e2e-console-session-secret-0123456789abcdef',
};

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Parsed JSON, as loose as the tests that change it need. */
type Json = ReturnType<typeof JSON.parse>;

/** The demo's on-call file (infra/local/oncall/demo.json) as an object of the test's own, changed by `change`. */
export function demoOnCall(change: (oncall: Json) => void = () => {}): Record<string, unknown> {
  const oncall = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'infra/local/oncall/demo.json'), 'utf8'));
  change(oncall);
  return oncall;
}

export interface ClosedLoopOptions {
  shards?: number;
  /** The on-call file. Default: the demo's (infra/local/oncall/demo.json). */
  oncallFile?: string;
  /** Or its content: written to a directory of the loop's own (the file in `env.ONCALL_FILE`), removed on stop. */
  oncall?: Record<string, unknown>;
  behavioursFile?: string;
  /** Or the simulator's behaviours themselves (infra/local/provider-simulator/behaviours.ts). */
  behaviours?: Record<string, unknown>;
  /** Spacing of the simulator's behaviour steps. Default 100 ms. */
  stepDelayMs?: number;
  /** Extra environment for the handlers (both in-process and child processes). */
  env?: Record<string, string>;
  /** Configure the second route for SMS and voice (AWS End User Messaging, the simulator's endpoint). */
  secondRoute?: boolean;
  /** Simulator options over the defaults (behaviours, hangFraction, hangMs, seed…). */
  simulator?: Partial<ProviderSimulatorOptions>;
  /** Mount the console (sign-in mails by the simulator's Resend; producers/receiver/console). */
  console?: boolean;
}

export interface Mapping {
  mapping: LocalEventSourceMapping;
  stop(): Promise<void>;
}

export interface ChildRunner {
  proc: ChildProcess;
  /** Resolves when the process ends (SIGKILLed by a crashpoint, or stopped). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  stop(): Promise<void>;
}

export interface ClosedLoop {
  stack: LocalStack;
  sim: ProviderSimulator;
  receiverUrl: string;
  /** The environment the handlers read (endpoints, names, secrets, on-call file). */
  env: NodeJS.ProcessEnv;
  /** A handler's mapping in this process. */
  startMapping(role: 'paging' | 'lake', opts?: { group?: string; handler?: KinesisBatchHandler }): Mapping;
  /**
   * A handler's local service as a child process: `processors/<role>/main.ts` through tsx, or with
   * `built` the esbuild bundle `dist/local/<role>-service/index.mjs` (make storm builds it first).
   */
  startChild(role: 'paging' | 'lake', env?: Record<string, string>, opts?: { built?: boolean }): ChildRunner;
  /** SQL over the lake as it is committed now (DuckDB over a local cache of the bucket, as `make query` reads it). */
  lake(sql: string): Promise<QueryResult>;
  stop(): Promise<void>;
}

export async function startClosedLoop(options: ClosedLoopOptions = {}): Promise<ClosedLoop> {
  const own = options.oncall || options.behaviours ? fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-loop-')) : '';
  const fileOf = (name: string, content: unknown) => {
    const file = path.join(own, name);
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
  };
  const opts: ClosedLoopOptions = {
    ...options,
    ...(options.oncall ? { oncallFile: fileOf('oncall.json', options.oncall) } : {}),
    ...(options.behaviours ? { behavioursFile: fileOf('behaviours.json', options.behaviours) } : {}),
  };
  const stack = await startLocalStack({ shards: opts.shards ?? 2, scheduler: true });
  const { clients, config } = stack;
  let app: ReturnType<typeof createApp> | undefined;
  const receiver = serve({ fetch: (req) => app!.fetch(req), port: 0, hostname: '127.0.0.1' }) as http.Server;
  await new Promise((r) => receiver.once('listening', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  const sim = await startProviderSimulator({
    accountSid: SECRETS.accountSid,
    twilioAuthToken: SECRETS.authToken,
    resendApiKey: SECRETS.resendApiKey,
    resendWebhookSecret: SECRETS.webhookSecret,
    receiverBaseUrl: receiverUrl,
    behaviours: loadBehavioursFile(opts.behavioursFile ?? 'infra/local/oncall/demo-behaviours.json'),
    stepDelayMs: opts.stepDelayMs ?? 100,
    ...opts.simulator,
  });

  app = createApp({
    config: ReceiverConfigSchema.parse({
      PUBLIC_BASE_URL: receiverUrl,
      PORT: '1',
      TWILIO_AUTH_TOKEN: SECRETS.authToken,
      RESEND_WEBHOOK_SECRET: SECRETS.webhookSecret,
      API_KEY: SECRETS.apiKey,
      ACK_LINK_SECRET: SECRETS.ackSecret,
      ALERTMANAGER_TOKENS: SECRETS.alertmanagerToken,
      EVENTS_V2_ROUTING_KEYS: JSON.stringify({ [SECRETS.eventsV2RoutingKey]: 'db' }),
      HEARTBEAT_SECRET: SECRETS.heartbeatSecret,
      // the simulator's SNS delivery of the second route's events (its own certificate, trusted here only)
      AWS_SMS_VOICE_TOPIC_ARNS: `${sim.sns.topicArn},${sim.sns.inboundTopicArn}`,
      SNS_TRUSTED_CERT_URLS: sim.sns.certUrl,
      // POST /events/sns: the simulator's local alert topic (sns-publish.ts)
      SNS_ALERT_TOPIC_ARNS: DEFAULT_SNS_ALERT_TOPIC_ARN,
    }),
    // as producers/receiver/main.ts: concurrent requests share PutRecords calls
    producer: new BatchingProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME }),
    ackCodes: new AckCodes({ dynamodb: clients.dynamodb, table: config.LEDGER_TABLE }),
    errorSink: new S3ErrorSink({ s3: clients.s3, bucket: config.LAKE_BUCKET }),
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    ...(opts.console
      ? {
          console: {
            ...consoleDepsOf(
              {
                CONSOLE_SESSION_SECRET: SECRETS.consoleSessionSecret,
                RESEND_API_KEY: SECRETS.resendApiKey,
                RESEND_BASE_URL: sim.url,
                ONCALL_FILE: opts.oncallFile ?? 'infra/local/oncall/demo.json',
              },
              config,
              clients.dynamodb,
              silentLogger,
            )!,
            livePollMs: 250,
            // the lake (history, analytics) through DuckDB over a cache of the test's own
            lake: new QueryLakeHistory({
              config: { ...config, ENGINE: 'duckdb', QUERY_CACHE_DIR: `${stack.s3Directory}-console-cache` },
              s3: clients.s3,
              oncall: () => loadOnCallConfig(opts.oncallFile ?? 'infra/local/oncall/demo.json'),
            }),
          },
        }
      : {}),
  });
  const env: NodeJS.ProcessEnv = {
    ...stackEnv(config),
    ONCALL_FILE: opts.oncallFile ?? 'infra/local/oncall/demo.json',
    PUBLIC_BASE_URL: receiverUrl,
    TWILIO_ACCOUNT_SID: SECRETS.accountSid,
    TWILIO_AUTH_TOKEN: SECRETS.authToken,
    TWILIO_API_BASE_URL: sim.url,
    RESEND_API_KEY: SECRETS.resendApiKey,
    RESEND_BASE_URL: sim.url,
    ACK_LINK_SECRET: SECRETS.ackSecret,
    // the second route (AWS End User Messaging, the simulator's endpoint), when the test asks for it
    ...(opts.secondRoute
      ? {
          AWS_SMS_VOICE_ORIGINATION: '+15550000009',
          AWS_SMS_VOICE_CONFIGURATION_SET: 'pagetrail-pages',
          AWS_SMS_VOICE_ENDPOINT: sim.url,
        }
      : {}),
    FLUSH_INTERVAL_S: '1',
    PAGING_POLL_MS: '50',
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];

  const mappings: Mapping[] = [];
  const children: ChildRunner[] = [];

  function startMapping(role: 'paging' | 'lake', o: { group?: string; handler?: KinesisBatchHandler } = {}): Mapping {
    let handler = o.handler;
    if (!handler && role === 'paging') handler = pagingHandlerFromEnv(env, silentLogger);
    if (!handler) {
      const lake = lakeHandlerFromEnv(env);
      handler = async (event) => (await lake)(event);
    }
    const mapping = new LocalEventSourceMapping({
      kinesis: clients.kinesis,
      streamName: config.STREAM_NAME,
      streamArn: streamArn(config),
      region: config.AWS_REGION,
      functionName: `pagetrail-${role}`,
      checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
      group: o.group ?? role,
      handler,
      batchSize: role === 'paging' ? 100 : 10_000,
      maximumBatchingWindowMs: role === 'paging' ? 0 : 300,
      pollIntervalMs: 50,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 500,
    });
    const running = mapping.run();
    const m: Mapping = { mapping, stop: async () => (await mapping.stop(), await running) };
    mappings.push(m);
    return m;
  }

  function startChild(
    role: 'paging' | 'lake',
    extra: Record<string, string> = {},
    o: { built?: boolean } = {},
  ): ChildRunner {
    let out = '';
    const args = o.built
      ? [path.join(REPO_ROOT, 'dist', 'local', `${role}-service`, 'index.mjs')]
      : ['--import', 'tsx', path.join(REPO_ROOT, 'processors', role, 'main.ts')];
    const proc = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: childEnv({ ...env, [`${role.toUpperCase()}_HEALTH_PORT`]: '0', ...extra }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const child: ChildRunner = {
      proc,
      exited,
      output: () => out,
      stop: async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
        await exited;
      },
    };
    children.push(child);
    return child;
  }

  return {
    stack,
    sim,
    receiverUrl,
    env,
    startMapping,
    startChild,
    lake: (sql) =>
      queryDuckDb(sql, { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: `${stack.s3Directory}-cache` }),
    stop: async () => {
      await Promise.allSettled(children.map((c) => c.stop()));
      await Promise.allSettled(mappings.map((m) => m.stop()));
      await sim.close();
      await new Promise((r) => receiver.close(r));
      await stack.stop();
      if (own) fs.rmSync(own, { recursive: true, force: true });
    },
  };
}
