import { describe, expect, it } from 'vitest';
import { csrfMatches, csrfTokenOf, sessionCookie, sessionCookieValue, signSession, verifySession } from './session.js';

const SECRET = 'session-test-secret-0123456789abcdef0123456789';
const NOW = Date.parse('2026-12-07T03:00:00.000Z');
const HOUR = 3_600_000;

describe('session cookie', () => {
  it('verifies what it signed, until it expires', () => {
    const s = signSession(SECRET, 'alice', NOW, 12 * HOUR);
    expect(verifySession(SECRET, s.value, NOW + HOUR)).toEqual({
      person: 'alice',
      sessionId: s.sessionId,
      issuedAt: NOW,
      expiresAt: NOW + 12 * HOUR,
    });
    expect(verifySession(SECRET, s.value, NOW + 12 * HOUR)).toEqual({ invalid: 'session expired' });
  });

  it('refuses a tampered payload, another secret, and junk', () => {
    const s = signSession(SECRET, 'alice', NOW, HOUR);
    const [payload, mac] = s.value.split('.');
    const forged = Buffer.from(
      Buffer.from(payload, 'base64url').toString('utf8').replace('"alice"', '"admin"'),
    ).toString('base64url');
    expect(verifySession(SECRET, `${forged}.${mac}`, NOW)).toEqual({ invalid: 'bad session signature' });
    expect(verifySession(`${SECRET}x`, s.value, NOW)).toEqual({ invalid: 'bad session signature' });
    for (const junk of ['', 'a', 'a.b.c', `${payload}.`, '.'.repeat(3)])
      expect(verifySession(SECRET, junk, NOW)).toHaveProperty('invalid');
    expect(verifySession(SECRET, undefined, NOW)).toEqual({ invalid: 'no session cookie' });
  });

  it('gives each session its own CSRF token, checked in constant time', () => {
    const a = signSession(SECRET, 'alice', NOW, HOUR);
    const b = signSession(SECRET, 'alice', NOW, HOUR);
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(csrfMatches(SECRET, a.sessionId, csrfTokenOf(SECRET, a.sessionId))).toBe(true);
    expect(csrfMatches(SECRET, a.sessionId, csrfTokenOf(SECRET, b.sessionId))).toBe(false);
    expect(csrfMatches(SECRET, a.sessionId, undefined)).toBe(false);
    expect(csrfMatches(SECRET, a.sessionId, 'short')).toBe(false);
  });

  it('is HttpOnly, SameSite=Lax, expiring; Secure and __Host- named on https', () => {
    expect(sessionCookie('v', 43_200, true)).toBe(
      '__Host-pagetrail_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure',
    );
    expect(sessionCookie('v', 60, false)).toBe('pagetrail_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60');
    expect(sessionCookieValue('a=1; __Host-pagetrail_session=xyz; b=2', true)).toBe('xyz');
    // the unprefixed name is not read on https (a cookie an http page could have set)
    expect(sessionCookieValue('pagetrail_session=xyz', true)).toBeUndefined();
  });
});
