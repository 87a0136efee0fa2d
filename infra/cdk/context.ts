import type { App } from 'aws-cdk-lib';
import type { EstateEcsService, EstateRdsInstance } from './estate-alarms.js';
import type { PagetrailStackProps } from './stack.js';

/**
 * A stage name: lowercase letters, digits and single inner hyphens, at most 20 characters. It
 * qualifies every physical name of the stage (stack pagetrail-<stage>, Glue database pagetrail_<stage>,
 * secrets pagetrail/<stage>/…), so it must be valid in all of them and map to distinct Glue names.
 */
export function assertStage(stage: string): string {
  if (!/^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,19}$/.test(stage)) {
    const rule = 'lowercase letters, digits and inner hyphens, at most 20, starting with a letter';
    throw new Error(`stage must be ${rule}, got ${JSON.stringify(stage)}`);
  }
  return stage;
}

/**
 * Who the pipeline alarms reach (pipeline-alarms.ts), by a path that does not go through pagetrail:
 * the alarm topic's email and SMS subscriptions. Email subscriptions must be confirmed from the
 * message AWS sends; SMS needs the account out of the SNS SMS sandbox (or the numbers verified in it).
 */
export interface OperatorSubscriptions {
  readonly emails: readonly string[];
  /** E.164 (`+` and 8–15 digits). */
  readonly phones: readonly string[];
}

/** A production stage: `prod`, `production`, or either with a suffix (`prod-eu`), unless context `production` says. */
export const isProductionStageName = (stage: string): boolean => /^prod(uction)?(-|$)/.test(stage);

const EMAIL = /^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$/;
const E164 = /^\+[1-9]\d{7,14}$/;

/**
 * The operators of a stage; a production stage with none is refused (its pipeline alarms would reach
 * nobody when pagetrail itself is down). Returns a warning for a non-production stage with none.
 * Invalid entries are named by position, never echoed (phone numbers stay out of logs).
 */
export function checkOperators(
  stage: string,
  production: boolean,
  operators: OperatorSubscriptions | undefined,
): string | undefined {
  const emails = operators?.emails ?? [];
  const phones = operators?.phones ?? [];
  emails.forEach((e, i) => {
    if (!EMAIL.test(e)) throw new Error(`operatorEmails entry ${i + 1} is not an email address`);
  });
  phones.forEach((p, i) => {
    if (!E164.test(p)) throw new Error(`operatorPhones entry ${i + 1} is not an E.164 number (+ and 8-15 digits)`);
  });
  if (emails.length + phones.length > 0) return undefined;
  const how = 'set context operatorEmails and/or operatorPhones (README "Deploy on AWS")';
  if (production) {
    throw new Error(
      `stage ${stage} is a production stage with no operator subscription: its pipeline alarms would reach ` +
        `nobody when pagetrail is down; ${how}`,
    );
  }
  return `stage ${stage}: the pipeline alarm topic has no operator subscription; ${how}`;
}

/** Availability zones of the VPC; the receiver runs at least one task in each (services.ts). */
export const VPC_MAX_AZS = 2;

/**
 * Stack settings from CDK context (`-c key=value` or cdk.json "context"):
 *   stage            qualifies the stack and every name it owns (default "dev"; lowercase, digits, hyphens)
 *   shardCount       provisioned shards; absent = on-demand stream
 *   certificateArn   ACM certificate of the receiver; absent = CloudFormation parameter CertificateArn
 *   domain           public host of the receiver (PUBLIC_BASE_URL = https://<domain>)
 *   twilioAccountSid Twilio Account SID; absent = CloudFormation parameter TwilioAccountSid
 *   oncallFile       on-call file in the repository, bundled with the paging function
 *                    (default infra/local/oncall/demo.json)
 *   schedulerGroup   EventBridge Scheduler group of the escalation deadlines (default pagetrail-<stage>-deadlines)
 *   flushIntervalS   lake flush interval and the lake mapping's batching window, 1..300 s (default 60)
 *   receiverMaxTasks receiver autoscaling ceiling (default 10; the floor is 2)
 *   natGateways      NAT gateways, 1..2 (default 2: one per AZ; 1 saves ~USD 33/month and loses egress with its AZ)
 *   operatorEmails   who the pipeline alarms reach by email: comma-separated, or a JSON array
 *   operatorPhones   who they reach by SMS: E.164 numbers, comma-separated or a JSON array
 *   production       true|false (default: true for a stage named prod, production, prod-…, production-…);
 *                    a production stage with no operator subscription is refused
 *   estate           JSON: {"ecsServices":[{"cluster","service","severity"?}],
 *                    "rdsInstances":[{"instanceId","severity"?,"replica"?,"vcpus"?,"allocatedStorageGiB"?,
 *                    "maxConnections"?}]}
 *   smsVoiceOrigination       ARN of the AWS End User Messaging phone number / pool / sender id of the second
 *                             route for SMS pages (second-route.ts); absent = Twilio only
 *   smsVoiceVoiceOrigination  ARN of a voice-capable number: voice pages get the second route too
 *   eventsV2RoutingKeysSecret full ARN (with its random suffix) of a Secrets Manager secret holding the Events API
 *                    v2 routing keys as JSON ({"<32-character key>":"<service or team>"}); absent = none accepted
 *   snsAlertTopicArns SNS topics whose HTTPS subscriptions POST /events/sns accepts (CloudWatch alarm actions',
 *                    Amazon Managed Prometheus's): comma-separated or a JSON array → SNS_ALERT_TOPIC_ARNS
 *   account, region  target environment (default: the CLI's CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION)
 */
/** An SNS topic's ARN (what the receiver's SNS_ALERT_TOPIC_ARNS takes). */
function snsTopicArn(key: string, v: string): string {
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$/.test(v))
    throw new Error(`context ${key} must list SNS topic ARNs (arn:aws:sns:<region>:<account>:<name>), got ${v}`);
  return v;
}

/** An AWS End User Messaging origination identity's ARN (the grant names it). */
function smsVoiceArn(key: string, v: string): string {
  if (!/^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:\d{12}:(phone-number|pool|sender-id)\/\S+$/.test(v))
    throw new Error(`context ${key} must be the ARN of a phone number, pool or sender id (arn:aws:sms-voice:…)`);
  return v;
}

/**
 * A secret's complete ARN (a name or a partial ARN whose name ends in a hyphen and six characters is misread as a
 * complete one by Secrets Manager: ../shared notes; the console shows the complete ARN).
 */
function secretArn(key: string, v: string): string {
  if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+-[A-Za-z0-9]{6}$/.test(v))
    throw new Error(
      `context ${key} must be the complete ARN of a secret (arn:aws:secretsmanager:…:secret:<name>-XXXXXX)`,
    );
  return v;
}

export function stackPropsFromContext(app: App): PagetrailStackProps & { stackName: string } {
  const ctx = (k: string): unknown => app.node.tryGetContext(k);
  const str = (k: string): string | undefined => {
    const v = ctx(k);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const stage = assertStage(str('stage') ?? 'dev');
  const shards = str('shardCount');
  const shardCount = shards === undefined ? undefined : Number(shards);
  if (shardCount !== undefined && (!Number.isInteger(shardCount) || shardCount < 1)) {
    throw new Error(`context shardCount must be a positive integer, got ${shards}`);
  }
  const int = (k: string, min: number, max: number): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`context ${k} must be an integer in [${min}, ${max}], got ${v}`);
    return n;
  };
  const list = (k: string): string[] => {
    const v = ctx(k);
    if (v === undefined || v === null || v === '') return [];
    const text = String(v).trim();
    const items: unknown = Array.isArray(v) ? v : text.startsWith('[') ? JSON.parse(text) : text.split(',');
    if (!Array.isArray(items)) throw new Error(`context ${k} must be a list`);
    return items.map((x) => String(x).trim()).filter((x) => x !== '');
  };
  const production = str('production');
  if (production !== undefined && production !== 'true' && production !== 'false') {
    throw new Error(`context production must be true or false, got ${production}`);
  }
  const rawEstate = ctx('estate');
  const estate = (typeof rawEstate === 'string' ? JSON.parse(rawEstate) : rawEstate) as
    | { ecsServices?: EstateEcsService[]; rdsInstances?: EstateRdsInstance[] }
    | undefined;
  return {
    stackName: `pagetrail-${stage}`,
    stage,
    shardCount,
    certificateArn: str('certificateArn'),
    domain: str('domain'),
    twilioAccountSid: str('twilioAccountSid'),
    oncallFile: str('oncallFile'),
    schedulerGroup: str('schedulerGroup'),
    flushIntervalS: int('flushIntervalS', 1, 300),
    receiverMaxTasks: int('receiverMaxTasks', 2, 1000),
    natGateways: int('natGateways', 1, VPC_MAX_AZS),
    operators: { emails: list('operatorEmails'), phones: list('operatorPhones') },
    production: production === undefined ? undefined : production === 'true',
    estate,
    ...(str('smsVoiceOrigination')
      ? {
          smsVoice: {
            originationArn: smsVoiceArn('smsVoiceOrigination', str('smsVoiceOrigination')!),
            ...(str('smsVoiceVoiceOrigination')
              ? { voiceOriginationArn: smsVoiceArn('smsVoiceVoiceOrigination', str('smsVoiceVoiceOrigination')!) }
              : {}),
          },
        }
      : {}),
    ...(str('eventsV2RoutingKeysSecret')
      ? { eventsV2RoutingKeysSecretArn: secretArn('eventsV2RoutingKeysSecret', str('eventsV2RoutingKeysSecret')!) }
      : {}),
    ...(list('snsAlertTopicArns').length
      ? { snsAlertTopicArns: list('snsAlertTopicArns').map((a) => snsTopicArn('snsAlertTopicArns', a)) }
      : {}),
    env: {
      account: str('account') ?? process.env.CDK_DEFAULT_ACCOUNT,
      region: str('region') ?? process.env.CDK_DEFAULT_REGION,
    },
  };
}

/**
 * How an alarm's severity is resolved when it has no `severity` tag (schemas/alarm-routing.ts). The
 * receiver's alarm intake and the paging function both read it, so both paths give an alarm the same
 * severity.
 */
export const SEVERITY_SETTINGS = { SEVERITY_DEFAULT: 'P2', SEVERITY_MAP: '{}' } as const;
