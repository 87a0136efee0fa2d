import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { partitionKeyOf } from './envelope.js';
import { fitsPartitionKey, HASHED_KEY_PREFIX, partitionKeyFor } from './partition-key.js';
import { alarmEvent, dispatch, receipt, T0 } from '../test/fixtures/records.js';

const PREFIX = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:';
/** An ARN of exactly `units` UTF-16 code units, ending in `tail`. */
const arnOf = (units: number, tail = '') => PREFIX + 'a'.repeat(units - PREFIX.length - tail.length) + tail;
const hashed = (arn: string) => HASHED_KEY_PREFIX + createHash('sha256').update(arn, 'utf8').digest('hex');

describe('partitionKeyFor', () => {
  it.each([
    ['255 units', arnOf(255), 'arn'],
    ['256 units: the limit', arnOf(256), 'arn'],
    ['257 units', arnOf(257), 'hash'],
    ['an emoji ending at unit 256 (its surrogates at 255–256)', arnOf(256, '😀'), 'arn'],
    ['an emoji straddling the limit (units 256–257): 256 code points, 257 units', arnOf(257, '😀'), 'hash'],
    ['storm-em100- + 100 emoji: 160 code points, 260 units', PREFIX + 'storm-em100-' + '😀'.repeat(100), 'hash'],
    ['a 255-character alarm name', PREFIX + 'n'.repeat(255), 'hash'],
  ])('%s', (_, arn, expected) => {
    const key = partitionKeyFor(arn);
    expect(key).toBe(expected === 'arn' ? arn : hashed(arn));
    expect(fitsPartitionKey(key)).toBe(true);
    expect(key.length).toBeLessThanOrEqual(256);
    expect(partitionKeyFor(arn)).toBe(key); // stable
  });

  it('two long ARNs that differ only past the limit get different keys', () => {
    expect(partitionKeyFor(arnOf(300, 'x'))).not.toBe(partitionKeyFor(arnOf(300, 'y')));
  });

  it('an alarm record and the dispatch and receipt records of its ARN share the key', () => {
    const arn = PREFIX + 'storm-em100-' + '😀'.repeat(100);
    const records = [
      alarmEvent({ arn }),
      { ...dispatch('SM1', T0 + 1), alarm_arn: arn },
      { ...receipt('SM1', 'delivered', T0 + 2), alarm_arn: arn },
    ];
    expect(new Set(records.map(partitionKeyOf))).toEqual(new Set([hashed(arn)]));
  });
});
