import { describe, expect, it } from 'vitest';
import { parseTimestamp, utcDate } from './time.js';

describe('parseTimestamp', () => {
  it.each([
    '2026-11-28T10:00:00.000Z',
    '2026-11-28T23:59:59.999Z',
    '2026-02-29T00:00:00.000Z', // not a leap year: the general parser decides, as before
    '2024-02-29T12:00:00.000Z',
    '2026-01-31T00:00:00.000Z',
    '2019-10-02T17:04:40.989+0000',
    '2026-02-29T17:04:40.989+0000',
    '2026-11-28T17:04:40.989-0000',
    '2019-10-02T17:04:40.989+02:00',
    '2026-11-28T10:00:00Z',
    '2026-11-28',
  ])('%s parses as Date.parse would (normalized)', (s) => {
    expect(parseTimestamp(s)).toBe(Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')));
  });

  it.each(['yesterday', '2026-13-01T00:00:00.000Z', '2026-11-28T25:00:00.000Z', '2026-11-28T10:00:00.00aZ', ''])(
    'rejects %s',
    (s) => {
      expect(() => parseTimestamp(s)).toThrow(RangeError);
    },
  );
});

describe('utcDate', () => {
  it('gives the UTC day, across day boundaries and back', () => {
    expect(utcDate(Date.parse('2026-11-27T23:59:59.999Z'))).toBe('2026-11-27');
    expect(utcDate(Date.parse('2026-11-28T00:00:00.000Z'))).toBe('2026-11-28');
    expect(utcDate(Date.parse('2026-11-27T12:00:00.000Z'))).toBe('2026-11-27');
    expect(utcDate(Date.parse('1969-12-31T23:00:00.000Z'))).toBe('1969-12-31');
  });
});
