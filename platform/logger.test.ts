import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskPii } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger('t', { level: 'debug', destination }), lines, raw };
}

describe('maskPii', () => {
  it('masks E.164 numbers, WhatsApp addresses and URL-encoded numbers but the last two digits', () => {
    expect(maskPii('to +15551230001 now')).toBe('to +*********01 now');
    expect(maskPii('whatsapp:+447700900123')).toBe('whatsapp:+**********23');
    expect(maskPii('/Messages.json?To=%2B15551230001&x=1')).toBe('/Messages.json?To=%2B*********01&x=1');
  });

  it('masks email addresses but the first character and the domain', () => {
    expect(maskPii('sent to bob.diaz+oncall@example.com.')).toBe('sent to b***@example.com.');
    expect(maskPii('to=carol%40example.org')).toBe('to=c***%40example.org');
  });

  it('leaves ids, times and short numbers alone', () => {
    for (const s of [
      '2026-11-28T10:00:04.000+00:00',
      'inc-3f2a9c1d',
      'SM0123456789abcdef',
      'attempt +3',
      'Ref 7Q2M9XKD',
      'arn:aws:cloudwatch:us-east-1:123456789012:alarm:x',
    ]) {
      expect(maskPii(s)).toBe(s);
    }
  });
});

describe('createLogger', () => {
  it('masks numbers and addresses in fields, nested objects, arrays, errors and the message', () => {
    const { logger, lines, raw } = capture();
    logger.info(
      {
        recipient: '+15551230001',
        to: ['bob@example.com'],
        nested: { deep: { address: 'whatsapp:+15551230002' } },
        err: new Error('21211: invalid To +15551230003'),
      },
      'paged +15551230004 and carol@example.org',
    );
    logger.child({ person: 'dan@example.net' }).child({ to: '+15551230009' }).warn('child line');
    expect(raw.join('\n')).not.toMatch(/\+1555123000\d|bob@|carol@|dan@/);
    expect(lines[0]).toMatchObject({
      recipient: '+*********01',
      to: ['b***@example.com'],
      nested: { deep: { address: 'whatsapp:+*********02' } },
      err: { type: 'Error', message: '21211: invalid To +*********03' },
      msg: 'paged +*********04 and c***@example.org',
    });
    expect((lines[0].err as { stack: string }).stack).toContain('logger.test.ts');
    expect(lines[1]).toMatchObject({ level: 40, msg: 'child line', person: 'd***@example.net', to: '+*********09' });
  });

  it('still redacts secrets by key', () => {
    const { logger, lines } = capture();
    logger.info({ headers: { authorization: 'Basic abc' }, apiKey: 'k' }, 'x');
    expect(lines[0]).toMatchObject({ headers: { authorization: '[redacted]' }, apiKey: '[redacted]' });
  });
});
