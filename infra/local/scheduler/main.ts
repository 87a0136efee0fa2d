/**
 * The EventBridge Scheduler emulator as a process (what `make up` starts in the background):
 *
 *   node --import tsx infra/local/scheduler/main.ts
 *
 * Env: SCHEDULER_PORT (default 4581), SCHEDULER_HOST (default 127.0.0.1), DATA_DIR (schedules under
 * $DATA_DIR/scheduler), KINESIS_ENDPOINT (where due schedules are put; required: the emulator only
 * targets the local stream), AWS_REGION, AWS_ACCOUNT_ID, LOG_LEVEL. Health: GET /__scheduler/health.
 * A Kinesis outage never stops it: puts are retried (health says `ok: false` meanwhile).
 * SIGTERM/SIGINT close it and exit 0; schedules stay on disk and fire on the next start.
 */
import { closeOnSignal } from '../close-on-signal.js';
import path from 'node:path';
import { loadConfig } from '../../../platform/config.js';
import { kinesisClient } from '../../../platform/aws.js';
import { createLogger } from '../../../platform/logger.js';
import { portOf, service } from '../services.js';
import { dataDir } from '../supervisor.js';
import { startSchedulerEmulator } from './server.js';

async function main() {
  const env = process.env;
  const log = createLogger('scheduler');
  const config = loadConfig(env);
  if (!config.KINESIS_ENDPOINT) {
    throw new Error(
      'KINESIS_ENDPOINT is empty: the scheduler emulator puts deadlines on the local stream only (see .env.example)',
    );
  }
  env.AWS_ACCESS_KEY_ID ||= 'local';
  env.AWS_SECRET_ACCESS_KEY ||= 'local';
  const kinesis = kinesisClient(config);
  const dir = path.join(dataDir(env), 'scheduler');
  const sched = await startSchedulerEmulator({
    port: portOf(service('scheduler'), env),
    host: env.SCHEDULER_HOST?.trim() || '127.0.0.1',
    dataDir: dir,
    kinesis,
    region: config.AWS_REGION,
    accountId: config.AWS_ACCOUNT_ID,
    logger: log,
  });
  log.info({ url: sched.url, dataDir: dir, kinesis: config.KINESIS_ENDPOINT }, 'scheduler emulator ready');

  closeOnSignal(log, async () => {
    await sched.close();
    kinesis.destroy();
  });
}

main().catch((err) => {
  console.error(`scheduler emulator: ${(err as Error).message}`);
  process.exit(1);
});
