/**
 * Signs SNS HTTP(S) messages as Amazon SNS does (SignatureVersion 2, RSA-SHA256 over the canonical string of the
 * message's type), with a key and self-signed certificate generated locally (openssl) and kept in `dir` across
 * restarts — so the receiver's cached certificate stays good. Only the local stack trusts it: its receiver lists the
 * simulator's certificate URL in SNS_TRUSTED_CERT_URLS (AWS's own certificates come only from
 * `https://sns.<region>.amazonaws.com`).
 */
import { execFileSync } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalString } from '../../../producers/receiver/sns-signature.js';

export interface SnsSigner {
  /** The certificate (PEM) the signatures verify with. */
  cert: string;
  /** A signed Notification of `topicArn` carrying `message`. */
  notification(topicArn: string, message: string, certUrl: string): Record<string, string>;
  /** A signed SubscriptionConfirmation (SubscribeURL: `subscribeUrl`). */
  confirmation(topicArn: string, subscribeUrl: string, certUrl: string): Record<string, string>;
}

/** The local key pair in `dir` (created on first use, CN sns.local.pagetrail.test, valid 10 years). */
export function localSnsSigner(dir: string): SnsSigner {
  mkdirSync(dir, { recursive: true });
  const keyFile = path.join(dir, 'sns-signing.key');
  const certFile = path.join(dir, 'sns-signing.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    try {
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650'],
          ...['-keyout', keyFile, '-out', certFile, '-subj', '/CN=sns.local.pagetrail.test'],
        ],
        { stdio: 'pipe' },
      );
    } catch (err) {
      throw new Error(`cannot generate the local SNS signing certificate with openssl: ${(err as Error).message}`);
    }
  }
  const key = readFileSync(keyFile, 'utf8');
  const cert = readFileSync(certFile, 'utf8');
  const sign = (m: Record<string, string>) => {
    const s = createSign('RSA-SHA256');
    s.update(canonicalString(m));
    return { ...m, Signature: s.sign(key, 'base64') };
  };
  const base = (topicArn: string, certUrl: string) => ({
    MessageId: randomUUID(),
    TopicArn: topicArn,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '2',
    SigningCertURL: certUrl,
  });
  return {
    cert,
    notification: (topicArn, message, certUrl) =>
      sign({ Type: 'Notification', ...base(topicArn, certUrl), Message: message }),
    confirmation: (topicArn, subscribeUrl, certUrl) =>
      sign({
        Type: 'SubscriptionConfirmation',
        ...base(topicArn, certUrl),
        Token: randomUUID().replace(/-/g, ''),
        SubscribeURL: subscribeUrl,
        Message:
          `You have chosen to subscribe to the topic ${topicArn}.\n` +
          'To confirm the subscription, visit the SubscribeURL included in this message.',
      }),
  };
}
