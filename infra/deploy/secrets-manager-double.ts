/**
 * Tests only: a small stand-in for the Secrets Manager JSON API (AWS JSON 1.1: `POST /`,
 * `x-amz-target: secretsmanager.<Operation>`), enough for the real SDK client: CreateSecret,
 * DescribeSecret, GetSecretValue, PutSecretValue, with AWS's error shapes (ResourceNotFoundException,
 * ResourceExistsException, InvalidRequestException) and full ARNs with the random 6-character suffix.
 * Secrets may be seeded (also scheduled for deletion); an operation can be made to never answer (to
 * test deadlines). Every call is recorded (target and body).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  /** Current value; undefined: no AWSCURRENT version. */
  value?: string;
  versionId?: string;
  deletedDate?: number;
}

export interface SecretsManagerCall {
  target: string;
  body: Record<string, unknown>;
}

export interface SecretsManagerDouble {
  endpoint: string;
  secrets: Map<string, StoredSecret>;
  calls: SecretsManagerCall[];
  /** Operations (e.g. 'GetSecretValue') that are received and never answered. */
  hang: Set<string>;
  /** Resolves when `n` calls of `target` have been received. */
  received(target: string, n?: number): Promise<void>;
  seed(name: string, value?: string, opts?: { deletedDate?: number }): StoredSecret;
  close(): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const suffix = () => randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
const newVersion = () =>
  randomBytes(16)
    .toString('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');

export async function startSecretsManagerDouble(): Promise<SecretsManagerDouble> {
  const secrets = new Map<string, StoredSecret>();
  const calls: SecretsManagerCall[] = [];
  const hang = new Set<string>();
  const waiters: { target: string; n: number; resolve: () => void }[] = [];
  const pending = new Set<http.ServerResponse>();

  const find = (id: unknown) => {
    if (typeof id !== 'string') return undefined;
    for (const s of secrets.values()) if (s.name === id || s.arn === id) return s;
    return undefined;
  };
  const seed = (name: string, value?: string, opts: { deletedDate?: number } = {}) => {
    const s: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix()}`,
      value,
      ...(value !== undefined ? { versionId: newVersion() } : {}),
      ...(opts.deletedDate ? { deletedDate: opts.deletedDate } : {}),
    };
    secrets.set(name, s);
    return s;
  };

  type Answer = { status: number; body: Record<string, unknown> };
  const error = (type: string, message: string): Answer => ({ status: 400, body: { __type: type, message } });
  const notFound = () => error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  const markedForDeletion = () =>
    error(
      'InvalidRequestException',
      'You can’t perform this operation on the secret because it was marked for deletion.',
    );

  const operations: Record<string, (b: Record<string, unknown>) => Answer> = {
    CreateSecret(b) {
      if (typeof b.Name !== 'string' || b.Name === '') return error('InvalidParameterException', 'Name is required');
      if (secrets.has(b.Name))
        return error('ResourceExistsException', `The operation failed because the secret ${b.Name} already exists.`);
      const s = seed(b.Name, typeof b.SecretString === 'string' ? b.SecretString : undefined);
      if (typeof b.Description === 'string') s.description = b.Description;
      return { status: 200, body: { ARN: s.arn, Name: s.name, ...(s.versionId ? { VersionId: s.versionId } : {}) } };
    },
    DescribeSecret(b) {
      const s = find(b.SecretId);
      if (!s) return notFound();
      return {
        status: 200,
        body: {
          ARN: s.arn,
          Name: s.name,
          ...(s.description ? { Description: s.description } : {}),
          ...(s.deletedDate ? { DeletedDate: s.deletedDate / 1000 } : {}),
          ...(s.versionId ? { VersionIdsToStages: { [s.versionId]: ['AWSCURRENT'] } } : {}),
        },
      };
    },
    GetSecretValue(b) {
      const s = find(b.SecretId);
      if (!s) return notFound();
      if (s.deletedDate) return markedForDeletion();
      if (s.value === undefined)
        return error(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
      return {
        status: 200,
        body: {
          ARN: s.arn,
          Name: s.name,
          VersionId: s.versionId,
          SecretString: s.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1.7e9,
        },
      };
    },
    PutSecretValue(b) {
      const s = find(b.SecretId);
      if (!s) return notFound();
      if (s.deletedDate) return markedForDeletion();
      if (typeof b.SecretString !== 'string') return error('InvalidParameterException', 'SecretString is required');
      s.value = b.SecretString;
      s.versionId = newVersion();
      return { status: 200, body: { ARN: s.arn, Name: s.name, VersionId: s.versionId, VersionStages: ['AWSCURRENT'] } };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        body = {};
      }
      calls.push({ target, body });
      for (const w of [...waiters]) {
        if (w.target === target && calls.filter((c) => c.target === target).length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      if (hang.has(target)) {
        pending.add(res);
        res.on('close', () => pending.delete(res));
        return;
      }
      const op = operations[target];
      const answer = op ? op(body) : error('UnknownOperationException', `unknown operation ${target}`);
      const text = JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': newVersion(),
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    secrets,
    calls,
    hang,
    seed,
    received(target, n = 1) {
      if (calls.filter((c) => c.target === target).length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ target, n, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of pending) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
