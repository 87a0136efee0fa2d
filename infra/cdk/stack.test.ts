import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_PREFIX, EVENTS_TABLE, LAKE_TABLES, RAW_TABLE, glueType } from '../../schemas/lake.js';
import { ALERT_EVENTS_VIEW, INCIDENTS_VIEW } from '../../schemas/views.js';
import { SEED_QUERY } from '../local/demo-run.js';
import { incidentsTableSpec } from '../local/provision.js';
import { INCIDENT_LIST_INDEX } from '../../shared/incident-list-index.js';
import { BUNDLE_DIR_CONTEXT } from './alarm-rule.js';
import { assertStage, stackPropsFromContext } from './context.js';
import { glueColumns, viewSelect, VIEW_COLUMNS } from './glue-columns.js';
import { AUDIT_QUERY } from './queries.js';
import { MAX_RECORD_AGE } from './processors.js';
import { assertResolvableSecretName, GENERATED_SECRET_NAMES, PROVIDER_SECRET_NAMES } from './services.js';
import { PagetrailStack, type PagetrailStackProps } from './stack.js';
import { stackFor, synthDir, TEST_CERT, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * Synthesizes the stack once (offline: the container image asset is only staged, never built) and
 * asserts the properties that matter. Synthesis takes a few seconds, so it happens in beforeAll.
 * The Lambda code assets point at a bundle directory made here: the template does not depend on the
 * bundles' content (the real bundles are built and cold-started in infra/lambda/build.test.ts).
 */
const CERT = TEST_CERT;
let template: Template;
let stack: PagetrailStack;
let dir: SynthDir;
let outdir: string;
let restoreValidation: () => void;
const propsOf = (app: App): PagetrailStackProps => {
  app.node.setContext(BUNDLE_DIR_CONTEXT, dir.bundleDir); // the alarm rule's function (alarm-rule.ts)
  return { ...stackPropsFromContext(app), lambdaBundleDir: dir.bundleDir };
};

type Json = Record<string, any>;
const resources = (type: string): [string, Json][] => Object.entries(template.findResources(type));
const only = (type: string): Json => {
  const r = resources(type);
  expect(r).toHaveLength(1);
  return r[0][1].Properties;
};
const asArray = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

beforeAll(() => {
  restoreValidation = withoutCfnValidation();
  dir = synthDir();
  outdir = dir.outdir;
  stack = stackFor(dir, {
    stage: 'test',
    domain: 'pagetrail.example.com',
    estate: JSON.stringify({
      ecsServices: [{ cluster: 'prod', service: 'api', severity: 'P1' }],
      rdsInstances: [
        { instanceId: 'orders-db', severity: 'P1', replica: false },
        { instanceId: 'orders-db-replica', replica: true },
      ],
    }),
  });
  template = Template.fromStack(stack);
}, 60_000);

afterAll(() => {
  restoreValidation();
  dir.remove();
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
    const s = new PagetrailStack(app, 'P', propsOf(app));
    Template.fromStack(s).hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 4,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
    });
  });

  it('the bucket is encrypted, private, TLS-only, with lifecycle rules', () => {
    const b = template.toJSON().Resources[bucketId()].Properties;
    expect(b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe(
      'AES256',
    );
    expect(b.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const rules = b.LifecycleConfiguration.Rules as Json[];
    const byPrefix = (p: string) => rules.find((r) => r.Prefix === p);
    expect(byPrefix(RAW_TABLE.prefix)).toMatchObject({ Status: 'Enabled', ExpirationInDays: 400 });
    expect(byPrefix(ERROR_PREFIX)).toMatchObject({ Status: 'Enabled', ExpirationInDays: 90 });
    expect(byPrefix('state/')).toMatchObject({ Status: 'Enabled', ExpirationInDays: 30 });
    expect(byPrefix('aws/lambda/')).toMatchObject({ Status: 'Enabled', ExpirationInDays: 90 }); // on-failure records
    expect(rules.find((r) => r.AbortIncompleteMultipartUpload)).toMatchObject({
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
    });
    expect(rules.find((r) => r.Prefix === EVENTS_TABLE.prefix)).toBeUndefined(); // the lake itself never expires
    expect(b.MetricsConfigurations).toEqual([
      { Id: 'errors', Prefix: ERROR_PREFIX },
      { Id: 'failures', Prefix: 'aws/lambda/' },
    ]);

    const [, lakePolicy] = resources('AWS::S3::BucketPolicy').find(([, r]) => r.Properties.Bucket.Ref === bucketId())!;
    const policy = lakePolicy.Properties.PolicyDocument.Statement as Json[];
    expect(policy).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Principal: { AWS: '*' },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  it('access logs: the lake bucket\u2019s, the ALB\u2019s and VPC flow logs go to one private bucket', () => {
    const [logsId, logs] = resources('AWS::S3::Bucket').find(([id]) => id.startsWith('StorageAccessLogs'))!;
    expect(logs.Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets).toBe(true);
    expect(logs.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    const lake = template.toJSON().Resources[bucketId()].Properties;
    expect(lake.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: 's3/lake/' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: { Ref: logsId } },
      ]),
    });
    const flow = only('AWS::EC2::FlowLog');
    expect(flow).toMatchObject({ LogDestinationType: 's3', TrafficType: 'ALL' });
    expect(JSON.stringify(flow.LogDestination)).toContain(logsId);
  });

  it('the DynamoDB tables: key schemas, TTL, on-demand, point-in-time recovery', () => {
    const tables = Object.fromEntries(
      resources('AWS::DynamoDB::Table').map(([id, r]) => [id.replace(/^Storage|[0-9A-F]{8}$/g, ''), r.Properties]),
    );
    expect(Object.keys(tables).sort()).toEqual(['Checkpoints', 'ConsoleAuth', 'DispatchLedger', 'Incidents']);
    for (const t of Object.values(tables)) {
      expect(t.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    expect(tables.Checkpoints.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(tables.Checkpoints.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ]);
    for (const name of ['DispatchLedger', 'Incidents', 'ConsoleAuth']) {
      expect(tables[name].KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
      expect(tables[name].TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    }
    for (const name of ['DispatchLedger', 'ConsoleAuth']) {
      expect(tables[name].AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
      expect(tables[name].GlobalSecondaryIndexes).toBeUndefined();
    }
    // the incident list's sparse index (shared/incident-list-index.ts), as the local stack makes it
    const local = incidentsTableSpec('x');
    expect(tables.Incidents.AttributeDefinitions).toEqual(local.attributes);
    expect(tables.Incidents.GlobalSecondaryIndexes).toEqual(local.indexes);
    expect(tables.Incidents.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: INCIDENT_LIST_INDEX,
        KeySchema: [
          { AttributeName: 'listPk', KeyType: 'HASH' },
          { AttributeName: 'listSk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['listTeam'] },
      },
    ]);
  });
});

describe('alarm rule', () => {
  it('matches metric alarms of the ECS and RDS namespaces, composite alarms and Metrics Insights alarms', () => {
    const rule = only('AWS::Events::Rule');
    expect(rule.EventPattern.source).toEqual(['aws.cloudwatch']);
    expect(rule.EventPattern['detail-type']).toEqual(['CloudWatch Alarm State Change']);
    expect(rule.EventPattern.detail).toEqual({
      $or: [
        {
          configuration: {
            metrics: { metricStat: { metric: { namespace: ['AWS/ECS', 'AWS/RDS', 'ECS/ContainerInsights'] } } },
          },
        },
        { configuration: { metrics: { metricStat: { metric: { namespace: [{ exists: false }] } } } } },
        { configuration: { alarmRule: [{ exists: true }] } },
      ],
    });
    // The user guide's examples, through a small model of EventBridge's matching (arrays match when
    // any element does; exists:false when no element has the field).
    const fixture = (f: string) =>
      JSON.parse(readFileSync(new URL(`../../schemas/fixtures/${f}`, import.meta.url), 'utf8'));
    const ecs = fixture('cloudwatch-alarm-state-change.json');
    ecs.detail.configuration.metrics[0].metricStat.metric.namespace = 'AWS/ECS';
    const insights = fixture('cloudwatch-alarm-metric-math.json');
    insights.detail.configuration.metrics = [
      {
        id: 'q1',
        expression: 'SELECT MAX(CPUUtilization) FROM SCHEMA("AWS/ECS", ClusterName, ServiceName)',
        period: 60,
        returnData: true,
      },
    ];
    const ecsMath = fixture('cloudwatch-alarm-metric-math.json');
    ecsMath.detail.configuration.metrics[2].metricStat.metric.namespace = 'AWS/ECS';
    const cases: [string, Json, boolean][] = [
      ['ECS metric alarm', ecs, true],
      ['composite alarm', fixture('cloudwatch-alarm-composite.json'), true],
      ['Metrics Insights alarm', insights, true],
      ['metric math over an ECS metric', ecsMath, true],
      ['EC2 metric alarm', fixture('cloudwatch-alarm-state-change.json'), false],
      ['metric math over EC2 metrics', fixture('cloudwatch-alarm-metric-math.json'), false],
    ];
    for (const [name, event, expected] of cases) expect(matchesPattern(rule.EventPattern, event), name).toBe(expected);
  });

  it('targets the alarm intake function (it keys records by schemas/partition-key.ts), with retries and a DLQ', () => {
    const [target] = only('AWS::Events::Rule').Targets as Json[];
    const [fnId, fn] = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('AlarmRuleIntake'))!;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(target.KinesisParameters).toBeUndefined(); // EventBridge cannot hash a long ARN into a key
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 });
    expect(fn.Properties.Environment.Variables.STREAM_NAME).toEqual({ Ref: streamId() });
  });
});

describe('alarm rule dead letters', () => {
  it('an event EventBridge cannot put on the stream goes to an encrypted queue, watched by a pipeline alarm', () => {
    const [target] = only('AWS::Events::Rule').Targets as Json[];
    const [queueId, queue] = resources('AWS::SQS::Queue').find(([id]) => id.startsWith('AlarmRuleDeadLetters'))!;
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    const queueName = [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }];
    const alarm = resources('AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .find(
        (a) =>
          a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(a.Dimensions) === JSON.stringify(queueName),
      );
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 1 });
    expect(alarm!.AlarmActions).toHaveLength(1);
  });
});

describe('stage names', () => {
  it('a stage is lowercase letters, digits and inner hyphens (it qualifies every name; Glue maps - to _)', () => {
    for (const ok of ['dev', 'prod', 'prod-eu', 'a1', 'x'.repeat(20)]) expect(assertStage(ok), ok).toBe(ok);
    for (const bad of ['', 'Prod', 'prod_eu', 'prod-', '-prod', 'a--b', '1dev', 'x'.repeat(21), 'a/b']) {
      expect(() => assertStage(bad), bad).toThrow(/stage must be/);
    }
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
      expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
        'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      );
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
    for (const [name, sql] of [
      ['alert_events', ALERT_EVENTS_VIEW],
      ['incidents', INCIDENTS_VIEW],
    ] as const) {
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
    // alert_events: every events column, then escalation_time, the page's verdict and dt.
    expect(VIEW_COLUMNS.alert_events.map((c) => c.name)).toEqual([
      ...EVENTS_TABLE.columns.map((c) => c.name),
      'escalation_time',
      'opened_before_this_page_escalated',
      'dt',
    ]);
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

describe('receiver (ECS Fargate)', () => {
  const containers = (): Record<string, Json> =>
    Object.fromEntries(
      resources('AWS::ECS::TaskDefinition').map(([, r]) => [
        r.Properties.ContainerDefinitions[0].Name,
        r.Properties.ContainerDefinitions[0],
      ]),
    );

  it('is the only ECS service: no paging or lake service is left', () => {
    expect(resources('AWS::ECS::Cluster')).toHaveLength(1);
    expect(resources('AWS::ECS::Service')).toHaveLength(1);
    expect(Object.keys(containers())).toEqual(['receiver']);
    const c = containers().receiver;
    // The image is the repo's Dockerfile (an asset, built on deploy); its CMD runs the bundled receiver.
    expect(JSON.stringify(c.Image)).toContain('cdk-hnb659fds-container-assets');
    expect(c.Command).toBeUndefined();
  });

  it('runs at least 2 tasks, never below 100 % healthy during a deploy, with a rollback circuit breaker', () => {
    const svc = only('AWS::ECS::Service');
    expect(svc.LaunchType).toBe('FARGATE');
    expect(svc.DesiredCount).toBeGreaterThanOrEqual(2);
    expect(svc.DeploymentConfiguration).toMatchObject({
      MinimumHealthyPercent: 100,
      MaximumPercent: 200,
      DeploymentCircuitBreaker: { Enable: true, Rollback: true },
    });
  });

  it('autoscales from 2 tasks on CPU and on ALB requests per target', () => {
    const target = only('AWS::ApplicationAutoScaling::ScalableTarget');
    expect(target).toMatchObject({ ScalableDimension: 'ecs:service:DesiredCount', ServiceNamespace: 'ecs' });
    expect(target.MinCapacity).toBeGreaterThanOrEqual(2);
    expect(target.MaxCapacity).toBeGreaterThan(target.MinCapacity);
    const policies = resources('AWS::ApplicationAutoScaling::ScalingPolicy').map(([, r]) => r.Properties);
    expect(policies).toHaveLength(2);
    for (const p of policies) expect(p.PolicyType).toBe('TargetTrackingScaling');
    const metrics = policies
      .map((p) => p.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType)
      .sort();
    expect(metrics).toEqual(['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization']);
    const requests = policies.find(
      (p) =>
        p.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType ===
        'ALBRequestCountPerTarget',
    )!;
    expect(requests.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.ResourceLabel).toBeDefined();
  });

  it('is behind HTTPS with /healthz', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTPS',
      Port: 443,
      Certificates: [{ CertificateArn: CERT }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'redirect' })],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/healthz',
      TargetType: 'ip',
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      LoadBalancers: [Match.objectLike({ ContainerName: 'receiver', ContainerPort: 8080 })],
    });
    expect(containers().receiver.PortMappings).toEqual([expect.objectContaining({ ContainerPort: 8080 })]);
  });

  it('gets the environment its code reads (endpoints unset) and its secrets from Secrets Manager', () => {
    const c = containers().receiver;
    const env = Object.fromEntries((c.Environment as Json[]).map((e) => [e.Name, e.Value]));
    for (const k of ['STREAM_NAME', 'LAKE_BUCKET', 'LEDGER_TABLE', 'AWS_REGION']) expect(env[k], k).toBeDefined();
    // The ack pages read the incident (producers/receiver/main.ts: IncidentReader on infra.INCIDENTS_TABLE).
    expect(env.INCIDENTS_TABLE).toEqual({ Ref: expect.stringMatching(/^StorageIncidents[0-9A-F]{8}$/) });
    for (const k of ['KINESIS_ENDPOINT', 'S3_ENDPOINT', 'DYNAMODB_ENDPOINT']) expect(env[k]).toBeUndefined();
    expect(env).toMatchObject({
      PORT: '8080',
      PUBLIC_BASE_URL: 'https://pagetrail.example.com',
      ALARM_NAMESPACES: 'AWS/ECS,AWS/RDS,ECS/ContainerInsights',
    });
    // the console's sign-in (producers/receiver/auth/wiring.ts): its table, session key and the Resend key
    expect(env.CONSOLE_AUTH_TABLE).toEqual({ Ref: expect.stringMatching(/^StorageConsoleAuth[0-9A-F]{8}$/) });
    // the lake through Athena (the incident API's history, the console's analytics: producers/receiver/api/lake.ts),
    // the lake cache's saved listings (the data's age) where the image's user may write
    expect(env).toMatchObject({
      ENGINE: 'athena',
      ATHENA_WORKGROUP: expect.stringMatching(/^pagetrail-/),
      ATHENA_DATABASE: expect.stringMatching(/^pagetrail_/),
      QUERY_CACHE_DIR: expect.stringMatching(/^\/tmp\//),
    });
    expect(((c.Secrets ?? []) as Json[]).map((s) => s.Name).sort()).toEqual([
      'ACK_LINK_SECRET',
      'ALERTMANAGER_TOKENS',
      'API_KEY',
      'CONSOLE_SESSION_SECRET',
      'HEARTBEAT_SECRET',
      'RESEND_API_KEY',
      'RESEND_WEBHOOK_SECRET',
      'TWILIO_AUTH_TOKEN',
    ]);
    for (const s of c.Secrets as Json[]) expect(JSON.stringify(s.ValueFrom)).toMatch(/secretsmanager|Ref/);
    for (const n of ['TWILIO_AUTH_TOKEN', 'RESEND_API_KEY', 'RESEND_WEBHOOK_SECRET', 'API_KEY', 'ACK_LINK_SECRET'])
      expect(env[n]).toBeUndefined();
  });
});

describe('receiver image and CPU architecture', () => {
  it('the task definition and the image asset pin the same platform: linux/arm64, like the functions', () => {
    const platform = only('AWS::ECS::TaskDefinition').RuntimePlatform;
    expect(platform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    const manifest = JSON.parse(readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const images = Object.values(manifest.dockerImages ?? {}) as Json[];
    expect(images).toHaveLength(1);
    expect(images[0].source).toMatchObject({ directory: expect.any(String), platform: 'linux/arm64' });
  });

  it('the Dockerfile is on Node 22 LTS; the build stage runs on the build host, only files reach the target', () => {
    const lines = readFileSync(path.resolve('Dockerfile'), 'utf8').split('\n');
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    expect(froms).toHaveLength(2);
    for (const f of froms) expect(f).toMatch(/\snode:22-bookworm-slim(\s|$)/);
    expect(froms[0]).toMatch(/--platform=\$BUILDPLATFORM/);
    // The runtime stage copies the bundle and sets metadata: no RUN, so no emulation of the target CPU.
    const runtime = lines.slice(lines.indexOf(froms[1]));
    expect(runtime.filter((l) => /^RUN\s/i.test(l))).toEqual([]);
  });
});

describe('network', () => {
  const privateSubnets = () =>
    resources('AWS::EC2::Subnet').filter(([, r]) =>
      (r.Properties.Tags as Json[]).some((t) => t.Key === 'aws-cdk:subnet-type' && t.Value === 'Private'),
    );

  it('one NAT gateway per AZ by default: losing an AZ leaves the other egress path', () => {
    const azs = new Set(resources('AWS::EC2::Subnet').map(([, r]) => JSON.stringify(r.Properties.AvailabilityZone)));
    expect(azs.size).toBeGreaterThanOrEqual(2);
    expect(resources('AWS::EC2::NatGateway')).toHaveLength(azs.size);
    // each private subnet routes through the NAT gateway of its own AZ
    const natOfRoute = resources('AWS::EC2::Route')
      .filter(([, r]) => r.Properties.NatGatewayId)
      .map(([, r]) => JSON.stringify(r.Properties.NatGatewayId));
    expect(new Set(natOfRoute).size).toBe(azs.size);
  });

  it('S3 and DynamoDB gateway endpoints on the private subnets\u2019 route tables', () => {
    const endpoints = resources('AWS::EC2::VPCEndpoint').map(([, r]) => r.Properties);
    const privateTables = privateSubnets()
      .map(([id]) => id.replace(/Subnet[0-9A-F]{8}$/, 'RouteTable'))
      .sort();
    expect(privateTables.length).toBeGreaterThanOrEqual(2);
    for (const service of ['s3', 'dynamodb']) {
      const name = (x: Json) =>
        typeof x.ServiceName === 'string' ? x.ServiceName : JSON.stringify(x.ServiceName['Fn::Join']?.[1]?.at(-1));
      const e = endpoints.filter((x) => String(name(x)).replace(/"/g, '').endsWith(`.${service}`));
      expect(e, service).toHaveLength(1);
      expect(e[0].VpcEndpointType, service).toBe('Gateway');
      const tables = (e[0].RouteTableIds as Json[]).map((r) => String(r.Ref).replace(/[0-9A-F]{8}$/, '')).sort();
      expect(tables, service).toEqual(privateTables);
    }
  });

  it('natGateways context: fewer NAT gateways (a stage may lose egress with an AZ); out of range refused', () => {
    const twilioAccountSid = 'AC0123456789abcdef0123456789abcdef';
    const app = new App({ outdir, context: { stage: 'n', natGateways: '1', certificateArn: CERT, twilioAccountSid } });
    const nats = Template.fromStack(new PagetrailStack(app, 'N', propsOf(app))).findResources('AWS::EC2::NatGateway');
    expect(Object.keys(nats)).toHaveLength(1);
    for (const bad of ['0', '3', 'x']) {
      const b = new App({ outdir, context: { stage: 'n', natGateways: bad, certificateArn: CERT } });
      expect(() => stackPropsFromContext(b), bad).toThrow(/natGateways/);
    }
  });
});

describe('secrets', () => {
  it('the guard refuses a name Secrets Manager could read as a complete ARN (ends in a hyphen + 6 characters)', () => {
    const cases: [string, boolean][] = [
      ['pagetrail/prod/resend-webhook-secret', false], // "-secret": the failing name
      ['pagetrail/prod/ack-link-secret', false],
      ['pagetrail/dev/token-AbC123', false],
      ['-abcdef', false],
      ['pagetrail/dev/twilio-auth-token', true], // "-token": five characters
      ['pagetrail/dev/key-abcdefg', true], // seven
      ['pagetrail/dev/ab_cdef-x', true],
      ['pagetrail/dev/resend_webhook_secret', true],
      ['pagetrail/dev/a-bc_def', true], // "_" is never in the random suffix
      ['pagetrail/prod/api_key', true],
    ];
    for (const [name, resolvable] of cases) {
      if (resolvable) expect(() => assertResolvableSecretName(name), name).not.toThrow();
      else expect(() => assertResolvableSecretName(name), name).toThrow(/hyphen and six characters/);
    }
  });

  it('every secret name of a stage passes it, and PROVIDER_SECRET_NAMES stays stage-qualified', () => {
    for (const stage of ['dev', 'prod', 'test', 'a-b']) {
      const names = [...Object.values(PROVIDER_SECRET_NAMES(stage)), ...Object.values(GENERATED_SECRET_NAMES(stage))];
      expect(names).toHaveLength(8);
      for (const n of names) {
        expect(() => assertResolvableSecretName(n), n).not.toThrow();
        expect(n.startsWith(`pagetrail/${stage}/`), n).toBe(true);
      }
    }
  });

  /** A template value as a string: Fn::Join flattened, tokens as <token>. */
  const flat = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const join = (v as Json)?.['Fn::Join'];
    if (join) return (join[1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join(join[0]);
    return '<token>';
  };
  /** Every reference: the receiver's ECS secrets and the functions' *_SECRET_ARN, with the role that reads it. */
  const references = (): { where: string; value: Json | string; roleId: string }[] => {
    const out: { where: string; value: Json | string; roleId: string }[] = [];
    for (const [, td] of resources('AWS::ECS::TaskDefinition')) {
      const roleId = td.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
      for (const c of td.Properties.ContainerDefinitions as Json[]) {
        for (const s of (c.Secrets ?? []) as Json[]) {
          out.push({ where: `${c.Name} ${s.Name}`, value: s.ValueFrom, roleId });
        }
      }
    }
    for (const [id, fn] of resources('AWS::Lambda::Function')) {
      for (const [k, v] of Object.entries((fn.Properties.Environment?.Variables ?? {}) as Json)) {
        const roleId = fn.Properties.Role['Fn::GetAtt'][0];
        if (k.endsWith('_SECRET_ARN')) out.push({ where: `${id} ${k}`, value: v, roleId });
      }
    }
    return out;
  };

  it('every reference handed to ECS and the functions resolves: a stack secret, or an ARN whose name passes', () => {
    const owned = new Set(resources('AWS::SecretsManager::Secret').map(([id]) => id));
    for (const [, r] of resources('AWS::SecretsManager::Secret')) {
      expect(() => assertResolvableSecretName(r.Properties.Name)).not.toThrow();
    }
    const refs = references();
    expect(refs.length).toBe(8 + 3); // receiver: 8 secrets; paging: 3
    for (const { where, value } of refs) {
      if (typeof value === 'object' && 'Ref' in value) {
        expect(owned.has(value.Ref), where).toBe(true); // Ref of a Secret = its full ARN
        continue;
      }
      const arn = flat(value);
      const m = /:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(arn);
      expect(m, `${where}: ${arn}`).not.toBeNull();
      expect(() => assertResolvableSecretName(m![1]), `${where}: ${arn}`).not.toThrow();
    }
  });

  it('the role that resolves each reference may read it: the ARN itself, or the partial ARN + "-??????"', () => {
    const grants = new Map<string, string[]>();
    for (const [, p] of resources('AWS::IAM::Policy')) {
      for (const st of p.Properties.PolicyDocument.Statement as Json[]) {
        if (!asArray(st.Action).includes('secretsmanager:GetSecretValue')) continue;
        for (const role of p.Properties.Roles as Json[]) {
          const allowed = asArray(st.Resource as Json).map((r) => JSON.stringify(r));
          grants.set(role.Ref, [...(grants.get(role.Ref) ?? []), ...allowed]);
        }
      }
    }
    for (const { where, value, roleId } of references()) {
      const allowed = grants.get(roleId) ?? [];
      if (typeof value === 'object' && 'Ref' in value) expect(allowed, where).toContain(JSON.stringify(value));
      else
        expect(
          allowed.map((a) => flat(JSON.parse(a))),
          where,
        ).toContain(`${flat(value)}-??????`);
    }
  });
});

/** The function whose logical id starts with Processors<name>, and its id. */
const fnOf = (name: 'Paging' | 'Lake'): [string, Json] => {
  const found = resources('AWS::Lambda::Function').filter(([id]) =>
    new RegExp(`^Processors${name}[0-9A-F]{8}$`).test(id),
  );
  expect(found).toHaveLength(1);
  return [found[0][0], found[0][1].Properties];
};
const envOf = (name: 'Paging' | 'Lake'): Json => fnOf(name)[1].Environment.Variables;
const mappingOf = (name: 'Paging' | 'Lake'): Json => {
  const [id] = fnOf(name);
  const m = resources('AWS::Lambda::EventSourceMapping').filter(([, r]) => r.Properties.FunctionName.Ref === id);
  expect(m).toHaveLength(1);
  return m[0][1].Properties;
};
const streamId = () => resources('AWS::Kinesis::Stream')[0][0];
const bucketId = () => resources('AWS::S3::Bucket').find(([id]) => id.startsWith('StorageLakeBucket'))![0];

describe('stream processors (Lambda)', () => {
  it('two functions, Node 20 on arm64, handler index.handler, timeouts, memory, log retention', () => {
    const paging = fnOf('Paging')[1];
    const lake = fnOf('Lake')[1];
    for (const f of [paging, lake]) {
      expect(f).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(f.ReservedConcurrentExecutions).toBeUndefined();
      expect(f.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^Processors(Paging|Lake)Logs/) });
    }
    expect(paging).toMatchObject({ Timeout: 60, MemorySize: 1024 });
    expect(lake).toMatchObject({ Timeout: 300, MemorySize: 2048 });
    for (const [, g] of resources('AWS::Logs::LogGroup').filter(([id]) => id.startsWith('Processors')))
      expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('the paging code asset carries the on-call file at ONCALL_FILE', () => {
    const key = JSON.stringify(fnOf('Paging')[1].Code.S3Key);
    const hash = /([0-9a-f]{64})\.zip/.exec(key)![1];
    const staged = path.join(outdir, `asset.${hash}`);
    expect(existsSync(path.join(staged, 'index.mjs'))).toBe(true);
    expect(readFileSync(path.join(staged, 'oncall.json'), 'utf8')).toBe(
      readFileSync(path.resolve('infra/local/oncall/demo.json'), 'utf8'),
    );
    expect(envOf('Paging').ONCALL_FILE).toBe('/var/task/oncall.json');
  });

  it('the environment names what platform/config.ts and processors/paging/config.ts read', () => {
    for (const name of ['Paging', 'Lake'] as const) {
      const e = envOf(name);
      for (const k of [
        'STREAM_NAME',
        'STREAM_ARN',
        'LAKE_BUCKET',
        'CHECKPOINT_TABLE',
        'LEDGER_TABLE',
        'INCIDENTS_TABLE',
        'SCHEDULER_GROUP',
        'SCHEDULER_ROLE_ARN',
        'SCHEDULER_DLQ_ARN',
        'AWS_ACCOUNT_ID',
      ]) {
        expect(e[k], `${name} ${k}`).toBeDefined();
      }
      // Lambda sets AWS_REGION itself (a reserved variable); no local endpoints.
      for (const k of ['AWS_REGION', 'KINESIS_ENDPOINT', 'S3_ENDPOINT', 'DYNAMODB_ENDPOINT', 'SCHEDULER_ENDPOINT'])
        expect(e[k], `${name} ${k}`).toBeUndefined();
      expect(e.STREAM_ARN).toEqual({ 'Fn::GetAtt': [streamId(), 'Arn'] });
      expect(e.SCHEDULER_GROUP).toBe('pagetrail-test-deadlines');
      expect(e.SCHEDULER_ROLE_ARN).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DeadlinesSchedulerRole/), 'Arn'] });
      expect(e.INCIDENTS_TABLE).toEqual({ Ref: expect.stringMatching(/^StorageIncidents/) });
    }
    expect(envOf('Paging')).toMatchObject({
      PUBLIC_BASE_URL: 'https://pagetrail.example.com',
      TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
    });
    expect(envOf('Paging').TWILIO_API_BASE_URL).toBeUndefined();
    expect(envOf('Paging').RESEND_BASE_URL).toBeUndefined();
    expect(envOf('Lake')).toMatchObject({ FLUSH_INTERVAL_S: '10', CONSUMER_GROUP: 'lake' });
    for (const k of ['FLUSH_MAX_ROWS', 'JOIN_WINDOW_S', 'ALLOWED_LATENESS_S', 'RECEIPT_WAIT_S', 'MAX_STATE_ENTRIES'])
      expect(envOf('Lake')[k]).toMatch(/^\d+$/);
  });

  it('no secret value in any environment: secret ARNs only', () => {
    const SECRET_NAMES = ['TWILIO_AUTH_TOKEN', 'RESEND_API_KEY', 'RESEND_WEBHOOK_SECRET', 'API_KEY', 'ACK_LINK_SECRET'];
    const secretIds = new Set(resources('AWS::SecretsManager::Secret').map(([id]) => id));
    for (const name of ['Paging', 'Lake'] as const) {
      const e = envOf(name);
      for (const n of SECRET_NAMES) expect(e[n], `${name} ${n}`).toBeUndefined();
      for (const [k, v] of Object.entries(e)) {
        if (!k.endsWith('_SECRET_ARN')) continue;
        const isRef = typeof v === 'object' && secretIds.has((v as Json).Ref);
        expect(isRef || JSON.stringify(v).includes(':secretsmanager:'), `${name} ${k}`).toBe(true);
      }
    }
    expect(
      Object.keys(envOf('Paging'))
        .filter((k) => k.endsWith('_SECRET_ARN'))
        .sort(),
    ).toEqual(['ACK_LINK_SECRET_SECRET_ARN', 'RESEND_API_KEY_SECRET_ARN', 'TWILIO_AUTH_TOKEN_SECRET_ARN']);
    expect(Object.keys(envOf('Lake')).filter((k) => k.endsWith('_SECRET_ARN'))).toEqual([]);
  });

  it('event source mappings: TRIM_HORIZON, a batch per shard, item failures, bisect, bounded retries', () => {
    // the paging mapping reads through its enhanced fan-out consumer of the stream, the lake polls the stream
    const consumers = resources('AWS::Kinesis::StreamConsumer');
    expect(consumers).toHaveLength(1);
    const [consumerId, consumer] = consumers[0];
    expect(consumer.Properties.StreamARN).toEqual({ 'Fn::GetAtt': [streamId(), 'Arn'] });
    expect(JSON.stringify(mappingOf('Paging').EventSourceArn)).toContain(consumerId);
    expect(mappingOf('Lake').EventSourceArn).toEqual({ 'Fn::GetAtt': [streamId(), 'Arn'] });
    for (const name of ['Paging', 'Lake'] as const) {
      const m = mappingOf(name);
      expect(m).toMatchObject({
        StartingPosition: 'TRIM_HORIZON',
        ParallelizationFactor: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [bucketId(), 'Arn'] } } },
      });
      expect(m.MaximumRecordAgeInSeconds).toBeLessThan(7 * 86_400); // recorded before the stream's retention drops it
    }
    // A paging record that keeps failing leaves its shard within minutes (10 retries, 15 min), and
    // early enough to be replayed within the paging horizon (PAGING_MAX_ALARM_AGE_S = 1 h).
    expect(mappingOf('Paging')).toMatchObject({
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 15 * 60,
    });
    expect(mappingOf('Paging').MaximumRecordAgeInSeconds).toBeLessThanOrEqual(
      Number(envOf('Paging').PAGING_MAX_ALARM_AGE_S) / 2,
    );
    // The lake's audit trail is retried as long as the stream keeps it (no incident waits on it).
    expect(mappingOf('Lake')).toMatchObject({
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 10,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: MAX_RECORD_AGE.lake.toSeconds(),
    });
    expect(mappingOf('Lake').MaximumRecordAgeInSeconds).toBeGreaterThanOrEqual(86_400);
  });

  it('flushIntervalS sets the lake window and FLUSH_INTERVAL_S; more than 300 s is refused', () => {
    const app = new App({
      outdir,
      context: {
        stage: 'f',
        certificateArn: CERT,
        twilioAccountSid: 'AC0123456789abcdef0123456789abcdef',
        flushIntervalS: '120',
        schedulerGroup: 'deadlines-f',
      },
    });
    const t = Template.fromStack(new PagetrailStack(app, 'F', propsOf(app)));
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 120,
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ FLUSH_INTERVAL_S: '120' }) },
    });
    t.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'deadlines-f' });
    const bad = new App({ outdir, context: { stage: 'g', certificateArn: CERT, flushIntervalS: '301' } });
    expect(() => stackPropsFromContext(bad)).toThrow(/flushIntervalS/);
  });

  it('a missing bundle stops synthesis with a message naming make lambdas', () => {
    const app = new App({
      outdir,
      context: { stage: 'm', certificateArn: CERT, twilioAccountSid: 'AC0123456789abcdef0123456789abcdef' },
    });
    expect(
      () =>
        new PagetrailStack(app, 'M', { ...stackPropsFromContext(app), lambdaBundleDir: path.join(outdir, 'nowhere') }),
    ).toThrow(/make lambdas/);
  });
});

describe('deadlines (EventBridge Scheduler)', () => {
  it('a schedule group named from context (default pagetrail-<stage>-deadlines)', () => {
    expect(only('AWS::Scheduler::ScheduleGroup')).toEqual({ Name: 'pagetrail-test-deadlines' });
  });

  it("the Scheduler's role: trusted by this account's Scheduler, PutRecord, SendMessage to the DLQ", () => {
    const [roleId, role] = resources('AWS::IAM::Role').find(([id]) => id.startsWith('DeadlinesSchedulerRole'))!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': '111111111111' },
          ArnLike: { 'aws:SourceArn': expect.anything() },
        },
      },
    ]);
    const sourceArn = JSON.stringify(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.ArnLike);
    expect(sourceArn).toContain(':schedule-group/pagetrail-test-deadlines');
    const stmts = resources('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
    // The stream uses the AWS-managed key: no kms statement is needed. The schedules' dead-letter
    // queue: the Scheduler sends a deadline it gave up on with this role.
    const [dlqId] = resources('AWS::SQS::Queue').find(([id]) => id.startsWith('DeadlinesDeadLetters'))!;
    expect(stmts).toEqual([
      { Effect: 'Allow', Action: 'kinesis:PutRecord', Resource: { 'Fn::GetAtt': [streamId(), 'Arn'] } },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
    ]);
  });
});

describe('IAM', () => {
  interface Stmt {
    Effect: string;
    Action: string | string[];
    Resource: unknown;
    Condition?: unknown;
  }
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
    ...resources('AWS::IAM::Role').flatMap(([, r]) =>
      ((r.Properties.Policies ?? []) as Json[]).flatMap((p) => p.PolicyDocument.Statement as Stmt[]),
    ),
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

  const receiverStatements = (): Stmt[] => {
    const td = resources('AWS::ECS::TaskDefinition').find(
      ([, r]) => r.Properties.ContainerDefinitions[0].Name === 'receiver',
    )!;
    const roleId = (td[1].Properties.TaskRoleArn as Json)['Fn::GetAtt'][0] as string;
    return statementsByRole().get(roleId) ?? [];
  };
  const functionStatements = (name: 'Paging' | 'Lake'): Stmt[] =>
    statementsByRole().get(fnOf(name)[1].Role['Fn::GetAtt'][0]) ?? [];
  const actionsOf = (stmts: Stmt[]) => [...new Set(stmts.flatMap((s) => asArray(s.Action)))].sort();
  const resourceOf = (stmts: Stmt[], action: string) =>
    JSON.stringify(stmts.filter((s) => asArray(s.Action).includes(action)).map((s) => s.Resource));
  const STREAM_READ = [
    'kinesis:DescribeStream',
    'kinesis:DescribeStreamSummary',
    'kinesis:GetRecords',
    'kinesis:GetShardIterator',
    'kinesis:ListShards',
  ];

  it('receiver: PutRecords, DescribeStreamSummary (health), ledger and incidents GetItem, errors/ PutObject', () => {
    const st = receiverStatements();
    const expected = [
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StartQueryExecution',
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'glue:GetDatabase',
      'glue:GetTable',
      'kinesis:DescribeStreamSummary',
      'kinesis:PutRecords',
      's3:GetBucketLocation',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ];
    expect(actionsOf(st)).toEqual(expected);
    // the lake, read through Athena: the stage's workgroup only; its Glue database's tables and views; the lake
    // tables' objects and the workgroup's results (athena-results/), nothing else of the bucket
    expect(resourceOf(st, 'athena:StartQueryExecution')).toMatch(/:workgroup\/pagetrail-test"/);
    const glue = resourceOf(st, 'glue:GetTable');
    for (const r of [':catalog"', ':database/pagetrail_test"', ':table/pagetrail_test/*"']) expect(glue).toContain(r);
    const reads = resourceOf(st, 's3:GetObject');
    for (const p of ['/tables/events/*', '/raw/*', '/athena-results/*']) expect(reads).toContain(p);
    expect(reads).not.toContain('/errors/');
    expect(resourceOf(st, 's3:PutObject')).toContain('/athena-results/*');
    const tableOf = (r: Json) => JSON.stringify(r).replace(/^.*"(Storage[A-Za-z]+?)[0-9A-F]{8}".*$/, '$1');
    // the console (producers/receiver/auth, api): its own table's items (sessions deleted on sign-out), and the
    // incident list: a Query of the incidents table's list index (not of the table), then its page's items by key
    const consoleAuth = st.filter((s) => asArray(s.Resource as Json).some((r) => tableOf(r) === 'StorageConsoleAuth'));
    expect(consoleAuth.flatMap((s) => asArray(s.Action)).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(st.some((s) => asArray(s.Action).includes('dynamodb:Scan'))).toBe(false);
    const queries = st.filter((s) => asArray(s.Action).includes('dynamodb:Query'));
    expect(queries.map((s) => asArray(s.Action))).toEqual([['dynamodb:Query']]);
    const queried = JSON.stringify(queries[0].Resource);
    expect(queried).toMatch(/StorageIncidents[0-9A-F]{8}/);
    expect(queried).toContain(`/index/${INCIDENT_LIST_INDEX}`);
    const batchGets = st.filter((s) => asArray(s.Action).includes('dynamodb:BatchGetItem'));
    expect(batchGets.flatMap((s) => asArray(s.Resource as Json)).map(tableOf)).toEqual(['StorageIncidents']);
    expect(JSON.stringify(batchGets)).not.toContain('/index/');
    expect(resourceOf(st, 's3:PutObject')).toContain('/errors/*');
    // GetItem on the two tables, nothing else: ack codes (ledger) and the ack page's incident (IncidentReader).
    const getItemStatements = st.filter(
      (s) => asArray(s.Action).includes('dynamodb:GetItem') && !consoleAuth.includes(s),
    );
    const getItem = getItemStatements.flatMap((s) => asArray(s.Resource as Json));
    const tables = getItem.map((r) => JSON.stringify(r).replace(/^.*"(Storage[A-Za-z]+?)[0-9A-F]{8}".*$/, '$1')).sort();
    expect(tables).toEqual(['StorageDispatchLedger', 'StorageIncidents']);
    for (const s of getItemStatements) expect(asArray(s.Action)).toEqual(['dynamodb:GetItem']);
  });

  it(
    'paging: stream read (mapping) + PutRecords, ledger and incidents items, its schedules, PassRole, its secrets; ' +
      'no checkpoints',
    () => {
      const st = functionStatements('Paging');
      const actions = actionsOf(st);
      expect(actions).toEqual(
        expect.arrayContaining([
          ...STREAM_READ,
          'kinesis:PutRecords',
          'dynamodb:UpdateItem',
          'dynamodb:BatchGetItem',
          'secretsmanager:GetSecretValue',
        ]),
      );
      expect(resourceOf(st, 'kinesis:GetRecords')).toBe(JSON.stringify([{ 'Fn::GetAtt': [streamId(), 'Arn'] }]));
      expect(resourceOf(st, 'dynamodb:UpdateItem')).toContain('StorageDispatchLedger');
      // its fan-out consumer
      expect(actions).toEqual(expect.arrayContaining(['kinesis:SubscribeToShard', 'kinesis:DescribeStreamConsumer']));
      const incidentActions = st
        .filter((s) => JSON.stringify(s.Resource).includes('StorageIncidents'))
        .flatMap((s) => asArray(s.Action))
        .sort();
      // UpdateItem: the alarm's pointer marked resolved
      expect(incidentActions).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
      expect(JSON.stringify(st)).not.toContain('StorageCheckpoints');
      // Only the on-failure prefix of the bucket.
      expect(actions.filter((a) => a.startsWith('s3:'))).toEqual(['s3:ListBucket', 's3:PutObject']);
      expect(resourceOf(st, 's3:PutObject')).toContain('/aws/lambda/*');
      expect(resourceOf(st, 's3:PutObject')).not.toMatch(/tables|raw\/|errors\/|state\//);
      // Secrets: exactly the three it resolves.
      const secretResources = st
        .filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'))
        .map((s) => JSON.stringify(s.Resource));
      expect(secretResources).toHaveLength(3);
      expect(secretResources.join()).toMatch(/pagetrail\/test\/twilio_auth_token-\?{6}/);
      expect(secretResources.join()).toMatch(/pagetrail\/test\/resend_api_key-\?{6}/);
      expect(secretResources.join()).toMatch(/ServicesAckLinkSecret/);
      expect(secretResources.join()).not.toMatch(/resend_webhook_secret|ApiKey/);
    },
  );

  it(
    'paging: scheduler Create/Delete on its group\u2019s schedules only, PassRole of the Scheduler role to it ' +
      'only',
    () => {
      const st = functionStatements('Paging');
      const sched = st.filter((s) => asArray(s.Action).some((a) => a.startsWith('scheduler:')));
      expect(sched).toHaveLength(1);
      expect(asArray(sched[0].Action).sort()).toEqual(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule']);
      expect(JSON.stringify(sched[0].Resource)).toContain(':schedule/pagetrail-test-deadlines/*');
      const pass = st.filter((s) => asArray(s.Action).includes('iam:PassRole'));
      expect(pass).toEqual([
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DeadlinesSchedulerRole/), 'Arn'] },
          Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        },
      ]);
    },
  );

  it(
    'lake: stream read (mapping), PutRecords (ticks), its prefixes, checkpoints; no ledger, incidents, scheduler ' +
      'or secrets',
    () => {
      const st = functionStatements('Lake');
      const actions = actionsOf(st);
      // PutRecords: the ticks after a flush that leaves receipts waiting (processors/lake/ticks.ts)
      expect(actions).toEqual(expect.arrayContaining([...STREAM_READ, 'dynamodb:Query', 'kinesis:PutRecords']));
      for (const a of ['kinesis:PutRecord', 'dynamodb:UpdateItem', 'iam:PassRole', 'secretsmanager:GetSecretValue'])
        expect(actions).not.toContain(a);
      expect(actions.some((a) => a.startsWith('scheduler:'))).toBe(false);
      expect(JSON.stringify(st)).not.toMatch(/StorageDispatchLedger|StorageIncidents/);
      expect(resourceOf(st, 'dynamodb:Query')).toContain('StorageCheckpoints');
      const objects = resourceOf(st, 's3:PutObject');
      for (const p of ['tables/events/', 'raw/', 'errors/', 'state/', 'aws/lambda/'])
        expect(objects).toContain(`/${p}*`);
      expect(resourceOf(st, 's3:GetObject')).not.toContain('aws/lambda');
    },
  );

  it('lake: may delete exactly what it writes (an abandoned flush: tables/events/, raw/, errors/, state/)', () => {
    // processors/lake/handler.ts and start-state.ts delete an uncommitted flush's objects under every
    // prefix the lake writes; a denied delete fails the batch again and again, and the shard stops.
    const st = functionStatements('Lake');
    // bucket.arnForObjects('<prefix>*'): {"Fn::Join": ["", [<bucket ARN>, "/<prefix>*"]]}
    const prefixOf = (r: Json) => String(r['Fn::Join']?.[1]?.at(-1) ?? JSON.stringify(r)).replace(/^\/|\*$/g, '');
    const prefixesOf = (action: string) =>
      st
        .filter((s) => asArray(s.Action).includes(action))
        .flatMap((s) => asArray(s.Resource as Json))
        .map(prefixOf)
        .sort();
    // aws/lambda/: the on-failure records, written by Lambda for the mapping, never deleted by the lake
    const written = prefixesOf('s3:PutObject').filter((p) => p !== 'aws/lambda/');
    expect(written).toEqual(['errors/', 'raw/', 'state/', 'tables/events/']);
    expect(prefixesOf('s3:DeleteObject')).toEqual(written);
  });
});

describe('alarms', () => {
  const alarms = () => resources('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);

  it('watch the pipeline: per-function iterator age and errors, on-failure and error objects, receiver 5xx', () => {
    const a = alarms();
    for (const name of ['Paging', 'Lake'] as const) {
      const [fnId] = fnOf(name);
      const dims = [{ Name: 'FunctionName', Value: { Ref: fnId } }];
      expect(
        a.find((x) => x.MetricName === 'IteratorAge' && JSON.stringify(x.Dimensions) === JSON.stringify(dims)),
        `${name} IteratorAge`,
      ).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Maximum',
      });
      expect(
        a.find((x) => x.MetricName === 'Errors' && JSON.stringify(x.Dimensions) === JSON.stringify(dims)),
        `${name} Errors`,
      ).toMatchObject({ Namespace: 'AWS/Lambda' });
    }
    for (const filter of ['errors', 'failures']) {
      expect(
        a.find(
          (x) =>
            x.MetricName === 'PutRequests' &&
            x.Dimensions.some((d: Json) => d.Name === 'FilterId' && d.Value === filter),
        ),
        filter,
      ).toMatchObject({
        Namespace: 'AWS/S3',
        Threshold: 1,
      });
    }
    expect(a.find((x) => x.MetricName === 'HTTPCode_Target_5XX_Count')).toMatchObject({
      Namespace: 'AWS/ApplicationELB',
    });
    // The Kinesis-consumer (ECS) iterator-age alarm is gone.
    expect(a.find((x) => x.MetricName === 'GetRecords.IteratorAgeMilliseconds')).toBeUndefined();
    const pipeline = a.filter((x) => !(x.Tags as Json[] | undefined)?.some((t) => t.Key === 'pagetrail'));
    for (const x of pipeline) expect(x.AlarmActions).toHaveLength(1);
  });

  it('instrument the estate with severity-tagged standard alarms', () => {
    const estate = alarms().filter((x) =>
      (x.Tags as Json[] | undefined)?.some((t) => t.Key === 'pagetrail' && t.Value === 'estate'),
    );
    const PREFIX = 'pagetrail-test-'; // the stage's: alarm names are unique per account and region
    for (const x of estate) expect(x.AlarmName.startsWith(PREFIX), x.AlarmName).toBe(true);
    const byName = Object.fromEntries(estate.map((x) => [x.AlarmName.slice(PREFIX.length), x]));
    const sev = (name: string) => (byName[name].Tags as Json[]).find((t) => t.Key === 'severity')?.Value;
    expect(Object.keys(byName).sort()).toEqual(
      [
        'ecs-prod-api-cpu-high',
        'ecs-prod-api-memory-high',
        'ecs-prod-api-running-below-desired',
        'rds-orders-db-connections-high',
        'rds-orders-db-cpu-high',
        'rds-orders-db-db-load-high',
        'rds-orders-db-storage-low',
        'rds-orders-db-replica-connections-high',
        'rds-orders-db-replica-cpu-high',
        'rds-orders-db-replica-db-load-high',
        'rds-orders-db-replica-replica-lag',
        'rds-orders-db-replica-storage-low',
      ].sort(),
    );
    expect(sev('ecs-prod-api-cpu-high')).toBe('P1');
    expect(sev('rds-orders-db-db-load-high')).toBe('P1');
    expect(sev('rds-orders-db-replica-replica-lag')).toBe('P2');
    // tags reach the EventBridge event (detail.alarmTags) only with tag propagation enabled
    for (const x of estate)
      expect(x.ActionConfiguration, x.AlarmName).toEqual({ AlarmTagsPropagation: { Enabled: true } });
    expect(byName['rds-orders-db-db-load-high']).toMatchObject({ Namespace: 'AWS/RDS', MetricName: 'DBLoad' });
    expect(byName['ecs-prod-api-memory-high']).toMatchObject({ Namespace: 'AWS/ECS', MetricName: 'MemoryUtilization' });
    const running = byName['ecs-prod-api-running-below-desired'].Metrics as Json[];
    expect(
      running
        .map((m) => m.MetricStat?.Metric.MetricName)
        .filter(Boolean)
        .sort(),
    ).toEqual(['DesiredTaskCount', 'RunningTaskCount']);
    // Performance Insights cannot be enabled here: a warning and an output say so.
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('Performance Insights'));
    template.hasOutput('*', { Value: 'orders-db,orders-db-replica' });
  });
});

/** A small model of EventBridge pattern matching (values, arrays, exists, $or) for the alarm rule's test. */
function matchesPattern(pattern: Json, event: Json): boolean {
  const values = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v.flatMap(values) : [v]);
  const field = (node: unknown, key: string): unknown =>
    Array.isArray(node)
      ? node.map((n) => field(n, key)).flat()
      : node && typeof node === 'object'
        ? (node as Json)[key]
        : undefined;
  return Object.entries(pattern).every(([key, want]) => {
    if (key === '$or') return (want as Json[]).some((p) => matchesPattern(p, event));
    const got = field(event, key);
    if (!Array.isArray(want)) return matchesPattern(want as Json, got as Json);
    const leaves = values(got);
    return (want as unknown[]).some((w) => {
      if (w && typeof w === 'object' && 'exists' in (w as Json)) return (w as Json).exists === leaves.length > 0;
      return leaves.includes(w);
    });
  });
}
