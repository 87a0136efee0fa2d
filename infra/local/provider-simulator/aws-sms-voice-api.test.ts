import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsSmsVoiceClient } from '../../../platform/providers/aws-sms-voice.js';
import { SnsVerifier, type SnsMessage } from '../../../producers/receiver/sns-signature.js';
import { awsContext } from '../../../schemas/correlation.js';
import { DEFAULT_SNS_INBOUND_TOPIC_ARN, DEFAULT_SNS_TOPIC_ARN } from './context.js';
import { startProviderSimulator, type ProviderSimulator } from './server.js';

/**
 * The simulated AWS End User Messaging route, seen from the receiver's side: an SMS whose recipient replies
 * (`reply_ack`) yields its delivery events on the events topic and then the reply as AWS's two-way channel publishes
 * it (AWS docs, "Example of a two-way SMS message payload for Amazon SNS topics") on the inbound topic, each
 * delivered to its own path and verified with the receiver's own SNS verifier.
 */
const TO = '+15551230008';
const FROM = '+15550000009';
const PAGE = { incidentId: 'inc_0001abcd', alarmArn: 'arn:aws:cloudwatch:us-east-1:1:alarm:x', dispatchId: 'dsp_1' };

let sim: ProviderSimulator;
let receiver: { close(): void };
const certDir = mkdtempSync(path.join(tmpdir(), 'sim-aws-sns-'));
const got: { path: string; message: SnsMessage }[] = [];

beforeAll(async () => {
  let verifier: SnsVerifier | undefined;
  const app = new Hono();
  app.post('/webhooks/*', async (c) => {
    // the receiver's verifier, trusting the simulator's certificate URL (known once it listens)
    const m = await verifier!.verify(await c.req.text());
    got.push({ path: new URL(c.req.url).pathname, message: m });
    return c.json({}, 200);
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  receiver = server;
  sim = await startProviderSimulator({
    accountSid: `AC${'0'.repeat(32)}`,
    twilioAuthToken: 'local-test-auth-token-0001',
    resendApiKey: 're_local_test_key_0001',
    resendWebhookSecret: `whsec_${Buffer.from('local-test-webhook-secret-32bytes!').toString('base64')}`,
    receiverBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stepDelayMs: 5,
    behaviours: { [`aws:${TO}`]: ['delivered', 'reply_ack'] },
    awsSmsVoice: { certDir },
  });
  verifier = new SnsVerifier({
    allowedTopics: [sim.sns.topicArn, sim.sns.inboundTopicArn],
    trustedCertUrls: [sim.sns.certUrl],
  });
}, 30_000);

afterAll(async () => {
  await sim?.close();
  receiver?.close();
  rmSync(certDir, { recursive: true, force: true });
});

describe('simulated AWS End User Messaging: two-way SMS', () => {
  it('reply_ack: the reply ACK <code> comes signed from the two-way channel topic to the inbound path', async () => {
    const client = awsSmsVoiceClient({
      region: 'us-east-1',
      endpoint: sim.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { MessageId } = await client.sendText({
      DestinationPhoneNumber: TO,
      OriginationIdentity: FROM,
      MessageBody: 'P2 orders-db-replica-lag ALARM. Reply ACK 7KQ2MX to acknowledge. Ref 7Q2M9XKD',
      MessageType: 'TRANSACTIONAL',
      Context: awsContext(PAGE),
    });
    await sim.idle();
    expect(sim.sns.topicArn).toBe(DEFAULT_SNS_TOPIC_ARN);
    expect(sim.sns.inboundTopicArn).toBe(DEFAULT_SNS_INBOUND_TOPIC_ARN);
    const events = got.filter((g) => g.path === '/webhooks/aws-sms-voice');
    expect(events.map((g) => JSON.parse(g.message.Message).eventType)).toEqual(['TEXT_SUCCESSFUL', 'TEXT_DELIVERED']);
    expect(events.every((g) => g.message.TopicArn === DEFAULT_SNS_TOPIC_ARN)).toBe(true);
    const replies = got.filter((g) => g.path === '/webhooks/aws-sms-voice/inbound');
    expect(replies).toHaveLength(1);
    expect(replies[0].message.TopicArn).toBe(DEFAULT_SNS_INBOUND_TOPIC_ARN);
    expect(JSON.parse(replies[0].message.Message)).toEqual({
      originationNumber: TO,
      destinationNumber: FROM,
      messageKeyword: expect.any(String),
      messageBody: 'ACK 7KQ2MX',
      inboundMessageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      previousPublishedMessageId: MessageId,
    });
  });
});
