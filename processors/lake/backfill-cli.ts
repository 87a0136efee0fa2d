import { parseArgs } from 'node:util';
import { loadConfig } from '../../infra/config.js';
import { kinesisClient, s3Client } from '../../infra/aws.js';
import { createLogger } from '../../infra/logger.js';
import { backfill } from './backfill.js';
import { LakeStore } from './lake-store.js';

/** `make backfill FROM=<ISO> TO=<ISO>` */
async function main() {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' } } });
  const from = new Date(values.from ?? '');
  const to = new Date(values.to ?? '');
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    console.error('usage: make backfill FROM=2026-11-28T00:00:00Z TO=2026-11-29T00:00:00Z  (ISO-8601 times; TO exclusive)');
    process.exit(2);
  }
  const config = loadConfig();
  const started = Date.now();
  console.log(`backfill ${from.toISOString()} → ${to.toISOString()} from stream ${config.STREAM_NAME} and s3://${config.LAKE_BUCKET}/raw/`);
  const report = await backfill({
    kinesis: kinesisClient(config),
    streamName: config.STREAM_NAME,
    store: new LakeStore(s3Client(config), config.LAKE_BUCKET),
    from,
    to,
    group: config.CONSUMER_GROUP,
    flushMaxRecords: config.FLUSH_MAX_ROWS,
    join: { windowMs: config.JOIN_WINDOW_S * 1000, allowedLatenessMs: config.ALLOWED_LATENESS_S * 1000, maxStateEntries: config.MAX_STATE_ENTRIES },
    logger: createLogger('backfill', config.LOG_LEVEL),
    progress: (line) => console.log(line),
  });
  const { keys, ...summary } = report;
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(summary)}`);
  void keys;
}

main().catch((err) => {
  console.error(`backfill failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
