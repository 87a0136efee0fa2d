import path from 'node:path';
import { DrillPlannerMend } from './drills/planner-mend.js';
import { loadConfig } from '../../platform/config.js';
import { awsClients, schedulerClient, streamArn } from '../../platform/aws.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { twilioClient } from '../../platform/providers/twilio.js';
import { resendClient } from '../../platform/providers/resend.js';
import { awsSmsVoiceClient } from '../../platform/providers/aws-sms-voice.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { ackLinkUrl } from '../../shared/ack-links.js';
import type { KinesisBatchHandler } from '../runtime/kinesis-event.js';
import { AckCodes } from '../../shared/ack-codes.js';
import { loadPagingConfig } from './config.js';
import { EventBridgeDeadlines } from './deadlines.js';
import { Dispatcher, secondRouteChannels, type SecondRoute } from './dispatcher.js';
import { DependencyHealth } from './dependency-health.js';
import { EffectRunner } from './effects.js';
import { EscalationEngine } from './escalation.js';
import { createPagingHandler } from './handler.js';
import { IncidentStore } from './incident-store.js';
import { DynamoHeartbeatStore, HeartbeatKeeper } from './heartbeats.js';
import { DispatchLedger } from './ledger.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { loadIcalFeeds } from '../../shared/schedules/ical-feed.js';
import type { IcalCalendar } from '../../shared/schedules/ical.js';

/**
 * The paging handler built from the environment (platform/config.ts + processors/paging/config.ts), for
 * the AWS Lambda entry (processors/paging/lambda.ts) and the local runner (main.ts) alike. Throws a
 * ConfigError / OnCallConfigError naming the bad setting or field. `health` collects the outages of the
 * Scheduler and the providers (main.ts shows it on /healthz; on Lambda its EMF log lines are the metric).
 */
export function pagingHandlerFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger('paging'),
  health: DependencyHealth = new DependencyHealth({ logger }),
): KinesisBatchHandler {
  const config = loadConfig(env);
  const paging = loadPagingConfig(env);
  const oncall = loadOnCallConfig(paging.ONCALL_FILE);
  const clients = awsClients(config);
  // iCalendar layers: loaded now and every 15 minutes; a feed that cannot be read keeps its last good
  // copy (schedules/ical-feed.ts). Until the first load, such a layer has nobody (a lower layer answers).
  let calendars: Map<string, IcalCalendar> | undefined;
  const hasFeeds = Object.values(oncall.schedules).some((sch) => sch.layers.some((l) => 'ical' in l));
  if (hasFeeds) {
    const load = () =>
      loadIcalFeeds(oncall, {
        baseDir: path.dirname(paging.ONCALL_FILE),
        onWarning: (w) =>
          logger.warn(
            w,
            w.usedCache
              ? 'iCalendar feed unreadable: using its last good copy'
              : 'iCalendar feed unreadable and no copy: its layer has nobody',
          ),
      }).then(
        (c) => {
          calendars = c;
        },
        (err) =>
          logger.warn(
            { err: (err as Error).message },
            'iCalendar feeds could not be loaded; keeping what was loaded before',
          ),
      );
    void load();
    setInterval(load, 15 * 60_000).unref();
  }
  // the second route for SMS and voice: configured → a Twilio failure sends the page by AWS End User Messaging
  const secondRoute: SecondRoute | undefined =
    paging.AWS_SMS_VOICE_ORIGINATION && paging.AWS_SMS_VOICE_CONFIGURATION_SET
      ? {
          client: awsSmsVoiceClient({
            region: paging.AWS_SMS_VOICE_REGION ?? config.AWS_REGION,
            endpoint: paging.AWS_SMS_VOICE_ENDPOINT,
            timeoutMs: Math.min(8000, paging.PAGING_MAX_SEND_MS),
          }),
          smsOrigination: paging.AWS_SMS_VOICE_ORIGINATION,
          voiceOrigination: paging.AWS_SMS_VOICE_VOICE_ORIGINATION,
          configurationSet: paging.AWS_SMS_VOICE_CONFIGURATION_SET,
        }
      : undefined;
  const engine = new EscalationEngine(oncall, {
    maxAlarmAgeMs: paging.PAGING_MAX_ALARM_AGE_S * 1000,
    calendars: () => calendars,
    severity: paging,
    secondRoute: secondRouteChannels(secondRoute),
  });
  const dispatcher = new Dispatcher({
    twilio: twilioClient({
      accountSid: paging.TWILIO_ACCOUNT_SID,
      authToken: paging.TWILIO_AUTH_TOKEN,
      apiBaseUrl: paging.TWILIO_API_BASE_URL,
    }),
    resend: resendClient({ apiKey: paging.RESEND_API_KEY, baseUrl: paging.RESEND_BASE_URL }),
    oncall,
    publicBaseUrl: paging.PUBLIC_BASE_URL,
    // every call of one send ends within PAGING_MAX_SEND_MS: an open claim is settled only after it
    budgetMs: paging.PAGING_MAX_SEND_MS,
    timeoutMs: Math.min(8000, paging.PAGING_MAX_SEND_MS),
    secondRoute,
    logger,
  });
  const producer = new KinesisProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME, logger });
  // Reachability drills: each planner tick plans the drills of the next hours and schedules the next two ticks
  // (drills/engine.ts), so the Scheduler keeps the chain going; this hour's tick is put at start and at the first
  // batch of each new hour (a no-op when it ran already), so a lost tick is mended within the hour
  const mend = new DrillPlannerMend({ drills: engine.drills, producer, logger });
  void mend.check();
  const deadlines = new EventBridgeDeadlines({
    client: schedulerClient(config),
    groupName: config.SCHEDULER_GROUP,
    streamArn: streamArn(config),
    roleArn: config.SCHEDULER_ROLE_ARN,
    deadLetterArn: config.SCHEDULER_DLQ_ARN,
  });
  const effects = new EffectRunner({
    engine,
    oncall,
    ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
    dispatcher,
    producer,
    deadlines,
    ackCodes: new AckCodes({ dynamodb: clients.dynamodb, table: config.LEDGER_TABLE }),
    ackLink: (ref) => ackLinkUrl(paging.PUBLIC_BASE_URL, ref, paging.ACK_LINK_SECRET, ref.expiresAt),
    ackLinkTtlMs: paging.ACK_LINK_TTL_S * 1000,
    sendBudgetMs: paging.PAGING_SEND_BUDGET_MS,
    maxSendMs: paging.PAGING_MAX_SEND_MS,
    secondRoute: secondRouteChannels(secondRoute),
    health,
    logger,
  });
  const handler = createPagingHandler({
    store: new IncidentStore({ dynamodb: clients.dynamodb, table: config.INCIDENTS_TABLE }),
    engine,
    effects,
    logger,
    // heartbeat checks (heartbeats.ts): their state beside the incidents, their deadlines on the same Scheduler group
    heartbeats: new HeartbeatKeeper({
      cfg: oncall,
      store: new DynamoHeartbeatStore(clients.dynamodb, config.INCIDENTS_TABLE),
      deadlines,
      producer,
      logger,
    }),
  });
  return mend.around(handler);
}
