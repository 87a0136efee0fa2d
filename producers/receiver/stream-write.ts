import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { RecordDecodeError } from '../../schemas/errors.js';
import { InvalidRecordError, RecordTooLargeError } from '../../platform/stream/errors.js';
import { PayloadError, StreamWriteError } from './errors.js';

/**
 * The stream write of every producer path (the receiver's routes, the EventBridge alarm function):
 * validate, then write and wait, with the failure classified as the body's fault or the stream's.
 */

/**
 * The stream writer (BatchingProducer in production, KinesisProducer in some tests and the alarm function):
 * resolves only once every record is durable.
 */
export interface StreamWriter {
  putStreamRecords(records: readonly StreamRecordIn[]): Promise<unknown>;
}

/**
 * Validates every record (nothing is written if one is invalid: a PayloadError), then writes them all
 * and waits until the stream acknowledged them (a StreamWriteError otherwise). A record the producer
 * refuses before sending (too large, a partition key the stream can never accept, not encodable) is the
 * body's fault, not the stream's: a PayloadError, so the sender does not retry it forever.
 */
export async function writeRecords(
  deps: { producer: StreamWriter },
  records: readonly StreamRecordIn[],
): Promise<void> {
  records.forEach((r, i) => {
    const parsed = StreamRecord.safeParse(r);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PayloadError(
        `would not be a valid ${r.kind} record: ${issue.message}`,
        records.length > 1 ? [i, ...issue.path] : issue.path,
      );
    }
  });
  if (records.length === 0) return;
  try {
    await deps.producer.putStreamRecords(records);
  } catch (cause) {
    if (
      cause instanceof InvalidRecordError ||
      cause instanceof RecordTooLargeError ||
      cause instanceof RecordDecodeError
    ) {
      throw new PayloadError(`the stream refuses the record: ${cause.message}`, [], { cause });
    }
    throw new StreamWriteError({ cause });
  }
}
