import { kinesisClient } from '../../platform/aws.js';
import { loadConfig } from '../../platform/config.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { loadAlarmIntakeSettings } from '../receiver/config.js';
import { createAlarmIntakeHandler, type AlarmIntakeHandler } from './handler.js';

/**
 * The alarm function's handler from the environment: STREAM_NAME, KINESIS_ENDPOINT and the AWS settings
 * (platform/config.ts), ALARM_NAMESPACES, SEVERITY_DEFAULT and SEVERITY_MAP (producers/receiver/config.ts).
 * Throws ConfigError naming every invalid variable.
 */
export function alarmIntakeHandlerFromEnv(
  env: NodeJS.ProcessEnv,
  logger: Logger = createLogger('alarm-intake'),
): AlarmIntakeHandler {
  const infra = loadConfig(env);
  return createAlarmIntakeHandler({
    config: loadAlarmIntakeSettings(env),
    // The producer's own retries first (8 attempts, backoff up to 5 s), then Lambda's async retries.
    producer: new KinesisProducer({ kinesis: kinesisClient(infra), streamName: infra.STREAM_NAME, logger }),
    logger,
  });
}
