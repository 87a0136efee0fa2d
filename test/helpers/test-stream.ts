import { expect } from 'vitest';
import {
  toKinesisStreamRecord,
  type KinesisBatchHandler,
  type KinesisStreamEvent,
} from '../../processors/runtime/kinesis-event.js';
import { encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';

/**
 * An in-memory stream for handler tests: records go in (from the test and from what the handler
 * writes), `event()` shapes them as the Lambda Kinesis event of one shard (increasing sequence
 * numbers, arrival at the driven clock), `pump()` delivers what was not yet delivered until nothing
 * new comes back, as Kinesis would.
 */
export class TestStream {
  readonly records: StreamRecordIn[] = [];
  private delivered = 0;
  private seq = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  /** The sequence number the last record of the last event got. */
  get lastSequenceNumber(): string {
    return String(this.seq).padStart(20, '0');
  }

  push(...records: StreamRecordIn[]): void {
    this.records.push(...records);
  }

  event(records: StreamRecordIn[]): KinesisStreamEvent {
    return {
      Records: records.map((r) =>
        toKinesisStreamRecord(
          {
            shardId: 'shardId-000000000000',
            sequenceNumber: String(++this.seq).padStart(20, '0'),
            partitionKey: partitionKeyOf(r),
            data: encodeRecord(r),
            arrivalTime: this.clock(),
          },
          { streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/test', region: 'us-east-1' },
        ),
      ),
    };
  }

  /** Delivers everything not yet delivered, and what the handler writes meanwhile; every batch must succeed. */
  async pump(handler: KinesisBatchHandler): Promise<void> {
    while (this.delivered < this.records.length) {
      const batch = this.records.slice(this.delivered);
      this.delivered = this.records.length;
      expect((await handler(this.event(batch))).batchItemFailures).toEqual([]);
    }
  }

  kinds(kind: StreamRecordIn['kind']): StreamRecordIn[] {
    return this.records.filter((r) => r.kind === kind);
  }
}
