import { describe, expect, it } from 'vitest';
import { DeliveryStatus } from '../../schemas/status.js';
import { UnknownStatusError } from './errors.js';
import {
  RESEND_STATUS,
  TWILIO_ANSWERED_BY,
  TWILIO_CALL_STATUS,
  TWILIO_STATUS,
  resendStatus,
  twilioCallStatus,
  twilioStatus,
} from './status-map.js';

describe('Twilio statuses', () => {
  const table: [string, DeliveryStatus][] = [
    ['queued', 'queued'],
    ['sending', 'queued'],
    ['sent', 'sent'],
    ['failed', 'failed'],
    ['delivered', 'delivered'],
    ['undelivered', 'undelivered'],
    ['receiving', 'received'],
    ['received', 'received'],
    ['accepted', 'queued'],
    ['scheduled', 'queued'],
    ['read', 'opened'],
    ['partially_delivered', 'delivered'],
    ['canceled', 'canceled'],
  ];

  it.each(table)('%s → %s, raw word kept', (word, status) => {
    expect(twilioStatus(word)).toEqual({ status, provider_status: word });
  });

  it('covers every status twilio-node knows, and nothing else', () => {
    expect(Object.keys(TWILIO_STATUS).sort()).toEqual(table.map(([w]) => w).sort());
    for (const s of Object.values(TWILIO_STATUS)) expect(DeliveryStatus.options).toContain(s);
  });

  it('is case-insensitive but keeps the word as sent', () => {
    expect(twilioStatus('Delivered')).toEqual({ status: 'delivered', provider_status: 'Delivered' });
  });

  it.each(['', 'READ_BY_ALIEN', 'opened', 'constructor', '__proto__'])(
    'rejects the unknown status %j with a clear error',
    (word) => {
      expect(() => twilioStatus(word)).toThrow(UnknownStatusError);
      expect(() => twilioStatus(word)).toThrow(/unknown twilio status/);
    },
  );
});

describe('Resend event types', () => {
  const table: [string, DeliveryStatus][] = [
    ['email.sent', 'sent'],
    ['email.scheduled', 'queued'],
    ['email.delivered', 'delivered'],
    ['email.delivery_delayed', 'delayed'],
    ['email.complained', 'complained'],
    ['email.bounced', 'bounced'],
    ['email.opened', 'opened'],
    ['email.clicked', 'clicked'],
    ['email.received', 'received'],
    ['email.failed', 'failed'],
    ['email.suppressed', 'suppressed'],
  ];

  it.each(table)('%s → %s, raw type kept', (type, status) => {
    expect(resendStatus(type)).toEqual({ status, provider_status: type });
  });

  it('covers every email.* event type, and nothing else', () => {
    expect(Object.keys(RESEND_STATUS).sort()).toEqual(table.map(([t]) => t).sort());
  });

  it.each(['email.unknown', 'contact.created', 'opened', 'EMAIL.OPENED', 'toString'])(
    'rejects %j with a clear error',
    (type) => {
      const err = (() => {
        try {
          resendStatus(type);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(UnknownStatusError);
      expect((err as UnknownStatusError).path).toBe('type');
    },
  );
});

describe('Twilio call statuses (voice pages)', () => {
  it(
    'covers every CallStatus twilio-node knows plus the callback-only initiated (and AnsweredBy values), each a ' +
      'DeliveryStatus',
    async () => {
      expect(Object.keys(TWILIO_CALL_STATUS).sort()).toEqual([
        'busy',
        'canceled',
        'completed',
        'failed',
        'in-progress',
        'initiated',
        'no-answer',
        'queued',
        'ringing',
      ]);
      expect(Object.keys(TWILIO_ANSWERED_BY).sort()).toEqual([
        'fax',
        'human',
        'machine_end_beep',
        'machine_end_other',
        'machine_end_silence',
        'machine_start',
        'unknown',
      ]);
      for (const s of [...Object.values(TWILIO_CALL_STATUS), ...Object.values(TWILIO_ANSWERED_BY)])
        expect(DeliveryStatus.options).toContain(s);
    },
  );

  it('AnsweredBy counts only on an answered or completed call', () => {
    expect(twilioCallStatus('ringing', 'human')).toEqual({ status: 'delivered', provider_status: 'ringing' });
    expect(twilioCallStatus('In-Progress', 'human')).toEqual({
      status: 'opened',
      provider_status: 'In-Progress:human',
    });
  });

  it('an unknown word is an error naming the field', () => {
    expect(() => twilioCallStatus('dialling')).toThrow(UnknownStatusError);
    expect(() => twilioCallStatus('completed', 'robot')).toThrow(/AnsweredBy|robot/);
  });
});
