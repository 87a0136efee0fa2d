import { z } from 'zod';

/**
 * Timestamps on the wire are ISO-8601 strings. CloudWatch writes `2019-10-02T17:04:40.989+0000`
 * (offset without a colon), which `Date.parse` rejects on some engines: normalize it first.
 */
export function parseTimestamp(value: string): number {
  // Fast path: most timestamps are `…Z` (what this product writes); only others need normalizing.
  const ms = Date.parse(value.endsWith('Z') ? value : value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(ms)) throw new RangeError(`not a timestamp: ${JSON.stringify(value)}`);
  return ms;
}

/** An ISO-8601 timestamp string that parses, as epoch milliseconds. */
export const Timestamp = z.string().transform((value, ctx) => {
  try {
    return parseTimestamp(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `not an ISO-8601 timestamp: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
});

/** `YYYY-MM-DD` (UTC) of an epoch-millisecond time: the lake's `dt` partition value. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
