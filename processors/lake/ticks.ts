import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from '../../platform/logger.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { encodeTick } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import type { EventJoin } from './join.js';

/** Ticks put after one flush, at most (one per partition key of a waiting receipt). */
export const DEFAULT_MAX_TICKS = 16;

export interface TickOptions {
  /** Ticks per committed flush, at most. Default 16. */
  max?: number;
  /** PutRecords attempts (the first included). Default 4: a failure is logged and the batch goes on. */
  maxAttempts?: number;
}

export interface TickerOptions extends TickOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  logger: Logger;
  /** The clock of the ticks' `event_time` (informational: the join reads their arrival time). */
  now: () => number;
}

/**
 * Ticks (schemas/tick-record.ts) put by the live lake handler after a committed flush that leaves receipts
 * waiting for their dispatch: one per partition key of a waiting receipt (the longest-waiting first, at most
 * `max`), so each lands on the shard that holds the receipt (after a reshard, the child that took it) and
 * its arrival time releases the receipt there once it has waited RECEIPT_WAIT_S, even with no other
 * traffic. While receipts wait every flush of the shard puts ticks again, so the loop runs about once per
 * batching window and ends when the last receipt is written (by its dispatch or the bound): at most
 * RECEIPT_WAIT_S / FLUSH_INTERVAL_S + 1 extra flushes per wait. A put that fails is logged and never fails the
 * batch: the receipts stay in the committed state and the shard's next flush ticks again. Only the live
 * handler ticks; a backfill or a replay of failures never does (they flush without this).
 */
export class Ticker {
  private readonly producer: KinesisProducer;
  private readonly max: number;

  constructor(private readonly o: TickerOptions) {
    this.max = o.max ?? DEFAULT_MAX_TICKS;
    if (!(Number.isInteger(this.max) && this.max >= 1 && this.max <= 500))
      throw new RangeError('ticks: max must be an integer 1..500');
    this.producer = new KinesisProducer({
      kinesis: o.kinesis,
      streamName: o.streamName,
      maxAttempts: o.maxAttempts ?? 4,
      baseDelayMs: 50,
      maxDelayMs: 1000,
    });
  }

  /**
   * Puts the ticks `join` needs after the flush that ended at `lastSeq` (committed); returns how many were put
   * (0 when nothing waits, or when the put failed: logged). Never throws.
   */
  async afterCommit(shardId: string, join: EventJoin, lastSeq: string): Promise<number> {
    const keys = join.waitingPartitionKeys(this.max);
    if (keys.length === 0) return 0;
    const at = new Date(this.o.now()).toISOString();
    try {
      const entries = keys.map((partitionKey) => ({
        partitionKey,
        data: encodeTick({
          v: 1,
          kind: 'tick',
          event_id: eventId('tick', shardId, lastSeq, partitionKey),
          event_time: at,
        }),
      }));
      await this.producer.putRecords(entries);
      this.o.logger.debug({ shardId, lastSeq, ticks: keys.length, waiting: join.pendingCount }, 'ticks put');
      return keys.length;
    } catch (err) {
      this.o.logger.warn(
        { err, shardId, lastSeq, ticks: keys.length, waiting: join.pendingCount },
        'ticks not put: the waiting receipts stay in the state until the shard’s next record',
      );
      return 0;
    }
  }
}
