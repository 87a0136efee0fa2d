import { Aspects, Stack, type CfnElement, type IAspect } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_PREFIX, LAKE_TABLES } from '../../schemas/lake.js';
import { STATE_PREFIX } from '../../processors/lake/lake-store.js';
import { INCIDENT_LIST_INDEX } from '../../shared/incident-list-index.js';
import { LAMBDA_BUNDLES, RECEIVER_BUNDLE, type BundleSpec } from '../lambda/bundle.js';
import type { AlarmRule } from './alarm-rule.js';
import { ATHENA_RESULTS_PREFIX } from './storage.js';
import {
  asyncInvokeNeeds,
  athenaNeeds,
  bundleCalls,
  checkUnit,
  formatFinding,
  mappingNeeds,
  type ArnContext,
  type BundleCalls,
  type CallSite,
  type Finding,
  type Json,
  type UnitGrants,
} from './sdk-calls.js';
import type { PagetrailStack } from './stack.js';
import { stackFor, synthDir, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * Calls vs grants. For each deployed unit, the AWS API actions its bundle can call are derived from
 * the bundle itself (infra/cdk/sdk-calls.ts: the same esbuild options that deploy, command modules
 * from the metafile, attributed to the first-party modules that import them), and the synthesized role
 * is checked both ways:
 *   (a) every call is allowed on the resource it names (CALL_SITES: the variable its wiring passes);
 *   (b) every grant is needed: by a call, by AWS on the unit's behalf (the event source mappings, from
 *       the template), or by an exception written down here.
 * The last test removes one grant and shows the check reports exactly that.
 */

type UnitName = 'receiver' | 'paging' | 'lake' | 'alarm-intake';
const BUNDLES: Record<UnitName, BundleSpec> = {
  receiver: RECEIVER_BUNDLE,
  paging: LAMBDA_BUNDLES.paging,
  lake: LAMBDA_BUNDLES.lake,
  'alarm-intake': LAMBDA_BUNDLES['alarm-intake'],
};

const SMS_VOICE_ORIGINATION = 'arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123456789abcdef';

/** What the lake writes (and so may read back and delete): its tables, its error objects, its join state. */
const LAKE_PREFIXES = [...LAKE_TABLES.map((t) => t.prefix), ERROR_PREFIX, STATE_PREFIX];

/**
 * The call sites: each first-party module that sends AWS commands, and the environment variable the
 * units' wiring hands it its resource in (receiver main.ts, processors/{paging,lake}/wiring.ts,
 * platform/secrets.ts). Every module the derivation finds must be here, and every entry used.
 */
const CALL_SITES: Record<string, CallSite> = {
  'platform/stream/batching-producer.ts': { env: 'STREAM_NAME' }, // receiver: PutRecords
  'platform/stream/kinesis-producer.ts': { env: 'STREAM_NAME' }, // PutRecords (the batching producer sends through it)
  'producers/receiver/stream-health.ts': { env: 'STREAM_NAME' }, // GET /healthz: DescribeStreamSummary
  'processors/consumer/shards.ts': { env: 'STREAM_NAME' }, // lake lineage: ListShards
  // lake: a head whose state object is gone rebuilds it from the stream (processors/lake/recover-state.ts)
  'processors/consumer/shard-reader.ts': { env: 'STREAM_NAME' },
  'shared/ack-codes.ts': { env: 'LEDGER_TABLE' }, // ack codes live in the dispatch ledger
  'processors/paging/ledger.ts': { env: 'LEDGER_TABLE' },
  'processors/paging/incident-store.ts': { env: 'INCIDENTS_TABLE' },
  'processors/paging/heartbeats.ts': { env: 'INCIDENTS_TABLE' }, // heartbeat checks' state items (GetItem, PutItem)
  'shared/incident-item.ts': { env: 'INCIDENTS_TABLE' }, // IncidentReader (the receiver's ack page)
  'shared/incident-view.ts': { env: 'INCIDENTS_TABLE' }, // the incident API's GET /incidents/{id}
  // the incident API's and the console's list: a Query of the list index, then BatchGetItem of the page's items
  'producers/receiver/api/incidents.ts': { env: 'INCIDENTS_TABLE', queryIndex: INCIDENT_LIST_INDEX },
  'producers/receiver/auth/store.ts': { env: 'CONSOLE_AUTH_TABLE' }, // sign-in links, rate counters, API keys
  'producers/receiver/auth/session-store.ts': { env: 'CONSOLE_AUTH_TABLE' }, // sessions: put, get, delete
  'processors/consumer/checkpoint-store.ts': { env: 'CHECKPOINT_TABLE' },
  // The lake rewrites, and after a failed flush deletes, objects under everything it writes.
  'processors/lake/lake-store.ts': { env: 'LAKE_BUCKET', prefixes: LAKE_PREFIXES },
  'producers/receiver/error-sink.ts': { env: 'LAKE_BUCKET', prefixes: [ERROR_PREFIX] },
  // The receiver reads the lake through Athena (the incident API's history, the console's analytics), and lists raw/
  // for the data's age through the lake cache (whose object reads are DuckDB's: the lake tables' objects).
  'analysis/query/athena-engine.ts': { env: 'ATHENA_WORKGROUP' },
  'analysis/query/lake-cache.ts': { env: 'LAKE_BUCKET', prefixes: LAKE_TABLES.map((t) => t.prefix) },
  // Schedules of the group; CreateSchedule passes the Scheduler role (iam:PassRole).
  'processors/paging/deadlines.ts': { env: 'SCHEDULER_GROUP', passRoleEnv: 'SCHEDULER_ROLE_ARN' },
  // Every `<NAME>_SECRET_ARN` of the function's environment (none: no call, no grant).
  'platform/secrets.ts': { env: '*_SECRET_ARN' },
  // The second route (infra/cdk/second-route.ts): its origination identities and configuration set (none: no grant).
  'platform/providers/aws-sms-voice.ts': { env: 'AWS_SMS_VOICE_*' },
};

/**
 * Calls a bundle holds that its unit never makes (so no grant). Keep short: each is a grant someone
 * could add by mistake, or a call that would fail if the code started making it.
 */
const NOT_CALLED: Partial<Record<UnitName, UnitGrants['notCalled']>> = {
  // The receiver holds AckCodes as an AckCodeResolver (producers/receiver/http.ts): resolve() → GetItem
  // only. Issuing codes (PutItem, UpdateItem) and the batch lookup are the paging function's.
  receiver: [
    ...['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'].map((action) => ({
      action,
      file: 'shared/ack-codes.ts',
      why: 'AckCodes methods the receiver does not call',
    })),
    {
      action: 'dynamodb:Scan',
      file: 'shared/incident-view.ts',
      why: "IncidentViewReader.latestByAlarmName is make incident's (a person's command), not the receiver's",
    },
  ],
};

/**
 * AWS-managed policies a role may carry. Lambda: AWSLambdaBasicExecutionRole, logs:CreateLogGroup /
 * CreateLogStream / PutLogEvents (Lambda writes the function's logs with the role). The receiver task
 * role has none: its logs and its secrets go through the ECS execution role, a separate role.
 */
const LAMBDA_LOGS = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

let dir: SynthDir;
let restoreValidation: () => void;
let derived: Record<UnitName, BundleCalls>;
let base: { stack: PagetrailStack; template: Json };
const timings: string[] = [];

/** Synthesizes the stack (Lambda assets: placeholder bundles, the template does not depend on them). */
function synth(aspect?: (stack: PagetrailStack) => IAspect): { stack: PagetrailStack; template: Json } {
  const started = Date.now();
  // with the second route (AWS End User Messaging), so its grant is derived and checked too
  const stack = stackFor(dir, { stage: 'test', smsVoiceOrigination: SMS_VOICE_ORIGINATION });
  if (aspect) Aspects.of(stack).add(aspect(stack));
  const template = Template.fromStack(stack).toJSON();
  timings.push(`synth ${Date.now() - started} ms`);
  return { stack, template };
}

const ctxOf = (stack: Stack): ArnContext => ({ partition: 'aws', region: stack.region, account: stack.account });
const logicalId = (stack: Stack, c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);

/** The four units as deployed: role, environment, derived calls, and what AWS does on their behalf. */
function units({ stack, template }: { stack: PagetrailStack; template: Json }): UnitGrants[] {
  const ctx = ctxOf(stack);
  const taskDef = template.Resources[logicalId(stack, stack.services.receiver.taskDefinition)];
  const container = (taskDef.Properties.ContainerDefinitions as Json[]).find((c) => c.Name === 'receiver')!;
  const receiver: UnitGrants = {
    name: 'receiver',
    roleId: logicalId(stack, stack.services.receiver.taskDefinition.taskRole),
    env: Object.fromEntries((container.Environment as Json[]).map((e) => [e.Name, e.Value])),
    calls: derived.receiver.calls,
    notCalled: NOT_CALLED.receiver,
  };
  const lakeReads = { tablePrefixes: LAKE_TABLES.map((t) => t.prefix), resultsPrefix: ATHENA_RESULTS_PREFIX };
  const withAthena: UnitGrants = { ...receiver, onBehalf: athenaNeeds(receiver, template, ctx, lakeReads) };
  const fn = (name: 'paging' | 'lake'): UnitGrants => {
    const f = stack.processors[name];
    const id = logicalId(stack, f);
    return {
      name,
      roleId: logicalId(stack, f.role!),
      env: template.Resources[id].Properties.Environment?.Variables ?? {},
      calls: derived[name].calls,
      notCalled: NOT_CALLED[name],
      onBehalf: mappingNeeds(template, id, ctx),
      managedPolicies: [LAMBDA_LOGS],
    };
  };
  // The alarm rule's function (alarm-rule.ts): invoked asynchronously, its failures to its dead-letter queue.
  const intake = (stack.node.findChild('AlarmRule') as AlarmRule).intake;
  const intakeId = logicalId(stack, intake);
  const alarmIntake: UnitGrants = {
    name: 'alarm-intake',
    roleId: logicalId(stack, intake.role!),
    env: template.Resources[intakeId].Properties.Environment?.Variables ?? {},
    calls: derived['alarm-intake'].calls,
    onBehalf: asyncInvokeNeeds(template, intakeId, ctx),
    managedPolicies: [LAMBDA_LOGS],
  };
  return [withAthena, fn('paging'), fn('lake'), alarmIntake];
}

function findings(s: { stack: PagetrailStack; template: Json }): Finding[] {
  return units(s).flatMap((u) => checkUnit(s.template, u, CALL_SITES, ctxOf(s.stack)).findings);
}

beforeAll(async () => {
  restoreValidation = withoutCfnValidation(); // cfn-lint warnings only, most of a synthesis
  dir = synthDir();
  const started = Date.now();
  const names = Object.keys(BUNDLES) as UnitName[];
  const built = await Promise.all(names.map((n) => bundleCalls(BUNDLES[n])));
  derived = Object.fromEntries(names.map((n, i) => [n, built[i]])) as Record<UnitName, BundleCalls>;
  timings.push(`derive ${Date.now() - started} ms`);
  base = synth();
}, 120_000);

afterAll(() => {
  restoreValidation();
  dir.remove();
  console.log(`grants: ${timings.join(', ')}`);
});

describe('calls vs grants', () => {
  it('derives each bundle’s calls, and every call-site entry is one', () => {
    const actions = (n: UnitName) => new Set(derived[n].calls.map((c) => c.action));
    // Anchors: a derivation that finds nothing would pass every check below.
    const anchors: Record<UnitName, string[]> = {
      receiver: [
        'kinesis:PutRecords',
        'kinesis:DescribeStreamSummary',
        's3:PutObject',
        'dynamodb:GetItem',
        'athena:StartQueryExecution',
        's3:ListBucket',
      ],
      paging: ['kinesis:PutRecords', 'scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'dynamodb:UpdateItem'],
      lake: ['s3:PutObject', 's3:DeleteObject', 'dynamodb:Query', 'kinesis:ListShards', 'kinesis:PutRecords'],
      'alarm-intake': ['kinesis:PutRecords'],
    };
    for (const n of Object.keys(anchors) as UnitName[]) {
      expect([...actions(n)]).toEqual(expect.arrayContaining(anchors[n]));
    }
    const files = new Set(Object.values(derived).flatMap((d) => d.calls.map((c) => c.file)));
    expect(Object.keys(CALL_SITES).filter((f) => !files.has(f))).toEqual([]);
  });

  const UNITS: UnitName[] = ['receiver', 'paging', 'lake', 'alarm-intake'];
  it.each(UNITS)('%s: every call its bundle can make is allowed on its resource', (name) => {
    const kinds = new Set(['missing', 'unresolved', 'stale-exception']);
    expect(
      findings(base)
        .filter((f) => f.unit === name && kinds.has(f.kind))
        .map(formatFinding),
    ).toEqual([]);
  });

  it.each(UNITS)('%s: its role allows nothing the unit does not use', (name) => {
    const kinds = new Set(['unused', 'wildcard', 'managed-policy']);
    expect(
      findings(base)
        .filter((f) => f.unit === name && kinds.has(f.kind))
        .map(formatFinding),
    ).toEqual([]);
  });

  it('removing one grant (kinesis:PutRecords from the paging role) is reported, and nothing else changes', () => {
    /** Strips one action from the identity policies of one role, at synthesis. */
    class StripAction implements IAspect {
      constructor(
        readonly role: iam.IRole,
        readonly action: string,
      ) {}
      visit(node: IConstruct): void {
        if (!(node instanceof iam.CfnPolicy)) return;
        const stack = Stack.of(node);
        const roleId = logicalId(stack, this.role);
        if (!(stack.resolve(node.roles) as Json[]).some((r) => r.Ref === roleId)) return;
        const doc = stack.resolve(node.policyDocument) as Json;
        doc.Statement = (doc.Statement as Json[])
          .map((s) => ({ ...s, Action: [s.Action].flat().filter((a: string) => a !== this.action) }))
          .filter((s) => s.Action.length > 0);
        node.policyDocument = doc;
      }
    }
    const stripped = synth((stack) => new StripAction(stack.processors.paging.role!, 'kinesis:PutRecords'));
    const before = new Set(findings(base).map(formatFinding));
    const after = findings(stripped).map(formatFinding);
    const stream = `\${${logicalId(stripped.stack, stripped.stack.storage.stream)}.Arn}`;
    expect(after.filter((f) => !before.has(f))).toEqual([
      `paging missing: kinesis:PutRecords on ${stream} (platform/stream/kinesis-producer.ts)`,
    ]);
    expect([...before].filter((f) => !after.includes(f))).toEqual([]);
  });
});
