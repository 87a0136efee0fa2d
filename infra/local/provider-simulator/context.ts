/**
 * One simulator's state, passed to every module (no module-level state: several simulators run in one
 * process): the resolved settings, the records, the message/email stores, behaviours and faults, and
 * the lifecycle of its background work.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import { Webhook } from 'svix';
import { silentLogger, type Logger } from '../../../platform/logger.js';
import { DEFAULT_BEHAVIOUR, normalizeBehaviours, recipientKey, type Behaviour } from './behaviours.js';
import { createFaultBook, type FaultBook } from './faults.js';
import { createLifecycle, type Lifecycle } from './lifecycle.js';
import type { ProviderSimulatorOptions } from './options.js';
import { createRecords, type Records } from './records.js';
import type { Email } from './resend-model.js';
import type { ResendWebhookEndpoint } from './resend-webhook-api.js';
import { createTwilioAccountState, type TwilioAccountState } from './twilio-account.js';
import type { TwilioMessage } from './twilio-model.js';
import type { TwilioCall } from './twilio-voice.js';
import type { AwsMessage } from './aws-sms-voice-api.js';
import { localSnsSigner, type SnsSigner } from './sns-signer.js';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type SimApp = Hono<{ Bindings: HttpBindings }>;

/** The SNS topic of the simulated configuration set's event destination (AWS_SMS_VOICE_TOPIC_ARNS locally). */
export const DEFAULT_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:pagetrail-sms-voice-events';
/** The SNS topic of the simulated origination number's two-way channel (inbound SMS; also in that list locally). */
export const DEFAULT_SNS_INBOUND_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:pagetrail-sms-voice-inbound';

/** The options with their defaults applied. */
export interface Settings {
  stepDelayMs: number;
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  callbackTimeoutMs: number;
  /** Where callbacks go (no trailing slash). */
  receiverBase: string;
  /** What they are signed over (no trailing slash). */
  publicBase: string;
  resendWebhookPath: string;
  twilioInboundPath: string;
  senders: { sms: string; whatsapp: string };
  whatsappSessionRule: boolean;
}

/** What each recipient does (keys: recipientKey, or `default`). */
export interface BehaviourBook {
  /** Whether this recipient has a behaviour of its own. */
  has(recipient: string): boolean;
  /** The recipient's behaviour, else the `default` one, else `['delivered']`. */
  of(recipient: string): Behaviour;
  set(recipient: string, behaviour: Behaviour): void;
}

export interface IdempotencyEntry {
  hash: string;
  id: string;
  at: number;
  /** False while the first request's answer hangs. */
  answered: boolean;
}

export interface SimContext {
  opts: ProviderSimulatorOptions;
  log: Logger;
  settings: Settings;
  /** Signs the Resend (Svix) webhooks. */
  svix: Webhook;
  behaviours: BehaviourBook;
  records: Records;
  twilio: {
    messages: Map<string, TwilioMessage>;
    /** Voice calls (twilio-voice.ts), by sid. */
    calls: Map<string, TwilioCall>;
    /** WhatsApp customer-service windows: recipient → time of their last inbound message. */
    sessions: Map<string, number>;
    /** The account's numbers, WhatsApp senders and Messaging Services, with their webhook settings. */
    account: TwilioAccountState;
  };
  resend: {
    emails: Map<string, Email>;
    /** Idempotency keys → the first request's payload hash and email. */
    idempotency: Map<string, IdempotencyEntry>;
    /** Webhook endpoints created through the API (kept, not called). */
    webhooks: Map<string, ResendWebhookEndpoint>;
  };
  faults: FaultBook;
  life: Lifecycle;
  /** AWS End User Messaging SMS and Voice (aws-sms-voice-api.ts) and the SNS delivery of its events. */
  aws: {
    messages: Map<string, AwsMessage>;
    signer: SnsSigner;
    topicArn: string;
    /** The receiver path its events go to. */
    path: string;
    /** The two-way channel's topic and the receiver path inbound SMS (replies) go to. */
    inboundTopicArn: string;
    inboundPath: string;
    /** The simulator's own base URL, once it listens (server.ts sets it). */
    baseUrl: string;
    /** The SigningCertURL of its notifications. */
    certUrl(): string;
    /** Tokens of the subscription confirmations it answered. */
    confirmed: string[];
  };
  /** The receiver URL for a public URL (same path and query); other URLs are used as they are. */
  toReceiver(url: string): string;
}

function trimBase(u: string): string {
  return new URL(u).toString().replace(/\/+$/, '');
}

/** The path of a URL (for logs); the text itself when it is not a URL. */
export const pathOnly = (url: string) => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

function createBehaviourBook(initial: Map<string, Behaviour>): BehaviourBook {
  return {
    has: (recipient) => initial.has(recipientKey(recipient)),
    of: (recipient) => initial.get(recipientKey(recipient)) ?? initial.get('default') ?? DEFAULT_BEHAVIOUR,
    set(recipient, behaviour) {
      initial.set(recipient === 'default' ? recipient : recipientKey(recipient), behaviour);
    },
  };
}

/** Resolves the options (throws on invalid ones) and creates the empty state. */
export function createContext(opts: ProviderSimulatorOptions): SimContext {
  const log = opts.logger ?? silentLogger;
  const settings: Settings = {
    stepDelayMs: opts.stepDelayMs ?? 200,
    attempts: Math.max(1, opts.retry?.attempts ?? 5),
    baseDelayMs: opts.retry?.baseDelayMs ?? 100,
    maxDelayMs: opts.retry?.maxDelayMs ?? 2_000,
    callbackTimeoutMs: opts.callbackTimeoutMs ?? 10_000,
    receiverBase: trimBase(opts.receiverBaseUrl),
    publicBase: trimBase(opts.publicBaseUrl ?? opts.receiverBaseUrl),
    resendWebhookPath: opts.resendWebhookPath ?? '/webhooks/resend',
    twilioInboundPath: opts.twilioInboundPath ?? '/webhooks/twilio',
    senders: { sms: opts.senders?.sms ?? '+15550000000', whatsapp: opts.senders?.whatsapp ?? 'whatsapp:+15550000000' },
    whatsappSessionRule: opts.whatsappSessionRule ?? true,
  };
  const svix = new Webhook(opts.resendWebhookSecret);
  const behaviours = createBehaviourBook(normalizeBehaviours(opts.behaviours ?? {}));
  const records = createRecords();
  const account = createTwilioAccountState({
    phoneNumbers: opts.phoneNumbers,
    whatsappSenders: opts.whatsappSenders ?? [settings.senders.whatsapp],
    messagingServices: opts.messagingServices,
  });
  const twilio = {
    messages: new Map<string, TwilioMessage>(),
    calls: new Map<string, TwilioCall>(),
    sessions: new Map<string, number>(),
    account,
  };
  const webhooks = new Map<string, ResendWebhookEndpoint>();
  const resend = { emails: new Map<string, Email>(), idempotency: new Map<string, IdempotencyEntry>(), webhooks };
  const faults = createFaultBook(opts, behaviours);
  const life = createLifecycle(log);
  const { publicBase, receiverBase } = settings;
  const toReceiver = (url: string): string => {
    if (url.startsWith(publicBase) && ['', '/', '?', '#'].includes(url.charAt(publicBase.length)))
      return receiverBase + url.slice(publicBase.length);
    return url;
  };
  const aws: SimContext['aws'] = {
    messages: new Map(),
    signer: localSnsSigner(opts.awsSmsVoice?.certDir ?? path.join(tmpdir(), 'pagetrail-sim-sns')),
    topicArn: opts.awsSmsVoice?.topicArn ?? DEFAULT_SNS_TOPIC_ARN,
    path: opts.awsSmsVoice?.webhookPath ?? '/webhooks/aws-sms-voice',
    inboundTopicArn: opts.awsSmsVoice?.inboundTopicArn ?? DEFAULT_SNS_INBOUND_TOPIC_ARN,
    inboundPath: opts.awsSmsVoice?.inboundPath ?? '/webhooks/aws-sms-voice/inbound',
    baseUrl: '',
    certUrl: () => `${aws.baseUrl}${'/__sim/sns/SimpleNotificationService-local.pem'}`,
    confirmed: [],
  };
  return { opts, log, settings, svix, behaviours, records, twilio, resend, faults, life, toReceiver, aws };
}
