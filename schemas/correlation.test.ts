import { describe, expect, it } from 'vitest';
import { pageRefFromQuery, pageRefFromTags, resendTags, twilioStatusCallbackUrl } from './correlation.js';

const ref = {
  incidentId: 'inc_0123456789abcdef0123',
  alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders api/cpu',
  dispatchId: 'evt_00112233445566778899aabbccddeeff',
};

describe('page correlation', () => {
  it('round-trips through the Twilio StatusCallback URL', () => {
    const url = new URL(twilioStatusCallbackUrl('https://alerts.example.com', ref));
    expect(url.pathname).toBe('/webhooks/twilio');
    expect(pageRefFromQuery(url.searchParams)).toEqual(ref);
  });

  it('round-trips through Resend tags whose values use only [A-Za-z0-9_-]', () => {
    const tags = resendTags({ ...ref, severity: 'P1' });
    for (const t of tags) expect(t.value).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(pageRefFromTags(Object.fromEntries(tags.map((t) => [t.name, t.value])))).toEqual(ref);
  });

  it('rejects a callback without the page, or with a forged ARN', () => {
    expect(pageRefFromQuery(new URLSearchParams('incident=inc_1234'))).toBeUndefined();
    expect(
      pageRefFromQuery(new URLSearchParams({ incident: 'inc_1234', alarm: 'not-an-arn', dispatch: 'evt_1234' })),
    ).toBeUndefined();
    expect(pageRefFromTags({ incident_id: 'inc_1234' })).toBeUndefined();
    expect(pageRefFromTags(undefined)).toBeUndefined();
  });
});
