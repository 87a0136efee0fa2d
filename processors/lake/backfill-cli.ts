import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config.js';
import { dynamoClient, kinesisClient, s3Client } from '../../platform/aws.js';
import { createLogger } from '../../platform/logger.js';
import { CheckpointStore } from '../consumer/checkpoint-store.js';
import { archiveRangeNote, emptyRangeNote, rawArchiveDays } from './archive-days.js';
import { backfill } from './backfill.js';
import { FAILURE_PREFIX } from './failures.js';
import { LakeStore } from './lake-store.js';
import { replayFailures } from './replay-failures.js';
import { batchSizeOf, headGroupOf, joinOptionsOf } from './wiring.js';

const USAGE = `usage: make backfill FROM=<ISO 8601> TO=<ISO 8601>  (arrival times; TO exclusive; a day alone is its UTC
       midnight, e.g. FROM=2026-12-01 TO=2026-12-02 is that whole day; run it without FROM/TO to see the days with data)
       make backfill FAILURES=1 [FAILURES_PREFIX=${FAILURE_PREFIX}]  (replay the batches the mapping gave up on)`;

/** The archive's range as a line, or why it cannot be told (S3 unreachable): never a reason to fail. */
async function archiveRange(config: ReturnType<typeof loadConfig>, note: typeof archiveRangeNote): Promise<string> {
  const s3 = s3Client(config);
  try {
    return note(await rawArchiveDays(s3, config.LAKE_BUCKET), config.LAKE_BUCKET);
  } catch (err) {
    return `(cannot list the raw archive s3://${config.LAKE_BUCKET}/raw/: ${err instanceof Error ? err.message : err})`;
  } finally {
    s3.destroy();
  }
}

/** `make backfill FROM=<ISO> TO=<ISO>` or `make backfill FAILURES=1` */
async function main() {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      failures: { type: 'boolean' },
      'failures-prefix': { type: 'string' },
    },
  });
  const config = loadConfig();
  const started = Date.now();
  const common = {
    kinesis: kinesisClient(config),
    streamName: config.STREAM_NAME,
    store: new LakeStore(s3Client(config), config.LAKE_BUCKET),
    heads: new CheckpointStore({ dynamodb: dynamoClient(config), table: config.CHECKPOINT_TABLE }),
    group: headGroupOf(config),
    join: joinOptionsOf(config),
    logger: createLogger('backfill', config.LOG_LEVEL),
    progress: (line: string) => console.log(line),
  };

  if (values.failures) {
    const prefix = values['failures-prefix'] || FAILURE_PREFIX;
    console.log(
      `replaying the on-failure records under s3://${config.LAKE_BUCKET}/${prefix} from stream ${config.STREAM_NAME}`,
    );
    const replays = await replayFailures({ ...common, prefix });
    const replayed = replays.filter((r) => r.firstSeq !== undefined);
    console.log(
      `done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify({
        failures: replays.length,
        replayed: replayed.length,
        records: replayed.reduce((n, r) => n + r.records - r.committed, 0),
        rows: replayed.reduce((n, r) => n + r.rows, 0),
        objectsWritten: replayed.reduce((n, r) => n + r.keys.length, 0),
      })}`,
    );
    return;
  }

  const from = new Date(values.from ?? '');
  const to = new Date(values.to ?? '');
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    console.error(`${USAGE}\n${await archiveRange(config, archiveRangeNote)}`);
    process.exit(2);
  }
  console.log(
    `backfill ${from.toISOString()} → ${to.toISOString()} from stream ${config.STREAM_NAME} ` +
      `and s3://${config.LAKE_BUCKET}/raw/`,
  );
  const report = await backfill({ ...common, from, to, flushMaxRecords: batchSizeOf(config) });
  const { keys, ...summary } = report;
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(summary)}`);
  void keys;
  // Nothing to do is not an error (rc 0), but a silent zero reads like success on the wrong dates.
  if (report.records === 0)
    console.error(await archiveRange(config, (days, bucket) => emptyRangeNote(from, to, days, bucket)));
}

main().catch((err) => {
  console.error(`backfill failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
