import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type DescribeSecretCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { awsRequestHandler } from '../../platform/aws.js';
import { REPO_ROOT } from '../bin.js';
import { PROVIDER_SECRET_NAMES } from '../cdk/services.js';
import { loadConfig } from '../../platform/config.js';

/**
 * The stage's provider secrets in Secrets Manager (`make secrets`, and `make providers` for the Resend
 * signing secret): created or updated from values, idempotently. Names come from the CDK app
 * (`PROVIDER_SECRET_NAMES`), so the deployment and this tool cannot disagree on them. A value is never
 * printed, logged or put in an error: output names the secret, what was done and the full ARN.
 */

/** Which environment variable holds each provider secret (every key of PROVIDER_SECRET_NAMES). */
export const PROVIDER_SECRET_ENV = {
  twilioAuthToken: 'TWILIO_AUTH_TOKEN',
  resendApiKey: 'RESEND_API_KEY',
  resendWebhookSecret: 'RESEND_WEBHOOK_SECRET',
} as const satisfies Record<keyof ReturnType<typeof PROVIDER_SECRET_NAMES>, string>;
export type ProviderSecret = keyof typeof PROVIDER_SECRET_ENV;
export const PROVIDER_SECRETS = Object.keys(PROVIDER_SECRET_ENV) as ProviderSecret[];

/** The stage's secret names (from the CDK app). */
export const providerSecretNames = (stage: string): Record<ProviderSecret, string> => PROVIDER_SECRET_NAMES(stage);

/** What each secret holds, for its Secrets Manager description. */
const DESCRIPTION: Record<ProviderSecret, string> = {
  twilioAuthToken: 'Twilio Auth Token: signs Twilio webhooks, authenticates the paging function',
  resendApiKey: 'Resend API key of the paging function',
  resendWebhookSecret: 'Signing secret (whsec_...) of the Resend webhook endpoint the receiver verifies',
};

/** Why a value cannot be a given secret (a shape check: catches a swapped or truncated paste); undefined if it can. */
export function invalidValue(secret: ProviderSecret, value: string): string | undefined {
  if (/\s/.test(value)) return 'contains whitespace';
  switch (secret) {
    case 'twilioAuthToken':
      return /^[0-9a-fA-F]{32}$/.test(value)
        ? undefined
        : 'is not a Twilio Auth Token (32 hex characters: Console → Account Info)';
    case 'resendApiKey':
      return /^re_[A-Za-z0-9_]{8,}$/.test(value) ? undefined : 'is not a Resend API key (re_…)';
    case 'resendWebhookSecret': {
      const b64 = value.startsWith('whsec_') ? value.slice(6) : value;
      const ok = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && Buffer.from(b64, 'base64').length >= 16;
      return ok ? undefined : 'is not a Svix signing secret (whsec_<base64>)';
    }
  }
}

/** The values `.env.example` gives the provider variables: local placeholders, never stored on AWS. */
export function localPlaceholders(file = path.join(REPO_ROOT, '.env.example')): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  const wanted = new Set<string>(Object.values(PROVIDER_SECRET_ENV));
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && wanted.has(m[1]) && m[2] !== '') out.set(m[1], m[2]);
  }
  return out;
}

/** The part of SecretsManagerClient used here (tests may pass a real client pointed at a double). */
export type SecretsClient = Pick<SecretsManagerClient, 'send'>;

/**
 * A Secrets Manager client with deadlines on every call (platform/aws.ts: AWS_CONNECTION_TIMEOUT_MS to
 * connect, AWS_REQUEST_TIMEOUT_MS until the answer; 3 attempts). SECRETS_MANAGER_ENDPOINT (unset on
 * AWS) points it elsewhere, e.g. at a test double. Region: AWS_REGION, as for the other clients;
 * credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of `env` when set, else the default chain.
 */
export function secretsManagerClient(env: NodeJS.ProcessEnv = process.env): SecretsManagerClient {
  const config = loadConfig(env);
  const endpoint = env.SECRETS_MANAGER_ENDPOINT?.trim() || undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  // Keys in `env` (the command's environment) first, as the default chain does with process.env.
  const credentials =
    accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  return new SecretsManagerClient({
    region: config.AWS_REGION,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: 3,
    requestHandler: awsRequestHandler({
      connectionTimeoutMs: config.AWS_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs: config.AWS_REQUEST_TIMEOUT_MS,
    }),
  });
}

export type SecretAction = 'created' | 'updated' | 'unchanged';

/** A Secrets Manager call that failed, naming the secret and the call; never a value. */
export class SecretStoreError extends Error {
  /** What failed, without the secret's name: `<operation> failed: <reason>`. */
  readonly reason: string;

  constructor(
    readonly secretName: string,
    readonly operation: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`${secretName}: ${operation} failed: ${reason}`, options);
    this.name = 'SecretStoreError';
    this.reason = `${operation} failed: ${reason}`;
  }
}

const isNotFound = (err: unknown) => (err as { name?: string })?.name === 'ResourceNotFoundException';

/** The reason of an SDK error, with a hint for the usual operator mistakes. */
function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const name = e?.name ?? 'Error';
  let hint = '';
  if (/CredentialsProvider/i.test(name)) {
    hint = ' (no AWS credentials: AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)';
  } else if (/UnrecognizedClient|InvalidSignature|ExpiredToken|InvalidClientTokenId/i.test(name)) {
    hint = ' (check the AWS credentials: the env file of the local stack sets placeholder ones)';
  } else if (name === 'AccessDeniedException') {
    hint =
      ' (the caller needs secretsmanager:DescribeSecret, GetSecretValue, PutSecretValue and CreateSecret' +
      ' on pagetrail/<stage>/*)';
  } else if (name === 'TimeoutError') {
    hint = ' (no answer within AWS_REQUEST_TIMEOUT_MS, after retries)';
  }
  return `${name}: ${e?.message ?? String(err)}${hint}`;
}

async function call<T>(name: string, operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new SecretStoreError(name, operation, reasonOf(err), { cause: err });
  }
}

/** The secret's metadata, or undefined when there is none of that name. */
export async function describeSecret(
  client: SecretsClient,
  name: string,
): Promise<DescribeSecretCommandOutput | undefined> {
  try {
    return await client.send(new DescribeSecretCommand({ SecretId: name }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new SecretStoreError(name, 'DescribeSecret', reasonOf(err), { cause: err });
  }
}

/** Whether a described secret has a current value. */
export const hasCurrentValue = (d: DescribeSecretCommandOutput) =>
  Object.values(d.VersionIdsToStages ?? {}).some((stages) => stages.includes('AWSCURRENT'));

function refuseDeleted(name: string, d: DescribeSecretCommandOutput): void {
  if (d.DeletedDate) {
    const when = new Date(d.DeletedDate).toISOString();
    throw new SecretStoreError(
      name,
      'update',
      `the secret is scheduled for deletion (${when}); restore it first: ` +
        `aws secretsmanager restore-secret --secret-id ${d.ARN}`,
    );
  }
}

/**
 * Makes `name`'s current value `value`: CreateSecret when there is no such secret, PutSecretValue when
 * its current value differs (GetSecretValue compares), nothing when it is equal. Returns what was done
 * and the full ARN. Throws a SecretStoreError (the secret's name and the failed call, never the value).
 */
export async function upsertSecret(
  client: SecretsClient,
  name: string,
  value: string,
  description: string,
): Promise<{ action: SecretAction; arn: string }> {
  const described = await describeSecret(client, name);
  if (!described) {
    const out = await call(name, 'CreateSecret', () =>
      client.send(new CreateSecretCommand({ Name: name, SecretString: value, Description: description })),
    );
    return { action: 'created', arn: out.ARN ?? name };
  }
  refuseDeleted(name, described);
  const arn = described.ARN ?? name;
  if (hasCurrentValue(described)) {
    const current = await call(name, 'GetSecretValue', () => client.send(new GetSecretValueCommand({ SecretId: arn })));
    if (current.SecretString === value) return { action: 'unchanged', arn };
  }
  await call(name, 'PutSecretValue', () =>
    client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: value })),
  );
  return { action: 'updated', arn };
}

/** Upserts one of the stage's provider secrets (name from the CDK app). */
export function upsertProviderSecret(client: SecretsClient, stage: string, secret: ProviderSecret, value: string) {
  const problem = invalidValue(secret, value);
  const name = providerSecretNames(stage)[secret];
  if (problem) throw new SecretStoreError(name, 'check', `the value ${problem}`);
  return upsertSecret(client, name, value, `${DESCRIPTION[secret]} (pagetrail ${stage}; make secrets)`);
}

export type SecretReport =
  | { secret: ProviderSecret; name: string; env: string; result: SecretAction; arn: string }
  /** Not in the environment, already stored: left as it is. */
  | { secret: ProviderSecret; name: string; env: string; result: 'kept'; arn: string }
  /** Not in the environment and not stored (the deployment needs it). */
  | { secret: ProviderSecret; name: string; env: string; result: 'missing' }
  /** In the environment but not usable (placeholder, bad shape), or a call failed. */
  | { secret: ProviderSecret; name: string; env: string; result: 'refused' | 'failed'; reason: string };

/**
 * `make secrets`: each provider secret of the stage from its environment variable (one at a time, in
 * order). A variable that is unset or empty is not touched: reported `kept` when the secret already
 * has a value, else `missing`. Values equal to `.env.example`'s local placeholders are refused.
 */
export async function syncProviderSecrets(
  client: SecretsClient,
  stage: string,
  env: NodeJS.ProcessEnv,
  placeholders: ReadonlyMap<string, string> = localPlaceholders(),
): Promise<SecretReport[]> {
  const names = providerSecretNames(stage);
  const reports: SecretReport[] = [];
  for (const secret of PROVIDER_SECRETS) {
    const name = names[secret];
    const envName = PROVIDER_SECRET_ENV[secret];
    const base = { secret, name, env: envName };
    const value = env[envName]?.trim() ?? '';
    try {
      if (value === '') {
        const d = await describeSecret(client, name);
        reports.push(
          d && !d.DeletedDate && hasCurrentValue(d)
            ? { ...base, result: 'kept', arn: d.ARN ?? name }
            : { ...base, result: 'missing' },
        );
        continue;
      }
      if (placeholders.get(envName) === value) {
        reports.push({
          ...base,
          result: 'refused',
          reason:
            `${envName} is the local placeholder of .env.example ` +
            '(use an env file with the real value: ENV_FILE=…)',
        });
        continue;
      }
      const problem = invalidValue(secret, value);
      if (problem) {
        reports.push({ ...base, result: 'refused', reason: `${envName} ${problem}` });
        continue;
      }
      const { action, arn } = await upsertProviderSecret(client, stage, secret, value);
      reports.push({ ...base, result: action, arn });
    } catch (err) {
      reports.push({ ...base, result: 'failed', reason: err instanceof SecretStoreError ? err.reason : reasonOf(err) });
    }
  }
  return reports;
}
