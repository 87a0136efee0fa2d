import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from './context.js';
import { stackFor, synthDir, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * The Events API v2 routing keys on AWS: the receiver reads EVENTS_V2_ROUTING_KEYS from the secret the context names
 * (its complete ARN); without it the receiver has no such secret (stack.test.ts lists its secrets) and /v2/enqueue
 * knows no key.
 */
const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:pagetrail/keys/events_v2_routing_keys-Ab12Cd';
let dir: SynthDir;
let restore: () => void;
let template: Template;

beforeAll(() => {
  restore = withoutCfnValidation();
  dir = synthDir();
  template = Template.fromStack(
    stackFor(dir, { stage: 'keys', domain: 'pagetrail.example.com', eventsV2RoutingKeysSecret: ARN }),
  );
}, 120_000);

afterAll(() => {
  restore();
  dir.remove();
});

describe('Events API v2 routing keys', () => {
  it('the receiver reads EVENTS_V2_ROUTING_KEYS from the secret the context names', () => {
    const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const container = defs.flatMap((d) => d.Properties.ContainerDefinitions).find((c) => c.Name === 'receiver');
    const secret = (container.Secrets as { Name: string; ValueFrom: unknown }[]).find(
      (s) => s.Name === 'EVENTS_V2_ROUTING_KEYS',
    );
    expect(secret?.ValueFrom).toBe(ARN);
    // the task's execution role may read it (ECS fetches it at start)
    const policies = JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy')));
    expect(policies).toContain(ARN);
  });

  it('the context takes a complete secret ARN only (a name or partial ARN resolves to another secret or none)', () => {
    const props = (v: string) => stackPropsFromContext(new App({ context: { eventsV2RoutingKeysSecret: v } }));
    expect(props(ARN).eventsV2RoutingKeysSecretArn).toBe(ARN);
    for (const bad of ['pagetrail/keys/events_v2_routing_keys', ARN.replace(/-Ab12Cd$/, '')])
      expect(() => props(bad)).toThrow(/complete ARN of a secret/);
    expect(stackPropsFromContext(new App()).eventsV2RoutingKeysSecretArn).toBeUndefined();
  });
});
