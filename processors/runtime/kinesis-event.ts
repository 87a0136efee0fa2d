import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/**
 * The Lambda Kinesis event contract, shared by every stream processor: a handler takes one batch of
 * one shard (`KinesisStreamEvent`, records in shard order, data base64) and answers which records
 * failed (`ReportBatchItemFailures`: the mapping checkpoints before the lowest failed sequence number
 * and retries from it). Throwing fails the whole batch (retried from its first record).
 *
 * On AWS the event source mapping calls it; locally `processors/runtime/event-source-mapping.ts` does,
 * with the same event shape built by `toKinesisStreamRecord`.
 */
export type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord };

export type KinesisBatchHandler = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

/** A record as read from a shard (what the local mapping has before it builds the event). */
export interface ShardRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  /** ApproximateArrivalTimestamp, epoch ms. */
  arrivalTime: number;
}

export interface EventSourceInfo {
  /** e.g. arn:aws:kinesis:us-east-1:000000000000:stream/pagetrail-events */
  streamArn: string;
  region: string;
  /** The function name (the event's eventSourceARN is the stream; eventID is shardId:sequence). */
  functionName?: string;
}

/** A shard record → the record of a Lambda Kinesis event, exactly as AWS shapes it. */
export function toKinesisStreamRecord(r: ShardRecord, src: EventSourceInfo): KinesisStreamRecord {
  return {
    awsRegion: src.region,
    eventID: `${r.shardId}:${r.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    eventSource: 'aws:kinesis',
    eventSourceARN: src.streamArn,
    eventVersion: '1.0',
    invokeIdentityArn: `arn:aws:iam::000000000000:role/${src.functionName ?? 'local'}`,
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: Buffer.from(r.data).toString('base64'),
      approximateArrivalTimestamp: r.arrivalTime / 1000,
    },
  };
}

/** The shard a Lambda Kinesis record came from (`eventID` is `shardId:sequenceNumber`). */
export function shardIdOf(r: KinesisStreamRecord): string {
  const i = r.eventID.lastIndexOf(':');
  return i > 0 ? r.eventID.slice(0, i) : r.eventID;
}

/** A Lambda Kinesis record → the shard record it was built from (data decoded from base64). */
export function fromKinesisStreamRecord(r: KinesisStreamRecord): ShardRecord {
  return {
    shardId: shardIdOf(r),
    sequenceNumber: r.kinesis.sequenceNumber,
    partitionKey: r.kinesis.partitionKey,
    data: Buffer.from(r.kinesis.data, 'base64'),
    arrivalTime: Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
  };
}

/** The stream ARN of a stream name (locally the account is 000000000000). */
export function streamArnOf(streamName: string, region: string, account = '000000000000'): string {
  return `arn:aws:kinesis:${region}:${account}:stream/${streamName}`;
}
