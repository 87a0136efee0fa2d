/**
 * One local engine as a long-running process (what `make up` starts in the background):
 *
 *   node --import tsx infra/local/engine-main.ts kinesis|s3|dynamodb
 *
 * Data persists under $DATA_DIR/kinesis (LevelDB), $DATA_DIR/s3 (files), $DATA_DIR/dynamodb
 * (LevelDB); ports come from KINESIS_PORT / S3_PORT / DYNAMODB_PORT (defaults 4567 / 4569 / 4570).
 * Logs go to stdout/stderr (stack.ts points them at $DATA_DIR/logs/<kind>.log). SIGTERM/SIGINT
 * close the engine cleanly (LevelDB flushed) and exit 0.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDynalite, startKinesalite, startS3rver, type EngineKind, type RunningEngine } from './engines.js';

export const DEFAULT_PORTS: Record<EngineKind, number> = { kinesis: 4567, s3: 4569, dynamodb: 4570 };
const PORT_VARS: Record<EngineKind, string> = { kinesis: 'KINESIS_PORT', s3: 'S3_PORT', dynamodb: 'DYNAMODB_PORT' };

export function enginePort(kind: EngineKind, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[PORT_VARS[kind]];
  if (raw === undefined || raw.trim() === '') return DEFAULT_PORTS[kind];
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${PORT_VARS[kind]}=${raw} is not a valid port`);
  }
  return port;
}

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.DATA_DIR?.trim() || '.data');
}

export async function startEngine(kind: EngineKind, env: NodeJS.ProcessEnv = process.env): Promise<RunningEngine> {
  const port = enginePort(kind, env);
  const dir = path.join(dataDir(env), kind);
  switch (kind) {
    case 'kinesis':
      return startKinesalite({ port, path: dir });
    case 's3':
      return startS3rver({ port, directory: dir, verbose: env.S3_VERBOSE === 'true' });
    case 'dynamodb':
      return startDynalite({ port, path: dir });
    default:
      throw new Error(`unknown engine "${String(kind)}" (expected kinesis, s3 or dynamodb)`);
  }
}

const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);

async function main() {
  const kind = process.argv[2] as EngineKind | undefined;
  if (!kind || !(kind in DEFAULT_PORTS)) {
    console.error('usage: engine-main.ts kinesis|s3|dynamodb');
    process.exit(2);
  }
  const started = Date.now();
  const engine = await startEngine(kind);
  log(
    `${kind} ready on ${engine.endpoint} ` +
      `(data ${path.join(dataDir(), kind)}, pid ${process.pid}, ${Date.now() - started} ms)`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${kind} stopping (${signal})`);
    const force = setTimeout(() => {
      log(`${kind} did not close within 10 s, exiting`);
      process.exit(1);
    }, 10_000);
    force.unref();
    engine.close().then(
      () => {
        log(`${kind} stopped`);
        process.exit(0);
      },
      (err: unknown) => {
        log(`${kind} close failed: ${err instanceof Error ? err.stack : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
}

// Run only as the entry point (engine-main.ts is also imported for startEngine/enginePort).
const entry = process.argv[1] ? path.resolve(process.argv[1]) : '';
if (entry === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(
      `${new Date().toISOString()} engine failed to start: ${err instanceof Error ? err.stack : String(err)}`,
    );
    process.exit(1);
  });
}
