import { loadConfig } from '../config.js';
import { awsClients } from '../aws.js';
import { createLogger } from '../logger.js';
import { encodeRecord, partitionKeyOf } from '../../schemas/envelope.js';
import { KinesisProducer } from '../../producers/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { compareSeq } from '../../processors/lake/join.js';
import { LakeProcessor } from '../../processors/lake/lake-processor.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { queryDuckDb } from '../../processors/query/duckdb-engine.js';
import { formatTable } from '../../processors/query/result.js';
import { down, engineProcesses, stackContext, up } from './stack.js';
import { demoScenario } from './demo-scenario.js';

/**
 * `make demo`: start the local stack (unless it runs already), put a scripted history of four
 * incidents on the stream, run the lake processor until it has made all of it durable, answer the
 * seed query and a per-incident verdict from the lake, and stop what it started.
 */
export const SEED_QUERY = "SELECT incident_id, channel, status FROM alert_events WHERE status = 'opened' AND timestamp < escalation_time";

const after = (col: string) => `COALESCE('+' || CAST(epoch(${col}) - epoch(i.opened_at) AS INTEGER) || 's', '-')`;
const verdictQuery = (ids: string[]) => `
SELECT i.incident_id, i.alarm_name AS alarm, i.severity AS sev,
  (SELECT string_agg(DISTINCT e.person || ':' || e.channel || '@L' || e."level", ' ' ORDER BY e.person || ':' || e.channel || '@L' || e."level")
     FROM alert_events e WHERE e.incident_id = i.incident_id AND e.kind = 'dispatch') AS paged,
  ${after('i.first_delivered_at')} AS delivered,
  ${after('i.first_opened_at')} AS opened,
  ${after('i.acknowledged_at')} AS acked,
  ${after('i.escalated_at')} AS escalated,
  i.failed_deliveries AS failed,
  CASE WHEN i.first_opened_at IS NOT NULL AND (i.escalated_at IS NULL OR i.first_opened_at < i.escalated_at) THEN 'yes'
       WHEN i.first_opened_at IS NULL AND i.escalated_at IS NULL AND i.first_delivered_at IS NOT NULL THEN 'no (delivered, no read receipt)'
       ELSE 'no' END AS opened_before_escalation
FROM incidents i
WHERE i.incident_id IN (${ids.map((id) => `'${id}'`).join(', ')})
ORDER BY i.opened_at`;

async function main() {
  const started = Date.now();
  const ctx = stackContext();
  const wasUp = (await Promise.all(engineProcesses(ctx).map((p) => p.health()))).every(Boolean);
  await up(ctx);
  try {
    const config = loadConfig();
    const clients = awsClients(config);
    const log = createLogger('demo', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);

    const { records, incidents } = demoScenario(Date.now() - 20 * 60_000);
    const producer = new KinesisProducer({ kinesis: clients.kinesis, streamName: config.STREAM_NAME });
    const written = await producer.putRecords(records.map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) })));
    console.log(`\nput ${written.length} records of ${incidents.length} incidents on ${config.STREAM_NAME}`);
    for (const i of incidents) console.log(`  ${i.incident_id}  ${i.alarm_name.padEnd(26)} ${i.story}`);

    // Run the lake processor until every record just written is flushed and checkpointed.
    const need = new Map<string, string>();
    for (const w of written) if (!need.has(w.shardId) || compareSeq(w.sequenceNumber, need.get(w.shardId)!) > 0) need.set(w.shardId, w.sequenceNumber);
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const processor = new LakeProcessor({
      kinesis: clients.kinesis,
      streamName: config.STREAM_NAME,
      store: new LakeStore(clients.s3, config.LAKE_BUCKET),
      checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
      group: config.CONSUMER_GROUP,
      flushIntervalMs: 1000,
      flushMaxRecords: config.FLUSH_MAX_ROWS,
      join: { windowMs: config.JOIN_WINDOW_S * 1000, allowedLatenessMs: config.ALLOWED_LATENESS_S * 1000, maxStateEntries: config.MAX_STATE_ENTRIES },
      logger: log,
      onFlush: (batch, keys) => {
        console.log(`  lake: ${batch.shardId} ${batch.records} records → ${batch.events.length} rows, ${keys.length} objects`);
        const target = need.get(batch.shardId);
        if (target && compareSeq(batch.lastSeq, target) >= 0) need.delete(batch.shardId);
        if (need.size === 0) resolveDone();
      },
    });
    const running = processor.run();
    const timeout = setTimeout(() => resolveDone(), 90_000);
    await Promise.race([done, running]);
    clearTimeout(timeout);
    await processor.stop();
    await running;
    if (need.size > 0) throw new Error(`the lake processor did not flush shards ${[...need.keys()].join(', ')} within 90 s`);

    const q = { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR };
    console.log(`\n${SEED_QUERY}`);
    console.log(formatTable(await queryDuckDb(SEED_QUERY, q)));
    console.log('\nper-incident verdict (times after the alarm opened):');
    console.log(formatTable(await queryDuckDb(verdictQuery(incidents.map((i) => i.incident_id)), q)));
    console.log(`\ndemo done in ${((Date.now() - started) / 1000).toFixed(1)} s. Try: make query SQL="SELECT * FROM incidents"`);
  } finally {
    if (!wasUp) await down(ctx);
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
