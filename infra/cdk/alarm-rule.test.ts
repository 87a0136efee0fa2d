import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALARM_NAMESPACES, AlarmRule } from './alarm-rule.js';
import { SEVERITY_SETTINGS } from './context.js';
import { synthDir, TEST_ENV, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * The alarm rule alone (a stack with a stream and the construct): its target is the alarm intake
 * function, which keys records by schemas/partition-key.ts; every failure ends in a dead-letter queue.
 */
type Json = Record<string, any>;
let dir: SynthDir;
let template: Template;
let rule: AlarmRule;
let stack: Stack;
let restoreValidation: () => void;

beforeAll(() => {
  restoreValidation = withoutCfnValidation();
  dir = synthDir();
  const app = new App({ outdir: dir.outdir });
  stack = new Stack(app, 'AlarmRuleTest', { env: TEST_ENV });
  const stream = new kinesis.Stream(stack, 'Stream');
  rule = new AlarmRule(stack, 'AlarmRule', { stream, bundleDir: dir.bundleDir });
  template = Template.fromStack(stack);
});

afterAll(() => {
  restoreValidation();
  dir.remove();
});

const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const resources = (type: string): [string, Json][] => Object.entries(template.findResources(type));

describe('alarm rule → intake function', () => {
  it('the target is the function, retried for an hour by EventBridge, then its dead-letter queue', () => {
    const [[, r]] = resources('AWS::Events::Rule');
    expect(r.Properties.Targets).toHaveLength(1);
    const [target] = r.Properties.Targets as Json[];
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [id(rule.intake), 'Arn'] });
    expect(target.KinesisParameters).toBeUndefined();
    expect(target.InputTransformer).toBeUndefined(); // the function gets the event as it is
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 });
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [id(rule.deadLetters), 'Arn'] } });
    // EventBridge may invoke it (this rule only) and send to the queue.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [id(rule.intake), 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [id(rule.rule), 'Arn'] },
    });
    const policies = resources('AWS::SQS::QueuePolicy').map(([, p]) => JSON.stringify(p.Properties));
    expect(policies.some((p) => p.includes('events.amazonaws.com') && p.includes(id(rule.deadLetters)))).toBe(true);
  });

  it("the function's own failures: Lambda retries twice within the hour, then its dead-letter queue", () => {
    const fn = template.findResources('AWS::Lambda::Function')[id(rule.intake)].Properties;
    expect(fn.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [id(rule.intakeDeadLetters), 'Arn'] } });
    expect(rule.intake.deadLetterQueue).toBe(rule.intakeDeadLetters);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(rule.intake) },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
    for (const q of [rule.deadLetters, rule.intakeDeadLetters]) {
      expect(template.findResources('AWS::SQS::Queue')[id(q)].Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 86_400,
      });
    }
  });

  it('runs the alarm-intake bundle with the stream, the namespaces and the severity settings', () => {
    const fn = template.findResources('AWS::Lambda::Function')[id(rule.intake)].Properties;
    expect(fn).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    expect(fn.Environment.Variables).toMatchObject({
      ALARM_NAMESPACES: ALARM_NAMESPACES.join(','),
      ...SEVERITY_SETTINGS,
    });
    const streamId = resources('AWS::Kinesis::Stream')[0][0];
    expect(fn.Environment.Variables.STREAM_NAME).toEqual({ Ref: streamId });
    const roleId = fn.Role['Fn::GetAtt'][0];
    const statements = resources('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'kinesis:PutRecords',
      Resource: { 'Fn::GetAtt': [streamId, 'Arn'] },
    });
  });
});
