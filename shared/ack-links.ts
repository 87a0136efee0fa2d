import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureError } from './errors.js';

/**
 * Signed acknowledge links for emails: `<base>/ack?incident=…&alarm=…&person=…&exp=<epoch ms>&sig=…`,
 * sig = base64url(HMAC-SHA256(secret, canonical claims)). Verified in constant time, with expiry.
 * The link only opens a confirmation page; the acknowledgement is its POST (see ack-page.ts).
 */

export interface AckLinkClaims {
  incidentId: string;
  alarmArn: string;
  person: string;
  /** Epoch ms after which the link is refused. */
  expiresAtMs: number;
}

const PARAM = { incident: 'incident', alarm: 'alarm', person: 'person', exp: 'exp', sig: 'sig' } as const;

/** Unambiguous: a JSON array cannot be re-split differently. Versioned so the format can change. */
function canonical(c: AckLinkClaims): string {
  return JSON.stringify(['pagetrail.ack.v1', c.incidentId, c.alarmArn, c.person, c.expiresAtMs]);
}

function sign(claims: AckLinkClaims, secret: string): Buffer {
  return createHmac('sha256', secret).update(canonical(claims)).digest();
}

/** The link to put in a page email. */
export function ackLinkUrl(
  publicBaseUrl: string,
  ref: { incidentId: string; alarmArn: string; person: string },
  secret: string,
  expiresAtMs: number,
): string {
  const claims: AckLinkClaims = { ...ref, expiresAtMs: Math.trunc(expiresAtMs) };
  const url = new URL('/ack', publicBaseUrl);
  url.searchParams.set(PARAM.incident, claims.incidentId);
  url.searchParams.set(PARAM.alarm, claims.alarmArn);
  url.searchParams.set(PARAM.person, claims.person);
  url.searchParams.set(PARAM.exp, String(claims.expiresAtMs));
  url.searchParams.set(PARAM.sig, sign(claims, secret).toString('base64url'));
  return url.toString();
}

/** The link's fields, to carry from the GET page into its POST form. */
export function ackLinkFields(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.values(PARAM)) {
    const v = params.get(name);
    if (v !== null) out[name] = v;
  }
  return out;
}

/** The claims of an authentic, unexpired link; throws SignatureError otherwise. */
export function verifyAckLink(params: URLSearchParams, secret: string, nowMs: number): AckLinkClaims {
  const incidentId = params.get(PARAM.incident);
  const alarmArn = params.get(PARAM.alarm);
  const person = params.get(PARAM.person);
  const exp = params.get(PARAM.exp);
  const sig = params.get(PARAM.sig);
  if (!incidentId || !alarmArn || !person || !exp || !sig) throw new SignatureError('incomplete ack link');
  if (!/^\d{1,16}$/.test(exp)) throw new SignatureError('malformed ack link expiry');
  const claims: AckLinkClaims = { incidentId, alarmArn, person, expiresAtMs: Number(exp) };
  const expected = Buffer.from(sign(claims, secret).toString('base64url'));
  const presented = Buffer.from(sig);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected))
    throw new SignatureError('ack link signature does not match');
  if (!(nowMs < claims.expiresAtMs)) throw new SignatureError('ack link expired');
  return claims;
}
