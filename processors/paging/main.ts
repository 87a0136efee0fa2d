import { loadConfig } from '../../infra/config.js';
import { awsClients } from '../../infra/aws.js';
import { createLogger } from '../../infra/logger.js';
import { runService } from '../../infra/service.js';
import { twilioClient } from '../../infra/providers/twilio.js';
import { resendClient } from '../../infra/providers/resend.js';
import { KinesisProducer } from '../../producers/kinesis-producer.js';
import { ackLinkUrl } from '../../producers/receiver/ack-link.js';
import { CheckpointStore } from '../consumer/checkpoint-store.js';
import { AckCodes } from './ack-codes.js';
import { loadPagingConfig } from './config.js';
import { Dispatcher } from './dispatcher.js';
import { DispatchLedger } from './ledger.js';
import { loadOnCallConfig } from './oncall-config.js';
import { PagingProcessor } from './paging-processor.js';

/**
 * The paging processor service: `node --import tsx processors/paging/main.ts`. SIGTERM/SIGINT drain
 * it (finish the step in flight, checkpoint, exit 0). A bad setting or on-call file stops start-up
 * with a message naming it.
 */
const log = createLogger('paging-processor');
let config, paging, oncall;
try {
  config = loadConfig();
  paging = loadPagingConfig();
  oncall = loadOnCallConfig(paging.ONCALL_FILE);
} catch (err) {
  log.fatal(err instanceof Error ? err.message : String(err));
  process.exit(2);
}
const clients = awsClients(config);
const processor = new PagingProcessor({
  kinesis: clients.kinesis,
  streamName: config.STREAM_NAME,
  checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
  group: paging.PAGING_GROUP,
  producer: new KinesisProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME, logger: log }),
  ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
  dispatcher: new Dispatcher({
    twilio: twilioClient({ accountSid: paging.TWILIO_ACCOUNT_SID, authToken: paging.TWILIO_AUTH_TOKEN, apiBaseUrl: paging.TWILIO_API_BASE_URL }),
    resend: resendClient({ apiKey: paging.RESEND_API_KEY, baseUrl: paging.RESEND_BASE_URL }),
    oncall,
    publicBaseUrl: paging.PUBLIC_BASE_URL,
  }),
  ackCodes: new AckCodes({ dynamodb: clients.dynamodb, table: config.LEDGER_TABLE }),
  ackLink: (ref) => ackLinkUrl(paging.PUBLIC_BASE_URL, ref, paging.ACK_LINK_SECRET, Date.now() + paging.ACK_LINK_TTL_S * 1000),
  oncall,
  engine: { maxAlarmAgeMs: paging.PAGING_MAX_ALARM_AGE_S * 1000 },
  tickMs: paging.PAGING_TICK_MS,
  logger: log,
});

log.info({ stream: config.STREAM_NAME, oncall: paging.ONCALL_FILE }, 'paging processor configured');
await runService(
  { name: 'paging processor', healthPort: Number(process.env.PAGING_HEALTH_PORT ?? 8082), run: () => processor.run(), stop: () => processor.stop(), status: () => ({ openIncidents: processor.incidents().length }) },
  log,
);
