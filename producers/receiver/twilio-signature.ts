// The webhooks module alone (node:crypto only), not the package index: that loads the whole REST
// client (~7.8 MB of the receiver's bundle) for the four functions used here.
import * as twilio from 'twilio/lib/webhooks/webhooks.js';
import { parseForm, parseJson } from './body-parse.js';
import { PayloadError, SignatureError } from './errors.js';

/** Verified webhook parameters: every posted field (a repeated field keeps all its values). */
export type TwilioParams = Record<string, string | string[]>;

/** X-Twilio-Signature: the signature, whichever key and algorithm made it. */
export const SIGNATURE_HEADER = 'x-twilio-signature';
/**
 * X-Twilio-Webhooks-Signature-Settings: `key=<SharedKey sid>,algorithm=HMAC_SHA256`, present only when
 * a Webhooks Setting signed the request with its SharedKey (twilio-node `SIGNATURE_SETTINGS_HEADER`).
 */
export const SIGNATURE_SETTINGS_HEADER = 'x-twilio-webhooks-signature-settings';

/** The algorithms the installed twilio-node verifies (`HMAC_SHA1`, `HMAC_SHA256`). */
const SUPPORTED_ALGORITHMS = new Set<string>([twilio.HMAC_SHA1, twilio.HMAC_SHA256]);

export interface TwilioKeys {
  /** The account's Auth Token: signs with HMAC-SHA1 when no settings header is sent (the default). */
  authToken: string;
  /**
   * The SharedKey secret of a Twilio Webhooks Setting (TWILIO_WEBHOOK_SHARED_KEY_SECRET). Unset (the
   * default): a request carrying X-Twilio-Webhooks-Signature-Settings is refused (401).
   */
  sharedKeySecret?: string;
}

export interface TwilioRequest {
  /** Path and query exactly as requested (raw, not re-encoded), e.g. `/webhooks/twilio?incident=…`. */
  pathAndQuery: string;
  /** X-Twilio-Signature. */
  signature: string | undefined;
  /** X-Twilio-Webhooks-Signature-Settings, when sent. */
  signatureSettings?: string | undefined;
  /** The raw body (UTF-8). */
  body: string;
}

/**
 * The URL Twilio signed: the configured public origin + the request's path and query, as requested.
 * Never the socket address or the Host header (behind a TLS proxy those are not what Twilio called).
 */
export function twilioSignedUrl(publicBaseUrl: string, pathAndQuery: string): string {
  return publicBaseUrl.replace(/\/+$/, '') + pathAndQuery;
}

/**
 * The secret and algorithm a request was signed with, as twilio-node's `webhook()` middleware picks
 * them: no (or an empty) settings header → the Auth Token and HMAC_SHA1; a settings header → the
 * SharedKey secret and the header's `algorithm`. Throws SignatureError when that key is not configured
 * or the algorithm is not one the SDK supports.
 */
export function signingKey(
  keys: TwilioKeys,
  signatureSettings: string | undefined,
): { secret: string; algorithm: string } {
  if (!signatureSettings) return { secret: keys.authToken, algorithm: twilio.HMAC_SHA1 };
  if (!keys.sharedKeySecret)
    throw new SignatureError('signed with a Webhooks SharedKey, but TWILIO_WEBHOOK_SHARED_KEY_SECRET is not set');
  const algorithm = twilio.getSignatureAlgorithm(signatureSettings).toUpperCase();
  if (!SUPPORTED_ALGORITHMS.has(algorithm))
    throw new SignatureError(`unsupported signature algorithm ${JSON.stringify(algorithm.slice(0, 32))}`);
  return { secret: keys.sharedKeySecret, algorithm };
}

/** Null-prototype (`__proto__=x` is a parameter the signature covers, not a prototype). */
const formParams = parseForm;

function jsonParams(body: string): TwilioParams {
  const json = parseJson(body); // PayloadError: not JSON, or nested too deep
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new PayloadError('body is not a JSON object');
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/**
 * Verifies X-Twilio-Signature with the official helpers and returns the verified parameters.
 * `keys`: the Auth Token (a string) or the Auth Token and the SharedKey secret (see `signingKey`).
 * Form bodies: `validateRequest` over the signed URL and every posted field (it tries the URL as
 * requested, with and without the scheme's default port, then its normalized forms). JSON bodies (the
 * URL carries `bodySHA256`): `validateRequestWithBody`. Throws SignatureError (401) or, for a verified
 * body that is not a JSON object, PayloadError.
 */
export function verifyTwilioRequest(
  keys: TwilioKeys | string,
  publicBaseUrl: string,
  req: TwilioRequest,
): TwilioParams {
  if (!req.signature) throw new SignatureError('missing X-Twilio-Signature');
  const { secret, algorithm } = signingKey(
    typeof keys === 'string' ? { authToken: keys } : keys,
    req.signatureSettings,
  );
  const url = twilioSignedUrl(publicBaseUrl, req.pathAndQuery);
  let bodyHashed: boolean;
  try {
    bodyHashed = new URL(url).searchParams.has('bodySHA256');
  } catch {
    throw new SignatureError('the request URL cannot be parsed');
  }
  if (bodyHashed) {
    if (!twilio.validateRequestWithBody(secret, req.signature, url, req.body, algorithm)) {
      throw new SignatureError('X-Twilio-Signature or bodySHA256 does not match');
    }
    return jsonParams(req.body);
  }
  const params = formParams(req.body);
  if (!twilio.validateRequest(secret, req.signature, url, params, algorithm)) {
    throw new SignatureError('X-Twilio-Signature does not match');
  }
  return params;
}
