/**
 * AWS Lambda entry of the paging processor (bundled to dist/lambda/paging/index.mjs by `make lambdas`;
 * handler `index.handler`, called by the Kinesis event source mapping, infra/cdk/processors.ts).
 * Init runs once per cold start, in Lambda's init phase: the secrets named by `<NAME>_SECRET_ARN` are
 * fetched into process.env first, then the handler is built from the environment. Any failure here
 * fails the init, and Lambda starts a fresh one on the next invocation.
 */
import { resolveSecrets } from '../../platform/secrets.js';
import type { KinesisBatchHandler } from '../runtime/kinesis-event.js';
import { pagingHandlerFromEnv } from './wiring.js';

await resolveSecrets();
export const handler: KinesisBatchHandler = await pagingHandlerFromEnv(process.env);
