import { describe, expect, it } from 'vitest';
import { normalizeAddress, sameAddress } from './address.js';

describe('normalizeAddress', () => {
  it('phone numbers, SMS or WhatsApp, to E.164', () => {
    expect(normalizeAddress('+15551230001')).toBe('+15551230001');
    expect(normalizeAddress('whatsapp:+15551230001')).toBe('+15551230001');
    expect(normalizeAddress('WhatsApp:+1 (555) 123-0001')).toBe('+15551230001');
    expect(normalizeAddress(' 0044 20 7946 0958 ')).toBe('+442079460958');
  });

  it('emails, lowercased', () => {
    expect(normalizeAddress(' Alice@Example.COM ')).toBe('alice@example.com');
  });

  it('anything else is not an address', () => {
    for (const bad of ['', '5551230001', '+0551230001', '+1555', 'whatsapp:', 'PAGETRAIL', 'a@', undefined, null])
      expect(normalizeAddress(bad)).toBeUndefined();
  });

  it('sameAddress compares normalized forms', () => {
    expect(sameAddress('whatsapp:+15551230001', '+1 555 123 0001')).toBe(true);
    expect(sameAddress('+15551230001', '+15551230002')).toBe(false);
    expect(sameAddress('nope', 'nope')).toBe(false);
  });
});
