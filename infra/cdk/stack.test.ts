import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_PREFIX, EVENTS_TABLE, LAKE_TABLES, RAW_TABLE, glueType } from '../../schemas/lake.js';
import { ALERT_EVENTS_VIEW, INCIDENTS_VIEW } from '../../schemas/views.js';
import { SEED_QUERY } from '../local/demo-run.js';
import { ENVELOPE_TEMPLATE } from './alarm-rule.js';
import { stackPropsFromContext } from './context.js';
import { glueColumns, viewSelect, VIEW_COLUMNS } from './glue-columns.js';
import { AUDIT_QUERY } from './queries.js';
import { PagetrailStack } from './stack.js';

/**
 * Synthesizes the stack once (offline: the container image asset is only staged, never built) and
 * asserts the properties that matter. Synthesis takes a few seconds, so it happens in beforeAll.
 */
const CERT = 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000';
let template: Template;
let stack: PagetrailStack;
let outdir: string;
let synthMs = 0;

type Json = Record<string, any>;
const resources = (type: string): [string, Json][] => Object.entries(template.findResources(type));
const only = (type: string): Json => {
  const r = resources(type);
  expect(r).toHaveLength(1);
  return r[0][1].Properties;
};
const asArray = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

beforeAll(() => {
  outdir = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-cdk-'));
  const started = Date.now();
  const app = new App({
    outdir,
    context: {
      stage: 'test',
      certificateArn: CERT,
      domain: 'pagetrail.example.com',
      twilioAccountSid: 'AC0123456789abcdef0123456789abcdef',
      account: '111111111111',
      region: 'eu-west-1',
      estate: JSON.stringify({
        ecsServices: [{ cluster: 'prod', service: 'api', severity: 'P1' }],
        rdsInstances: [{ instanceId: 'orders-db', severity: 'P1', replica: false }, { instanceId: 'orders-db-replica', replica: true }],
      }),
    },
  });
  stack = new PagetrailStack(app, 'PagetrailStack', stackPropsFromContext(app));
  template = Template.fromStack(stack);
  synthMs = Date.now() - started;
}, 60_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  console.log(`synth: ${synthMs} ms`);
});

describe('storage', () => {
  it('the stream is KMS-encrypted and on-demand', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
    });
    expect(only('AWS::Kinesis::Stream').ShardCount).toBeUndefined();
  });

  it('a shardCount context gives a provisioned stream', () => {
    const app = new App({ outdir, context: { stage: 'p', shardCount: '4', certificateArn: CERT } });
    const s = new PagetrailStack(app, 'P', stackPropsFromContext(app));
    Template.fromStack(s).hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 4, StreamModeDetails: { StreamMode: 'PROVISIONED' } });
  });

  it('the bucket is encrypted, private, TLS-only, with lifecycle rules', () => {
    const b = only('AWS::S3::Bucket');
    expect(b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(b.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const rules = b.LifecycleConfiguration.Rules as Json[];
    const byPrefix = (p: string) => rules.find((r) => r.Prefix === p);
    expect(byPrefix(RAW_TABLE.prefix)).toMatchObject({ Status: 'Enabled', ExpirationInDays: 400 });
    expect(byPrefix(ERROR_PREFIX)).toMatchObject({ Status: 'Enabled', ExpirationInDays: 90 });
    expect(byPrefix('state/')).toMatchObject({ Status: 'Enabled', ExpirationInDays: 30 });
    expect(rules.find((r) => r.AbortIncompleteMultipartUpload)).toMatchObject({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } });
    expect(rules.find((r) => r.Prefix === EVENTS_TABLE.prefix)).toBeUndefined(); // the lake itself never expires
    expect(b.MetricsConfigurations).toEqual([{ Id: 'errors', Prefix: ERROR_PREFIX }]);

    const policy = only('AWS::S3::BucketPolicy').PolicyDocument.Statement as Json[];
    expect(policy).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('the DynamoDB tables: key schemas, TTL, on-demand, point-in-time recovery', () => {
    const tables = resources('AWS::DynamoDB::Table').map(([, r]) => r.Properties);
    expect(tables).toHaveLength(2);
    for (const t of tables) {
      expect(t.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    const checkpoints = tables.find((t) => t.KeySchema.length === 2)!;
    expect(checkpoints.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
    expect(checkpoints.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }]);
    const ledger = tables.find((t) => t.KeySchema.length === 1)!;
    expect(ledger.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(ledger.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
  });
});

describe('alarm rule', () => {
  it('matches CloudWatch alarm state changes of the ECS and RDS namespaces', () => {
    const rule = only('AWS::Events::Rule');
    expect(rule.EventPattern.source).toEqual(['aws.cloudwatch']);
    expect(rule.EventPattern['detail-type']).toEqual(['CloudWatch Alarm State Change']);
    const namespaces = rule.EventPattern.detail.configuration.metrics.metricStat.metric.namespace;
    expect(namespaces).toEqual(expect.arrayContaining(['AWS/ECS', 'AWS/RDS']));
    expect(namespaces).toContain('ECS/ContainerInsights'); // the running-task alarm's namespace
  });

  it('targets the stream keyed by the alarm ARN, wrapping the whole event in the envelope', () => {
    const [target] = only('AWS::Events::Rule').Targets as Json[];
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^StorageStream/), 'Arn'] });
    expect(target.KinesisParameters).toEqual({ PartitionKeyPath: '$.resources[0]' });
    expect(target.InputTransformer).toEqual({ InputTemplate: '{"v":1,"kind":"alarm","event":<aws.events.event.json>}' });
    expect(target.InputTransformer.InputTemplate).toBe(ENVELOPE_TEMPLATE);
    // Filled in with a JSON event, the template is the stream's alarm envelope.
    const event = { 'detail-type': 'CloudWatch Alarm State Change', resources: ['arn:x'], detail: { state: { value: 'ALARM' } } };
    expect(JSON.parse(ENVELOPE_TEMPLATE.replace('<aws.events.event.json>', JSON.stringify(event)))).toEqual({ v: 1, kind: 'alarm', event });
  });
});

describe('Glue catalog', () => {
  const tableInput = (name: string): Json => {
    const t = resources('AWS::Glue::Table').find(([, r]) => r.Properties.TableInput.Name === name);
    expect(t, name).toBeDefined();
    return t![1].Properties.TableInput;
  };

  it('declares one table per lake table, with columns equal to the ones generated from schemas/lake.ts', () => {
    for (const table of LAKE_TABLES) {
      const t = tableInput(table.name);
      const expected = table.columns.map((c) => ({ Name: c.name, Type: glueType(c.type), Comment: c.comment }));
      expect(t.StorageDescriptor.Columns).toEqual(expected);
      expect(glueColumns(table).map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment }))).toEqual(expected);
      // dt is a path column: a partition key, never a stored column.
      expect(t.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string', Comment: expect.any(String) }]);
      expect(t.StorageDescriptor.Columns.map((c: Json) => c.Name)).not.toContain('dt');
      expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
      expect(t.StorageDescriptor.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
    }
  });

  it('uses partition projection on dt (no crawler)', () => {
    for (const table of LAKE_TABLES) {
      const p = tableInput(table.name).Parameters;
      expect(p).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '2024-01-01,NOW',
      });
      expect(JSON.stringify(p['storage.location.template'])).toContain(`/${table.prefix}dt=\${dt}/`);
    }
    expect(resources('AWS::Glue::Crawler')).toHaveLength(0);
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'pagetrail_test' } });
  });

  it('declares the views as Athena (Presto) views generated from schemas/views.ts', () => {
    for (const [name, sql] of [['alert_events', ALERT_EVENTS_VIEW], ['incidents', INCIDENTS_VIEW]] as const) {
      const v = tableInput(name);
      expect(v.TableType).toBe('VIRTUAL_VIEW');
      expect(v.Parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
      const m = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(v.ViewOriginalText);
      expect(m).not.toBeNull();
      const def = JSON.parse(Buffer.from(m![1], 'base64').toString('utf8'));
      expect(def.originalSql).toBe(viewSelect(sql));
      expect(def.originalSql.startsWith('WITH d AS')).toBe(true);
      expect(def).toMatchObject({ catalog: 'awsdatacatalog', schema: 'pagetrail_test', columns: VIEW_COLUMNS[name] });
      expect(v.StorageDescriptor.Columns.map((c: Json) => c.Name)).toEqual(VIEW_COLUMNS[name].map((c) => c.name));
    }
    // alert_events: every events column, then escalation_time and dt.
    expect(VIEW_COLUMNS.alert_events.map((c) => c.name)).toEqual([...EVENTS_TABLE.columns.map((c) => c.name), 'escalation_time', 'dt']);
  });
});

describe('Athena', () => {
  it('the workgroup enforces the result location, a scan limit and engine v3', () => {
    const wg = only('AWS::Athena::WorkGroup');
    expect(wg.Name).toBe('pagetrail-test');
    const c = wg.WorkGroupConfiguration;
    expect(c.EnforceWorkGroupConfiguration).toBe(true);
    expect(c.BytesScannedCutoffPerQuery).toBeGreaterThan(0);
    expect(c.EngineVersion).toEqual({ SelectedEngineVersion: 'Athena engine version 3' });
    expect(JSON.stringify(c.ResultConfiguration.OutputLocation)).toContain('/athena-results/');
  });

  it('has the seed query and the per-incident audit as named queries', () => {
    const queries = resources('AWS::Athena::NamedQuery').map(([, r]) => r.Properties);
    expect(queries.map((q) => q.QueryString)).toEqual(expect.arrayContaining([SEED_QUERY, AUDIT_QUERY]));
    for (const q of queries) expect(q).toMatchObject({ Database: 'pagetrail_test', WorkGroup: 'pagetrail-test' });
    expect(AUDIT_QUERY).not.toMatch(/epoch\(|string_agg/); // DuckDB-only functions
    expect(AUDIT_QUERY).toContain('FROM incidents i');
  });
});

describe('ECS services', () => {
  const containers = (): Record<string, Json> =>
    Object.fromEntries(resources('AWS::ECS::TaskDefinition').map(([, r]) => [r.Properties.ContainerDefinitions[0].Name, r.Properties.ContainerDefinitions[0]]));

  it('runs the three services on Fargate with their commands', () => {
    expect(resources('AWS::ECS::Cluster')).toHaveLength(1);
    expect(resources('AWS::ECS::Service')).toHaveLength(3);
    for (const [, s] of resources('AWS::ECS::Service')) expect(s.Properties.LaunchType).toBe('FARGATE');
    const c = containers();
    expect(Object.keys(c).sort()).toEqual(['lake', 'paging', 'receiver']);
    expect(c.receiver.Command).toEqual(['node', '--import', 'tsx', 'producers/receiver/main.ts']);
    expect(c.paging.Command).toEqual(['node', '--import', 'tsx', 'processors/paging/main.ts']);
    expect(c.lake.Command).toEqual(['node', '--import', 'tsx', 'processors/lake/main.ts']);
    // The image is the repo's Dockerfile (an asset, built on deploy).
    expect(JSON.stringify(c.receiver.Image)).toContain('cdk-hnb659fds-container-assets');
  });

  it('the receiver is behind HTTPS with /healthz; the processors have container health checks', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: CERT }] });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTP', Port: 80, DefaultActions: [Match.objectLike({ Type: 'redirect' })] });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/healthz', TargetType: 'ip' });
    template.hasResourceProperties('AWS::ECS::Service', { LoadBalancers: [Match.objectLike({ ContainerName: 'receiver', ContainerPort: 8080 })] });
    const c = containers();
    expect(c.receiver.PortMappings).toEqual([expect.objectContaining({ ContainerPort: 8080 })]);
    expect(c.paging.HealthCheck.Command.join(' ')).toContain('http://127.0.0.1:8082/healthz');
    expect(c.lake.HealthCheck.Command.join(' ')).toContain('http://127.0.0.1:8081/healthz');
  });

  it('each service gets the environment its code reads, endpoints unset', () => {
    const env = (name: string) => Object.fromEntries((containers()[name].Environment as Json[]).map((e) => [e.Name, e.Value]));
    for (const name of ['receiver', 'paging', 'lake']) {
      const e = env(name);
      for (const k of ['STREAM_NAME', 'LAKE_BUCKET', 'CHECKPOINT_TABLE', 'LEDGER_TABLE', 'AWS_REGION']) expect(e[k], `${name} ${k}`).toBeDefined();
      for (const k of ['KINESIS_ENDPOINT', 'S3_ENDPOINT', 'DYNAMODB_ENDPOINT']) expect(e[k]).toBeUndefined();
    }
    expect(env('receiver')).toMatchObject({ PORT: '8080', PUBLIC_BASE_URL: 'https://pagetrail.example.com', ALARM_NAMESPACES: 'AWS/ECS,AWS/RDS,ECS/ContainerInsights' });
    expect(env('paging')).toMatchObject({ PUBLIC_BASE_URL: 'https://pagetrail.example.com', TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef', PAGING_HEALTH_PORT: '8082' });
    expect(env('paging').TWILIO_API_BASE_URL).toBeUndefined();
    expect(env('paging').RESEND_BASE_URL).toBeUndefined();
    expect(env('lake')).toMatchObject({ LAKE_HEALTH_PORT: '8081', CONSUMER_GROUP: 'lake' });
  });

  it('each service gets only the secrets it uses, from Secrets Manager', () => {
    const secrets = (name: string) => ((containers()[name].Secrets ?? []) as Json[]).map((s) => s.Name).sort();
    expect(secrets('receiver')).toEqual(['ACK_LINK_SECRET', 'API_KEY', 'RESEND_WEBHOOK_SECRET', 'TWILIO_AUTH_TOKEN']);
    expect(secrets('paging')).toEqual(['ACK_LINK_SECRET', 'RESEND_API_KEY', 'TWILIO_AUTH_TOKEN']);
    expect(secrets('lake')).toEqual([]);
    for (const s of containers().receiver.Secrets as Json[]) expect(JSON.stringify(s.ValueFrom)).toMatch(/secretsmanager|Ref/);
    // No secret value in any plain environment variable.
    for (const c of Object.values(containers())) {
      const names = ((c.Environment ?? []) as Json[]).map((e) => e.Name);
      expect(names).not.toEqual(expect.arrayContaining(['TWILIO_AUTH_TOKEN']));
      for (const n of ['RESEND_API_KEY', 'RESEND_WEBHOOK_SECRET', 'API_KEY', 'ACK_LINK_SECRET']) expect(names).not.toContain(n);
    }
  });
});

describe('IAM', () => {
  interface Stmt { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }
  const statementsByRole = (): Map<string, Stmt[]> => {
    const out = new Map<string, Stmt[]>();
    for (const [, p] of resources('AWS::IAM::Policy')) {
      for (const role of p.Properties.Roles as Json[]) {
        const id = role.Ref as string;
        out.set(id, [...(out.get(id) ?? []), ...p.Properties.PolicyDocument.Statement]);
      }
    }
    return out;
  };
  const allStatements = (): Stmt[] => [
    ...resources('AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Stmt[]),
    ...resources('AWS::IAM::Role').flatMap(([, r]) => ((r.Properties.Policies ?? []) as Json[]).flatMap((p) => p.PolicyDocument.Statement as Stmt[])),
    ...resources('AWS::IAM::ManagedPolicy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Stmt[]),
  ];
  /**
   * Resource '*' is allowed only where AWS has no resource-level permission:
   * - ecr:GetAuthorizationToken (task execution roles pulling the image; the token is account-wide).
   */
  const STAR_RESOURCE_EXCEPTIONS = new Set(['ecr:GetAuthorizationToken']);

  it("no statement grants Action '*' and Resource '*' only for the documented exceptions", () => {
    const stmts = allStatements();
    expect(stmts.length).toBeGreaterThan(10);
    for (const s of stmts) {
      const actions = asArray(s.Action);
      for (const a of actions) expect(a === '*' || /^[a-z0-9-]+:\*$/.test(a), `${a}`).toBe(false);
      if (asArray(s.Resource as unknown).includes('*')) {
        for (const a of actions) expect(STAR_RESOURCE_EXCEPTIONS.has(a), `${a} on *`).toBe(true);
      }
    }
  });

  const roleStatements = (container: string): Stmt[] => {
    const td = resources('AWS::ECS::TaskDefinition').find(([, r]) => r.Properties.ContainerDefinitions[0].Name === container)!;
    const roleId = (td[1].Properties.TaskRoleArn as Json)['Fn::GetAtt'][0] as string;
    return statementsByRole().get(roleId) ?? [];
  };
  const actionsOf = (stmts: Stmt[]) => stmts.flatMap((s) => asArray(s.Action)).sort();
  const resourceOf = (stmts: Stmt[], action: string) => JSON.stringify(stmts.filter((s) => asArray(s.Action).includes(action)).map((s) => s.Resource));

  it('receiver: PutRecord(s), ledger GetItem, PutObject on errors/ only', () => {
    const st = roleStatements('receiver');
    expect(actionsOf(st)).toEqual(['dynamodb:GetItem', 'kinesis:PutRecord', 'kinesis:PutRecords', 's3:PutObject']);
    expect(resourceOf(st, 's3:PutObject')).toContain('/errors/*');
    expect(resourceOf(st, 'dynamodb:GetItem')).toContain('StorageDispatchLedger');
  });

  it('paging: stream read + PutRecords, ledger and checkpoints items; no S3', () => {
    const st = roleStatements('paging');
    const actions = actionsOf(st);
    expect(actions).toEqual(expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards', 'kinesis:PutRecords', 'dynamodb:UpdateItem', 'dynamodb:Query']));
    expect(actions.some((a) => a.startsWith('s3:'))).toBe(false);
    expect(resourceOf(st, 'dynamodb:UpdateItem')).toContain('StorageDispatchLedger');
    expect(resourceOf(st, 'dynamodb:Query')).toContain('StorageCheckpoints');
  });

  it('lake: stream read, its prefixes, checkpoints; no ledger, no stream writes', () => {
    const st = roleStatements('lake');
    const actions = actionsOf(st);
    expect(actions).not.toContain('kinesis:PutRecords');
    expect(actions).not.toContain('dynamodb:UpdateItem');
    expect(JSON.stringify(st)).not.toContain('StorageDispatchLedger');
    const objects = resourceOf(st, 's3:PutObject');
    for (const p of ['tables/events/', 'raw/', 'errors/', 'state/']) expect(objects).toContain(`/${p}*`);
    expect(resourceOf(st, 's3:DeleteObject')).toContain('/state/*');
    expect(resourceOf(st, 's3:DeleteObject')).not.toContain('/tables/');
    const list = st.find((s) => asArray(s.Action).includes('s3:ListBucket'))!;
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['tables/events/*', 'raw/*', 'errors/*', 'state/*'] } });
  });
});

describe('alarms', () => {
  const alarms = () => resources('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);

  it('watch the pipeline: iterator age, error objects, receiver 5xx', () => {
    const a = alarms();
    expect(a.find((x) => x.MetricName === 'GetRecords.IteratorAgeMilliseconds')).toMatchObject({ Namespace: 'AWS/Kinesis', Statistic: 'Maximum' });
    expect(a.find((x) => x.MetricName === 'PutRequests')).toMatchObject({
      Namespace: 'AWS/S3',
      Dimensions: expect.arrayContaining([{ Name: 'FilterId', Value: 'errors' }]),
    });
    expect(a.find((x) => x.MetricName === 'HTTPCode_Target_5XX_Count')).toMatchObject({ Namespace: 'AWS/ApplicationELB' });
  });

  it('instrument the estate with severity-tagged standard alarms', () => {
    const estate = alarms().filter((x) => (x.Tags as Json[] | undefined)?.some((t) => t.Key === 'pagetrail' && t.Value === 'estate'));
    const byName = Object.fromEntries(estate.map((x) => [x.AlarmName, x]));
    const sev = (name: string) => (byName[name].Tags as Json[]).find((t) => t.Key === 'severity')?.Value;
    expect(Object.keys(byName).sort()).toEqual([
      'ecs-prod-api-cpu-high', 'ecs-prod-api-memory-high', 'ecs-prod-api-running-below-desired',
      'rds-orders-db-connections-high', 'rds-orders-db-cpu-high', 'rds-orders-db-db-load-high', 'rds-orders-db-storage-low',
      'rds-orders-db-replica-connections-high', 'rds-orders-db-replica-cpu-high', 'rds-orders-db-replica-db-load-high',
      'rds-orders-db-replica-replica-lag', 'rds-orders-db-replica-storage-low',
    ].sort());
    expect(sev('ecs-prod-api-cpu-high')).toBe('P1');
    expect(sev('rds-orders-db-db-load-high')).toBe('P1');
    expect(sev('rds-orders-db-replica-replica-lag')).toBe('P2');
    expect(byName['rds-orders-db-db-load-high']).toMatchObject({ Namespace: 'AWS/RDS', MetricName: 'DBLoad' });
    expect(byName['ecs-prod-api-memory-high']).toMatchObject({ Namespace: 'AWS/ECS', MetricName: 'MemoryUtilization' });
    const running = byName['ecs-prod-api-running-below-desired'].Metrics as Json[];
    expect(running.map((m) => m.MetricStat?.Metric.MetricName).filter(Boolean).sort()).toEqual(['DesiredTaskCount', 'RunningTaskCount']);
    // Performance Insights cannot be enabled here: a warning and an output say so.
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('Performance Insights'));
    template.hasOutput('*', { Value: 'orders-db,orders-db-replica' });
  });
});

it('synthesizes in reasonable time', () => {
  expect(synthMs).toBeLessThan(30_000);
});
