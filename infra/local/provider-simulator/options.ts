/** The simulator's options and the handle `startProviderSimulator` returns. */
import type { Logger } from '../../../platform/logger.js';
import type { ApiFault, Behaviour, Behaviours } from './behaviours.js';
import type { ApiRequestRecord, CallbackRecord } from './records.js';

export interface ProviderSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  accountSid: string;
  twilioAuthToken: string;
  /** The API key `POST /emails` accepts (Bearer). */
  resendApiKey: string;
  /** `whsec_…`: signs the Resend (Svix) webhooks. */
  resendWebhookSecret: string;
  /** Where callbacks are actually POSTed, e.g. http://127.0.0.1:8080. */
  receiverBaseUrl: string;
  /** The receiver's PUBLIC_BASE_URL: the URL base Twilio signs over. Default: receiverBaseUrl. */
  publicBaseUrl?: string;
  resendWebhookPath?: string;
  twilioInboundPath?: string;
  behaviours?: Behaviours;
  /** Spacing of behaviour steps (ms). Default 200. */
  stepDelayMs?: number;
  /**
   * Callback retries: attempts in all (default 5), first backoff (default 100 ms), doubling up to maxDelayMs
   * (default 2 s).
   */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Per-attempt timeout of a callback (ms). Default 10 s. */
  callbackTimeoutMs?: number;
  /** Senders picked for messages sent with a MessagingServiceSid (no From). */
  senders?: { sms?: string; whatsapp?: string };
  /** Content templates by ContentSid (`Alarm {{1}}: reply ACK {{2}}`): renders `body`, helps find the ACK code. */
  contentTemplates?: Record<string, string>;
  /**
   * WhatsApp's 24-hour rule: a free-form WhatsApp Body (no ContentSid) to someone who has not written
   * in the last 24 h is accepted, then fails with 63016, as on Twilio. Default true.
   */
  whatsappSessionRule?: boolean;
  /** Fraction (0..1) of sending requests that hang (accepted, answer delayed hangMs). Default 0. */
  hangFraction?: number;
  /** How late a hung request is answered (ms). Default 0 (the `hang` step and faults then use 5 s). */
  hangMs?: number;
  /** Seed of the deterministic hang choice. Default 0. */
  seed?: string | number;
  /** One-shot API faults per recipient (consumed in order, one per sending request). */
  faults?: Record<string, ApiFault[]>;
  /**
   * The phone numbers the account owns (IncomingPhoneNumbers, twilio-account.ts). Default: +15550000000
   * and +15550000001 (the default SMS sender and the demo on-call file's voice caller id).
   */
  phoneNumbers?: string[];
  /** The account's WhatsApp senders (Senders API), `whatsapp:+…`. Default: the default WhatsApp sender. */
  whatsappSenders?: string[];
  /** The account's Messaging Service SIDs (MG + 32 hex). Default: none. */
  messagingServices?: string[];
  /**
   * AWS End User Messaging SMS and Voice (aws-sms-voice-api.ts): the SNS topic its events are published to (default
   * arn:aws:sns:us-east-1:000000000000:pagetrail-sms-voice-events), the receiver path they go to (default
   * /webhooks/aws-sms-voice), and where the locally generated SNS signing key and certificate are kept (default
   * <tmpdir>/pagetrail-sim-sns; reused across restarts). Replies (`reply_ack` to an SMS of this route) go as the
   * origination number's two-way channel publishes them: to `inboundTopicArn` (default
   * arn:aws:sns:us-east-1:000000000000:pagetrail-sms-voice-inbound), delivered to `inboundPath` (default
   * /webhooks/aws-sms-voice/inbound).
   */
  awsSmsVoice?: {
    topicArn?: string;
    webhookPath?: string;
    inboundTopicArn?: string;
    inboundPath?: string;
    certDir?: string;
  };
  logger?: Logger;
}

export interface ProviderSimulator {
  url: string;
  port: number;
  /** What the local receiver trusts: the SigningCertURL of the simulator's SNS messages, and their topic. */
  sns: { certUrl: string; topicArn: string; inboundTopicArn: string };
  close(): Promise<void>;
  requests(): ApiRequestRecord[];
  callbacks(): CallbackRecord[];
  setBehaviour(recipient: string, behaviour: Behaviour): void;
  /**
   * Resolves when every scheduled step and callback (with its retries) has run (not answers held back by a hang:
   * close() releases those).
   */
  idle(): Promise<void>;
  /** Forgets the recorded requests and callbacks. */
  clearRecords(): void;
  /** Queues one-shot API faults for a recipient's next sending requests. */
  injectFaults(recipient: string, faults: ApiFault[]): void;
  /** Every sending request, to any recipient, gets `fault` until `setOutage(undefined)` (`/__sim/outage`). */
  setOutage(fault: ApiFault | undefined): void;
}
