/** HTTP pieces shared by the Twilio routes: Basic auth and Twilio's error answer. */
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { ApiRequestRecord } from './records.js';
import type { TwilioError } from './twilio-model.js';

/** Checks `Authorization: Basic AccountSid:AuthToken`. */
export function twilioAuthOk(header: string | undefined, accountSid: string, authToken: string): boolean {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return false;
  const expected = Buffer.from(`${accountSid}:${authToken}`);
  const got = Buffer.from(decoded);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export const twilioErrorResponse = (c: Context, e: TwilioError) =>
  c.json(
    { code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status },
    e.status as 400,
  );

/** Answers an error and records it on the request record. */
export const twilioRejecter =
  (c: Context, record: ApiRequestRecord, onReject?: (e: TwilioError) => void) => (e: TwilioError) => {
    record.status = e.status;
    record.error = { code: e.code, message: e.message };
    record.answeredAt = Date.now();
    onReject?.(e);
    return twilioErrorResponse(c, e);
  };
