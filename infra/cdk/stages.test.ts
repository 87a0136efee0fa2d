import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagetrailStack } from './stack.js';
import { stackFor, synthDir, TEST_ESTATE, TEST_OPERATOR, withoutCfnValidation, type SynthDir } from './testing.js';

/**
 * Two stages in one account and region: `dev` and `prod` synthesized as app.ts builds them, with the
 * same estate, must not share any physical name (a second stage's deploy would fail on it, or one
 * stage would act on the other's resources).
 *
 * The names are derived from the templates, not listed: every property whose key ends in `Name`
 * (Name, LogGroupName, AlarmName, ConsumerName, TopicName, FunctionName, DatabaseInput.Name, …), every
 * secret named in an ARN (imported secrets are in no resource), the stack name and every Export.Name.
 * A resource's identity is its type and all its names together (a Glue table: its database and its own).
 * A reference to a resource of the same template stands for that stack's resource, so it is replaced by
 * `<stack name>/<logical id>`. A few names are unique only inside a parent of the stack (SCOPED_NAMES).
 */
type Json = Record<string, any>;

/** Keys ending in Name that do not name the resource. */
const NOT_A_NAME = new Set([
  'MetricName', // the metric an alarm watches
  'DisplayName', // an SNS topic's label in messages
]);
/** Names AWS keeps unique only inside a parent this stack owns (or not at all): they cannot collide. */
const SCOPED_NAMES = new Set([
  'AWS::IAM::Policy PolicyName', // inline policy: unique per role
  'AWS::ApplicationAutoScaling::ScalingPolicy PolicyName', // unique per scalable target
  'AWS::Athena::NamedQuery Name', // not unique in AWS (the query's id is), and scoped by its workgroup
  'AWS::EC2::VPCEndpoint ServiceName', // the AWS service it reaches, one endpoint per VPC
]);

/** The template with stack-local references made unique to the stack. */
function localised(template: Json, stackName: string): Json {
  const ids = new Set(Object.keys(template.Resources ?? {}));
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o = v as Json;
    if (typeof o.Ref === 'string' && ids.has(o.Ref)) return `${stackName}/${o.Ref}`;
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt) && ids.has(getAtt[0])) return `${stackName}/${getAtt.join('.')}`;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
  };
  return walk(template) as Json;
}

/**
 * `path=value` of the name properties of `props`: top-level keys ending in `Name`, and `Name` one level
 * down (Glue's DatabaseInput.Name, TableInput.Name). Deeper keys (a TTL's AttributeName) and lists
 * (columns, env vars, dimensions) hold parts of a resource, not its name.
 */
function nameProperties(props: unknown): string[] {
  if (!props || typeof props !== 'object') return [];
  const out: string[] = [];
  const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  for (const [k, v] of Object.entries(props as Json)) {
    if (/Name$/.test(k) && !NOT_A_NAME.has(k)) out.push(`${k}=${value(v)}`);
    else if (v && typeof v === 'object' && !Array.isArray(v) && !isIntrinsic(v) && 'Name' in v) {
      out.push(`${k}.Name=${value(v.Name)}`);
    }
  }
  return out;
}
const isIntrinsic = (v: object) => Object.keys(v).length === 1 && /^(Ref|Fn::)/.test(Object.keys(v)[0]);

/** Identity → where it is, for every physical name of a synthesized stack. */
function physicalNames(stack: PagetrailStack): Map<string, string> {
  const t = localised(Template.fromStack(stack).toJSON(), stack.stackName);
  const out = new Map<string, string>([[`stack ${stack.stackName}`, 'stack']]);
  for (const [id, r] of Object.entries(t.Resources as Json)) {
    const names = nameProperties(r.Properties);
    if (names.length === 0) continue;
    const scoped = names.filter((n) => SCOPED_NAMES.has(`${r.Type} ${n.split('=')[0]}`));
    if (scoped.length === names.length) continue;
    out.set(`${r.Type} ${names.sort().join(' ')}`, id);
  }
  // Secrets referenced by ARN (imported ones are no resource of the template): ECS secrets, IAM, env.
  for (const name of referencedSecretNames(t)) out.set(`secret ${name}`, 'reference');
  for (const [id, o] of Object.entries((t.Outputs ?? {}) as Json)) {
    if (o.Export?.Name !== undefined) out.set(`export ${JSON.stringify(o.Export.Name)}`, `output ${id}`);
  }
  return out;
}

/** Names in `…:secret:<name>` ARNs anywhere in the template (Fn::Join flattened), random suffix wildcard removed. */
function referencedSecretNames(template: Json): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = /:secret:([A-Za-z0-9/_+=.@-]+?)(?:-\?{6}|\*)?$/.exec(v);
      if (m) out.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      if (Array.isArray(o['Fn::Join'])) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        walk(parts.map((x) => (typeof x === 'string' ? x : '<token>')).join(sep));
      } else Object.values(o).forEach(walk);
    }
  };
  walk(template);
  return out;
}

let dir: SynthDir;
let restore: () => void;
const names: Record<string, Map<string, string>> = {};

beforeAll(() => {
  restore = withoutCfnValidation();
  dir = synthDir();
  for (const stage of ['dev', 'prod', 'dev-again']) {
    const name = stage === 'dev-again' ? 'dev' : stage;
    // prod is a production stage: it needs an operator subscription (context.ts checkOperators)
    const context = { stage: name, estate: TEST_ESTATE, domain: `${name}.example.com`, operatorEmails: TEST_OPERATOR };
    names[stage] = physicalNames(stackFor(dir, context));
  }
}, 120_000);

afterAll(() => {
  restore();
  dir.remove();
});

describe('two stages in one account and region', () => {
  it('dev and prod share no physical name, secret name, schedule group, log group or export', () => {
    const collisions = [...names.dev.keys()].filter((k) => names.prod.has(k)).map((k) => `${k} (${names.dev.get(k)})`);
    expect(collisions).toEqual([]);
  });

  it('every physical name a stage owns is qualified by its stage', () => {
    for (const stage of ['dev', 'prod']) {
      // pagetrail-<stage>…, pagetrail_<stage>, pagetrail/<stage>/…
      const qualified = new RegExp(`pagetrail[-_/]${stage}\\b`);
      const unqualified = [...names[stage].keys()].filter((k) => !qualified.test(k));
      expect(unqualified, stage).toEqual([]);
    }
  });

  it('the check sees the names that matter: a second synthesis of dev collides on each of them', () => {
    const again = [...names.dev.keys()].filter((k) => names['dev-again'].has(k));
    const kinds = new Set(again.map((k) => k.split(' ')[0]));
    for (const kind of [
      'stack',
      'AWS::Scheduler::ScheduleGroup',
      'AWS::SecretsManager::Secret',
      'AWS::Athena::WorkGroup',
      'AWS::Glue::Database',
      'AWS::Glue::Table',
      'AWS::CloudWatch::Alarm',
      'AWS::Kinesis::StreamConsumer',
      'secret',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
  });
});
