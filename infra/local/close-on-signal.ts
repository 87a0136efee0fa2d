import type { Logger } from '../../platform/logger.js';

/**
 * For the local stand-ins `make up` runs in the background (provider simulator, Scheduler emulator):
 * on SIGTERM or SIGINT, close once, then exit 0 — or 1, logged, when closing fails.
 */
export function closeOnSignal(log: Pick<Logger, 'info' | 'error'>, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
