import { describe, expect, it } from 'vitest';
import { cpuMs, probeFigures, roundTripDepth, type TallyRequest } from './sdk-tally.js';

const r = (svc: TallyRequest['svc'], op: string, s: number, e: number, table?: string): TallyRequest => ({
  svc,
  op,
  s,
  e,
  table,
  reqB: 0,
});

describe('the storm’s SDK tally', () => {
  it('roundTripDepth: overlapping calls are one round trip, a call after another’s end is the next', () => {
    expect(roundTripDepth([])).toBe(0);
    // a ∥ b, then c after both, d overlapping c: 2 round trips
    expect(
      roundTripDepth([
        r('dynamodb', 'a', 0, 5),
        r('dynamodb', 'b', 1, 6),
        r('dynamodb', 'c', 6, 9),
        r('dynamodb', 'd', 7, 8),
      ]),
    ).toBe(2);
    // 4 sequential calls
    expect(roundTripDepth([0, 1, 2, 3].map((i) => r('dynamodb', 'x', i * 10, i * 10 + 5)))).toBe(4);
  });

  it('probeFigures: DynamoDB round trips before the first page; calls up to the checkpoint after it', () => {
    const cp = 'checkpoints';
    const reqs = [
      r('dynamodb', 'GetItem', 90, 95, 'incidents'), // before the post: not this alarm's
      r('kinesis', 'GetRecords', 100, 110),
      r('dynamodb', 'GetItem', 111, 115, 'incidents'),
      r('dynamodb', 'GetItem', 111, 116, 'ledger'),
      r('dynamodb', 'PutItem', 117, 120, 'incidents'),
      r('provider', '/Messages.json', 121, 300),
      r('provider', '/emails', 122, 280),
      r('dynamodb', 'PutItem', 301, 305, 'ledger'), // after the first page: counted as a call, not a round trip
      r('kinesis', 'PutRecords', 306, 310),
      r('dynamodb', 'PutItem', 311, 315, cp), // the mapping's checkpoint ends the record's calls
      r('dynamodb', 'PutItem', 400, 405, 'incidents'),
    ];
    expect(probeFigures(reqs, 100, cp)).toEqual({
      roundTrips: 2,
      dynamodbBefore: 3,
      calls: 7,
      byOp: {
        'dynamodb:GetItem': 2,
        'dynamodb:PutItem': 2,
        'provider:/Messages.json': 1,
        'provider:/emails': 1,
        'kinesis:PutRecords': 1,
      },
    });
    expect(probeFigures(reqs.slice(0, 5), 100, cp)).toBeUndefined(); // no page
  });

  it('cpuMs: the samples at or before each moment, in ms', () => {
    const samples = [
      { at: 0, cpu: 100_000 },
      { at: 200, cpu: 150_000 },
      { at: 400, cpu: 400_000 },
    ];
    expect(cpuMs(samples, 200, 400)).toBe(250);
    expect(cpuMs(samples, 250, 1000)).toBe(250);
    expect(cpuMs(samples, -50, 100)).toBe(0);
  });
});
