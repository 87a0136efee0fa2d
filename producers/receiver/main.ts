/**
 * The receiver service: `node --env-file=.env.example --import=./infra/local/ports-preload.mjs --import tsx
 * producers/receiver/main.ts` (the preload fills in PORT, PUBLIC_BASE_URL and the endpoints, as `make` does).
 * Serves createApp() on HOST:PORT (default 127.0.0.1:8080; the container sets HOST=0.0.0.0); a client
 * must send its whole request within REQUEST_TIMEOUT_MS (default 10 s; server.ts). On SIGTERM/SIGINT
 * it stops accepting connections, lets in-flight requests finish (their stream writes included), flushes
 * the batching producer, then exits; a second signal or DRAIN_TIMEOUT_MS (default 25 s) forces the exit.
 */
import { loadConfig } from '../../platform/config.js';
import { awsClients } from '../../platform/aws.js';
import { createLogger } from '../../platform/logger.js';
import { BatchingProducer } from '../../platform/stream/batching-producer.js';
import { AckCodes } from '../../shared/ack-codes.js';
import { IncidentReader } from '../../shared/incident-item.js';
import type { AckIncidentView } from './ack-page.js';
import { createApp } from './app.js';
import { loadReceiverConfig } from './config.js';
import { S3ErrorSink } from './error-sink.js';
import { loadServerSettings, serveReceiver } from './server.js';
import { consoleDepsOf } from './auth/wiring.js';
import { StreamHealthCheck } from './stream-health.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LakeEngineConfig } from '../../analysis/report/lake-session.js';
import { LAKE_TIMEOUT_MS } from './api/history.js';
import { QueryLakeHistory } from './api/lake.js';
import type { ApiDeps } from './api/routes.js';

const logger = createLogger('receiver');

/** The console's deps with the lake reader (api/lake.ts); each Athena query gives up with the answer's deadline. */
const withLake = (deps: ApiDeps | undefined, config: LakeEngineConfig, s3: S3Client): ApiDeps | undefined =>
  deps && {
    ...deps,
    lake: new QueryLakeHistory({ config, s3, oncall: deps.oncall, athenaTimeoutMs: LAKE_TIMEOUT_MS }),
  };

async function main(): Promise<void> {
  const infra = loadConfig();
  const config = loadReceiverConfig();
  const settings = loadServerSettings();
  const clients = awsClients(infra);
  // Concurrent requests share PutRecords calls (batching-producer.ts: a record waits at most lingerMs, 2 ms,
  // for company); each request is still answered only once its own records are acknowledged. Fewer,
  // shorter retries than the producer's defaults: a webhook sender times out after ~15 s and retries
  // on 503 anyway, so answer within a few seconds (4 attempts of at most 2 s, backoff at most 1 s).
  const producer = new BatchingProducer({
    kinesis: clients.kinesis,
    streamName: infra.STREAM_NAME,
    logger,
    maxAttempts: 4,
    maxDelayMs: 1000,
    callTimeoutMs: 2000,
  });
  const app = createApp({
    config,
    producer,
    ackCodes: new AckCodes({ dynamodb: clients.dynamodb, table: infra.LEDGER_TABLE }),
    errorSink: new S3ErrorSink({ s3: clients.s3, bucket: infra.LAKE_BUCKET }),
    streamHealth: new StreamHealthCheck({ kinesis: clients.kinesis, streamName: infra.STREAM_NAME, logger }),
    // the ack page says when the incident was already acknowledged or escalated (read-only)
    incidents: new IncidentReader<AckIncidentView>({ dynamodb: clients.dynamodb, table: infra.INCIDENTS_TABLE }),
    logger,
    // sign-in, the incident API and the console, when CONSOLE_SESSION_SECRET is set (auth/wiring.ts), with the lake
    // (ENGINE: DuckDB over QUERY_CACHE_DIR locally, Athena on AWS) for the history and the console's analytics
    console: withLake(consoleDepsOf(process.env, infra, clients.dynamodb, logger), infra, clients.s3),
  });

  const { server, address } = await serveReceiver(app.fetch, { ...settings, PORT: config.PORT });
  logger.info(
    {
      host: address.address,
      port: address.port,
      requestTimeoutMs: settings.REQUEST_TIMEOUT_MS,
      stream: infra.STREAM_NAME,
      publicBaseUrl: config.PUBLIC_BASE_URL,
    },
    'receiver listening',
  );

  let draining = false;
  const drain = (signal: string) => {
    if (draining) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    draining = true;
    const timeoutMs = Number(process.env.DRAIN_TIMEOUT_MS ?? 25_000);
    logger.info({ signal, timeoutMs }, 'draining: no new connections, finishing in-flight requests');
    const timer = setTimeout(() => {
      logger.warn({ timeoutMs }, 'drain timeout: exiting with requests in flight');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    server.close(async (err) => {
      // every request has been answered; the producer holds nothing more, but close it to be sure
      await producer.close();
      clients.kinesis.destroy();
      clients.s3.destroy();
      clients.dynamodb.destroy();
      logger.info({}, 'drained');
      process.exit(err ? 1 : 0);
    });
    // Idle keep-alive connections would hold close() open.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  };
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
}

main().catch((err: unknown) => {
  // ConfigError names the variables, never their values.
  logger.fatal({ err: (err as Error).message }, 'receiver failed to start');
  process.exit(1);
});
