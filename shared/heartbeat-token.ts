import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Heartbeat check-in tokens (`GET|POST /heartbeat/<token>`; schemas/oncall/heartbeats.ts): `<check id>.<mac>`, the
 * mac base64url of HMAC-SHA256(HEARTBEAT_SECRET, "pagetrail-heartbeat\0" + check id) (256 bits: not guessable). Not
 * stored anywhere: the receiver recomputes the mac of the check id presented and compares it in constant time, and
 * `make heartbeat-url CHECK=<id>` prints the URL from the same secret. Rotating HEARTBEAT_SECRET changes every
 * check's URL; the token of one check says nothing about another's.
 */
const CHECK = /^[A-Za-z0-9_-]{1,64}$/;
const MAC_CHARS = 43; // 32 bytes, base64url without padding

function mac(secret: string, checkId: string): Buffer {
  return createHmac('sha256', secret).update(`pagetrail-heartbeat\0${checkId}`, 'utf8').digest();
}

/** The token of a check. */
export function heartbeatToken(secret: string, checkId: string): string {
  if (!CHECK.test(checkId)) throw new RangeError(`not a check id: ${JSON.stringify(checkId.slice(0, 80))}`);
  return `${checkId}.${mac(secret, checkId).toString('base64url')}`;
}

/** The check-in URL of a check under the receiver's public base URL. */
export function heartbeatUrl(baseUrl: string, secret: string, checkId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/heartbeat/${heartbeatToken(secret, checkId)}`;
}

/**
 * The check id a presented token stands for, or undefined (malformed, or the mac is not that check's). The same work
 * whatever is presented: a mac is always computed and compared (a malformed token's against a dummy check), so the
 * answer's time says nothing about how much of a token was right.
 */
export function checkOfToken(secret: string | undefined, token: string | undefined): string | undefined {
  const dot = token?.lastIndexOf('.') ?? -1;
  const id = token !== undefined && dot > 0 ? token.slice(0, dot) : '';
  const presented = token !== undefined && dot > 0 ? token.slice(dot + 1) : '';
  const wellFormed = CHECK.test(id) && presented.length === MAC_CHARS && /^[A-Za-z0-9_-]+$/.test(presented);
  const expected = mac(secret ?? 'no secret configured', wellFormed ? id : 'x');
  const given = Buffer.alloc(32);
  if (wellFormed) Buffer.from(presented, 'base64url').copy(given);
  const equal = timingSafeEqual(expected, given);
  return equal && wellFormed && secret !== undefined ? id : undefined;
}
