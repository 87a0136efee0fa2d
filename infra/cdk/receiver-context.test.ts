import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from './context.js';
import { stackFor, synthDir, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * What the receiver's alert intakes take from the deploy context (one synthesis with both set):
 * - the Events API v2 routing keys: the receiver reads EVENTS_V2_ROUTING_KEYS from the secret that
 *   `eventsV2RoutingKeysSecret` names (its complete ARN); without it the receiver has no such secret (stack.test.ts
 *   lists its secrets) and /v2/enqueue knows no key;
 * - the alert topics (POST /events/sns, producers/receiver/sns-events.ts): `snsAlertTopicArns` becomes the receiver's
 *   SNS_ALERT_TOPIC_ARNS; without it the receiver accepts no topic (every message → 403).
 */
const KEYS = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:pagetrail/keys/events_v2_routing_keys-Ab12Cd';
const A = 'arn:aws:sns:eu-west-1:111111111111:cloudwatch-alarms';
const B = 'arn:aws:sns:eu-west-1:111111111111:amp-alerts';
let dir: SynthDir;
let restore: () => void;
let template: Template;
type Env = { Name: string; Value: unknown };
type Container = { Name: string; Secrets: { Name: string; ValueFrom: unknown }[]; Environment: Env[] };
let receiver: Container;

beforeAll(() => {
  restore = withoutCfnValidation();
  dir = synthDir();
  template = Template.fromStack(
    stackFor(dir, {
      stage: 'intakes',
      domain: 'pagetrail.example.com',
      eventsV2RoutingKeysSecret: KEYS,
      snsAlertTopicArns: `${A},${B}`,
    }),
  );
  const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  receiver = defs.flatMap((d) => d.Properties.ContainerDefinitions).find((c) => c.Name === 'receiver');
}, 120_000);

afterAll(() => {
  restore();
  dir.remove();
});

describe('Events API v2 routing keys', () => {
  it('the receiver reads EVENTS_V2_ROUTING_KEYS from the secret the context names', () => {
    const secret = receiver.Secrets.find((s) => s.Name === 'EVENTS_V2_ROUTING_KEYS');
    expect(secret?.ValueFrom).toBe(KEYS);
    // the task's execution role may read it (ECS fetches it at start)
    const policies = JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy')));
    expect(policies).toContain(KEYS);
  });

  it('the context takes a complete secret ARN only (a name or partial ARN resolves to another secret or none)', () => {
    const props = (v: string) => stackPropsFromContext(new App({ context: { eventsV2RoutingKeysSecret: v } }));
    expect(props(KEYS).eventsV2RoutingKeysSecretArn).toBe(KEYS);
    for (const bad of ['pagetrail/keys/events_v2_routing_keys', KEYS.replace(/-Ab12Cd$/, '')])
      expect(() => props(bad)).toThrow(/complete ARN of a secret/);
    expect(stackPropsFromContext(new App()).eventsV2RoutingKeysSecretArn).toBeUndefined();
  });
});

describe('alert topics (SNS)', () => {
  it("the receiver's SNS_ALERT_TOPIC_ARNS lists the context's topics", () => {
    expect(receiver.Environment.find((e) => e.Name === 'SNS_ALERT_TOPIC_ARNS')?.Value).toBe(`${A},${B}`);
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
