/**
 * AWS Lambda entry of the lake processor (bundled to dist/lambda/lake/index.mjs by `make lambdas`,
 * with parquet-wasm's .wasm beside it; handler `index.handler`, called by the Kinesis event source
 * mapping, infra/cdk/processors.ts). Init runs once per cold start: secrets referenced by
 * `<NAME>_SECRET_ARN` (none today) are resolved first, then the handler is built from the environment.
 */
import { resolveSecrets } from '../../platform/secrets.js';
import type { KinesisBatchHandler } from '../runtime/kinesis-event.js';
import { lakeHandlerFromEnv } from './wiring.js';

await resolveSecrets();
export const handler: KinesisBatchHandler = await lakeHandlerFromEnv(process.env);
