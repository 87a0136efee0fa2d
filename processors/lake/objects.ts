import { ERROR_PREFIX, EVENTS_TABLE, RAW_TABLE, type EventRow, type RawRow } from '../../schemas/lake.js';
import { utcDate } from '../../schemas/time.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import { encodeParquet } from './parquet.js';
import type { ErrorLine, FlushBatch } from './shard-pipeline.js';
import { objectName } from '../../schemas/lake-keys.js';

export interface LakeObject {
  key: string;
  body: Uint8Array;
  contentType: string;
  rows: number;
}

// Key names live in schemas/lake-keys.ts (no Parquet, no zod: `make query` reads keys without loading the writer).
export { objectName, parseObjectKey } from '../../schemas/lake-keys.js';

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const byTimeThenId = (a: EventRow, b: EventRow) =>
  a.timestamp - b.timestamp || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);

/**
 * The objects one flush writes: event rows by event day, raw records and error lines by arrival day.
 * Pure: the same batch (and epoch: see `objectName`) always yields the same keys and bytes.
 */
export function objectsOf(batch: FlushBatch, epoch = 0): LakeObject[] {
  const name = objectName(batch.shardId, batch.firstSeq, batch.lastSeq, epoch);
  const out: LakeObject[] = [];
  for (const [dt, rows] of groupBy(batch.events, (r) => utcDate(r.timestamp))) {
    rows.sort(byTimeThenId);
    out.push({
      key: `${EVENTS_TABLE.prefix}dt=${dt}/${name}.parquet`,
      body: encodeParquet(EVENTS_TABLE, rows),
      contentType: 'application/vnd.apache.parquet',
      rows: rows.length,
    });
  }
  for (const [dt, rows] of groupBy(batch.raw, (r: RawRow) => utcDate(r.arrival_time))) {
    rows.sort((a, b) => compareSequenceNumbers(a.sequence_number, b.sequence_number));
    out.push({
      key: `${RAW_TABLE.prefix}dt=${dt}/${name}.parquet`,
      body: encodeParquet(RAW_TABLE, rows),
      contentType: 'application/vnd.apache.parquet',
      rows: rows.length,
    });
  }
  for (const [dt, lines] of groupBy(batch.errors, (e: ErrorLine) => e.arrival_time.slice(0, 10))) {
    const body = new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    out.push({
      key: `${ERROR_PREFIX}dt=${dt}/${name}.jsonl`,
      body,
      contentType: 'application/x-ndjson',
      rows: lines.length,
    });
  }
  return out;
}
