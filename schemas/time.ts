import { z } from 'zod';

/**
 * Timestamps on the wire are ISO-8601 strings. CloudWatch writes `2019-10-02T17:04:40.989+0000`
 * (offset without a colon), which `Date.parse` rejects on some engines: normalize it first.
 */
export function parseTimestamp(value: string): number {
  const fast = parseCanonicalUtc(value);
  if (fast !== undefined) return fast;
  const ms = Date.parse(value.endsWith('Z') ? value : value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(ms)) throw new RangeError(`not a timestamp: ${JSON.stringify(value)}`);
  return ms;
}

const digit = (s: string, i: number) => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (or `…sss+0000`, as CloudWatch writes it) — what `Date.prototype.toISOString`
 * writes and every record this product produces carries — parsed without Date.parse (this runs for every
 * record on the stream). Anything else, and days past the 28th (month lengths), returns undefined for the
 * general parser.
 */
function parseCanonicalUtc(v: string): number | undefined {
  // CloudWatch writes the same instant as `…sss+0000`.
  const utc = (v.length === 24 && v.charCodeAt(23) === 90) /* Z */ || (v.length === 28 && v.endsWith('+0000'));
  if (!utc || v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':' || v[19] !== '.')
    return undefined;
  const year = digit(v, 0) * 1000 + digit(v, 1) * 100 + digit(v, 2) * 10 + digit(v, 3);
  const month = digit(v, 5) * 10 + digit(v, 6);
  const day = digit(v, 8) * 10 + digit(v, 9);
  const hour = digit(v, 11) * 10 + digit(v, 12);
  const minute = digit(v, 14) * 10 + digit(v, 15);
  const second = digit(v, 17) * 10 + digit(v, 18);
  const milli = digit(v, 20) * 100 + digit(v, 21) * 10 + digit(v, 22);
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 28 && hour <= 23 && minute <= 59 && second <= 59 && milli >= 0))
    return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, milli);
}

/** Whether `value` is a timestamp parseTimestamp accepts (for schemas that keep the string). */
export function isTimestamp(value: string): boolean {
  try {
    parseTimestamp(value);
    return true;
  } catch {
    return false;
  }
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
  const day = Math.floor(ms / 86_400_000);
  if (day !== lastDay) {
    lastDay = day;
    lastDate = new Date(day * 86_400_000).toISOString().slice(0, 10);
  }
  return lastDate;
}
// Rows come in time order: one remembered day makes this a comparison for nearly every row.
let lastDay = NaN;
let lastDate = '';
