import { CfnOutput, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as smsvoice from 'aws-cdk-lib/aws-smsvoice';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { suppress } from './nag.js';
import { Construct } from 'constructs';

/**
 * The second route for SMS and voice pages (AWS End User Messaging SMS and Voice), when the stage names an
 * origination identity (context `smsVoiceOrigination`, and `smsVoiceVoiceOrigination` for voice):
 *
 * - a configuration set (`AWS::SMSVOICE::ConfigurationSet`, L1) whose event destination sends every SMS and voice
 *   event (TEXT_ALL, VOICE_ALL) to an SNS topic (TLS-only; AWS End User Messaging may publish to it for this
 *   account only);
 * - the topic's HTTPS subscription to the receiver (`<PUBLIC_BASE_URL>/webhooks/aws-sms-voice`, with a
 *   dead-letter queue for what SNS cannot deliver after its retries): the receiver confirms it itself,
 *   verifying the confirmation's signature and that its topic is the one it is told of (AWS_SMS_VOICE_TOPIC_ARNS);
 * - two-way SMS: a second topic, the origination number's two-way channel (replies `ACK <code>` to the pages this
 *   route sent), with its HTTPS subscription to `<PUBLIC_BASE_URL>/webhooks/aws-sms-voice/inbound` (same
 *   dead-letter queue; its topic in AWS_SMS_VOICE_TOPIC_ARNS too). Pointing the number at it is one CLI call after
 *   the deploy (output `TwoWayChannelArn`, infra/cdk/README.md): a number bought outside the stack cannot be
 *   changed by it (`AWS::SMSVOICE::PhoneNumber`'s `TwoWay` applies only to a number the stack itself buys);
 * - the paging function's settings (AWS_SMS_VOICE_ORIGINATION, …_VOICE_ORIGINATION, …_CONFIGURATION_SET) and its
 *   grant: sms-voice:SendTextMessage and SendVoiceMessage on the origination identities and the configuration set
 *   only (what infra/cdk/grants.test.ts derives from the bundle: platform/providers/aws-sms-voice.ts).
 *
 * The origination identities (a phone number, pool or sender id, with its registration) are bought and registered
 * outside the stack; they are given as ARNs.
 */
export interface SecondRouteProps {
  /** ARN of the phone number, pool or sender id SMS pages go from. */
  readonly originationArn: string;
  /** ARN of a voice-capable phone number; absent: voice pages keep to Twilio. */
  readonly voiceOriginationArn?: string;
  /** The receiver's public base URL (https://<domain>). */
  readonly publicBaseUrl: string;
  readonly paging: lambda.Function;
  readonly receiverContainer: ecs.ContainerDefinition;
  readonly stage: string;
}

export class SecondRoute extends Construct {
  readonly topic: sns.Topic;
  /** The origination number's two-way channel: inbound SMS (replies to pages). */
  readonly inboundTopic: sns.Topic;
  readonly configurationSet: smsvoice.CfnConfigurationSet;
  /** What SNS could not deliver to the receiver after its retries (events and inbound SMS). */
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: SecondRouteProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // AWS End User Messaging may publish to the topics for this account only (AWS docs, "Topic policies for Amazon
    // SNS topics": the statement two-way SMS needs when no TwoWayChannelRole is given; the same for the events)
    const topic = (id: string, displayName: string) => {
      const t = new sns.Topic(this, id, { displayName, enforceSSL: true });
      t.addToResourcePolicy(
        new iam.PolicyStatement({
          actions: ['sns:Publish'],
          principals: [new iam.ServicePrincipal('sms-voice.amazonaws.com')],
          resources: [t.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
      return t;
    };
    this.topic = topic('Events', 'pagetrail AWS End User Messaging SMS and voice events');
    this.inboundTopic = topic('Inbound', 'pagetrail AWS End User Messaging inbound SMS (two-way channel)');
    this.configurationSet = new smsvoice.CfnConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: `pagetrail-${props.stage}-pages`,
      eventDestinations: [
        {
          eventDestinationName: 'receiver',
          enabled: true,
          matchingEventTypes: ['TEXT_ALL', 'VOICE_ALL'],
          snsDestination: { topicArn: this.topic.topicArn },
        },
      ],
    });
    // an event SNS could not deliver after its retries (the receiver down for long) is kept, not lost
    this.deadLetters = new sqs.Queue(this, 'UndeliveredEvents', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isDeadLetterQueue = "This queue is itself a dead-letter queue (the receiver's SNS subscription's).";
    suppress(this.deadLetters, [
      { id: 'AwsSolutions-SQS3', reason: isDeadLetterQueue },
      { id: 'Serverless-SQSRedrivePolicy', reason: isDeadLetterQueue },
    ]);
    const subscribe = (t: sns.Topic, path: string) =>
      t.addSubscription(
        new subscriptions.UrlSubscription(`${props.publicBaseUrl}${path}`, {
          protocol: sns.SubscriptionProtocol.HTTPS,
          deadLetterQueue: this.deadLetters,
        }),
      );
    subscribe(this.topic, '/webhooks/aws-sms-voice');
    subscribe(this.inboundTopic, '/webhooks/aws-sms-voice/inbound');
    new CfnOutput(this, 'TwoWayChannelArn', {
      value: this.inboundTopic.topicArn,
      description: 'aws pinpoint-sms-voice-v2 update-phone-number --two-way-enabled --two-way-channel-arn <this>',
    });

    props.receiverContainer.addEnvironment(
      'AWS_SMS_VOICE_TOPIC_ARNS',
      Fn.join(',', [this.topic.topicArn, this.inboundTopic.topicArn]),
    );
    props.paging.addEnvironment('AWS_SMS_VOICE_ORIGINATION', props.originationArn);
    if (props.voiceOriginationArn)
      props.paging.addEnvironment('AWS_SMS_VOICE_VOICE_ORIGINATION', props.voiceOriginationArn);
    props.paging.addEnvironment('AWS_SMS_VOICE_CONFIGURATION_SET', this.configurationSet.ref);
    // both actions whatever is configured: the client module sends either (grants.test.ts derives the calls from
    // the bundle); a voice page without a voice number never goes by this route (processors/paging/dispatcher.ts)
    props.paging.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sms-voice:SendTextMessage', 'sms-voice:SendVoiceMessage'],
        resources: [
          props.originationArn,
          ...(props.voiceOriginationArn ? [props.voiceOriginationArn] : []),
          this.configurationSet.attrArn,
        ],
      }),
    );
  }
}
