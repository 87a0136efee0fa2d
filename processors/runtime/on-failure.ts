import { randomUUID } from 'node:crypto';
import type { ShardRecord } from './kinesis-event.js';

/** Why a batch went to the on-failure destination. */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** What Lambda sends to a Kinesis ESM's on-failure destination (metadata only, never the records). */
export interface OnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: {
    statusCode: number;
    executedVersion: '$LATEST';
    /** 'Unhandled' when the function threw; absent when it answered (partial or malformed response). */
    functionError?: string;
  };
  version: '1.0';
  /** ISO-8601 time of the failure. */
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    /** ISO-8601. */
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** The function's ARN from its name, in the stream's region and account. */
export function functionArnOf(functionName: string, streamArn: string, region: string): string {
  const account = streamArn.split(':')[4] || '000000000000';
  return `arn:aws:lambda:${region}:${account}:function:${functionName}`;
}

export interface OnFailureInput {
  records: readonly ShardRecord[];
  condition: FailureCondition;
  invokeCount: number;
  functionError?: string;
  streamArn: string;
  region: string;
  functionName: string;
  now?: Date;
}

/** The on-failure record of the (non-empty, one-shard, in-order) `records`. */
export function onFailureRecord(input: OnFailureInput): OnFailureRecord {
  const { records } = input;
  if (records.length === 0) throw new RangeError('onFailureRecord needs at least one record');
  const first = records[0];
  const last = records[records.length - 1];
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: functionArnOf(input.functionName, input.streamArn, input.region),
      condition: input.condition,
      approximateInvokeCount: input.invokeCount,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(input.functionError !== undefined ? { functionError: input.functionError } : {}),
    },
    version: '1.0',
    timestamp: (input.now ?? new Date()).toISOString(),
    KinesisBatchInfo: {
      shardId: first.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.arrivalTime).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.arrivalTime).toISOString(),
      batchSize: records.length,
      streamArn: input.streamArn,
    },
  };
}
