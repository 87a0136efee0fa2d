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
 *   estate           JSON: {"ecsServices":[{"cluster","service","severity"?}],
 *                    "rdsInstances":[{"instanceId","severity"?,"replica"?,"vcpus"?,"allocatedStorageGiB"?,
 *                    "maxConnections"?}]}
 *   account, region  target environment (default: the CLI's CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION)
 */
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
    estate,
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
