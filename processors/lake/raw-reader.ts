import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import type { LakeInputRecord } from './shard-pipeline.js';

const toMs = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));

/** Raw archive object (RAW_TABLE Parquet) → the records as they were read from the stream. */
export function readRawArchive(bytes: Uint8Array): LakeInputRecord[] {
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  const shard = table.getChild('shard_id')!;
  const seq = table.getChild('sequence_number')!;
  const pk = table.getChild('partition_key')!;
  const arrival = table.getChild('arrival_time')!;
  const data = table.getChild('data')!;
  const out: LakeInputRecord[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    out[i] = {
      shardId: shard.get(i) as string,
      sequenceNumber: seq.get(i) as string,
      partitionKey: pk.get(i) as string,
      arrivalTime: toMs(arrival.get(i)),
      data: new Uint8Array(data.get(i) as Uint8Array),
    };
  }
  return out;
}
