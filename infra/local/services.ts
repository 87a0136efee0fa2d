/**
 * What the local stack runs, one row per process, and only what differs between them: the setting that
 * chooses its port (its default and PORT_BASE offset: ports.mjs), how to tell it serves, what `up` shows, the
 * *_ENDPOINT setting that must point at it, and, for an engine, how `engine-main.ts` starts it (its data
 * under $DATA_DIR/<name>). `managedProcesses` turns the rows into what the generic path (supervisor.ts)
 * starts and stops:
 *
 * - a row with `start` runs `engine <name>` (engine-main.ts), any other row the entry point of its name
 *   (infra/bin.ts: built `dist/bin/<name>.mjs` under `make up`, else tsx); KINESIS_ENGINE=kinesis-local
 *   runs kinesis-local as the kinesis row instead (TLS on KINESIS_TLS_PORT, default KINESIS_PORT+1;
 *   streams under $DATA_DIR/kinesis-local);
 * - it serves once `GET <health>` answers 200 (without `health`: once `/` answers at all);
 * - apps stop with 15 s to drain and checkpoint, engines with 10 s (kinesis-local 3 s: it can hang).
 */
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import { entryCommand, type BinName } from '../bin.js';
import {
  KINESIS_LOCAL_HEALTH,
  LOCALHOST,
  kinesisLocalCommand,
  startDynalite,
  startKinesalite,
  startS3rver,
  type RunningEngine,
} from './engines.js';
import { LOCAL_PORTS, endpointsOf, localPort, type LocalPort } from './ports.mjs';
import { httpAnswers, type ManagedProcess, type StackContext } from './supervisor.js';

function localPortRow(variable: string): LocalPort {
  const row = LOCAL_PORTS.find((p) => p.variable === variable);
  if (!row) throw new Error(`no row for ${variable} in ports.mjs`);
  return row;
}

export interface Service {
  /** Pid file, log and (engines) data directory name. */
  name: string;
  /** 'engine': started before provisioning; 'app': after, and stopped first. */
  stage: 'engine' | 'app';
  /** The setting that chooses its port, its default and its offset from PORT_BASE (ports.mjs). */
  port: LocalPort;
  /** Path that answers 200 once it serves. */
  health?: string;
  /** Shown after its URL by `up` and `status`; `health` shows its health URL instead. */
  about?: string | 'health';
  /** The setting that must point at its port (`up` warns when it does not). */
  endpointSetting?: keyof Config & `${string}_ENDPOINT`;
  /** Node flags of its process. */
  nodeArgs?: string[];
  /** An engine engine-main.ts runs in its process. */
  start?: (o: { port: number; dir: string; env: NodeJS.ProcessEnv }) => Promise<RunningEngine>;
}

export const SERVICES: readonly Service[] = [
  {
    name: 'kinesis',
    stage: 'engine',
    port: localPortRow('KINESIS_PORT'),
    endpointSetting: 'KINESIS_ENDPOINT',
    start: ({ port, dir }) => startKinesalite({ port, path: dir }),
  },
  {
    name: 's3',
    stage: 'engine',
    port: localPortRow('S3_PORT'),
    endpointSetting: 'S3_ENDPOINT',
    start: ({ port, dir, env }) => startS3rver({ port, directory: dir, verbose: env.S3_VERBOSE === 'true' }),
  },
  {
    name: 'dynamodb',
    stage: 'engine',
    port: localPortRow('DYNAMODB_PORT'),
    endpointSetting: 'DYNAMODB_ENDPOINT',
    start: ({ port, dir }) => startDynalite({ port, path: dir }),
  },
  {
    name: 'scheduler',
    stage: 'engine',
    port: localPortRow('SCHEDULER_PORT'),
    health: '/__scheduler/health',
    about: 'EventBridge Scheduler emulator',
    endpointSetting: 'SCHEDULER_ENDPOINT',
  },
  {
    name: 'simulator',
    stage: 'app',
    port: localPortRow('SIMULATOR_PORT'),
    health: '/__sim/health',
    about: 'Twilio + Resend APIs',
  },
  {
    name: 'receiver',
    stage: 'app',
    port: localPortRow('PORT'),
    health: '/healthz',
    about: 'webhooks, alarm intake, ingest API',
  },
  {
    name: 'lake',
    stage: 'app',
    port: localPortRow('LAKE_HEALTH_PORT'),
    health: '/healthz',
    about: 'health',
    nodeArgs: ['--max-semi-space-size=64'],
  },
  {
    name: 'paging',
    stage: 'app',
    port: localPortRow('PAGING_HEALTH_PORT'),
    health: '/healthz',
    about: 'health',
  },
];

/** The row named `name`. */
export function service(name: string): Service {
  const s = SERVICES.find((r) => r.name === name);
  if (!s) throw new Error(`no local service "${name}" (expected ${SERVICES.map((r) => r.name).join(', ')})`);
  return s;
}

/** Its port: its setting, else PORT_BASE + its offset, else its default (ports.mjs). */
export function portOf(s: Service, env: NodeJS.ProcessEnv = process.env): number {
  const raw = localPort(s.port, env);
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${s.port.variable}=${raw} is not a valid port`);
  return port;
}

/** The provider simulator's origin under `env`. */
export const simulatorUrl = (env: NodeJS.ProcessEnv = process.env) =>
  `http://${LOCALHOST}:${portOf(service('simulator'), env)}`;

/** The simulator's inbox page: every SMS, WhatsApp, email and call it was sent, with the ack links. */
export const inboxUrl = (env: NodeJS.ProcessEnv = process.env) => `${simulatorUrl(env)}/__sim/inbox`;

/** The console on the local receiver, or undefined when it is off (CONSOLE_SESSION_SECRET unset). */
export const consoleUrl = (env: NodeJS.ProcessEnv = process.env) =>
  env.CONSOLE_SESSION_SECRET ? `http://${LOCALHOST}:${portOf(service('receiver'), env)}/console/` : undefined;

const SDK_QUIET = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

function managed(s: Service, ctx: StackContext): ManagedProcess {
  const port = portOf(s, ctx.env);
  const url = `http://${LOCALHOST}:${port}`;
  const p: ManagedProcess = {
    name: s.name,
    stage: s.stage,
    // every row but the engines is an entry point of infra/bin.ts by its name
    ...(s.start ? entryCommand('engine', [s.name]) : entryCommand(s.name as BinName, [], { nodeArgs: s.nodeArgs })),
    env: SDK_QUIET,
    endpoint: s.about === 'health' ? `health ${url}${s.health}` : s.about ? `${url} (${s.about})` : url,
    port: { number: port, variable: s.port.variable, follows: endpointsOf(s.port.variable) },
    health: () => httpAnswers(`${url}${s.health ?? ''}`, s.health ? { status: 200 } : {}),
    stopTimeoutMs: s.stage === 'app' ? 15_000 : undefined,
  };
  const kinesisEngine = ctx.env.KINESIS_ENGINE?.trim() || 'kinesalite';
  if (s.name !== 'kinesis' || kinesisEngine === 'kinesalite') return p;
  if (kinesisEngine !== 'kinesis-local') {
    throw new Error(`KINESIS_ENGINE=${kinesisEngine}: expected kinesalite or kinesis-local`);
  }
  const tlsPort = Number(ctx.env.KINESIS_TLS_PORT || port + 1);
  return {
    ...p,
    ...kinesisLocalCommand({ port, tlsPort, persistPath: path.join(ctx.dataDir, 'kinesis-local') }),
    health: () => httpAnswers(`${url}${KINESIS_LOCAL_HEALTH}`, { status: 200 }),
    stopTimeoutMs: 3000,
    match: 'kinesis-local',
  };
}

/** Every process of the local stack, engines first. */
export function managedProcesses(ctx: StackContext): ManagedProcess[] {
  return SERVICES.map((s) => managed(s, ctx));
}
