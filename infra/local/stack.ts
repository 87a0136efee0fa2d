/**
 * The local stack as background processes (`make up | down | status`):
 *
 *   node --import tsx infra/local/stack.ts up|down|status|restart|clean   (make runs dist/bin/stack.mjs)
 *
 * - `up`: starts every process of services.ts that is not already running (supervisor.ts: detached; pid
 *   file in $DATA_DIR/pids/<name>.pid, output appended to $DATA_DIR/logs/<name>.log), waits until each
 *   answers, provisions the stream, bucket and tables named in the config, then starts the app processes
 *   (stage 'app') and prints a summary. Idempotent: a process whose pid is alive and which answers is left
 *   alone. A failed `up` stops what it started.
 * - `down`: SIGTERM by pid (apps first, then engines), SIGKILL after a timeout, removes pid files.
 *   Data under $DATA_DIR stays (`make clean` removes it).
 * - `status`: what runs, and whether the stream, bucket and tables exist.
 * - `clean`: `down`, then removes the data, the caches and the build output, keeping `reports/` (clean.ts).
 * - `log-files [SERVICE]`: the log files `make logs` follows (logs.ts; an unknown SERVICE lists the valid ones).
 *
 * Settings: the env (the Makefile loads .env or .env.example): the port settings of services.ts, DATA_DIR,
 * the *_ENDPOINT variables and resource names (platform/config.ts). KINESIS_ENGINE=kinesis-local runs
 * kinesis-local (kinesis-mock) instead of kinesalite on KINESIS_PORT. The EventBridge Scheduler emulator
 * (infra/local/scheduler, deadlines) runs with the engines on SCHEDULER_PORT (schedules under
 * $DATA_DIR/scheduler); provisioning creates SCHEDULER_GROUP in it.
 *
 * To manage another process (receiver, processors, ...), add a row to SERVICES (services.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetScheduleGroupCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { loadConfig, type Config } from '../../platform/config.js';
import { awsClients, schedulerClient, type AwsClients } from '../../platform/aws.js';
import { provisionAll, type ProvisionSummary } from './provision.js';
import { SERVICES, consoleUrl, inboxUrl, managedProcesses, portOf } from './services.js';
import { LogFilesError, logFiles } from './logs.js';
import { cleanPlan, runClean } from './clean.js';
import {
  all,
  inspect,
  rel,
  stackContext,
  startProcess,
  stopProcess,
  type ManagedProcess,
  type StackContext,
} from './supervisor.js';

function localConfig(ctx: StackContext): Config {
  const config = loadConfig(ctx.env);
  const missing = (['KINESIS_ENDPOINT', 'S3_ENDPOINT', 'DYNAMODB_ENDPOINT'] as const).filter((k) => !config[k]);
  if (missing.length) {
    throw new Error(
      `${missing.join(', ')} empty: that means AWS, and the local stack only provisions local engines. ` +
        'Set them to the local endpoints (see .env.example).',
    );
  }
  return config;
}

function warnOnEndpointMismatch(config: Config, ctx: StackContext) {
  for (const s of SERVICES) {
    const url = s.endpointSetting && config[s.endpointSetting];
    const port = portOf(s, ctx.env);
    if (url && new URL(url).port !== String(port)) {
      console.warn(
        `warning: ${s.endpointSetting}=${url} does not point at ${s.port.variable}=${port}: it is set in .env or ` +
          `the environment; remove it there and it follows ${s.port.variable} (or set it to http://127.0.0.1:${port})`,
      );
    }
  }
}

type StackClients = AwsClients & { scheduler?: SchedulerClient };

/** The SDK clients; a scheduler client only when SCHEDULER_ENDPOINT is local (set). */
function clientsFor(config: Config): StackClients {
  // the local engines accept any credentials; the SDK insists on some
  process.env.AWS_ACCESS_KEY_ID ||= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ||= 'local';
  return { ...awsClients(config), ...(config.SCHEDULER_ENDPOINT ? { scheduler: schedulerClient(config) } : {}) };
}

function destroy(clients: StackClients) {
  clients.kinesis.destroy();
  clients.s3.destroy();
  clients.dynamodb.destroy();
  clients.scheduler?.destroy();
}

export async function up(ctx: StackContext = stackContext(), procs = managedProcesses(ctx)): Promise<ProvisionSummary> {
  const config = localConfig(ctx);
  warnOnEndpointMismatch(config, ctx);
  const t0 = Date.now();
  /** What this run started: a failed `up` stops these (and leaves what ran before alone). */
  const startedNow: ManagedProcess[] = [];
  const start = async (stage: ManagedProcess['stage']) => {
    const results = await all(
      procs.filter((p) => p.stage === stage),
      async (p) => {
        const r = await startProcess(ctx, p);
        if (r.started) startedNow.push(p);
        return r;
      },
    );
    for (const r of results) {
      console.log(`  ${r.name.padEnd(10)} ${r.started ? 'started' : 'already running'} (pid ${r.pid})`);
    }
  };

  let summary: ProvisionSummary;
  try {
    await start('engine');

    if (!config.SCHEDULER_ENDPOINT) {
      console.warn(
        'warning: SCHEDULER_ENDPOINT is empty (AWS): ' +
          'the schedule group is not created locally; the emulator runs unused',
      );
    }
    const clients = clientsFor(config);
    try {
      summary = await provisionAll(config, clients, { timeoutMs: 30_000 });
    } finally {
      destroy(clients);
    }

    await start('app');
  } catch (err) {
    if (startedNow.length) {
      const stopped = await Promise.allSettled(startedNow.reverse().map((p) => stopProcess(ctx, p)));
      const names = startedNow.filter((_p, i) => stopped[i].status === 'fulfilled').map((p) => p.name);
      if (names.length) console.error(`make up failed: stopped what this run started (${names.join(', ')})`);
    }
    throw err;
  }

  const mark = (created: boolean) => (created ? 'created' : 'exists');
  const s = summary;
  console.log(
    `local stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s (data ${rel(ctx.dataDir)}, logs ${rel(ctx.logDir)})`,
  );
  console.log(
    `  Kinesis   ${config.KINESIS_ENDPOINT}  stream ${s.stream.name} ` +
      `(${s.stream.openShardCount} shards, ${mark(s.stream.created)})`,
  );
  console.log(`  S3        ${config.S3_ENDPOINT}  bucket ${s.bucket.name} (${mark(s.bucket.created)})`);
  console.log(
    `  DynamoDB  ${config.DYNAMODB_ENDPOINT}  ` +
      `tables ${s.tables.checkpoint.name} (${mark(s.tables.checkpoint.created)}), ` +
      `${s.tables.ledger.name} (${mark(s.tables.ledger.created)}), ` +
      `${s.tables.incidents.name} (${mark(s.tables.incidents.created)}` +
      `${s.tables.incidents.ttl === 'unsupported' ? ', TTL not emulated' : ''})`,
  );
  if (s.scheduleGroup) {
    console.log(
      `  Scheduler ${config.SCHEDULER_ENDPOINT}  group ${s.scheduleGroup.name} (${mark(s.scheduleGroup.created)})`,
    );
  }
  for (const p of procs.filter((q) => q.stage === 'app')) console.log(`  ${p.name.padEnd(9)} ${p.endpoint ?? ''}`);
  if (procs.some((p) => p.name === 'simulator')) {
    console.log(`  inbox     ${inboxUrl(ctx.env)}  (every page the simulator was sent, with its ack link)`);
  }
  const consoleAt = consoleUrl(ctx.env);
  if (consoleAt && procs.some((p) => p.name === 'receiver'))
    console.log(`  console   ${consoleAt}  (sign in with an on-call file's email: the link arrives in the inbox)`);
  if (s.stream.openShardCount !== config.STREAM_SHARDS) {
    console.warn(
      `warning: stream ${s.stream.name} has ${s.stream.openShardCount} open shards, ` +
        `STREAM_SHARDS=${config.STREAM_SHARDS} (not resharded)`,
    );
  }
  return summary;
}

/** `cleaning` when `make clean` stops the stack before it removes the data: no "data kept" line then. */
export async function down(
  ctx: StackContext = stackContext(),
  procs = managedProcesses(ctx),
  opts: { cleaning?: boolean } = {},
): Promise<void> {
  for (const stage of ['app', 'engine'] as const) {
    const lines = await all(
      procs.filter((p) => p.stage === stage),
      (p) => stopProcess(ctx, p),
    );
    for (const l of lines) console.log(`  ${l}`);
  }
  if (!opts.cleaning) console.log(`data kept in ${rel(ctx.dataDir)} (make clean removes it)`);
}

async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function resourceStatus(config: Config, answering: Set<string>): Promise<string[]> {
  const clients = clientsFor(config);
  const ok = (what: string) => `  ${what}`;
  const check = async (engine: string, what: string, fn: () => Promise<string>) => {
    if (!answering.has(engine)) return ok(`${what}: ? (${engine} not running)`);
    return withTimeout(
      fn().catch((err: unknown) => {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'ResourceNotFoundException' || e.$metadata?.httpStatusCode === 404)
          return ok(`${what}: missing (make up creates it)`);
        return ok(`${what}: error ${e.name ?? ''} ${err instanceof Error ? err.message : String(err)}`);
      }),
      3000,
      ok(`${what}: no answer within 3 s`),
    );
  };
  try {
    return await Promise.all([
      check('kinesis', `stream ${config.STREAM_NAME}`, async () => {
        const s = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: config.STREAM_NAME }));
        return ok(
          `stream ${config.STREAM_NAME}: ${s.StreamDescriptionSummary?.StreamStatus} ` +
            `(${s.StreamDescriptionSummary?.OpenShardCount} shards)`,
        );
      }),
      check('s3', `bucket ${config.LAKE_BUCKET}`, async () => {
        await clients.s3.send(new HeadBucketCommand({ Bucket: config.LAKE_BUCKET }));
        return ok(`bucket ${config.LAKE_BUCKET}: present`);
      }),
      ...(clients.scheduler
        ? [
            check('scheduler', `schedule group ${config.SCHEDULER_GROUP}`, async () => {
              const g = await clients.scheduler!.send(new GetScheduleGroupCommand({ Name: config.SCHEDULER_GROUP }));
              return ok(`schedule group ${config.SCHEDULER_GROUP}: ${g.State}`);
            }),
          ]
        : []),
      ...[config.CHECKPOINT_TABLE, config.LEDGER_TABLE, config.INCIDENTS_TABLE].map((table) =>
        check('dynamodb', `table ${table}`, async () => {
          const t = await clients.dynamodb.send(new DescribeTableCommand({ TableName: table }));
          return ok(`table ${table}: ${t.Table?.TableStatus}`);
        }),
      ),
    ]);
  } finally {
    destroy(clients);
  }
}

export async function status(ctx: StackContext = stackContext(), procs = managedProcesses(ctx)): Promise<boolean> {
  const answering = new Set<string>();
  let allUp = true;
  for (const p of procs) {
    const state = inspect(ctx, p);
    const answers = await p.health();
    if (answers && state.running) answering.add(p.name);
    let line: string;
    if (state.running) line = `running  pid ${state.pid}${answers ? '' : ', NOT answering'}`;
    else if (answers) line = `not managed, but something answers on its port`;
    else line = state.stalePidFile ? 'stopped (stale pid file)' : 'stopped';
    if (!state.running || !answers) allUp = false;
    console.log(`  ${p.name.padEnd(10)} ${line.padEnd(28)} ${p.endpoint ?? ''}`);
  }
  let config: Config | undefined;
  try {
    config = loadConfig(ctx.env);
  } catch (err) {
    console.log(`  config: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (config && config.KINESIS_ENDPOINT && config.S3_ENDPOINT && config.DYNAMODB_ENDPOINT && answering.size) {
    for (const l of await resourceStatus(config, answering)) console.log(l);
  }
  console.log(`data ${rel(ctx.dataDir)}, logs ${rel(ctx.logDir)}`);
  return allUp;
}

async function main(argv: string[]) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';
  const cmd = argv[0];
  const ctx = stackContext();
  switch (cmd) {
    case 'up':
      await up(ctx);
      return;
    case 'down':
      await down(ctx);
      return;
    case 'restart':
      await down(ctx);
      await up(ctx);
      return;
    case 'status':
      await status(ctx);
      return;
    case 'clean': {
      // Refuse before stopping anything; then stop, then remove.
      const plan = cleanPlan({
        root: process.cwd(),
        dataDir: ctx.dataDir,
        queryCacheDir: ctx.env.QUERY_CACHE_DIR?.trim() || '.cache/lake',
      });
      await down(ctx, managedProcesses(ctx), { cleaning: true });
      runClean(plan, (line) => console.log(line));
      return;
    }
    case 'log-files':
      try {
        console.log(logFiles(ctx, argv[1]).join('\n'));
      } catch (err) {
        if (!(err instanceof LogFilesError)) throw err;
        console.error(err.message);
        process.exitCode = err.exitCode;
      }
      return;
    default:
      console.error('usage: stack.ts up|down|status|restart|clean|log-files [SERVICE]');
      process.exitCode = 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
