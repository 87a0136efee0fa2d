/** What the simulator records: every API request it answered and every callback / browser request it made. */

export interface ApiRequestRecord {
  at: string;
  /** When the request was received (epoch ms). */
  receivedAt: number;
  /** When it was answered (epoch ms); absent while a hung answer is pending or after a reset. */
  answeredAt?: number;
  api: 'twilio' | 'resend' | 'aws';
  method: string;
  path: string;
  status: number;
  /** Twilio: the form parameters (MediaUrl etc. joined by ','). */
  params?: Record<string, string>;
  /** Resend: the JSON body. */
  body?: unknown;
  idempotencyKey?: string;
  /** The id the call created or returned (SM…, email uuid). */
  id?: string;
  /** True when an Idempotency-Key replay returned an earlier result. */
  replayed?: boolean;
  error?: { code: number | string; message: string };
  /** Sending requests: the recipient (To / first email `to`). */
  recipient?: string;
  /** Sending requests: the page reference found in the message ("Ref XXXXXXXX"). */
  reference?: string;
  /** Sending requests: the dispatch id (StatusCallback `dispatch` query / `dispatch_id` tag). */
  dispatchId?: string;
  /** The answer was delayed this long (hang). */
  hungMs?: number;
  /** A one-shot fault applied to this request (`hang`, `error 500`, `reset`, …). */
  fault?: string;
  /** List requests: the query parameters and how many items the page returned. */
  query?: Record<string, string>;
  count?: number;
}

export type CallbackKind =
  | 'twilio.status'
  | 'twilio.inbound'
  | 'twilio.call'
  | 'twilio.answer'
  | 'twilio.gather'
  | 'resend.webhook'
  | 'aws.sns'
  | 'ack.get'
  | 'ack.post'
  | 'link.scan';

export interface CallbackRecord {
  at: string;
  kind: CallbackKind;
  /** MessageStatus, Resend event type, or the HTTP step of a person/scanner following a link. */
  event: string;
  /** SM… / email id the callback is about. */
  messageId: string;
  recipient: string;
  method: 'GET' | 'POST';
  /** Where it was sent (receiver). */
  url: string;
  /** The URL the signature covers (public). */
  signedUrl?: string;
  /** Twilio form params / form fields posted. */
  params?: Record<string, string>;
  /** Resend webhook payload. */
  payload?: unknown;
  headers: Record<string, string>;
  attempt: number;
  /** The receiver's status; 0 when unreachable or timed out. */
  status: number;
  error?: string;
  /** The first 2 KB of the receiver's answer to a GET/POST of the ack flow. */
  responseText?: string;
}

/** One simulator's records (live arrays: the control routes answer them as they are). */
export interface Records {
  readonly requests: ApiRequestRecord[];
  readonly callbacks: CallbackRecord[];
  /** Records a request received now (status 0 until answered). */
  newRequest(
    api: 'twilio' | 'resend' | 'aws',
    method: string,
    path: string,
    extra?: Partial<ApiRequestRecord>,
  ): ApiRequestRecord;
  clear(): void;
}

export function createRecords(): Records {
  const requests: ApiRequestRecord[] = [];
  const callbacks: CallbackRecord[] = [];
  return {
    requests,
    callbacks,
    newRequest(api, method, path, extra = {}) {
      const receivedAt = Date.now();
      const record: ApiRequestRecord = {
        at: new Date(receivedAt).toISOString(),
        receivedAt,
        api,
        method,
        path,
        status: 0,
        ...extra,
      };
      requests.push(record);
      return record;
    },
    clear() {
      requests.length = 0;
      callbacks.length = 0;
    },
  };
}
