import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_RETRY_POLICY } from '../../processors/paging/deadlines.js';
import { checkOperators, isProductionStageName, stackPropsFromContext } from './context.js';
import { PipelineAlarms } from './pipeline-alarms.js';
import { allows, render, roleStatements, type ArnContext } from './sdk-calls.js';
import type { PagetrailStack } from './stack.js';
import { stackFor, synthDir, TEST_ENV, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * Issue 17 rows 6 and 7 on AWS: every path that can drop, delay or hide an alarm has a dead letter or
 * a bounded retry and an alarm, and the alarms reach the operators by SNS email/SMS from the deploy
 * settings, not through pagetrail. One synthesis of the stack as app.ts builds it (with operators).
 */
type Json = Record<string, any>;
const EMAILS = ['oncall@example.com', 'sre@example.org'];
const PHONES = ['+14155550100', '+447700900123'];
let dir: SynthDir;
let restore: () => void;
let stack: PagetrailStack;
let template: Json;

beforeAll(() => {
  restore = withoutCfnValidation();
  dir = synthDir();
  // a JSON array and a comma-separated list: both forms of the context values
  stack = stackFor(dir, { stage: 'test', operatorEmails: JSON.stringify(EMAILS), operatorPhones: PHONES.join(', ') });
  template = Template.fromStack(stack).toJSON();
}, 120_000);

afterAll(() => {
  restore();
  dir?.remove();
});

const resources = (type: string): [string, Json][] =>
  Object.entries(template.Resources as Json).filter(([, r]) => r.Type === type);
const idOf = (prefix: string, type: string) => {
  const found = resources(type).filter(([id]) => id.startsWith(prefix));
  expect(found, prefix).toHaveLength(1);
  return found[0][0];
};
const alarms = () => resources('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Json);
const topicId = () => idOf('PipelineAlarmsTopic', 'AWS::SNS::Topic');
/** The alarm on `metric` in `namespace` whose dimensions are exactly `dims`. */
const alarmOn = (namespace: string, metric: string, dims: Json[]) =>
  alarms().find(
    (a) =>
      a.Namespace === namespace && a.MetricName === metric && JSON.stringify(a.Dimensions) === JSON.stringify(dims),
  );
const reachesOperators = (a: Json | undefined) => {
  expect(a).toBeDefined();
  expect(a!.AlarmActions).toEqual([{ Ref: topicId() }]);
  expect(a!.OKActions).toEqual([{ Ref: topicId() }]);
};

describe('dead letters', () => {
  it('every schedule gets the deadlines’ dead-letter queue: the paging function is told its ARN', () => {
    const queueId = idOf('DeadlinesDeadLetters', 'AWS::SQS::Queue');
    const paging = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('ProcessorsPaging'))!;
    expect(paging[1].Properties.Environment.Variables.SCHEDULER_DLQ_ARN).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
    const queue = template.Resources[queueId].Properties;
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    expect(queue.FifoQueue).toBeUndefined(); // the Scheduler takes standard queues only
  });

  it('the Scheduler role may do what every schedule makes the Scheduler do, and nothing else', () => {
    // What EventBridgeDeadlines puts in each schedule, from the variables the paging function gets:
    // Target.Arn = STREAM_ARN (kinesis:PutRecord), DeadLetterConfig.Arn = SCHEDULER_DLQ_ARN (sqs:SendMessage).
    const ctx: ArnContext = { partition: 'aws', region: TEST_ENV.region, account: TEST_ENV.account };
    const paging = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('ProcessorsPaging'))!;
    const env = paging[1].Properties.Environment.Variables;
    const roleId: string = env.SCHEDULER_ROLE_ARN['Fn::GetAtt'][0]; // the role each schedule names
    const needs = [
      { action: 'kinesis:PutRecord', resource: render(env.STREAM_ARN, ctx) },
      { action: 'sqs:SendMessage', resource: render(env.SCHEDULER_DLQ_ARN, ctx) },
    ];
    const { statements, managedPolicyArns } = roleStatements(template, roleId, ctx);
    for (const n of needs) expect(allows(statements, n.action, n.resource), n.action).toBe(true);
    const granted = statements.flatMap((st) =>
      st.actions.flatMap((a) => st.resources.map((r) => ({ action: a, resource: r }))),
    );
    expect(granted).toEqual(needs);
    expect(managedPolicyArns).toEqual([]);
  });

  it('the retry policy bounds a deadline’s delivery to the paging horizon, with every attempt allowed', () => {
    const paging = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('ProcessorsPaging'))!;
    const horizonS = Number(paging[1].Properties.Environment.Variables.PAGING_MAX_ALARM_AGE_S);
    expect(DEADLINE_RETRY_POLICY.MaximumEventAgeInSeconds).toBe(horizonS);
    expect(DEADLINE_RETRY_POLICY.MaximumRetryAttempts).toBe(185); // the API's maximum
  });

  it('every dead-letter queue of the stack has a depth alarm that reaches the operators', () => {
    const queues = resources('AWS::SQS::Queue');
    expect(queues.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'AlarmRuleDeadLetters', // the rule's target could not be invoked
      'AlarmRuleIntakeDeadLetters', // the intake function failed on an event
      'DeadlinesDeadLetters', // the Scheduler could not put a deadline on the stream
    ]);
    for (const [id] of queues) {
      const a = alarmOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } },
      ]);
      expect(a, id).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      reachesOperators(a);
    }
  });
});

describe('alarms on the paths that can drop or delay an alarm', () => {
  it('the alarm rule: FailedInvocations and events it could not dead-letter (AWS/Events)', () => {
    const rule = [{ Name: 'RuleName', Value: { Ref: idOf('AlarmRule', 'AWS::Events::Rule') } }];
    for (const metric of ['FailedInvocations', 'InvocationsFailedToBeSentToDlq']) {
      const a = alarmOn('AWS/Events', metric, rule);
      expect(a, metric).toMatchObject({ Statistic: 'Sum', Threshold: 1 });
      reachesOperators(a);
    }
  });

  it('the intake function (the rule’s target): errors and dropped async events', () => {
    const fn = [{ Name: 'FunctionName', Value: { Ref: idOf('AlarmRuleIntake', 'AWS::Lambda::Function') } }];
    for (const metric of ['Errors', 'AsyncEventsDropped']) {
      const a = alarmOn('AWS/Lambda', metric, fn);
      expect(a, metric).toMatchObject({ Statistic: 'Sum', Threshold: 1 });
      reachesOperators(a);
    }
  });

  it('the deadlines: Scheduler target errors and throttles (persisting), drops and dead-letter failures', () => {
    const group = [{ Name: 'ScheduleGroup', Value: 'pagetrail-test-deadlines' }];
    for (const metric of ['TargetErrorCount', 'TargetErrorThrottledCount']) {
      const a = alarmOn('AWS/Scheduler', metric, group);
      expect(a, metric).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2, Period: 300 });
      reachesOperators(a);
    }
    for (const metric of ['InvocationDroppedCount', 'InvocationsFailedToBeSentToDeadLetterCount']) {
      const a = alarmOn('AWS/Scheduler', metric, group);
      expect(a, metric).toMatchObject({ Threshold: 1, EvaluationPeriods: 1 });
      reachesOperators(a);
    }
  });

  it('the processors: errors and iterator age per function, on-failure records; every alarm has both actions', () => {
    for (const fn of ['ProcessorsPaging', 'ProcessorsLake']) {
      const dims = [{ Name: 'FunctionName', Value: { Ref: idOf(fn, 'AWS::Lambda::Function') } }];
      reachesOperators(alarmOn('AWS/Lambda', 'Errors', dims));
      reachesOperators(alarmOn('AWS/Lambda', 'IteratorAge', dims));
    }
    const bucket = idOf('StorageLakeBucket', 'AWS::S3::Bucket');
    reachesOperators(
      alarmOn('AWS/S3', 'PutRequests', [
        { Name: 'BucketName', Value: { Ref: bucket } },
        { Name: 'FilterId', Value: 'failures' },
      ]),
    );
    // Every alarm of the stack is a pipeline alarm (no estate here: the estate's are the loop's own), 15
    // without an intake function, and each has an alarm and an OK action on the operators' topic.
    const all = resources('AWS::CloudWatch::Alarm');
    expect(all.filter(([id]) => !id.startsWith('PipelineAlarms'))).toEqual([]);
    expect(all.length).toBeGreaterThanOrEqual(15);
    for (const [, a] of all) reachesOperators(a.Properties);
  });

  it('the alarm rule’s intake function, when it has one: errors, dropped events and its dead-letter queue', () => {
    const app = new App();
    const s = new Stack(app, 'IntakeAlarms', { env: TEST_ENV });
    const intake = new lambda.Function(s, 'Intake', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
      deadLetterQueueEnabled: true,
    });
    new PipelineAlarms(s, 'PipelineAlarms', {
      bucket: new s3.Bucket(s, 'Bucket'),
      loadBalancer: elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(s, 'Alb', {
        loadBalancerArn:
          'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/receiver/0123456789abcdef',
        securityGroupId: 'sg-0123456789abcdef0',
      }),
      alarmRule: new events.Rule(s, 'Rule', { eventPattern: { source: ['aws.cloudwatch'] } }),
      alarmDeadLetters: new sqs.Queue(s, 'RuleDlq'),
      intake,
      deadlines: { groupName: 'g', deadLetters: new sqs.Queue(s, 'DeadlineDlq') },
      processors: { paging: intake, lake: intake },
      operators: { emails: ['oncall@example.com'], phones: [] },
    });
    const t = Template.fromStack(s).toJSON();
    const props = Object.values(t.Resources as Json)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => r.Properties as Json);
    const fnDims = JSON.stringify([
      { Name: 'FunctionName', Value: { Ref: s.getLogicalId(intake.node.defaultChild as lambda.CfnFunction) } },
    ]);
    const onIntake = props.filter((a) => JSON.stringify(a.Dimensions) === fnDims).map((a) => a.MetricName);
    expect(onIntake).toEqual(expect.arrayContaining(['Errors', 'AsyncEventsDropped']));
    const dlqId = s.getLogicalId(intake.deadLetterQueue!.node.defaultChild as sqs.CfnQueue);
    const dlqAlarm = props.find(
      (a) =>
        a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        JSON.stringify(a.Dimensions) ===
          JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }]),
    );
    expect(dlqAlarm).toMatchObject({ Threshold: 1 });
    for (const a of props) expect(a.AlarmActions).toHaveLength(1);
  });
});

describe('who pages when pagetrail is down', () => {
  it('the alarm topic has the operators’ email and SMS subscriptions from context', () => {
    const subs = resources('AWS::SNS::Subscription').map(([, r]) => r.Properties as Json);
    const of = (protocol: string) =>
      subs
        .filter((x) => x.Protocol === protocol)
        .map((x) => {
          expect(x.TopicArn).toEqual({ Ref: topicId() });
          return x.Endpoint;
        })
        .sort();
    expect(of('email')).toEqual([...EMAILS].sort());
    expect(of('sms')).toEqual([...PHONES].sort());
  });

  it('a production stage with no operator subscription is refused; another stage gets a warning', () => {
    for (const stage of ['prod', 'production', 'prod-eu']) expect(isProductionStageName(stage), stage).toBe(true);
    for (const stage of ['dev', 'staging', 'product', 'preprod'])
      expect(isProductionStageName(stage), stage).toBe(false);
    const none = { emails: [], phones: [] };
    expect(() => stackFor(dir, { stage: 'prod' })).toThrow(/production stage with no operator subscription/);
    expect(() => stackFor(dir, { stage: 'staging', production: 'true' })).toThrow(/operatorEmails/);
    expect(checkOperators('dev', false, none)).toMatch(/no operator subscription/);
    expect(checkOperators('prod', true, { emails: [], phones: ['+14155550100'] })).toBeUndefined();
    // context production=false lets a prod-named stage through (with the warning)
    const app = new App({ context: { stage: 'prod', production: 'false' } });
    expect(stackPropsFromContext(app)).toMatchObject({ production: false, operators: none });
  });

  it('refuses a malformed subscription, naming its position but never echoing a phone number', () => {
    const bad = '+1-415-555-0100';
    let message = '';
    try {
      checkOperators('prod', true, { emails: [], phones: ['+14155550100', bad] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('operatorPhones entry 2 is not an E.164 number (+ and 8-15 digits)');
    expect(() => checkOperators('dev', false, { emails: ['not-an-address'], phones: [] })).toThrow(
      'operatorEmails entry 1 is not an email address',
    );
    expect(() => stackPropsFromContext(new App({ context: { production: 'yes' } }))).toThrow(/true or false/);
  });
});
