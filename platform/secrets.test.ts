import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretResolutionError } from './errors.js';
import { resolveSecrets, secretReferences, type SecretValueClient } from './secrets.js';

const ARN = (n: string) => `arn:aws:secretsmanager:eu-west-1:111111111111:secret:pagetrail/test/${n}-AbCdEf`;
const out = (SecretString?: string) => ({ SecretString, $metadata: {} }) as GetSecretValueCommandOutput;
const sdkError = (name: string, fault: 'client' | 'server') =>
  Object.assign(new Error(`${name} happened`), { name, $fault: fault });

/** A fake Secrets Manager: answers from `values`, or runs `behave(secretId, attempt, signal)` first. */
function fakeClient(
  values: Record<string, string>,
  behave?: (id: string, attempt: number, signal?: AbortSignal) => Promise<void> | void,
) {
  const calls: string[] = [];
  const client: SecretValueClient = {
    async send(command: GetSecretValueCommand, options) {
      const id = command.input.SecretId!;
      calls.push(id);
      await behave?.(id, calls.filter((c) => c === id).length, options?.abortSignal);
      if (!(id in values)) throw sdkError('ResourceNotFoundException', 'client');
      return out(values[id]);
    },
  };
  return { client, calls };
}

describe('secretReferences', () => {
  it('maps <NAME>_SECRET_ARN to NAME, skipping empty values', () => {
    const refs = secretReferences({
      TWILIO_AUTH_TOKEN_SECRET_ARN: ARN('t'),
      EMPTY_SECRET_ARN: ' ',
      _SECRET_ARN: 'x',
      OTHER: 'y',
    });
    expect([...refs]).toEqual([['TWILIO_AUTH_TOKEN', ARN('t')]]);
  });
});

describe('resolveSecrets', () => {
  it('sets each NAME from its secret, leaves other variables alone, returns the names', async () => {
    const env: NodeJS.ProcessEnv = {
      TWILIO_AUTH_TOKEN_SECRET_ARN: ARN('twilio-auth-token'),
      ACK_LINK_SECRET_SECRET_ARN: ARN('ack-link-secret'),
      STREAM_NAME: 's',
      RESEND_API_KEY: 'already-set',
    };
    const { client, calls } = fakeClient({
      [ARN('twilio-auth-token')]: 'tok-1234567890abcdef',
      [ARN('ack-link-secret')]: 'k'.repeat(48),
    });
    const names = await resolveSecrets({ env, client });
    expect(names.sort()).toEqual(['ACK_LINK_SECRET', 'TWILIO_AUTH_TOKEN']);
    expect(env.TWILIO_AUTH_TOKEN).toBe('tok-1234567890abcdef');
    expect(env.ACK_LINK_SECRET).toBe('k'.repeat(48));
    expect(env.RESEND_API_KEY).toBe('already-set');
    expect(env.STREAM_NAME).toBe('s');
    expect(calls.sort()).toEqual([ARN('ack-link-secret'), ARN('twilio-auth-token')]);
  });

  it('makes no call (and builds no client) when there is nothing to resolve', async () => {
    const client: SecretValueClient = { send: () => Promise.reject(new Error('must not be called')) };
    await expect(resolveSecrets({ env: { A: 'b' }, client })).resolves.toEqual([]);
    await expect(resolveSecrets({ env: { A: 'b' } })).resolves.toEqual([]);
  });

  it('retries throttling and server faults with backoff, then succeeds', async () => {
    const env: NodeJS.ProcessEnv = { X_SECRET_ARN: ARN('x') };
    const { client, calls } = fakeClient({ [ARN('x')]: 'value' }, (_id, attempt) => {
      if (attempt === 1) throw sdkError('ThrottlingException', 'client');
      if (attempt === 2) throw sdkError('InternalServiceError', 'server');
    });
    await resolveSecrets({ env, client, backoffMs: 1 });
    expect(env.X).toBe('value');
    expect(calls).toHaveLength(3);
  });

  it('times out a hanging attempt and retries it', async () => {
    const env: NodeJS.ProcessEnv = { X_SECRET_ARN: ARN('x') };
    const { client, calls } = fakeClient({ [ARN('x')]: 'value' }, (_id, attempt, signal) => {
      if (attempt > 1) return;
      // Hangs until the resolver aborts it, then fails the way the SDK does.
      return new Promise<void>((_resolve, reject) =>
        signal!.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
      );
    });
    const started = Date.now();
    await resolveSecrets({ env, client, timeoutMs: 50, backoffMs: 1 });
    expect(env.X).toBe('value');
    expect(calls).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not retry client faults; the error names the variable and the secret, never a value', async () => {
    const env: NodeJS.ProcessEnv = { MISSING_SECRET_ARN: ARN('missing'), OK_SECRET_ARN: ARN('ok') };
    const { client, calls } = fakeClient({ [ARN('ok')]: 'the-secret-value' });
    const err = await resolveSecrets({ env, client, backoffMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretResolutionError);
    expect(err).toMatchObject({ variable: 'MISSING_SECRET_ARN', secretId: ARN('missing'), attempts: 1 });
    expect((err as Error).message).toContain('ResourceNotFoundException');
    expect((err as Error).message).not.toContain('the-secret-value');
    expect((err as Error).cause).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(calls.filter((c) => c === ARN('missing'))).toHaveLength(1);
    expect(env.OK).toBeUndefined(); // nothing is set unless every secret resolved
  });

  it('gives up after maxAttempts and rejects secrets without a SecretString', async () => {
    const env: NodeJS.ProcessEnv = { X_SECRET_ARN: ARN('x') };
    const failing = fakeClient({}, () => {
      throw sdkError('InternalServiceError', 'server');
    });
    await expect(resolveSecrets({ env, client: failing.client, maxAttempts: 4, backoffMs: 1 })).rejects.toMatchObject({
      attempts: 4,
    });
    expect(failing.calls).toHaveLength(4);

    const binary: SecretValueClient = { send: async () => out(undefined) };
    await expect(resolveSecrets({ env, client: binary })).rejects.toThrow(/no SecretString/);
  });
});
