/** Errors of the platform layer that callers tell apart (configuration errors: config.ts). */

/**
 * A `<NAME>_SECRET_ARN` could not be turned into `process.env[NAME]`. Carries the variable and the
 * secret's id (an ARN or name, never a value), the attempts made and the last SDK error as `cause`.
 */
export class SecretResolutionError extends Error {
  constructor(
    readonly variable: string,
    readonly secretId: string,
    readonly attempts: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot resolve ${variable} from ${secretId} after ${attempts} attempt(s): ${reason}`, options);
    this.name = 'SecretResolutionError';
  }
}
