import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../bin.js';
import { PROVIDER_SECRET_NAMES } from '../cdk/services.js';
import { startProviderSimulator, type ProviderSimulator } from '../local/provider-simulator/server.js';
import { resendClient } from '../../platform/providers/resend.js';
import { twilioClient, type TwilioClient } from '../../platform/providers/twilio.js';
import { formBody, svixHeaders, testApp, twilioSignature } from '../../producers/receiver/testing.js';
import { providersCommand, publicBaseUrlOf } from './providers-cli.js';
import { RESEND_EVENTS } from './providers.js';
import { startSecretsManagerDouble, type SecretsManagerDouble } from './secrets-manager-double.js';
import { secretsManagerClient } from './secrets.js';

const ACCOUNT_SID = 'AC' + '0a1b2c3d4e5f6789'.repeat(2);
const AUTH_TOKEN = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const RESEND_KEY = 're_test_full_access_0001';
const SIM_WEBHOOK_SECRET = 'whsec_' + Buffer.from('simulator-own-webhook-secret-0001').toString('base64');
const BASE = 'https://alerts.example.com';
/** BASE/webhooks/twilio as a regular expression. */
const TWILIO_URL = 'https://alerts\\.example\\.com/webhooks/twilio';
const SMS_FROM = '+15550000000';
const VOICE_FROM = '+15550000001';
const WA_FROM = 'whatsapp:+15550000000';
const SERVICE = 'MG' + '1'.repeat(32);
const STAGE = 'prod';
const SECRET_NAME = PROVIDER_SECRET_NAMES(STAGE).resendWebhookSecret;

let sim: ProviderSimulator;
let sm: SecretsManagerDouble;
let tw: TwilioClient;
let dir: string;
/** Values that must never be printed (the signing secrets are added as they are created). */
const secrets = new Set<string>([AUTH_TOKEN, RESEND_KEY, SIM_WEBHOOK_SECRET]);

/** An on-call file: the demo's people and teams, with this `twilio` block. */
function oncallFile(name: string, twilio: Record<string, string>): string {
  const demo = JSON.parse(readFileSync(path.join(REPO_ROOT, 'infra/local/oncall/demo.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify({ ...demo, twilio }));
  return file;
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: sim.url,
    RESEND_API_KEY: RESEND_KEY,
    RESEND_BASE_URL: sim.url,
    PUBLIC_BASE_URL: BASE,
    SECRETS_MANAGER_ENDPOINT: sm.endpoint,
    ONCALL_FILE: path.join(dir, 'oncall.json'),
    ...extra,
  };
}

async function run(argv: string[] = [], extra: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const e = env(extra);
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  const code = await providersCommand(['--stage', STAGE, ...argv], e, io, { secretsClient: secretsManagerClient(e) });
  for (const id of (await resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url }).webhooks.list()).data?.data ?? []) {
    const got = await resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url }).webhooks.get(id.id);
    if (got.data?.signing_secret) secrets.add(got.data.signing_secret);
  }
  for (const v of secrets) {
    expect(out, 'stdout carries a secret').not.toContain(v);
    expect(err, 'stderr carries a secret').not.toContain(v);
  }
  return { code, out, err };
}

/** The configuration changes the simulator received (not the lookups). */
const writes = () =>
  sim
    .requests()
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path}`);

const numberOf = async (phoneNumber: string) => (await tw.incomingPhoneNumbers.list({ phoneNumber }))[0];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-providers-'));
  sim = await startProviderSimulator({
    accountSid: ACCOUNT_SID,
    twilioAuthToken: AUTH_TOKEN,
    resendApiKey: RESEND_KEY,
    resendWebhookSecret: SIM_WEBHOOK_SECRET,
    receiverBaseUrl: 'http://127.0.0.1:9',
    phoneNumbers: [SMS_FROM, VOICE_FROM, '+15550000002'],
    whatsappSenders: [WA_FROM],
    messagingServices: [SERVICE],
  });
  sm = await startSecretsManagerDouble();
  tw = twilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: sim.url });
  oncallFile('oncall.json', {
    sms_from: SMS_FROM,
    whatsapp_from: WA_FROM,
    voice_from: VOICE_FROM,
    messaging_service_sid: SERVICE,
  });
});
afterAll(async () => {
  await sim?.close();
  await sm?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('make providers against the provider simulator', () => {
  it('a dry run prints what would change and changes nothing', async () => {
    const r = await run(['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`twilio number ${SMS_FROM} (sms_from) PN`);
    expect(r.out).toContain(`: would update\n    smsUrl: (none) → ${BASE}/webhooks/twilio\n`);
    expect(r.out).toContain(`resend webhook ${BASE}/webhooks/resend: would create`);
    expect(r.out).toContain('dry run: 5 to change, 0 unchanged; nothing was changed');
    expect(writes()).toEqual([]);
    expect(sm.calls).toEqual([]);
  });

  it('the first run points everything at the stage, prints each change, stores the signing secret', async () => {
    const r = await run();
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const block = (head: string) => {
      const i = lines.findIndex((l) => l.startsWith(head));
      expect(i, `no line starting with ${head}`).toBeGreaterThanOrEqual(0);
      const rest = lines.slice(i + 1);
      const end = rest.findIndex((l) => !l.startsWith('    '));
      return [lines[i], ...rest.slice(0, end)].join('\n');
    };
    expect(block(`twilio number ${SMS_FROM}`)).toMatch(
      new RegExp(
        `^twilio number \\+15550000000 \\(sms_from\\) PN[0-9a-f]{32}: updated\n` +
          ` {4}smsUrl: \\(none\\) → ${TWILIO_URL}$`,
      ),
    );
    expect(block(`twilio number ${VOICE_FROM}`)).toMatch(
      new RegExp(`\\(voice_from\\) PN[0-9a-f]{32}: updated\n {4}voiceUrl: \\(none\\) → ${TWILIO_URL}/voice/answer$`),
    );
    expect(block(`whatsapp sender ${WA_FROM}`)).toMatch(
      new RegExp(
        `XE[0-9a-f]{32}: updated\n {4}webhook\\.callback_url: \\(none\\) → ${TWILIO_URL}\n` +
          ' {4}webhook\\.callback_method: \\(none\\) → POST$',
      ),
    );
    expect(block('twilio messaging service')).toContain(
      'inboundRequestUrl: (none) → https://alerts.example.com/webhooks/twilio',
    );
    const resendBlock = block('resend webhook');
    expect(resendBlock).toContain(`resend webhook ${BASE}/webhooks/resend: created`);
    expect(resendBlock).toContain(`events: (none) → ${RESEND_EVENTS.join(', ')}`);
    expect(resendBlock).toMatch(
      new RegExp(
        `signing secret: present \\(not shown\\); secret ${SECRET_NAME}: ` +
          'created arn:aws:secretsmanager:\\S+-[A-Za-z0-9]{6}',
      ),
    );
    expect(resendBlock).toContain('the receiver reads RESEND_WEBHOOK_SECRET when its tasks start');
    expect(r.out).toContain('5 changed, 0 unchanged');

    // The provider's state, read back through the SDKs.
    expect(await numberOf(SMS_FROM)).toMatchObject({
      smsUrl: `${BASE}/webhooks/twilio`,
      smsMethod: 'POST',
      voiceUrl: null,
    });
    expect(await numberOf(VOICE_FROM)).toMatchObject({
      voiceUrl: `${BASE}/webhooks/twilio/voice/answer`,
      voiceMethod: 'POST',
      smsUrl: null,
    });
    expect(await numberOf('+15550000002')).toMatchObject({ smsUrl: null, voiceUrl: null });
    const [sender] = await tw.messaging.v2.channelsSenders.list({ channel: 'whatsapp' });
    expect(sender.webhook).toMatchObject({ callbackUrl: `${BASE}/webhooks/twilio`, callbackMethod: 'POST' });
    expect((await tw.messaging.v1.services(SERVICE).fetch()).inboundRequestUrl).toBe(`${BASE}/webhooks/twilio`);
    const resend = resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url });
    const [hook] = (await resend.webhooks.list()).data!.data;
    expect(hook).toMatchObject({ endpoint: `${BASE}/webhooks/resend`, status: 'enabled' });
    expect([...hook.events!].sort()).toEqual(RESEND_EVENTS);
    const signing = (await resend.webhooks.get(hook.id)).data!.signing_secret;
    expect(sm.secrets.get(SECRET_NAME)?.value).toBe(signing);
  });

  it('what it set reaches the receiver: a signed SMS reply, a Resend event signed with the stored secret', async () => {
    const number = await numberOf(SMS_FROM);
    const { app } = testApp({
      config: {
        PUBLIC_BASE_URL: BASE,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        RESEND_WEBHOOK_SECRET: sm.secrets.get(SECRET_NAME)!.value!,
      },
    });
    const reply = {
      MessageSid: 'SM' + 'a'.repeat(32),
      From: '+15551230001',
      To: SMS_FROM,
      Body: 'ACK 1234',
      SmsStatus: 'received',
    };
    const smsUrl = new URL(number.smsUrl);
    const sms = await app.request(smsUrl.pathname, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(AUTH_TOKEN, number.smsUrl, reply),
      },
      body: formBody(reply),
    });
    expect(sms.status).toBe(200);
    expect(await sms.text()).toContain('<Response>');

    const event = JSON.stringify({
      type: 'email.delivered',
      created_at: new Date().toISOString(),
      data: { email_id: 'e-1', to: ['a@example.com'], tags: {} },
    });
    const resendUrl = new URL(
      (await resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url }).webhooks.list()).data!.data[0].endpoint,
    );
    const secret = sm.secrets.get(SECRET_NAME)!.value!;
    const hook = await app.request(resendUrl.pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...svixHeaders(event, { secret }) },
      body: event,
    });
    expect(hook.status).not.toBe(401);
    expect(hook.status).toBeLessThan(300);
  });

  it('a second run prints every item unchanged and changes nothing', async () => {
    sim.clearRecords();
    sm.calls.length = 0;
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.out.match(/: unchanged\n/g)).toHaveLength(5);
    expect(r.out.split('\n').slice(1).join('\n')).not.toMatch(/ → /);
    expect(r.out).toContain(`secret ${SECRET_NAME}: unchanged`);
    expect(r.out).not.toContain('the receiver reads RESEND_WEBHOOK_SECRET');
    expect(r.out).toContain('0 changed, 5 unchanged');
    expect(writes()).toEqual([]);
    expect(sm.calls.map((c) => c.target)).not.toContain('PutSecretValue');
  });

  it('puts back what someone changed, printing old → new', async () => {
    const number = await numberOf(SMS_FROM);
    await tw.incomingPhoneNumbers(number.sid).update({
      smsUrl: 'https://user:pw@old.example.com/sms',
      smsMethod: 'GET',
      smsApplicationSid: 'AP' + '2'.repeat(32),
    });
    const resend = resendClient({ apiKey: RESEND_KEY, baseUrl: sim.url });
    const [hook] = (await resend.webhooks.list()).data!.data;
    await resend.webhooks.update(hook.id, { events: ['email.sent'], status: 'disabled' });
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      [
        `twilio number ${SMS_FROM} (sms_from) ${number.sid}: updated`,
        `    smsUrl: https://***@old.example.com/sms → ${BASE}/webhooks/twilio`,
        '    smsMethod: GET → POST',
        `    smsApplicationSid: AP${'2'.repeat(32)} → (none)`,
      ].join('\n'),
    );
    expect(r.out).toContain(
      `resend webhook ${BASE}/webhooks/resend ${hook.id}: updated\n` +
        `    events: email.sent → ${RESEND_EVENTS.join(', ')}\n    status: disabled → enabled`,
    );
    expect(r.out).toContain('2 changed, 3 unchanged');
    expect(await numberOf(SMS_FROM)).toMatchObject({
      smsUrl: `${BASE}/webhooks/twilio`,
      smsMethod: 'POST',
      smsApplicationSid: null,
    });
    expect((await resend.webhooks.get(hook.id)).data).toMatchObject({ status: 'enabled' });
  });

  it('a number or sender the account does not own: a clear error naming it, exit 1, nothing changed', async () => {
    const file = oncallFile('foreign.json', {
      sms_from: '+15559990000',
      whatsapp_from: 'whatsapp:+15559990001',
      voice_from: VOICE_FROM,
    });
    const number = await numberOf(VOICE_FROM);
    await tw.incomingPhoneNumbers(number.sid).update({ voiceUrl: 'https://old.example.com/voice' });
    sim.clearRecords();
    const r = await run(['--file', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `error: twilio number +15559990000 (sms_from): not a phone number of Twilio account ${ACCOUNT_SID}`,
    );
    expect(r.err).toContain(
      'error: whatsapp sender whatsapp:+15559990001 (whatsapp_from): ' +
        `not a WhatsApp sender of Twilio account ${ACCOUNT_SID}`,
    );
    expect(r.err).toContain('2 lookup(s) failed: nothing was changed');
    expect(writes()).toEqual([]);
    expect((await numberOf(VOICE_FROM)).voiceUrl).toBe('https://old.example.com/voice');
  });

  it('--no-secret leaves Secrets Manager alone and says what to do', async () => {
    sm.calls.length = 0;
    // A full-access key for make providers, while RESEND_API_KEY (the paging function's) is sending-only.
    const r = await run(['--no-secret'], { RESEND_ADMIN_API_KEY: RESEND_KEY, RESEND_API_KEY: 're_sending_only_0001' });
    expect(r.code).toBe(0);
    expect(r.out).toContain('signing secret: present (not shown); not stored (--no-secret)');
    expect(sm.calls).toEqual([]);
  });
});

describe('the receiver URL', () => {
  const local = { TWILIO_API_BASE_URL: 'http://127.0.0.1:4580', RESEND_BASE_URL: 'http://127.0.0.1:4580' };
  it('is an origin; https and public when a real provider is to call it', () => {
    expect(publicBaseUrlOf(['--base-url', 'https://alerts.example.com/'], {})).toBe('https://alerts.example.com');
    expect(publicBaseUrlOf([], { PUBLIC_BASE_URL: 'https://alerts.example.com' })).toBe('https://alerts.example.com');
    expect(() => publicBaseUrlOf([], { PUBLIC_BASE_URL: 'http://127.0.0.1:8080' })).toThrow(
      /cannot be called by the real Twilio\/Resend/,
    );
    expect(() => publicBaseUrlOf([], { PUBLIC_BASE_URL: 'https://10.0.0.5' })).toThrow(/cannot be called/);
    expect(() =>
      publicBaseUrlOf([], { ...local, RESEND_BASE_URL: '', PUBLIC_BASE_URL: 'http://alerts.example.com' }),
    ).toThrow(/cannot be called/);
    expect(publicBaseUrlOf([], { ...local, PUBLIC_BASE_URL: 'http://127.0.0.1:8080' })).toBe('http://127.0.0.1:8080');
    expect(() => publicBaseUrlOf([], { PUBLIC_BASE_URL: 'https://alerts.example.com/webhooks' })).toThrow(
      /origin only/,
    );
    expect(() => publicBaseUrlOf([], {})).toThrow(/required/);
  });
});
