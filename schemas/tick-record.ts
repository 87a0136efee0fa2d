import { z } from 'zod';
import { SCHEMA_VERSION } from './record-base.js';
import { Timestamp } from './time.js';

/**
 * A tick: a clock signal on a shard, not an event of any incident. The lake handler puts one after a
 * committed flush that leaves receipts waiting for their dispatch (processors/lake/ticks.ts), keyed by a
 * waiting receipt's own partition key, so it lands on the shard (after a reshard: the child) that holds
 * the receipt. Its only effect is its Kinesis arrival time: the lake's join reads it as the shard's newest
 * arrival and releases the receipts that have waited `RECEIPT_WAIT_S` by it (processors/lake/join.ts), so a
 * receipt on a shard with no other traffic is still written within about RECEIPT_WAIT_S + FLUSH_INTERVAL_S.
 * It writes no row; the raw archive keeps it like any record, so a replay releases the same receipts.
 * Every other consumer skips it (the paging handler counts it): it names no incident and no alarm.
 * `event_id`: derived from the shard, the flush's last sequence number and the partition key
 * (processors/lake/ticks.ts); `event_time`: when it was put (informational: the join reads the arrival time).
 * Not a member of `StreamRecord` (every member there belongs to an incident); `decodeRecordOrTick`
 * (schemas/envelope.ts) reads both. Example (ours, as the lake handler writes it):
 * {"v":1,"kind":"tick","event_id":"evt_5f0c1e2a9b7d4c3e8a1f6b2d0c9e7a45","event_time":"2026-12-07T22:00:10.512Z"}
 */
export const TickRecord = z.object({
  v: z.literal(SCHEMA_VERSION),
  kind: z.literal('tick'),
  event_id: z.string().min(8).max(128),
  event_time: Timestamp,
});
export type TickRecordIn = z.input<typeof TickRecord>;
export type TickRecord = z.output<typeof TickRecord>;
