import type { Logger } from './logger.js';
import { startHealthServer } from './health.js';

/**
 * Runs a stream processor as a service: a health endpoint (`GET /healthz` on 127.0.0.1:healthPort),
 * `run()` until it ends, and a drain on SIGTERM/SIGINT (`stop()` finishes in-flight work and
 * checkpoints; the process exits when it is done, 0 on success).
 */
export interface Service {
  name: string;
  healthPort: number;
  run(): Promise<void>;
  stop(): Promise<void>;
  /** Shown on /healthz; `status: 'degraded'` (an event source mapping's status()) answers 503. */
  status?(): Record<string, unknown>;
}

export async function runService(svc: Service, log: Logger): Promise<void> {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${svc.name}: draining`);
    svc.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, `${svc.name}: drain failed; the next start resumes from the last checkpoint`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await startHealthServer(svc.healthPort, () => {
    const status = svc.status?.() ?? {};
    return { ...status, healthy: !stopping && status.status !== 'degraded' }; // 503 while draining or degraded
  });
  log.info({ healthPort: svc.healthPort }, `${svc.name} starting`);
  svc.run().then(
    () => {
      if (!stopping) process.exit(0); // else the drain exits when it is done
    },
    (err) => {
      log.fatal({ err }, `${svc.name} stopped on an error; nothing past the last checkpoint was acknowledged`);
      process.exit(1);
    },
  );
}
