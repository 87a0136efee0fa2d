import { describe, expect, it } from 'vitest';
import { AckRecord } from '../../schemas/ack-record.js';
import { eventId } from '../../schemas/ids.js';
import { ReceiptRecord } from '../../schemas/receipt-record.js';
import { FAILED_STATUSES, type DeliveryStatus } from '../../schemas/status.js';
import { PAGE, pageQuery, testApp, twilioRequest } from './testing.js';
import { VOICE_ACKNOWLEDGED, VOICE_GOODBYE, VOICE_MACHINE, VOICE_OTHER_KEY } from './twilio-voice.js';

const NOW = Date.parse('2026-11-28T10:00:05.000Z');
const STATUS_PATH = `/webhooks/twilio/voice?${pageQuery()}`;
const GATHER_PATH = `/webhooks/twilio/voice/gather?${pageQuery()}`;
const CALL_SID = 'CA' + '0123456789abcdef'.repeat(2);

const callParams = (CallStatus: string, extra: Record<string, string> = {}) => ({
  AccountSid: 'AC' + 'fedcba9876543210'.repeat(2),
  ApiVersion: '2010-04-01',
  CallSid: CALL_SID,
  CallStatus,
  Called: '+15551230001',
  Caller: '+15550000001',
  Direction: 'outbound-api',
  From: '+15550000001',
  To: '+15551230001',
  CallbackSource: 'call-progress-events',
  SequenceNumber: '0',
  ...extra,
});

describe('POST /webhooks/twilio/voice: call status callbacks → receipts', () => {
  const table: [string, string | undefined, DeliveryStatus, string][] = [
    ['queued', undefined, 'queued', 'queued'],
    ['initiated', undefined, 'sent', 'initiated'],
    ['ringing', undefined, 'delivered', 'ringing'],
    ['in-progress', undefined, 'delivered', 'in-progress'],
    ['in-progress', 'human', 'opened', 'in-progress:human'],
    ['in-progress', 'unknown', 'delivered', 'in-progress:unknown'],
    ['in-progress', 'machine_start', 'undelivered', 'in-progress:machine_start'],
    ['in-progress', 'machine_end_beep', 'undelivered', 'in-progress:machine_end_beep'],
    ['in-progress', 'machine_end_silence', 'undelivered', 'in-progress:machine_end_silence'],
    ['in-progress', 'machine_end_other', 'undelivered', 'in-progress:machine_end_other'],
    ['in-progress', 'fax', 'undelivered', 'in-progress:fax'],
    ['completed', undefined, 'delivered', 'completed'],
    ['completed', 'human', 'opened', 'completed:human'],
    ['completed', 'machine_end_beep', 'undelivered', 'completed:machine_end_beep'],
    ['busy', undefined, 'undelivered', 'busy'],
    ['no-answer', undefined, 'undelivered', 'no-answer'],
    ['failed', undefined, 'failed', 'failed'],
    ['canceled', undefined, 'canceled', 'canceled'],
  ];

  it.each(table)('%s (AnsweredBy %s) → %s', async (callStatus, answeredBy, status, providerStatus) => {
    const { app, producer, errorSink } = testApp({ now: () => NOW });
    const params = callParams(callStatus, answeredBy ? { AnsweredBy: answeredBy } : {});
    const { url, ...init } = twilioRequest(STATUS_PATH, params);
    const res = await app.request(url, init);
    expect(res.status).toBe(200);
    expect(errorSink.calls).toHaveLength(0);
    const [record] = producer.records;
    ReceiptRecord.parse(record); // a valid receipt
    expect(record).toMatchObject({
      kind: 'receipt',
      event_id: eventId('receipt', 'twilio', CALL_SID, providerStatus),
      incident_id: PAGE.incidentId,
      alarm_arn: PAGE.alarmArn,
      dispatch_id: PAGE.dispatchId,
      event_time: new Date(NOW).toISOString(),
      provider: 'twilio',
      channel: 'voice',
      message_id: CALL_SID,
      status,
      provider_status: providerStatus,
      recipient: '+15551230001',
    });
  });

  it('busy, no-answer, failed, canceled and a machine fail over at once; a human does not', () => {
    for (const [callStatus, by, status] of table) {
      const failing =
        ['busy', 'no-answer', 'failed', 'canceled'].includes(callStatus) ||
        (by !== undefined && (by.startsWith('machine') || by === 'fax'));
      expect(FAILED_STATUSES.has(status), `${callStatus}/${by}`).toBe(failing);
    }
  });

  it('a bad signature → 401, nothing written', async () => {
    const { app, producer, errorSink } = testApp({ now: () => NOW });
    const { url, ...init } = twilioRequest(STATUS_PATH, callParams('ringing'), { token: 'another-token' });
    expect((await app.request(url, init)).status).toBe(401);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(0);
  });

  it('an unknown CallStatus or AnsweredBy is kept in the error sink (202), never a default', async () => {
    for (const params of [callParams('ringing-ish'), callParams('in-progress', { AnsweredBy: 'robot' })]) {
      const { app, producer, errorSink } = testApp({ now: () => NOW });
      const { url, ...init } = twilioRequest(STATUS_PATH, params);
      expect((await app.request(url, init)).status).toBe(202);
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls).toHaveLength(1);
    }
  });

  it('no page reference in the URL → kept (202)', async () => {
    const { app, producer, errorSink } = testApp({ now: () => NOW });
    const { url, ...init } = twilioRequest('/webhooks/twilio/voice', callParams('ringing'));
    expect((await app.request(url, init)).status).toBe(202);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls[0].reason).toMatch(/page reference/);
  });
});

describe('POST /webhooks/twilio/voice/gather: the key press', () => {
  const gatherParams = (extra: Record<string, string>) => ({
    ...callParams('in-progress'),
    FinishedOnKey: '',
    msg: 'Gather End',
    ...extra,
  });

  it('Digits=1 → an ack record (via voice_key), TwiML "Acknowledged. Goodbye."', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    const { url, ...init } = twilioRequest(GATHER_PATH, gatherParams({ Digits: '1', AnsweredBy: 'human' }));
    const res = await app.request(url, init);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/xml/);
    const body = await res.text();
    expect(body).toContain(`<Say>${VOICE_ACKNOWLEDGED}</Say>`);
    expect(body).toContain('<Hangup/>');
    expect(producer.records).toHaveLength(1);
    AckRecord.parse(producer.records[0]);
    expect(producer.records[0]).toMatchObject({
      kind: 'ack',
      event_id: eventId('ack', 'twilio', CALL_SID),
      incident_id: PAGE.incidentId,
      alarm_arn: PAGE.alarmArn,
      channel: 'voice',
      via: 'voice_key',
      recipient: '+15551230001',
      message_id: CALL_SID,
    });
  });

  it('the signature is checked: a forged key press → 401, no ack', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    const { url, ...init } = twilioRequest(GATHER_PATH, gatherParams({ Digits: '1' }), { token: 'forged' });
    expect((await app.request(url, init)).status).toBe(401);
    expect(producer.calls).toHaveLength(0);
  });

  it('another key → the prompt once more (attempt 2), then goodbye; no ack', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    const first = twilioRequest(GATHER_PATH, gatherParams({ Digits: '7' }));
    const res = await app.request(first.url, first);
    const body = await res.text();
    expect(body).toContain(VOICE_OTHER_KEY);
    const action = /<Gather[^>]*action="([^"]+)"/.exec(body)![1].replace(/&amp;/g, '&');
    const next = new URL(action);
    expect(next.searchParams.get('attempt')).toBe('2');
    expect(next.searchParams.get('dispatch')).toBe(PAGE.dispatchId);
    // Twilio posts the second key press to that action, signed over it
    const second = twilioRequest(next.pathname + next.search, gatherParams({ Digits: '9' }));
    const res2 = await app.request(second.url, second);
    expect(res2.status).toBe(200);
    const body2 = await res2.text();
    expect(body2).toContain(VOICE_GOODBYE);
    expect(body2).not.toContain('<Gather');
    expect(producer.calls).toHaveLength(0);
  });

  it('an answering machine gets a short message and no ack, even with Digits=1', async () => {
    const { app, producer } = testApp({ now: () => NOW });
    const { url, ...init } = twilioRequest(GATHER_PATH, gatherParams({ Digits: '1', AnsweredBy: 'machine_end_beep' }));
    const body = await (await app.request(url, init)).text();
    expect(body).toContain(VOICE_MACHINE);
    expect(producer.calls).toHaveLength(0);
  });

  it('a key press without a page reference is kept in the error sink and the call ends with TwiML', async () => {
    const { app, producer, errorSink } = testApp({ now: () => NOW });
    const { url, ...init } = twilioRequest('/webhooks/twilio/voice/gather', gatherParams({ Digits: '1' }));
    const res = await app.request(url, init);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Hangup/>');
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(1);
  });
});

describe("POST /webhooks/twilio/voice/answer: the answered call's TwiML", () => {
  const SAY = 'This is pagetrail. P1 alarm. orders api cpu high is in alarm. Threshold Crossed.';
  const ANSWER_PATH = `/webhooks/twilio/voice/answer?${pageQuery()}&say=${encodeURIComponent(SAY)}&ref=7Q2M9XKD`;

  it(
    'a person hears the alarm inside a one-digit Gather whose action is the key-press route, then a goodbye; ' +
      'nothing is written',
    async () => {
      const { app, producer } = testApp({ now: () => NOW });
      const { url, ...init } = twilioRequest(ANSWER_PATH, callParams('in-progress', { AnsweredBy: 'human' }));
      const res = await app.request(url, init);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
      const xml = await res.text();
      const gather = new RegExp(
        [
          String.raw`<Gather numDigits="1" action="[^"]+\/webhooks\/twilio\/voice\/gather\?incident=[^"]+" `,
          'method="POST" timeout="8" actionOnEmptyResult="false">',
          String.raw`<Say>This is pagetrail\. P1 alarm\. orders api cpu high is in alarm\. Threshold Crossed\.<\/Say>`,
          String.raw`<Say>Press 1 to acknowledge\.<\/Say><\/Gather>`,
        ].join(''),
      );
      expect(xml).toMatch(gather);
      expect(xml).toContain(
        '<Say>No key was pressed. This page escalates unless acknowledged. ' +
          'Reference 7 Q 2 M 9 X K D. Goodbye.</Say><Hangup/>',
      );
      expect(producer.records).toHaveLength(0);
    },
  );

  it.each(['machine_end_beep', 'machine_end_silence', 'machine_end_other', 'fax'])(
    'a voicemail (%s) gets the short message only: no alarm details, no Gather',
    async (answeredBy) => {
      const { app } = testApp({ now: () => NOW });
      const { url, ...init } = twilioRequest(ANSWER_PATH, callParams('in-progress', { AnsweredBy: answeredBy }));
      const xml = await (await app.request(url, init)).text();
      expect(xml).toBe(
        '<?xml version="1.0" encoding="UTF-8"?><Response>' +
          '<Say>This is pagetrail with an urgent alarm for you. Please check your other channels now. ' +
          'Reference 7 Q 2 M 9 X K D. Goodbye.</Say><Hangup/></Response>',
      );
    },
  );

  it('a forged request → 401 and no TwiML; a missing script → kept (the call ends with TwiML)', async () => {
    const { app, errorSink } = testApp({ now: () => NOW });
    const forged = twilioRequest(ANSWER_PATH, callParams('in-progress', { AnsweredBy: 'human' }), {
      token: 'not-the-token',
    });
    expect((await app.request(forged.url, forged)).status).toBe(401);
    const bare = twilioRequest(
      `/webhooks/twilio/voice/answer?${pageQuery()}`,
      callParams('in-progress', { AnsweredBy: 'human' }),
    );
    const res = await app.request(bare.url, bare);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`<Say>${VOICE_GOODBYE}</Say><Hangup/>`);
    expect(errorSink.calls).toHaveLength(1);
  });
});
