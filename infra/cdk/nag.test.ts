import { Aspects, CfnResource } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagetrailStack } from './stack.js';
import { stackFor, synthDir, TEST_ESTATE, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * cdk-nag's AwsSolutions and Serverless packs over the whole stack (with an estate, so every construct
 * is there). A finding is either fixed or suppressed in code, on the construct it concerns, with its
 * reason (`NagSuppressions.addResourceSuppressions`, `appliesTo` for IAM wildcards): no unsuppressed
 * error or warning may remain.
 */
type Json = Record<string, any>;
let dir: SynthDir;
let restore: () => void;
let stack: PagetrailStack;
const NAG = Match.stringLikeRegexp('^(AwsSolutions|Serverless)-');
const describeFinding = (m: { id: string; entry: { data?: unknown } }) =>
  `${m.id}: ${String(m.entry.data).slice(0, 200)}`;

beforeAll(() => {
  restore = withoutCfnValidation();
  dir = synthDir();
  stack = stackFor(dir, {
    stage: 'nag',
    estate: TEST_ESTATE,
    domain: 'pagetrail.example.com',
    // the second route's topic, configuration set and grant are checked too
    smsVoiceOrigination: 'arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123456789abcdef',
  });
  Aspects.of(stack).add(new AwsSolutionsChecks());
  Aspects.of(stack).add(new ServerlessChecks());
}, 120_000);

afterAll(() => {
  restore();
  dir.remove();
});

describe('cdk-nag', () => {
  it('AwsSolutions and Serverless: no unsuppressed error', () => {
    expect(Annotations.fromStack(stack).findError('*', NAG).map(describeFinding)).toEqual([]);
  });

  it('AwsSolutions and Serverless: no unsuppressed warning', () => {
    expect(Annotations.fromStack(stack).findWarning('*', NAG).map(describeFinding)).toEqual([]);
  });

  it('every suppression is on a resource, never on the stack, and gives its reason', () => {
    expect(stack.templateOptions.metadata?.cdk_nag).toBeUndefined(); // addStackSuppressions writes here
    const suppressions: Json[] = [];
    for (const c of stack.node.findAll()) {
      if (!(c instanceof CfnResource)) continue;
      for (const r of (c.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as Json[]) {
        suppressions.push({ path: c.node.path, ...r });
      }
    }
    expect(suppressions.length).toBeGreaterThan(0);
    for (const s of suppressions) {
      expect(s.reason, `${s.path} ${s.id}`).toMatch(/\S.{19,}/); // a sentence, not a placeholder
      // IAM wildcard suppressions name the wildcards they accept.
      if (s.id === 'AwsSolutions-IAM5') expect(s.applies_to, `${s.path} ${s.id}`).toBeDefined();
    }
  });
});
