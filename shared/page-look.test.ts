import { describe, expect, it } from 'vitest';
import { cloudWatchAlarmUrl, utcTime } from './page-look.js';

describe('cloudWatchAlarmUrl', () => {
  it('builds the console link from the ARN (region, encoded name); nothing for other ARNs', () => {
    expect(cloudWatchAlarmUrl('arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-db-cpu')).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/orders-db-cpu',
    );
    expect(cloudWatchAlarmUrl('arn:aws:cloudwatch:us-east-1:123456789012:alarm:a b/c')).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/a%20b%2Fc',
    );
    expect(cloudWatchAlarmUrl('arn:aws:sns:us-east-1:1:topic')).toBeUndefined();
    expect(cloudWatchAlarmUrl(undefined)).toBeUndefined();
  });
});

describe('utcTime', () => {
  it('says UTC, to the second', () => {
    expect(utcTime(Date.parse('2026-11-28T12:05:00.999Z'))).toBe('2026-11-28 12:05:00 UTC');
  });
});
