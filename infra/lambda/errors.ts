/** Errors of the Lambda runtime glue (infra/lambda): secret resolution at cold start, bundles. */

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

/** esbuild failed, or a bundle the CDK stack needs is not on disk (run `make lambdas`). */
export class BundleError extends Error {
  constructor(
    readonly bundle: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`bundle ${bundle}: ${reason}`, options);
    this.name = 'BundleError';
  }
}
