import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from './context.js';
import { stackFor, synthDir, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * The alert topics on AWS (POST /events/sns, producers/receiver/sns-events.ts): context `snsAlertTopicArns` becomes
 * the receiver's SNS_ALERT_TOPIC_ARNS; without it the receiver accepts no topic (every message → 403).
 */
const A = 'arn:aws:sns:eu-west-1:111111111111:cloudwatch-alarms';
const B = 'arn:aws:sns:eu-west-1:111111111111:amp-alerts';
let dir: SynthDir;
let restore: () => void;
let template: Template;

beforeAll(() => {
  restore = withoutCfnValidation();
  dir = synthDir();
  template = Template.fromStack(
    stackFor(dir, { stage: 'topics', domain: 'pagetrail.example.com', snsAlertTopicArns: `${A},${B}` }),
  );
}, 120_000);

afterAll(() => {
  restore();
  dir.remove();
});

describe('alert topics (SNS)', () => {
  it("the receiver's SNS_ALERT_TOPIC_ARNS lists the context's topics", () => {
    const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const container = defs.flatMap((d) => d.Properties.ContainerDefinitions).find((c) => c.Name === 'receiver');
    const env = (container.Environment as { Name: string; Value: unknown }[]).find(
      (e) => e.Name === 'SNS_ALERT_TOPIC_ARNS',
    );
    expect(env?.Value).toBe(`${A},${B}`);
  });

  it('the context takes SNS topic ARNs only (comma-separated or a JSON array)', () => {
    const props = (v: unknown) => stackPropsFromContext(new App({ context: { snsAlertTopicArns: v } }));
    expect(props(`${A}, ${B}`).snsAlertTopicArns).toEqual([A, B]);
    expect(props(JSON.stringify([A])).snsAlertTopicArns).toEqual([A]);
    for (const bad of ['cloudwatch-alarms', 'arn:aws:sqs:eu-west-1:111111111111:q', `${A}:sub-id`])
      expect(() => props(bad)).toThrow(/SNS topic ARNs/);
    expect(stackPropsFromContext(new App()).snsAlertTopicArns).toBeUndefined();
  });
});
