/**
 * AWS Lambda entry of the EventBridge alarm function (bundled to dist/lambda/alarm-intake/index.mjs by
 * `make lambdas`; handler `index.handler`, invoked asynchronously by the alarm rule, infra/cdk/alarm-rule.ts).
 * Init runs once per cold start (wiring.ts); a missing or invalid setting fails the init.
 */
import type { AlarmIntakeHandler } from './handler.js';
import { alarmIntakeHandlerFromEnv } from './wiring.js';

export const handler: AlarmIntakeHandler = alarmIntakeHandlerFromEnv(process.env);
