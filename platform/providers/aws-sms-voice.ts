import {
  PinpointSMSVoiceV2Client,
  SendTextMessageCommand,
  SendVoiceMessageCommand,
  type SendTextMessageCommandInput,
  type SendVoiceMessageCommandInput,
} from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { awsRequestHandler } from '../aws.js';

/**
 * AWS End User Messaging SMS and Voice (the `pinpoint-sms-voice-v2` API), the second route for SMS and voice
 * pages, through the official client `@aws-sdk/client-pinpoint-sms-voice-v2`. Two calls: SendTextMessage and
 * SendVoiceMessage, both with the configuration set whose event destination (an SNS topic) sends the delivery
 * events back to the receiver (`POST /webhooks/aws-sms-voice`).
 *
 * Timeouts: the client's HTTP handler aborts a request after `timeoutMs` (connection and request), and the SDK's
 * own retries are off (`maxAttempts` 1): the paging dispatcher decides what a failed send means, and an SDK retry
 * of a request that may have reached AWS would send the page twice (SendTextMessage takes no idempotency token).
 *
 * Endpoint: `endpoint` (env AWS_SMS_VOICE_ENDPOINT) overrides the regional one, e.g. the local provider
 * simulator, which answers the same JSON 1.0 protocol (`X-Amz-Target: PinpointSMSVoiceV2.SendTextMessage`).
 */
export interface AwsSmsVoiceOptions {
  region: string;
  /** e.g. http://127.0.0.1:4580 (the local provider simulator). Unset: the regional endpoint. */
  endpoint?: string;
  /** Timeout (ms) of one request. Default 8000. */
  timeoutMs?: number;
  /** Static credentials (the local stack); unset: the default provider chain (the Lambda's role on AWS). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export const DEFAULT_AWS_SMS_VOICE_TIMEOUT_MS = 8_000;

/** The subset of the client the dispatcher uses (a fake in tests). */
export interface AwsSmsVoice {
  sendText(input: SendTextMessageCommandInput, signal?: AbortSignal): Promise<{ MessageId?: string }>;
  sendVoice(input: SendVoiceMessageCommandInput, signal?: AbortSignal): Promise<{ MessageId?: string }>;
}

export function awsSmsVoiceClient(opts: AwsSmsVoiceOptions): AwsSmsVoice {
  const timeout = opts.timeoutMs ?? DEFAULT_AWS_SMS_VOICE_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout <= 0)
    throw new Error(`AWS SMS/voice timeoutMs must be a positive integer, got ${timeout}`);
  const endpoint = opts.endpoint?.trim();
  if (endpoint) {
    const u = new URL(endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new Error(`AWS_SMS_VOICE_ENDPOINT must be an http(s) URL, got protocol ${u.protocol}`);
  }
  const client = new PinpointSMSVoiceV2Client({
    region: opts.region,
    ...(endpoint ? { endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: 1,
    requestHandler: awsRequestHandler({ connectionTimeoutMs: timeout, requestTimeoutMs: timeout }),
  });
  return {
    sendText: (input, signal) => client.send(new SendTextMessageCommand(input), { abortSignal: signal }),
    sendVoice: (input, signal) => client.send(new SendVoiceMessageCommand(input), { abortSignal: signal }),
  };
}
