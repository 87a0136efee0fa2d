import { decodeRecordOrTick, type RecordOrTick } from '../../schemas/envelope.js';
import { RecordDecodeError } from '../../schemas/errors.js';
import type { EventRow, RawRow } from '../../schemas/lake.js';
import { type EventJoin, eventTimeError } from './join.js';

/** A record as read from a shard (bytes already base64-decoded by the SDK). */
export interface LakeInputRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  arrivalTime: number;
}

/** A record that failed validation, as written under the error prefix (one JSON line each). */
export interface ErrorLine {
  reason: string;
  path: string;
  shard_id: string;
  sequence_number: string;
  partition_key: string;
  arrival_time: string;
  data_base64: string;
}

/** Everything one flush of one shard writes: the records in [firstSeq, lastSeq] and the rows they released. */
export interface FlushBatch {
  shardId: string;
  firstSeq: string;
  lastSeq: string;
  records: number;
  events: EventRow[];
  raw: RawRow[];
  errors: ErrorLine[];
}

/**
 * One shard's path from records to rows: archive every record, decode and validate it (bad ones, and
 * ones whose event time is out of bounds of their arrival time, to the error lines with the reason,
 * never stopping), feed the join (a tick: its arrival time only), and collect what a flush must write.
 */
export class ShardPipeline {
  private raw: RawRow[] = [];
  private errors: ErrorLine[] = [];
  private firstSeq: string | undefined;
  private lastSeq: string | undefined;

  constructor(
    readonly shardId: string,
    readonly join: EventJoin,
  ) {}

  /** Records taken in since the last `take()`. */
  get buffered(): number {
    return this.raw.length;
  }

  get lastSequenceNumber(): string | undefined {
    return this.lastSeq;
  }

  push(r: LakeInputRecord): void {
    this.firstSeq ??= r.sequenceNumber;
    this.lastSeq = r.sequenceNumber;
    this.raw.push({
      shard_id: r.shardId,
      sequence_number: r.sequenceNumber,
      partition_key: r.partitionKey,
      arrival_time: r.arrivalTime,
      data: r.data,
    });
    let record: RecordOrTick;
    try {
      record = decodeRecordOrTick(r.data);
    } catch (err) {
      const e = err instanceof RecordDecodeError ? err : new RecordDecodeError(String(err), []);
      this.reject(r, e.message, e.path);
      return;
    }
    if (record.kind === 'tick') {
      this.join.tick(r); // archived above, no row: only its arrival time counts (schemas/tick-record.ts)
      return;
    }
    // Out-of-bounds event times (relative to the arrival time, so a replay decides the same) go to the errors.
    const timeError = eventTimeError(record.event_time, r.arrivalTime, this.join.options);
    if (timeError) {
      this.reject(r, timeError, 'event_time');
      return;
    }
    this.join.push(record, r);
  }

  private reject(r: LakeInputRecord, reason: string, path: string): void {
    this.errors.push({
      reason,
      path,
      shard_id: r.shardId,
      sequence_number: r.sequenceNumber,
      partition_key: r.partitionKey,
      arrival_time: new Date(r.arrivalTime).toISOString(),
      data_base64: Buffer.from(r.data).toString('base64'),
    });
  }

  /** Takes what a flush writes; undefined when no record came in since the last take. */
  take(): FlushBatch | undefined {
    if (this.firstSeq === undefined || this.lastSeq === undefined) return undefined;
    const batch: FlushBatch = {
      shardId: this.shardId,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      records: this.raw.length,
      events: this.join.drain(),
      raw: this.raw,
      errors: this.errors,
    };
    this.raw = [];
    this.errors = [];
    this.firstSeq = this.lastSeq = undefined;
    return batch;
  }
}
