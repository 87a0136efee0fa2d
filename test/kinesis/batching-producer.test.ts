/**
 * BatchingProducer against kinesalite through the real SDK client (HTTP/1.1, abort signals): many
 * concurrent puts share few PutRecords calls, every caller gets its own acknowledgements, and every
 * acknowledged record is on the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand,
  type PutRecordsCommand,
  waitUntilStreamExists,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { startKinesalite, type RunningEngine } from '../../infra/local/engines.js';
import { kinesisClient } from '../../platform/aws.js';
import { BatchingProducer } from '../../platform/stream/batching-producer.js';
import { readStream } from '../helpers/read-stream.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';

let engine: RunningEngine;
let kinesis: KinesisClient;
const STREAM = 'batching-producer-test';

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';
  process.env.AWS_ACCESS_KEY_ID ||= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ||= 'local';
  engine = await startKinesalite();
  kinesis = kinesisClient({ AWS_REGION: 'us-east-1', KINESIS_ENDPOINT: engine.endpoint });
  await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
  await waitUntilStreamExists(
    { client: kinesis, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.2 },
    { StreamName: STREAM },
  );
});

afterAll(async () => {
  kinesis?.destroy();
  await engine?.close();
});

const ack = (alarm: number, i: number): StreamRecordIn & { event_id: string } => {
  const arn = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:batch-${alarm}`;
  const inc = incidentId(arn, Date.parse('2026-11-28T10:00:00.000Z'));
  return {
    v: 1,
    kind: 'ack' as const,
    event_id: eventId('ack', inc, String(i)),
    incident_id: inc,
    alarm_arn: arn,
    event_time: new Date(Date.parse('2026-11-28T10:01:00.000Z') + i).toISOString(),
    channel: 'sms',
    via: 'sms_reply',
  };
};

describe('BatchingProducer on kinesalite', () => {
  it(
    '300 concurrent puts share a few calls; each is acknowledged with its own sequence numbers, and all are on the ' +
      'stream',
    async () => {
      let calls = 0;
      const counting = {
        send: ((command: PutRecordsCommand, options?: object) => (
          calls++, kinesis.send(command, options)
        )) as KinesisClient['send'],
      };
      const producer = new BatchingProducer({ kinesis: counting, streamName: STREAM, lingerMs: 5 });
      const puts = Array.from({ length: 300 }, (_, i) =>
        producer.putStreamRecords(i % 10 === 0 ? [ack(i % 7, i), ack(i % 7, i + 10_000)] : [ack(i % 7, i)]),
      );
      const results = await Promise.all(puts);
      await producer.close();

      expect(calls).toBeLessThan(30);
      const sequenceNumbers = results.flat().map((r) => r.sequenceNumber);
      expect(new Set(sequenceNumbers).size).toBe(330);
      // the two records of one put went in one call, in order: consecutive on their shard
      expect(BigInt(results[0][1].sequenceNumber) > BigInt(results[0][0].sequenceNumber)).toBe(true);
      expect(results[0][1].shardId).toBe(results[0][0].shardId);

      const onStream = await readStream(kinesis, STREAM);
      const bySeq = new Map(onStream.map((e) => [e.sequenceNumber, e.eventId]));
      results.forEach((r, i) => {
        expect(bySeq.get(r[0].sequenceNumber)).toBe(ack(i % 7, i).event_id);
      });
      expect(onStream).toHaveLength(330);
    },
  );
});
