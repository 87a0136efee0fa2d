import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { utcDate } from '../../schemas/time.js';

/** What the receiver knows about a rejected (authentic but malformed) request. */
export interface ErrorMeta {
  /** The route, e.g. `/webhooks/twilio`. */
  route: string;
  /** The failing field, when known (`MessageStatus`, `data.tags`, `0.status`...). */
  path?: string;
  /** Request path and query. */
  url?: string;
  /** Request headers without secrets (see `safeHeaders`). */
  headers?: Record<string, string>;
  /** Epoch ms the request arrived. */
  receivedAt: number;
}

/** Where verified-but-bad payloads go (the lake's error prefix), so nothing authentic is lost silently. */
export interface ErrorSink {
  put(reason: string, rawBody: Uint8Array, meta: ErrorMeta): Promise<void>;
}

/** Headers that carry credentials or signatures: never stored, never logged. */
const SECRET_HEADERS = new Set([
  'authorization',
  'cookie',
  'x-api-key',
  'x-twilio-signature',
  'svix-signature',
  'webhook-signature',
  'proxy-authorization',
]);

export function safeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!SECRET_HEADERS.has(name.toLowerCase())) out[name.toLowerCase()] = value;
  });
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The stored document: the reason, the request's metadata and the raw body (UTF-8, else base64). */
export function errorDocument(reason: string, rawBody: Uint8Array, meta: ErrorMeta): Record<string, unknown> {
  let body: string;
  let encoding: 'utf8' | 'base64';
  try {
    body = utf8.decode(rawBody);
    encoding = 'utf8';
  } catch {
    body = Buffer.from(rawBody).toString('base64');
    encoding = 'base64';
  }
  return {
    reason,
    path: meta.path,
    route: meta.route,
    url: meta.url,
    received_at: new Date(meta.receivedAt).toISOString(),
    headers: meta.headers,
    body_sha256: sha256Hex(rawBody),
    body_encoding: encoding,
    body,
  };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `errors/webhooks/dt=YYYY-MM-DD/<sha256 of body>.json`: a retry of the same body overwrites its object. */
export function errorObjectKey(rawBody: Uint8Array, receivedAt: number): string {
  return `errors/webhooks/dt=${utcDate(receivedAt)}/${sha256Hex(rawBody)}.json`;
}

/** Writes one JSON object per rejected body to the lake bucket (whole-object PUT). */
export class S3ErrorSink implements ErrorSink {
  constructor(private readonly options: { s3: Pick<S3Client, 'send'>; bucket: string }) {}

  async put(reason: string, rawBody: Uint8Array, meta: ErrorMeta): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: errorObjectKey(rawBody, meta.receivedAt),
        Body: JSON.stringify(errorDocument(reason, rawBody, meta)),
        ContentType: 'application/json',
      }),
    );
  }
}
