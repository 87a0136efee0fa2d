import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SecretResolutionError } from './errors.js';

/**
 * Cold-start secret resolution for the Lambda functions. The deployment puts no secret value in a
 * function's environment, only `<NAME>_SECRET_ARN` (infra/cdk/processors.ts); before the function
 * reads its configuration, `resolveSecrets()` fetches each one with Secrets Manager GetSecretValue and
 * sets `env[NAME]` to its SecretString (plain-string secrets, see infra/cdk/README.md). Values are
 * never logged and never appear in errors.
 */

/** The part of SecretsManagerClient this module uses (tests pass a fake). */
export interface SecretValueClient {
  send(command: GetSecretValueCommand, options?: { abortSignal?: AbortSignal }): Promise<GetSecretValueCommandOutput>;
}

export interface ResolveSecretsOptions {
  /** The environment to read `<NAME>_SECRET_ARN` from and write `NAME` into (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Default: a SecretsManagerClient for env.AWS_REGION, created only if there is a secret to resolve. */
  client?: SecretValueClient;
  /** Timeout of one GetSecretValue attempt, ms (default 3000). */
  timeoutMs?: number;
  /** Attempts per secret, the first included (default 3). Client errors (not found, access denied) are not retried. */
  maxAttempts?: number;
  /** Wait before the second attempt, doubled each time (default 200 ms). */
  backoffMs?: number;
  /** Suffix that marks a secret reference (default `_SECRET_ARN`). */
  suffix?: string;
}

/** The references in `env`: variable NAME → secret id (an ARN, partial ARN or name). */
export function secretReferences(env: NodeJS.ProcessEnv, suffix = '_SECRET_ARN'): Map<string, string> {
  const refs = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith(suffix) || key.length === suffix.length || value === undefined || value.trim() === '') continue;
    refs.set(key.slice(0, -suffix.length), value.trim());
  }
  return refs;
}

/** A client with its own per-attempt timeouts and no SDK retries (resolveSecrets retries). */
export function defaultSecretsClient(region: string | undefined, timeoutMs: number): SecretsManagerClient {
  return new SecretsManagerClient({
    region,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({ keepAlive: true }),
    }),
  });
}

interface SdkErrorShape {
  name?: string;
  $fault?: 'client' | 'server';
}

/** Client faults (not found, access denied, bad request) cannot succeed on retry; throttling can. */
function retryable(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorShape;
  if (e.$fault !== 'client') return true; // server faults, timeouts, network errors
  return /thrott|toomanyrequests|limitexceeded/i.test(e.name ?? '');
}

/**
 * Resolves every `<NAME>_SECRET_ARN` of `env` into `env[NAME]` (in parallel; a reference always wins
 * over a value already set). Returns the names it set. Throws a SecretResolutionError naming the
 * first variable that could not be resolved.
 */
export async function resolveSecrets(options: ResolveSecretsOptions = {}): Promise<string[]> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 3000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const backoffMs = options.backoffMs ?? 200;
  const refs = secretReferences(env, options.suffix);
  if (refs.size === 0) return [];
  const client = options.client ?? defaultSecretsClient(env.AWS_REGION, timeoutMs);

  const fetchOne = async (name: string, secretId: string): Promise<string> => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }), {
          abortSignal: AbortSignal.timeout(timeoutMs),
        });
        if (typeof out.SecretString !== 'string' || out.SecretString === '') {
          throw new SecretResolutionError(
            `${name}_SECRET_ARN`,
            secretId,
            attempt,
            'the secret has no SecretString (binary or empty secrets are not supported)',
          );
        }
        return out.SecretString;
      } catch (err) {
        if (err instanceof SecretResolutionError) throw err;
        lastError = err;
        if (!retryable(err) || attempt === maxAttempts) {
          const reason = (err as Error)?.name ?? 'error';
          throw new SecretResolutionError(
            `${name}_SECRET_ARN`,
            secretId,
            attempt,
            `${reason}: ${(err as Error)?.message ?? String(err)}`,
            { cause: err },
          );
        }
        await sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
    throw new SecretResolutionError(`${name}_SECRET_ARN`, secretId, maxAttempts, 'no attempt made', {
      cause: lastError,
    });
  };

  const values = await Promise.all([...refs].map(async ([name, id]) => [name, await fetchOne(name, id)] as const));
  for (const [name, value] of values) env[name] = value;
  return values.map(([name]) => name);
}
