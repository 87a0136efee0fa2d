/**
 * Reading what test/bench/sdk-tally-preload.mjs recorded in the storm's service processes, and the arithmetic
 * of the storm's cost figures (pure functions, unit-tested in sdk-tally.test.ts):
 *
 * - `roundTripDepth`: the sequential depth of a set of calls — the longest chain in which each call starts after
 *   the previous one ended (calls that overlap in time are one round trip);
 * - `probeFigures`: for one alarm posted alone on an idle paging process, the DynamoDB round trips between its
 *   post and the first provider request, and the calls its record cost (from its post to the event source
 *   mapping's checkpoint after the first provider request);
 * - `cpuMs`: a process's CPU time between two moments, from its samples;
 * - `isMapping`: the calls of the local event source mapping (Kinesis reads, the checkpoint table), which Lambda's
 *   own event source mapping makes on AWS: not the function's calls, not counted.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface TallyRequest {
  s: number;
  e: number;
  svc: 'dynamodb' | 'kinesis' | 'scheduler' | 's3' | 'provider' | 'other';
  op: string;
  table?: string;
  path?: string;
  reqB: number;
  resB?: number;
  cu?: number;
  status?: number;
}

export interface TallyProcess {
  role: string;
  pid: number;
  samples: { at: number; cpu: number }[];
  requests: TallyRequest[];
}

export function readTallies(dir: string): TallyProcess[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => {
      const [, role, pid] = /^(.*)-(\d+)\.jsonl$/.exec(f) ?? [];
      const p: TallyProcess = { role, pid: Number(pid), samples: [], requests: [] };
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!line) continue;
        const x = JSON.parse(line);
        if (x.t === 'p') p.samples.push({ at: x.at, cpu: x.cpu });
        else if (x.t === 'r' && x.e !== undefined) p.requests.push(x);
      }
      return p;
    });
}

const KINESIS_READS = new Set([
  'GetRecords',
  'GetShardIterator',
  'ListShards',
  'DescribeStream',
  'DescribeStreamSummary',
]);
const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** A call of the local event source mapping, not of the handler. */
export const isMapping = (r: TallyRequest, checkpointTable: string) =>
  (r.svc === 'kinesis' && KINESIS_READS.has(r.op)) || (r.svc === 'dynamodb' && r.table === checkpointTable);

export const isDynamoWrite = (r: TallyRequest) => r.svc === 'dynamodb' && DYNAMODB_WRITES.has(r.op);

/** The longest chain of calls each starting at or after the end of the one before (0 for none). */
export function roundTripDepth(calls: readonly { s: number; e: number }[]): number {
  const sorted = [...calls].sort((a, b) => a.s - b.s || a.e - b.e);
  const depth: number[] = [];
  let best = 0;
  for (let i = 0; i < sorted.length; i++) {
    let d = 1;
    for (let j = 0; j < i; j++) if (sorted[j].e <= sorted[i].s) d = Math.max(d, depth[j] + 1);
    depth.push(d);
    best = Math.max(best, d);
  }
  return best;
}

export interface ProbeFigures {
  /** DynamoDB round trips (sequential depth) from the post to the first provider request. */
  roundTrips: number;
  /** DynamoDB requests in that span. */
  dynamodbBefore: number;
  /** Every call of the handler (AWS and provider) from the post to the checkpoint after the first page. */
  calls: number;
  byOp: Record<string, number>;
}

/** What one alarm posted at `postAt` on an idle paging process cost; undefined when no page was seen. */
export function probeFigures(
  requests: readonly TallyRequest[],
  postAt: number,
  checkpointTable: string,
): ProbeFigures | undefined {
  const after = requests.filter((r) => r.s >= postAt).sort((a, b) => a.s - b.s);
  const firstPage = after.find((r) => r.svc === 'provider');
  if (!firstPage) return undefined;
  const checkpoint = after.find((r) => r.s >= firstPage.s && r.svc === 'dynamodb' && r.table === checkpointTable);
  const end = checkpoint?.s ?? Number.POSITIVE_INFINITY;
  const before = after.filter((r) => r.svc === 'dynamodb' && !isMapping(r, checkpointTable) && r.e <= firstPage.s);
  const handler = after.filter((r) => r.s < end && !isMapping(r, checkpointTable));
  const byOp: Record<string, number> = {};
  for (const r of handler) byOp[`${r.svc}:${r.op}`] = (byOp[`${r.svc}:${r.op}`] ?? 0) + 1;
  return { roundTrips: roundTripDepth(before), dynamodbBefore: before.length, calls: handler.length, byOp };
}

/** A process's CPU ms between `from` and `to`: its last samples at or before each (its first, if none). */
export function cpuMs(samples: readonly { at: number; cpu: number }[], from: number, to: number): number {
  if (samples.length === 0) return 0;
  const at = (t: number) => {
    let v = samples[0].cpu;
    for (const s of samples) if (s.at <= t) v = s.cpu;
    return v;
  };
  return (at(to) - at(from)) / 1000;
}
