import http from 'node:http';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { startProviderSimulator, type ProviderSimulator } from '../../infra/local/provider-simulator/server.js';
import { loadBehavioursFile } from '../../infra/local/provider-simulator/behaviours.js';
import { twilioClient } from '../../infra/providers/twilio.js';
import { resendClient } from '../../infra/providers/resend.js';
import { KinesisProducer } from '../../producers/kinesis-producer.js';
import { createApp } from '../../producers/receiver/app.js';
import { ReceiverConfigSchema } from '../../producers/receiver/config.js';
import { S3ErrorSink } from '../../producers/receiver/error-sink.js';
import { ackLinkUrl } from '../../producers/receiver/ack-link.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { LakeProcessor } from '../../processors/lake/lake-processor.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { AckCodes } from '../../processors/paging/ack-codes.js';
import { Dispatcher } from '../../processors/paging/dispatcher.js';
import { DispatchLedger } from '../../processors/paging/ledger.js';
import { loadOnCallConfig } from '../../processors/paging/oncall-config.js';
import { PagingProcessor } from '../../processors/paging/paging-processor.js';
import { queryDuckDb } from '../../processors/query/duckdb-engine.js';
import { runDemo, type DemoRunResult } from '../../infra/local/demo-run.js';

/**
 * The demo scenario end to end on the real engines (kinesalite, s3rver, dynalite) with the provider
 * simulator: alarm endpoint → stream → paging processor → official SDKs → simulator → signed callbacks
 * → receiver → stream → lake processor → S3 → DuckDB. Every verdict is asserted.
 */
const secrets = {
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  authToken: 'e2e-twilio-auth-token-0123456789',
  resendApiKey: 're_e2e_key',
  webhookSecret: 'whsec_' + Buffer.from('e2e-resend-webhook-secret!').toString('base64'),
  apiKey: 'e2e-api-key-0123456789',
  ackSecret: 'e2e-ack-link-secret-0123456789abcdef',
};

let stack: LocalStack;
let sim: ProviderSimulator;
let receiver: http.Server;
let lake: LakeProcessor;
let paging: PagingProcessor;
let running: Promise<unknown>[];
let result: DemoRunResult;
let receiverUrl: string;

function pagingProcessor(group = 'paging') {
  const { clients, config } = stack;
  const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
  return new PagingProcessor({
    kinesis: clients.kinesis,
    streamName: config.STREAM_NAME,
    checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
    group,
    producer: new KinesisProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME }),
    ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
    dispatcher: new Dispatcher({
      twilio: twilioClient({ accountSid: secrets.accountSid, authToken: secrets.authToken, apiBaseUrl: sim.url }),
      resend: resendClient({ apiKey: secrets.resendApiKey, baseUrl: sim.url }),
      oncall,
      publicBaseUrl: receiverUrl,
    }),
    ackCodes: new AckCodes({ dynamodb: clients.dynamodb, table: config.LEDGER_TABLE }),
    ackLink: (ref) => ackLinkUrl(receiverUrl, ref, secrets.ackSecret, Date.now() + 3600_000),
    oncall,
    tickMs: 200,
  });
}

beforeAll(async () => {
  stack = await startLocalStack({ shards: 2 });
  const { clients, config } = stack;
  // The receiver, on a free port; its public URL is its own address here.
  let app: ReturnType<typeof createApp> | undefined;
  receiver = serve({ fetch: (req) => app!.fetch(req), port: 0, hostname: '127.0.0.1' }) as http.Server;
  await new Promise((r) => receiver.once('listening', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  app = createApp({
    config: ReceiverConfigSchema.parse({ PUBLIC_BASE_URL: receiverUrl, PORT: '1', TWILIO_AUTH_TOKEN: secrets.authToken, RESEND_WEBHOOK_SECRET: secrets.webhookSecret, API_KEY: secrets.apiKey, ACK_LINK_SECRET: secrets.ackSecret }),
    producer: new KinesisProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME }),
    ackCodes: new AckCodes({ dynamodb: clients.dynamodb, table: config.LEDGER_TABLE }),
    errorSink: new S3ErrorSink({ s3: clients.s3, bucket: config.LAKE_BUCKET }),
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
  sim = await startProviderSimulator({
    accountSid: secrets.accountSid,
    twilioAuthToken: secrets.authToken,
    resendApiKey: secrets.resendApiKey,
    resendWebhookSecret: secrets.webhookSecret,
    receiverBaseUrl: receiverUrl,
    behaviours: loadBehavioursFile('infra/local/oncall/demo-behaviours.json'),
    stepDelayMs: 100,
  });
  lake = new LakeProcessor({ kinesis: clients.kinesis, streamName: config.STREAM_NAME, store: new LakeStore(clients.s3, config.LAKE_BUCKET), checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }), flushIntervalMs: 300 });
  paging = pagingProcessor();
  running = [lake.run(), paging.run()];
  result = await runDemo({
    receiverUrl,
    apiKey: secrets.apiKey,
    query: (sql) => queryDuckDb(sql, { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: `${stack.s3Directory}-cache` }),
    timeoutMs: 60_000,
    pollMs: 500,
  });
}, 120_000);

afterAll(async () => {
  await paging?.stop();
  await lake?.stop();
  await Promise.allSettled(running ?? []);
  await sim?.close();
  await new Promise((r) => receiver?.close(r));
  await stack?.stop();
});

const verdict = (i: number) => {
  const cols = result.verdicts.columns;
  const row = result.verdicts.rows.find((r) => r[0] === result.incidents[i].incidentId)!;
  return Object.fromEntries(cols.map((c, j) => [c, row[j]]));
};

describe('closed loop, end to end', () => {
  it('P1 opened and acked before escalation', () => {
    expect(verdict(0)).toMatchObject({ sev: 'P1', paged: 'alice:email@L1 alice:sms@L1', escalated: '-', failed: '0', opened_before_escalation: 'yes' });
    expect(verdict(0).acked).not.toBe('-');
  });

  it('P1 never opened escalates to the secondary, who reads it and acks', () => {
    expect(verdict(1)).toMatchObject({ sev: 'P1', paged: 'bob:email@L1 bob:sms@L1 carol:sms@L2 carol:whatsapp@L2', opened_before_escalation: 'no' });
    expect(verdict(1).escalated).not.toBe('-');
    expect(verdict(1).acked).not.toBe('-');
  });

  it('an undelivered SMS fails over to WhatsApp, delivered and read', () => {
    expect(verdict(2)).toMatchObject({ sev: 'P2', paged: 'dave:sms@L1 dave:whatsapp@L1', failed: '1', opened_before_escalation: 'yes' });
  });

  it('a bounced email fails over to SMS, delivered', () => {
    expect(verdict(3)).toMatchObject({ sev: 'P3', paged: 'erin:email@L1 erin:sms@L1', failed: '1', opened_before_escalation: 'no (delivered, no read receipt)' });
  });

  it('answers the seed query', () => {
    const rows = result.seed.rows.map(([inc, channel, status]) => `${result.incidents.findIndex((i) => i.incidentId === inc)}:${channel}:${status}`).sort();
    expect(rows).toEqual(['0:email:opened', '1:whatsapp:opened', '2:whatsapp:opened']);
  });

  it('never pages twice: a second paging processor re-reading the whole stream sends nothing', async () => {
    const sent = sim.requests().filter((r) => r.method === 'POST').length;
    expect(sent).toBe(10);
    const replay = pagingProcessor('paging-replay'); // no checkpoint: reads from TRIM_HORIZON
    const run = replay.run();
    await new Promise((r) => setTimeout(r, 3000));
    await replay.stop();
    await run;
    expect(sim.requests().filter((r) => r.method === 'POST').length).toBe(sent);
  });
});
