import { Template, Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackFor, synthDir, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * The second route for SMS and voice on AWS (second-route.ts): only with an origination identity in the context;
 * then a configuration set whose SNS event destination takes every SMS and voice event, the topic's HTTPS
 * subscription to the receiver, and the settings of the receiver and of the paging function that use them.
 */
const ORIGINATION = 'arn:aws:sms-voice:eu-west-1:111111111111:phone-number/phone-0123456789abcdef';
const VOICE = 'arn:aws:sms-voice:eu-west-1:111111111111:phone-number/phone-fedcba9876543210';
let dir: SynthDir;
let restore: () => void;
let withRoute: Template;
let without: Template;

beforeAll(() => {
  restore = withoutCfnValidation();
  dir = synthDir();
  const base = { stage: 'route', domain: 'pagetrail.example.com' };
  withRoute = Template.fromStack(
    stackFor(dir, { ...base, smsVoiceOrigination: ORIGINATION, smsVoiceVoiceOrigination: VOICE }),
  );
  without = Template.fromStack(stackFor(dir, base));
}, 120_000);

afterAll(() => {
  restore();
  dir.remove();
});

const envOf = (t: Template, type: 'AWS::Lambda::Function' | 'AWS::ECS::TaskDefinition') =>
  JSON.stringify(Object.values(t.findResources(type)).map((r) => r.Properties));

describe('second route (AWS End User Messaging SMS and Voice)', () => {
  it('a configuration set sends every SMS and voice event to an SNS topic, delivered to the receiver by HTTPS', () => {
    withRoute.hasResourceProperties('AWS::SMSVOICE::ConfigurationSet', {
      ConfigurationSetName: 'pagetrail-route-pages',
      EventDestinations: [
        Match.objectLike({
          Enabled: true,
          MatchingEventTypes: ['TEXT_ALL', 'VOICE_ALL'],
          SnsDestination: { TopicArn: Match.anyValue() },
        }),
      ],
    });
    withRoute.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://pagetrail.example.com/webhooks/aws-sms-voice',
      RedrivePolicy: Match.anyValue(),
    });
    withRoute.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'sms-voice.amazonaws.com' }, Action: 'sns:Publish' }),
        ]),
      }),
    });
  });

  it('the paging function gets the settings and may send only from its identities, the receiver the topic', () => {
    const paging = envOf(withRoute, 'AWS::Lambda::Function');
    expect(paging).toContain(`"AWS_SMS_VOICE_ORIGINATION":"${ORIGINATION}"`);
    expect(paging).toContain(`"AWS_SMS_VOICE_VOICE_ORIGINATION":"${VOICE}"`);
    expect(paging).toContain('AWS_SMS_VOICE_CONFIGURATION_SET');
    expect(envOf(withRoute, 'AWS::ECS::TaskDefinition')).toContain('AWS_SMS_VOICE_TOPIC_ARNS');
    withRoute.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['sms-voice:SendTextMessage', 'sms-voice:SendVoiceMessage'],
            Resource: [ORIGINATION, VOICE, Match.anyValue()],
          }),
        ]),
      },
    });
  });

  it('two-way SMS: a second topic, its HTTPS subscription to the inbound route, both topics allowed', () => {
    const topics = withRoute.findResources('AWS::SNS::Topic');
    const inboundId = Object.keys(topics).find((id) => id.startsWith('SecondRouteInbound'))!;
    const eventsId = Object.keys(topics).find((id) => id.startsWith('SecondRouteEvents'))!;
    expect(inboundId).toBeDefined();
    withRoute.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      TopicArn: { Ref: inboundId },
      Endpoint: 'https://pagetrail.example.com/webhooks/aws-sms-voice/inbound',
      RedrivePolicy: Match.anyValue(),
    });
    // AWS End User Messaging may publish to it (no TwoWayChannelRole is given), for this account only
    withRoute.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: inboundId }],
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'sms-voice.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': Match.anyValue() } },
          }),
        ]),
      }),
    });
    // the receiver accepts both topics; the number is pointed at the inbound one by the CLI call the output names
    expect(envOf(withRoute, 'AWS::ECS::TaskDefinition')).toContain(
      JSON.stringify({ 'Fn::Join': [',', [{ Ref: eventsId }, { Ref: inboundId }]] }),
    );
    const outputs = Object.entries(withRoute.toJSON().Outputs as Record<string, { Value: unknown }>);
    expect(outputs.find(([id]) => id.includes('TwoWayChannelArn'))?.[1].Value).toEqual({ Ref: inboundId });
  });

  it("the subscriptions' dead-letter queue has a pipeline alarm reaching the operators", () => {
    const queues = withRoute.findResources('AWS::SQS::Queue');
    const dlq = Object.keys(queues).find((id) => id.startsWith('SecondRouteUndeliveredEvents'))!;
    const alarms = Object.values(withRoute.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
    const alarm = alarms.find(
      (a) =>
        a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        JSON.stringify(a.Dimensions).includes(JSON.stringify({ 'Fn::GetAtt': [dlq, 'QueueName'] })),
    );
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(JSON.stringify(alarm.AlarmActions)).toContain('PipelineAlarmsTopic');
    expect(JSON.stringify(alarm.OKActions)).toContain('PipelineAlarmsTopic');
    const none = Object.values(without.findResources('AWS::CloudWatch::Alarm'));
    expect(none.some((a) => String(a.Properties.AlarmDescription).includes('AWS route'))).toBe(false);
  });

  it('without an origination identity: nothing of it, Twilio only', () => {
    without.resourceCountIs('AWS::SMSVOICE::ConfigurationSet', 0);
    expect(envOf(without, 'AWS::Lambda::Function')).not.toContain('AWS_SMS_VOICE_');
    expect(envOf(without, 'AWS::ECS::TaskDefinition')).not.toContain('AWS_SMS_VOICE_');
  });
});
