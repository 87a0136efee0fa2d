/** Twilio's message resource as the simulator keeps it and answers it (the API's JSON shape). */
import { randomBytes } from 'node:crypto';

export const API_VERSION = '2010-04-01';

export interface TwilioError {
  status: number;
  code: number;
  message: string;
}
export const twilioError = (status: number, code: number, message: string): TwilioError => ({ status, code, message });

/** ErrorMessage of the delivery error codes the simulator uses. */
export const ERROR_MESSAGES: Record<number, string> = {
  30003: 'Unreachable destination handset',
  30008: 'Unknown error',
  63016:
    'Failed to send freeform message because you are outside the allowed window. ' +
    'If you are using WhatsApp, please use a Message Template.',
};

const rfc2822 = (d: Date) => d.toUTCString().replace(/GMT$/, '+0000');
const hex32 = () => randomBytes(16).toString('hex');
/** A new resource sid (`SM` + 32 hex). */
export const sid = (prefix: string) => prefix + hex32();

/** A body of these characters only is sent as GSM-7 (160 a segment, else 70). */
const GSM = /^[\x20-\x7E\n\r£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà€]*$/;

function segments(body: string): number {
  if (!body) return 1;
  const gsm = GSM.test(body);
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const len = [...body].length;
  return len <= single ? 1 : Math.ceil(len / multi);
}

/** YYMMDDhhmm (UTC), as in RawDlrDoneDate. */
export function dlrDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}`
  );
}

export interface TwilioMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  /** The sender actually used (From, or the Messaging Service's pick). */
  sender: string;
  messagingServiceSid: string | null;
  body: string;
  contentSid: string | null;
  contentVariables: Record<string, string> | null;
  statusCallback: string | null;
  status: string;
  direction: 'outbound-api' | 'inbound';
  errorCode: number | null;
  errorMessage: string | null;
  numMedia: number;
  dateCreated: Date;
  dateUpdated: Date;
  dateSent: Date | null;
}

export function messageJson(m: TwilioMessage) {
  const uri = `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}.json`;
  return {
    account_sid: m.accountSid,
    api_version: API_VERSION,
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent ? rfc2822(m.dateSent) : null,
    date_updated: rfc2822(m.dateUpdated),
    direction: m.direction,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: String(m.numMedia),
    num_segments: m.messagingServiceSid && m.status === 'accepted' ? '0' : String(segments(m.body)),
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: {
      media: `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}/Media.json`,
      feedback: `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}/Feedback.json`,
    },
    to: m.to,
    uri,
  };
}
