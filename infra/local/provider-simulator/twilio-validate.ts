/** Checks of a Twilio create-message request, with the error codes the live API answers. */
import { twilioError, type TwilioError } from './twilio-model.js';

const E164 = /^\+[1-9]\d{1,14}$/;

/** Twilio's test-credential magic numbers, as the live API treats the corresponding real cases. */
const MAGIC_TO: Record<string, TwilioError> = {
  '+15005550001': twilioError(400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
  '+15005550002': twilioError(
    400,
    21612,
    "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS.",
  ),
  '+15005550003': twilioError(
    400,
    21408,
    "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003.",
  ),
  '+15005550004': twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'),
  '+15005550009': twilioError(400, 21614, "'To' number is not a valid mobile number"),
};

export function validateTwilio(p: URLSearchParams): TwilioError | undefined {
  const to = p.get('To');
  const from = p.get('From');
  const mg = p.get('MessagingServiceSid');
  const body = p.get('Body');
  const contentSid = p.get('ContentSid');
  if (!to) return twilioError(400, 21604, "A 'To' phone number is required.");
  const whatsapp = to.startsWith('whatsapp:');
  const toNumber = whatsapp ? to.slice('whatsapp:'.length) : to;
  if (!E164.test(toNumber)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
  if (MAGIC_TO[to]) return MAGIC_TO[to];
  if (!from && !mg) return twilioError(400, 21603, "A 'From' phone number is required.");
  if (mg && !/^MG[0-9a-f]{32}$/.test(mg)) return twilioError(400, 21701, `The Messaging Service Sid ${mg} is invalid.`);
  if (from) {
    const fromWhatsapp = from.startsWith('whatsapp:');
    const fromNumber = fromWhatsapp ? from.slice('whatsapp:'.length) : from;
    if (
      !E164.test(fromNumber) &&
      !(/^[A-Za-z0-9 ]{1,11}$/.test(from) && /[A-Za-z]/.test(from)) &&
      !/^\d{5,6}$/.test(from)
    ) {
      return twilioError(
        400,
        21212,
        `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
      );
    }
    if (fromWhatsapp !== whatsapp)
      return twilioError(400, 21910, 'Invalid From and To pair. From and To should be of the same channel');
  }
  if (!body && !contentSid && !p.get('MediaUrl'))
    return twilioError(400, 21619, 'A text message body or media urls must be specified.');
  if (body && [...body].length > 1600)
    return twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
  if (contentSid && !/^HX[0-9a-f]{32}$/.test(contentSid)) return twilioError(400, 21655, 'The ContentSid is Invalid.');
  const vars = p.get('ContentVariables');
  if (vars !== null) {
    try {
      const v = JSON.parse(vars);
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    } catch {
      return twilioError(400, 21656, 'The ContentVariables Parameter is invalid.');
    }
  }
  const cb = p.get('StatusCallback');
  if (cb !== null) {
    try {
      const u = new URL(cb);
      if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname.includes('_')) throw new Error('bad');
    } catch {
      return twilioError(400, 21609, 'Invalid StatusCallback url');
    }
  }
  return undefined;
}
