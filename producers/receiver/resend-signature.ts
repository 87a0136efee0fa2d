import { Webhook, WebhookVerificationError } from 'svix';
import { assertJsonDepth } from './body-parse.js';
import { PayloadError, SignatureError } from './errors.js';

export const SVIX_HEADERS = ['svix-id', 'svix-timestamp', 'svix-signature'] as const;
export type SvixHeaders = Partial<Record<(typeof SVIX_HEADERS)[number], string>>;

export interface VerifiedSvix {
  /** svix-id: the same on every retry of one event (the dedupe key). */
  id: string;
  /** The parsed JSON body. */
  payload: unknown;
}

/**
 * Verifies Resend webhooks (Svix: HMAC-SHA256 over `id.timestamp.body`, timestamp within ±5 min,
 * `svix-signature` a space-separated list of `v1,<base64>` of which one must match) over the raw body.
 * Only the `svix-*` headers count (svix would also accept the `webhook-*` names).
 */
export class ResendVerifier {
  private readonly webhook: Webhook;

  /** `secret`: the endpoint's signing secret, with or without the `whsec_` prefix. */
  constructor(secret: string) {
    this.webhook = new Webhook(secret);
  }

  /** Throws SignatureError (401), or PayloadError for an authentic body that is not JSON. */
  verify(body: string, headers: SvixHeaders): VerifiedSvix {
    for (const name of SVIX_HEADERS) {
      if (!headers[name]) throw new SignatureError(`missing ${name}`);
    }
    const id = headers['svix-id']!;
    if (!/^\d{1,12}$/.test(headers['svix-timestamp']!)) throw new SignatureError('svix-timestamp is not epoch seconds');
    let payload: unknown;
    try {
      payload = this.webhook.verify(body, {
        'svix-id': id,
        'svix-timestamp': headers['svix-timestamp']!,
        'svix-signature': headers['svix-signature']!,
      });
    } catch (err) {
      if (err instanceof WebhookVerificationError) throw new SignatureError(err.message);
      // svix JSON-parses the body only after the signature matched.
      throw new PayloadError('body is not JSON', [], { cause: err });
    }
    if (payload === undefined) throw new PayloadError('empty body');
    assertJsonDepth(payload); // PayloadError 'nested too deep': nothing after this recurses unbounded
    return { id, payload };
  }
}
