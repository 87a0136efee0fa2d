import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { BUNDLE_DIR_CONTEXT } from './alarm-rule.js';
import { stackPropsFromContext } from './context.js';
import { PagetrailStack } from './stack.js';

/**
 * Test support for the template tests (not a test itself): a synthesis directory with stand-in Lambda
 * bundles (the template does not depend on their content; infra/lambda/build.test.ts builds and
 * cold-starts the real ones), and a stack built the way app.ts builds it (context → props).
 */
export const TEST_CERT = 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000';
export const TEST_TWILIO_SID = 'AC0123456789abcdef0123456789abcdef';
export const TEST_ENV = { account: '111111111111', region: 'eu-west-1' } as const;
export const TEST_ESTATE = JSON.stringify({
  ecsServices: [{ cluster: 'prod', service: 'api', severity: 'P1' }],
  rdsInstances: [
    { instanceId: 'orders-db', severity: 'P1' },
    { instanceId: 'orders-db-replica', replica: true },
  ],
});

/** An operator subscription (context operatorEmails): what a production stage needs to synthesize. */
export const TEST_OPERATOR = 'oncall@example.com';

export interface SynthDir {
  readonly outdir: string;
  readonly bundleDir: string;
  remove(): void;
}

/** A fresh cloud-assembly directory holding stand-in `paging`, `lake` and `alarm-intake` bundles. */
export function synthDir(): SynthDir {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-cdk-'));
  const bundleDir = path.join(outdir, 'bundles');
  for (const name of ['paging', 'lake', 'alarm-intake']) {
    mkdirSync(path.join(bundleDir, name), { recursive: true });
    const code = `// ${name}: template-test asset\nexport const handler = async () => ({ batchItemFailures: [] });\n`;
    writeFileSync(path.join(bundleDir, name, 'index.mjs'), code);
  }
  return { outdir, bundleDir, remove: () => rmSync(outdir, { recursive: true, force: true }) };
}

/**
 * The stack of app.ts for `context` (stage, account and region default to a test account), in an app
 * of its own: `stackPropsFromContext`, stack id PagetrailStack, stack name pagetrail-<stage>.
 */
export function stackFor(dir: SynthDir, context: Record<string, unknown>): PagetrailStack {
  const app = new App({
    outdir: dir.outdir,
    context: {
      certificateArn: TEST_CERT,
      twilioAccountSid: TEST_TWILIO_SID,
      ...TEST_ENV,
      [BUNDLE_DIR_CONTEXT]: dir.bundleDir, // the alarm rule's function (alarm-rule.ts)
      ...context,
    },
  });
  return new PagetrailStack(app, 'PagetrailStack', { ...stackPropsFromContext(app), lambdaBundleDir: dir.bundleDir });
}

/**
 * CDK's built-in CloudFormation validation (cfn-lint rules, reported as warnings) takes most of a
 * synthesis and cannot fail a test; `make synth` keeps it. Returns the function that restores it.
 */
export function withoutCfnValidation(): () => void {
  const before = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  return () => {
    if (before === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = before;
  };
}
