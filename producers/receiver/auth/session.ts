import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The console's session: a cookie the server signs (HMAC-SHA256 with CONSOLE_SESSION_SECRET). Its value is
 * `<payload>.<mac>`, both base64url; the payload names the person, a random session id and when it was issued and
 * expires. The signature alone is not enough: the session id must still be on record in the auth table
 * (session-store.ts: put at sign-in, deleted at sign-out or by `make sessions REVOKE=1`), checked on each request.
 * The person's role is not in it: it is read from the on-call file on every request, so a role change or a person
 * removed from the file takes effect at once.
 *
 * The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, with `Max-Age`; on an https PUBLIC_BASE_URL it is `Secure`
 * and named with the `__Host-` prefix (the browser then refuses it from http or for another host).
 *
 * CSRF: a synchronizer token derived from the session (HMAC of its id, under a separate label), so it needs no
 * storage: a server-rendered form carries it as a hidden `csrf` field, a script sends it as `x-csrf-token`. Every
 * state-changing request made with a session must carry it (`checkCsrf`); an API key needs none (no cookie).
 */

export const SESSION_COOKIE = 'pagetrail_session';
export const SECURE_SESSION_COOKIE = '__Host-pagetrail_session';
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = 'csrf';

const Payload = z.strictObject({
  /** person id in the on-call file */
  p: z.string().min(1).max(128),
  /** session id: 16 random bytes, base64url */
  s: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  /** issued, expires: epoch ms */
  i: z.number().int().nonnegative(),
  e: z.number().int().positive(),
});

export interface Session {
  person: string;
  sessionId: string;
  issuedAt: number;
  expiresAt: number;
}

const b64 = (b: Buffer) => b.toString('base64url');
const mac = (secret: string, label: string, data: string) =>
  createHmac('sha256', secret).update(`${label}\u001f${data}`).digest();

/** A new session's cookie value for `person`, valid `ttlMs` from `now`. */
export function signSession(secret: string, person: string, now: number, ttlMs: number): { value: string } & Session {
  const session: Session = { person, sessionId: b64(randomBytes(16)), issuedAt: now, expiresAt: now + ttlMs };
  const payload = b64(
    Buffer.from(JSON.stringify({ p: person, s: session.sessionId, i: session.issuedAt, e: session.expiresAt })),
  );
  return { value: `${payload}.${b64(mac(secret, 'session', payload))}`, ...session };
}

/** The session a cookie value holds, or a reason it holds none (bad MAC, malformed, expired). */
export function verifySession(secret: string, value: string | undefined, now: number): Session | { invalid: string } {
  if (!value) return { invalid: 'no session cookie' };
  const [payload, sig, ...rest] = value.split('.');
  if (!payload || !sig || rest.length > 0 || value.length > 1024) return { invalid: 'malformed session cookie' };
  const expected = mac(secret, 'session', payload);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { invalid: 'bad session signature' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { invalid: 'malformed session payload' };
  }
  const parsed = Payload.safeParse(json);
  if (!parsed.success) return { invalid: 'malformed session payload' };
  if (parsed.data.e <= now) return { invalid: 'session expired' };
  return { person: parsed.data.p, sessionId: parsed.data.s, issuedAt: parsed.data.i, expiresAt: parsed.data.e };
}

/** The session's CSRF token (what a form's hidden `csrf` field or the `x-csrf-token` header carries). */
export const csrfTokenOf = (secret: string, sessionId: string): string => b64(mac(secret, 'csrf', sessionId));

/** Whether `presented` is the session's CSRF token (constant time). */
export function csrfMatches(secret: string, sessionId: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenOf(secret, sessionId));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The cookie's name: `__Host-` prefixed on https. */
export const sessionCookieName = (secure: boolean) => (secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE);

/** The Set-Cookie header value that stores (or, with `value` empty and maxAgeS 0, clears) the session. */
export function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  return [
    `${sessionCookieName(secure)}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.max(0, Math.floor(maxAgeS))}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** The session cookie's value in a Cookie header (undefined when absent). */
export function sessionCookieValue(cookieHeader: string | undefined, secure: boolean): string | undefined {
  if (!cookieHeader) return undefined;
  const name = sessionCookieName(secure);
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
