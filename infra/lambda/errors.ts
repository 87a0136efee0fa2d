/** Errors of the bundling (infra/lambda). */

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
