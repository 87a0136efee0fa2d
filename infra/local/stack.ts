/**
 * The local stack as background processes (`make up | down | status`):
 *
 *   node --import tsx infra/local/stack.ts up|down|status|restart   (make runs the built dist/bin/stack.mjs)
 *
 * - `up`: starts every managed process that is not already running (detached; pid file in
 *   $DATA_DIR/pids/<name>.pid, output appended to $DATA_DIR/logs/<name>.log), waits until each
 *   answers, provisions the stream, bucket and tables named in the config, then starts the app
 *   processes (stage 'app') and prints a summary. Idempotent: a process whose pid is alive and which
 *   answers is left alone.
 * - `down`: SIGTERM by pid (apps first, then engines), SIGKILL after a timeout, removes pid files.
 *   Data under $DATA_DIR stays (`make clean` removes it).
 * - `status`: what runs, and whether the stream, bucket and tables exist.
 *
 * Settings: the env (the Makefile loads .env or .env.example): KINESIS_PORT, S3_PORT, DYNAMODB_PORT,
 * DATA_DIR, the *_ENDPOINT variables and resource names (platform/config.ts). KINESIS_ENGINE=kinesis-local
 * runs kinesis-local (kinesis-mock) instead of kinesalite on KINESIS_PORT. The EventBridge Scheduler
 * emulator (infra/local/scheduler, deadlines) runs with the engines on SCHEDULER_PORT (schedules under
 * $DATA_DIR/scheduler); provisioning creates SCHEDULER_GROUP in it.
 *
 * To manage another process (receiver, processors, ...), add an entry to `appProcesses()`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetScheduleGroupCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { entryCommand } from '../bin.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { awsClients, schedulerClient, type AwsClients } from '../../platform/aws.js';
import { httpAnswers, kinesisLocalEnv, kinesisLocalPackageDir } from './engines.js';
import { dataDir as resolveDataDir, enginePort } from './engine-main.js';
import { provisionAll, type ProvisionSummary } from './provision.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One background process `make up` starts and `make down` stops. */
export interface ManagedProcess {
  /** Pid file `$DATA_DIR/pids/<name>.pid`, log `$DATA_DIR/logs/<name>.log`. */
  name: string;
  /** 'engine' processes start before provisioning, 'app' processes after (and stop first). */
  stage: 'engine' | 'app';
  /**
   * Executable and arguments; run with cwd = repo root. `entryCommand()` (infra/bin.ts) for our entry
   * points: the built `dist/bin/<name>.mjs` when this stack runs built (`make up`), else tsx.
   */
  command: string;
  args: string[];
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** Shown by `up` and `status`. */
  endpoint?: string;
  /**
   * The TCP port it listens on and the setting that chooses it: `up` checks the port is free before it
   * starts the process, and names both in one line when it is not.
   */
  port?: { number: number; variable: string };
  /** True once the process serves (called repeatedly while starting, and by `status`). */
  health(): Promise<boolean>;
  /** Default 30 s. */
  startTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
  /**
   * A string (or one of several) that must appear in /proc/<pid>/cmdline for a pid file to count as
   * ours (guards against a recycled pid). Defaults to the last argument.
   */
  match?: string | string[];
}

export interface StackContext {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  pidDir: string;
  logDir: string;
}

export function stackContext(env: NodeJS.ProcessEnv = process.env): StackContext {
  const dataDir = resolveDataDir(env);
  return { env, dataDir, pidDir: path.join(dataDir, 'pids'), logDir: path.join(dataDir, 'logs') };
}

/** `node --import tsx <script> ...args` for a TypeScript entry point (path relative to the repo root). */
export function tsxCommand(script: string, ...args: string[]): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', path.resolve(REPO_ROOT, script), ...args],
  };
}

const SDK_QUIET = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

export function engineProcesses(ctx: StackContext): ManagedProcess[] {
  const kinesisPort = enginePort('kinesis', ctx.env);
  const kinesisEngine = ctx.env.KINESIS_ENGINE?.trim() || 'kinesalite';
  const local = (port: number) => `http://127.0.0.1:${port}`;
  const engine = (kind: 'kinesis' | 's3' | 'dynamodb'): ManagedProcess => {
    const port = enginePort(kind, ctx.env);
    return {
      name: kind,
      stage: 'engine',
      ...entryCommand('engine', [kind]),
      env: SDK_QUIET,
      endpoint: local(port),
      port: { number: port, variable: `${kind.toUpperCase()}_PORT` },
      health: () => httpAnswers(local(port)),
    };
  };

  let kinesis: ManagedProcess;
  if (kinesisEngine === 'kinesalite') {
    kinesis = engine('kinesis');
  } else if (kinesisEngine === 'kinesis-local') {
    const tlsPort = Number(ctx.env.KINESIS_TLS_PORT || kinesisPort + 1);
    kinesis = {
      name: 'kinesis',
      stage: 'engine',
      command: process.execPath,
      args: [path.join(kinesisLocalPackageDir(), 'main.js')],
      env: kinesisLocalEnv({ port: kinesisPort, tlsPort, persistPath: path.join(ctx.dataDir, 'kinesis-local') }),
      endpoint: local(kinesisPort),
      port: { number: kinesisPort, variable: 'KINESIS_PORT' },
      health: () => httpAnswers(`${local(kinesisPort)}/healthcheck`, { status: 200 }),
      stopTimeoutMs: 3000,
      match: 'kinesis-local',
    };
  } else {
    throw new Error(`KINESIS_ENGINE=${kinesisEngine}: expected kinesalite or kinesis-local`);
  }
  const schedulerPort = schedulerPortOf(ctx.env);
  const scheduler: ManagedProcess = {
    name: 'scheduler',
    stage: 'engine',
    ...entryCommand('scheduler'),
    env: SDK_QUIET,
    endpoint: `${local(schedulerPort)} (EventBridge Scheduler emulator)`,
    port: { number: schedulerPort, variable: 'SCHEDULER_PORT' },
    health: () => httpAnswers(`${local(schedulerPort)}/__scheduler/health`, { status: 200 }),
  };
  return [kinesis, engine('s3'), engine('dynamodb'), scheduler];
}

function schedulerPortOf(env: NodeJS.ProcessEnv): number {
  const raw = env.SCHEDULER_PORT?.trim();
  const port = raw ? Number(raw) : 4581;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`SCHEDULER_PORT=${raw} is not a valid port`);
  return port;
}

/**
 * App services, started after the engines are up and provisioned, stopped first (SIGTERM: each drains
 * and checkpoints). The provider simulator stands in for Twilio and Resend locally.
 */
export function appProcesses(ctx: StackContext): ManagedProcess[] {
  const port = (name: string, def: number) => Number(ctx.env[name] || def);
  const local = (p: number) => `http://127.0.0.1:${p}`;
  const service = (
    name: 'simulator' | 'receiver' | 'lake' | 'paging',
    portVar: string,
    healthUrl: string,
    endpoint?: string,
    nodeArgs: string[] = [],
  ): ManagedProcess => ({
    name,
    stage: 'app',
    ...entryCommand(name, [], { nodeArgs }),
    env: SDK_QUIET,
    endpoint,
    port: { number: Number(new URL(healthUrl).port), variable: portVar },
    health: () => httpAnswers(healthUrl, { status: 200 }),
    stopTimeoutMs: 15_000,
  });
  const receiver = port('PORT', 8080);
  const simulator = port('SIMULATOR_PORT', 4580);
  const lake = port('LAKE_HEALTH_PORT', 8081);
  const paging = port('PAGING_HEALTH_PORT', 8082);
  return [
    service(
      'simulator',
      'SIMULATOR_PORT',
      `${local(simulator)}/__sim/health`,
      `${local(simulator)} (Twilio + Resend APIs)`,
    ),
    service(
      'receiver',
      'PORT',
      `${local(receiver)}/healthz`,
      `${local(receiver)} (webhooks, alarm intake, ingest API)`,
    ),
    service('lake', 'LAKE_HEALTH_PORT', `${local(lake)}/healthz`, `health ${local(lake)}/healthz`, [
      '--max-semi-space-size=64',
    ]),
    service('paging', 'PAGING_HEALTH_PORT', `${local(paging)}/healthz`, `health ${local(paging)}/healthz`),
  ];
}

export function managedProcesses(ctx: StackContext): ManagedProcess[] {
  return [...engineProcesses(ctx), ...appProcesses(ctx)];
}

// ---------------------------------------------------------------------------------------------
// pids

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pidFile = (ctx: StackContext, p: ManagedProcess) => path.join(ctx.pidDir, `${p.name}.pid`);
const logFile = (ctx: StackContext, p: ManagedProcess) => path.join(ctx.logDir, `${p.name}.log`);
const rel = (file: string) => {
  const r = path.relative(process.cwd(), file);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : file;
};

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function writePid(file: string, pid: number) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${pid}\n`);
  fs.renameSync(tmp, file);
}

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    // no procfs: trust kill(0)
  }
  return true;
}

function pidIsOurs(pid: number, p: ManagedProcess): boolean {
  const match = [p.match ?? p.args[p.args.length - 1] ?? p.command].flat();
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return match.some((m) => cmdline.includes(m));
  } catch {
    return true; // no procfs
  }
}

interface ProcState {
  pid?: number;
  running: boolean;
  stalePidFile: boolean;
}

function inspect(ctx: StackContext, p: ManagedProcess): ProcState {
  const pid = readPid(pidFile(ctx, p));
  if (pid === undefined) return { running: false, stalePidFile: fs.existsSync(pidFile(ctx, p)) };
  const running = pidAlive(pid) && pidIsOurs(pid, p);
  return { pid, running, stalePidFile: !running };
}

/** The pid of `p` when a process this stack started runs it (its pid file names a live process of ours). */
export function runningPid(ctx: StackContext, p: ManagedProcess): number | undefined {
  const state = inspect(ctx, p);
  return state.running ? state.pid : undefined;
}

/** The environment a running process started with (/proc/<pid>/environ), or undefined where unreadable. */
export function processEnv(pid: number): Record<string, string> | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    const env: Record<string, string> = {};
    for (const entry of raw.split('\0')) {
      const i = entry.indexOf('=');
      if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
    }
    return env;
  } catch {
    return undefined;
  }
}

/** A pino JSON line as `LEVEL msg (err)`; any other line as it is. */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as {
      level?: number;
      msg?: string;
      err?: { message?: string } | string;
      reason?: string;
    };
    const level =
      ({ 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' } as Record<number, string>)[
        o.level ?? 30
      ] ?? 'INFO';
    const err = typeof o.err === 'string' ? o.err : o.err?.message;
    return `${level} ${o.msg ?? ''}${err ? ` (${err})` : o.reason ? ` (${o.reason})` : ''}`;
  } catch {
    return line;
  }
}

/**
 * The lines this run wrote to an append-only log (from byte `offset`, where the run started): the
 * warnings and errors among them and the last lines, at most `lines`.
 */
export function runLogLines(file: string, offset: number, lines = 15): string[] {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const all = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('=== '));
  const important = (l: string) => !l.startsWith('{') || /"level":(4|5|6)0/.test(l);
  // too long: without stack frames (the error's headline stays), then the warnings and errors and the end
  let picked = all.length <= lines ? all : all.filter((l) => !/^\s+at /.test(l));
  if (picked.length > lines) {
    const tail = Math.ceil(lines / 2);
    picked = [
      ...picked
        .slice(0, -tail)
        .filter(important)
        .slice(-(lines - tail)),
      ...picked.slice(-tail),
    ];
  }
  return picked.map(readable);
}

function logExcerpt(file: string, offset: number): string {
  const lines = runLogLines(file, offset);
  return lines.length ? lines.map((l) => `    | ${l}`).join('\n') : '    | (nothing logged)';
}

/** A port a managed process needs is taken by a process this stack did not start. */
export class PortInUseError extends Error {
  constructor(
    readonly process: string,
    readonly port: number,
    readonly variable: string,
  ) {
    super(`port ${port} (${process}) is in use by another process: stop it or set ${variable}`);
    this.name = 'PortInUseError';
  }
}

/** True when nothing listens on `port` (a listen on 127.0.0.1 succeeds). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRINUSE' && err.code !== 'EACCES'));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// start / stop

async function waitHealthy(
  ctx: StackContext,
  p: ManagedProcess,
  pid: number,
  exited: () => string | undefined,
  logOffset = 0,
): Promise<void> {
  const timeoutMs = p.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await p.health()) return;
    const exit = exited() ?? (pidAlive(pid) ? undefined : 'exited');
    if (exit || Date.now() > deadline) {
      const log = logFile(ctx, p);
      const why = exit
        ? `${exit} while starting`
        : `did not answer${p.endpoint ? ` on ${p.endpoint}` : ''} within ${timeoutMs / 1000} s`;
      throw new Error(`${p.name} (pid ${pid}) ${why}; this run's lines of ${rel(log)}:\n${logExcerpt(log, logOffset)}`);
    }
    await sleep(150);
  }
}

type StartResult = { name: string; pid: number; started: boolean };

async function startOne(ctx: StackContext, p: ManagedProcess): Promise<StartResult> {
  const state = inspect(ctx, p);
  if (state.running && state.pid) {
    // alive: either serving already, or still starting (another `up` launched it)
    await waitHealthy(ctx, p, state.pid, () => undefined);
    return { name: p.name, pid: state.pid, started: false };
  }
  if (state.stalePidFile) fs.rmSync(pidFile(ctx, p), { force: true });
  if (p.port && !(await portFree(p.port.number))) throw new PortInUseError(p.name, p.port.number, p.port.variable);
  if (await p.health()) {
    throw new Error(
      `${p.name}: something already answers on ${p.endpoint ?? 'its port'} ` +
        `but it is not a process this stack started ` +
        `(no live pid in ${rel(pidFile(ctx, p))}); stop it or change the port`,
    );
  }

  fs.mkdirSync(ctx.logDir, { recursive: true });
  const log = logFile(ctx, p);
  const fd = fs.openSync(log, 'a');
  const logOffset = fs.fstatSync(fd).size;
  fs.writeSync(fd, `\n=== ${new Date().toISOString()} starting ${p.name}: ${[p.command, ...p.args].join(' ')}\n`);
  let exitInfo: string | undefined;
  try {
    const child = spawn(p.command, p.args, {
      cwd: REPO_ROOT,
      env: { ...ctx.env, ...p.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.once('error', (err) => (exitInfo = `failed to spawn (${err.message})`));
    child.once('exit', (code, signal) => (exitInfo = `exited with ${signal ?? `code ${code}`}`));
    child.unref();
    if (child.pid === undefined) {
      await sleep(50);
      throw new Error(`${p.name}: ${exitInfo ?? 'failed to spawn'}: ${p.command}`);
    }
    writePid(pidFile(ctx, p), child.pid);
    try {
      await waitHealthy(ctx, p, child.pid, () => exitInfo, logOffset);
    } catch (err) {
      await stopPid(child.pid, 2000);
      fs.rmSync(pidFile(ctx, p), { force: true });
      throw err;
    }
    return { name: p.name, pid: child.pid, started: true };
  } finally {
    fs.closeSync(fd);
  }
}

function signal(pid: number, sig: NodeJS.Signals) {
  // detached children lead their own process group: signal the group, then the pid
  try {
    process.kill(-pid, sig);
    return;
  } catch {
    // not a group leader or already gone
  }
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

/** SIGTERM, wait up to `graceMs`, SIGKILL. Resolves 'term', 'kill' or 'gone'. */
async function stopPid(pid: number, graceMs: number): Promise<'term' | 'kill' | 'gone'> {
  if (!pidAlive(pid)) return 'gone';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return 'term';
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
  const hard = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < hard) await sleep(50);
  if (pidAlive(pid)) throw new Error(`pid ${pid} survived SIGKILL`);
  return 'kill';
}

async function stopOne(ctx: StackContext, p: ManagedProcess): Promise<string> {
  const state = inspect(ctx, p);
  if (!state.pid) return `${p.name}: not running`;
  if (!state.running) {
    fs.rmSync(pidFile(ctx, p), { force: true });
    return `${p.name}: not running (removed stale pid file)`;
  }
  const how = await stopPid(state.pid, p.stopTimeoutMs ?? 10_000);
  fs.rmSync(pidFile(ctx, p), { force: true });
  return `${p.name}: stopped pid ${state.pid}${how === 'kill' ? ' (SIGKILL after timeout)' : ''}`;
}

/** Runs fn over items in parallel; throws one error listing every failure. */
async function all<T, R>(items: T[], fn: (t: T) => Promise<R>): Promise<R[]> {
  const results = await Promise.allSettled(items.map(fn));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length) {
    throw new Error(errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'));
  }
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

// ---------------------------------------------------------------------------------------------
// commands

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
  const pairs = [
    ['KINESIS_ENDPOINT', config.KINESIS_ENDPOINT, 'KINESIS_PORT', enginePort('kinesis', ctx.env)],
    ['S3_ENDPOINT', config.S3_ENDPOINT, 'S3_PORT', enginePort('s3', ctx.env)],
    ['DYNAMODB_ENDPOINT', config.DYNAMODB_ENDPOINT, 'DYNAMODB_PORT', enginePort('dynamodb', ctx.env)],
    ['SCHEDULER_ENDPOINT', config.SCHEDULER_ENDPOINT, 'SCHEDULER_PORT', schedulerPortOf(ctx.env)],
  ] as const;
  for (const [ev, url, pv, port] of pairs) {
    if (url && new URL(url).port !== String(port)) {
      console.warn(`warning: ${ev}=${url} does not point at ${pv}=${port}`);
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
  const report = (rs: StartResult[]) => {
    for (const r of rs) {
      console.log(`  ${r.name.padEnd(10)} ${r.started ? 'started' : 'already running'} (pid ${r.pid})`);
    }
  };
  /** What this run started: a failed `up` stops these (and leaves what ran before alone). */
  const startedNow: ManagedProcess[] = [];
  const start = async (p: ManagedProcess) => {
    const r = await startOne(ctx, p);
    if (r.started) startedNow.push(p);
    return r;
  };

  let summary: ProvisionSummary;
  try {
    report(
      await all(
        procs.filter((p) => p.stage === 'engine'),
        start,
      ),
    );

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

    report(
      await all(
        procs.filter((p) => p.stage === 'app'),
        start,
      ),
    );
  } catch (err) {
    if (startedNow.length) {
      const stopped = await Promise.allSettled(startedNow.reverse().map((p) => stopOne(ctx, p)));
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
  if (s.stream.openShardCount !== config.STREAM_SHARDS) {
    console.warn(
      `warning: stream ${s.stream.name} has ${s.stream.openShardCount} open shards, ` +
        `STREAM_SHARDS=${config.STREAM_SHARDS} (not resharded)`,
    );
  }
  return summary;
}

export async function down(ctx: StackContext = stackContext(), procs = managedProcesses(ctx)): Promise<void> {
  for (const stage of ['app', 'engine'] as const) {
    const lines = await all(
      procs.filter((p) => p.stage === stage),
      (p) => stopOne(ctx, p),
    );
    for (const l of lines) console.log(`  ${l}`);
  }
  console.log(`data kept in ${rel(ctx.dataDir)} (make clean removes it)`);
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
    default:
      console.error('usage: stack.ts up|down|status|restart');
      process.exitCode = 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
