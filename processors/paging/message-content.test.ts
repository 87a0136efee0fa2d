import { describe, expect, it } from 'vitest';
import { emailHtml, emailText, type PageContent } from './message-content.js';

const content: PageContent = {
  incidentId: 'inc_0123456789abcdef0123',
  alarmName: 'orders-db-cpu',
  severity: 'P1',
  namespace: 'AWS/RDS',
  metric: 'CPUUtilization',
  reason: 'Threshold Crossed: 1 datapoint [95.0] was greater than the threshold (80.0).',
  personName: 'Bob Diaz',
  level: 1,
  ackCode: 'K7Q2',
  ackUrl: 'https://alerts.example.com/ack?incident=inc_1&sig=x',
  openedAt: Date.parse('2026-11-28T12:00:00Z'),
  escalateAt: Date.parse('2026-11-28T12:05:00Z'),
  alarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-db-cpu',
};
const CONSOLE =
  'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/orders-db-cpu';

describe('email', () => {
  it('the plain-text part says when it escalates and links the alarm in CloudWatch', () => {
    const text = emailText(content, '7Q2M9XKD');
    expect(text).toContain('Opened: 2026-11-28 12:00:00 UTC');
    expect(text).toContain('Escalates at 2026-11-28 12:05:00 UTC unless acknowledged.');
    expect(text).toContain(`Alarm in CloudWatch: ${CONSOLE}`);
    expect(text).toContain('Ref 7Q2M9XKD');
  });

  it('the HTML part says the same', () => {
    const html = emailHtml(content, '7Q2M9XKD');
    expect(html).toContain('2026-11-28 12:05:00 UTC unless acknowledged');
    expect(html).toContain(`href="${CONSOLE}"`);
  });

  it('renders the same page identically (idempotent re-sends) and omits what it does not know', () => {
    expect(emailHtml(content, 'R')).toBe(emailHtml({ ...content }, 'R'));
    const bare = emailText({ ...content, escalateAt: undefined, alarmArn: undefined }, 'R');
    expect(bare).not.toContain('Escalates');
    expect(bare).not.toContain('CloudWatch');
  });
});
