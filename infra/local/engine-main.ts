/**
 * One local engine as a long-running process (what `make up` starts in the background):
 *
 *   node --import tsx infra/local/engine-main.ts kinesis|s3|dynamodb
 *
 * The engine, its port setting and default are its row of services.ts (KINESIS_PORT / S3_PORT /
 * DYNAMODB_PORT, defaults 4567 / 4569 / 4570); data persists under $DATA_DIR/<name> (LevelDB for kinesis
 * and dynamodb, files for s3). Logs go to stdout/stderr (stack.ts points them at $DATA_DIR/logs/<name>.log).
 * SIGTERM/SIGINT/SIGHUP close the engine cleanly (LevelDB flushed) and exit 0.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICES, portOf } from './services.js';
import { dataDir } from './supervisor.js';

const ENGINES = SERVICES.filter((s) => s.start);

const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);

async function main() {
  const kind = process.argv[2];
  const engine = ENGINES.find((s) => s.name === kind);
  if (!kind || !engine?.start) {
    console.error(`usage: engine-main.ts ${ENGINES.map((s) => s.name).join('|')}`);
    process.exit(2);
  }
  const started = Date.now();
  const dir = path.join(dataDir(), kind);
  const running = await engine.start({ port: portOf(engine), dir, env: process.env });
  log(`${kind} ready on ${running.endpoint} (data ${dir}, pid ${process.pid}, ${Date.now() - started} ms)`);

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
    running.close().then(
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

// Run only as the entry point.
const entry = process.argv[1] ? path.resolve(process.argv[1]) : '';
if (entry === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(
      `${new Date().toISOString()} engine failed to start: ${err instanceof Error ? err.stack : String(err)}`,
    );
    process.exit(1);
  });
}
