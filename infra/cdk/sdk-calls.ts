import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import ts from 'typescript';
import { esbuildOptions, REPO_ROOT, type BundleSpec } from '../lambda/bundle.js';

/**
 * Calls vs grants (infra/cdk/grants.test.ts): what AWS API actions a deployed unit's bundle can call,
 * and an evaluator of the synthesized IAM statements against them.
 *
 * Derivation. The deployed bundle (infra/lambda/bundle.ts options, built in memory) takes each
 * `@aws-sdk/client-*` package whole (its `main`, one dist-cjs file): its metafile says which services,
 * not which commands. So the same entry is built a second time with the same options except that
 * packages resolve to their ES modules first (`mainFields: module, main`): the clients are
 * side-effect-free, one module per command, and esbuild keeps only the command modules the code
 * reaches (`…/dist-es/commands/<X>Command.js` with bytes in the output → `<service>:<X>`). The two
 * builds must agree on the first-party modules and on the client packages, or the derivation fails.
 * Each bundled command is then attributed to the first-party modules of the bundle that import it
 * (the call sites), which is what the resource a call names is derived from. Attribution is per module:
 * a command imported by a module whose code that sends it was tree-shaken still counts (over-approximation,
 * never under-). Commands only the SDK's own code imports are SDK_INTERNAL or fail the derivation.
 */

/** IAM service prefix of each client package (`@aws-sdk/client-<name>`). Unknown packages fail the derivation. */
export const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  athena: 'athena',
  'cloudwatch-logs': 'logs',
  dynamodb: 'dynamodb',
  kinesis: 'kinesis',
  'pinpoint-sms-voice-v2': 'sms-voice',
  s3: 's3',
  scheduler: 'scheduler',
  'secrets-manager': 'secretsmanager',
  sns: 'sns',
  sqs: 'sqs',
};

/** Commands whose IAM action is not `<prefix>:<Command>` (S3's listing and multipart names). */
export const ACTION_OF_COMMAND: Readonly<Record<string, readonly string[]>> = {
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:ListObjects': ['s3:ListBucket'],
  's3:HeadObject': ['s3:GetObject'],
  's3:HeadBucket': ['s3:ListBucket'],
  's3:DeleteObjects': ['s3:DeleteObject'],
  's3:CreateMultipartUpload': ['s3:PutObject'],
  's3:UploadPart': ['s3:PutObject'],
  's3:CompleteMultipartUpload': ['s3:PutObject'],
  's3:ListParts': ['s3:ListMultipartUploadParts'],
};

/** Higher-level SDK libraries: the exports a first-party module imports → the client commands they send. */
const LIB_COMMANDS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  'lib-dynamodb': {
    GetCommand: ['GetItemCommand'],
    PutCommand: ['PutItemCommand'],
    UpdateCommand: ['UpdateItemCommand'],
    DeleteCommand: ['DeleteItemCommand'],
    QueryCommand: ['QueryCommand'],
    ScanCommand: ['ScanCommand'],
    BatchGetCommand: ['BatchGetItemCommand'],
    BatchWriteCommand: ['BatchWriteItemCommand'],
    TransactGetCommand: ['TransactGetItemsCommand'],
    TransactWriteCommand: ['TransactWriteItemsCommand'],
    paginateQuery: ['QueryCommand'],
    paginateScan: ['ScanCommand'],
  },
  'lib-storage': {
    Upload: [
      'PutObjectCommand',
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
      'AbortMultipartUploadCommand',
    ],
  },
};
const LIB_CLIENT: Readonly<Record<string, string>> = { 'lib-dynamodb': 'dynamodb', 'lib-storage': 's3' };

/**
 * Commands the SDK's own client code imports (so they are in every bundle of that client) but never
 * sends with this project's client configuration: not calls of the unit. Checked: platform/aws.ts and
 * platform/secrets.ts set neither option.
 */
export const SDK_INTERNAL: Readonly<Record<string, string>> = {
  'dynamodb:DescribeEndpoints': 'endpoint discovery: only if endpointDiscoveryEnabled / AWS_ENABLE_ENDPOINT_DISCOVERY',
  's3:CreateSession': 'S3 Express One Zone sessions: sent only for directory buckets (…--x-s3)',
};
/**
 * `@aws-sdk/nested-clients` (STS, SSO, SSO-OIDC, sign-in) are the default credential chain's
 * providers; on Lambda and ECS the credentials come from the environment / the container endpoint,
 * and these are not actions of the unit's role.
 */
const NESTED_CLIENTS = /node_modules\/@aws-sdk\/nested-clients\//;

export interface SdkCall {
  /** IAM action, e.g. `dynamodb:GetItem`. */
  readonly action: string;
  /** `client-dynamodb GetItemCommand`. */
  readonly command: string;
  /** The first-party module in the bundle that imports the command (repository-relative). */
  readonly file: string;
}

export interface BundleCalls {
  /** One entry per (action, call site), sorted. */
  readonly calls: readonly SdkCall[];
  /** Commands in the bundle that are SDK_INTERNAL. */
  readonly sdkInternal: readonly string[];
  /** The `@aws-sdk/client-*` packages in the deployed bundle. */
  readonly clientPackages: readonly string[];
  readonly ms: number;
}

const SDK_PKG = /(?:^|\/)node_modules\/@aws-sdk\/([a-z0-9-]+)\//;
const COMMAND_MODULE = /(?:^|\/)node_modules\/@aws-sdk\/client-([a-z0-9-]+)\/dist-es\/commands\/(\w+Command)\.js$/;
/** `dist-es/<Service>.js`: the aggregated client, which bundles every command of the service. */
const AGGREGATED_CLIENT = /(?:^|\/)node_modules\/@aws-sdk\/client-[a-z0-9-]+\/dist-es\/([A-Z]\w*)\.js$/;

/** The inputs of the (single) output with bytes in it, repository-relative. */
function bundledInputs(metafile: Metafile, root: string): Map<string, number> {
  const outputs = Object.values(metafile.outputs).filter((o) => o.entryPoint !== undefined);
  if (outputs.length !== 1) throw new Error(`expected one entry output, got ${outputs.length}`);
  const inputs = new Map<string, number>();
  for (const [p, v] of Object.entries(outputs[0].inputs)) {
    if (v.bytesInOutput === 0) continue;
    inputs.set(path.relative(root, path.resolve(root, p)).split(path.sep).join('/'), v.bytesInOutput);
  }
  return inputs;
}

const firstParty = (inputs: Map<string, number>) =>
  [...inputs.keys()].filter((p) => !p.includes('node_modules/')).sort();
const clientPackages = (inputs: Map<string, number>) => {
  const pkgs = [...inputs.keys()].map((p) => SDK_PKG.exec(p)?.[1]);
  return [...new Set(pkgs.filter((p): p is string => p?.startsWith('client-') ?? false))].sort();
};

export function actionsOf(client: string, command: string): string[] {
  const prefix = SERVICE_PREFIX[client];
  if (prefix === undefined) throw new Error(`@aws-sdk/client-${client}: no IAM prefix known, add it to SERVICE_PREFIX`);
  const action = `${prefix}:${command.replace(/Command$/, '')}`;
  return [...(ACTION_OF_COMMAND[action] ?? [action])];
}

/** Value imports from `@aws-sdk/*` of one source file: client (without `client-`) and command names. */
export function sdkCommandImports(
  file: string,
  source = readFileSync(file, 'utf8'),
): { client: string; command: string }[] {
  if (!source.includes('@aws-sdk/')) return [];
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: { client: string; command: string }[] = [];
  const visit = (node: ts.Node) => {
    const spec = (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier;
    if (spec && ts.isStringLiteral(spec) && spec.text.startsWith('@aws-sdk/')) {
      const pkg = spec.text.slice('@aws-sdk/'.length);
      const clause = ts.isImportDeclaration(node) ? node.importClause : undefined;
      if (ts.isExportDeclaration(node) || clause?.isTypeOnly) return;
      if (clause?.name || (clause?.namedBindings && ts.isNamespaceImport(clause.namedBindings))) {
        throw new Error(`${file}: default or namespace import of ${spec.text}: import its commands by name`);
      }
      const bindings = clause?.namedBindings;
      const names = bindings && ts.isNamedImports(bindings) ? bindings.elements : [];
      for (const el of names) {
        if (el.isTypeOnly) continue;
        const name = (el.propertyName ?? el.name).text;
        if (pkg.startsWith('client-')) {
          const m = /^(?:paginate(\w+)|(\w+)Command)$/.exec(name);
          if (m) out.push({ client: pkg.slice('client-'.length), command: `${m[1] ?? m[2]}Command` });
        } else if (pkg.startsWith('lib-')) {
          const lib = LIB_COMMANDS[pkg];
          if (lib === undefined) throw new Error(`${file}: @aws-sdk/${pkg} is not known to sdk-calls.ts`);
          for (const command of lib[name] ?? []) out.push({ client: LIB_CLIENT[pkg], command });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Builds `spec` twice in memory (see the top of this file) and derives the calls. */
export async function bundleCalls(spec: BundleSpec, root = REPO_ROOT): Promise<BundleCalls> {
  const started = Date.now();
  const outfile = path.join(os.tmpdir(), 'pagetrail-sdk-calls', 'index.mjs'); // never written (write: false)
  const options = esbuildOptions(spec, root, outfile);
  const [deployed, modular] = await Promise.all([
    build({ ...options, write: false }),
    build({ ...options, write: false, mainFields: ['module', 'main'] }),
  ]);
  const a = bundledInputs(deployed.metafile, root);
  const b = bundledInputs(modular.metafile, root);
  const sameList = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  if (!sameList(firstParty(a), firstParty(b))) {
    throw new Error(`${spec.entry}: the ES-module build differs from the deployed bundle in its first-party modules`);
  }
  if (!sameList(clientPackages(a), clientPackages(b))) {
    const [x, y] = [clientPackages(a), clientPackages(b)];
    throw new Error(`${spec.entry}: client packages differ: deployed ${x}, ES-module build ${y}`);
  }
  for (const p of b.keys()) {
    const agg = AGGREGATED_CLIENT.exec(p);
    if (agg && !agg[1].endsWith('Client')) {
      throw new Error(`${spec.entry}: ${p} is an aggregated client (every command): use <X>Client and commands`);
    }
    if (/node_modules\/@aws-sdk\/lib-/.test(p) && LIB_CLIENT[SDK_PKG.exec(p)![1]] === undefined) {
      throw new Error(`${spec.entry}: ${p}: @aws-sdk/${SDK_PKG.exec(p)![1]} is not known to sdk-calls.ts`);
    }
  }

  // Bundled commands: client → command names.
  const bundled = new Set<string>();
  for (const p of b.keys()) {
    const m = COMMAND_MODULE.exec(p);
    if (m) bundled.add(`${m[1]} ${m[2]}`);
    else if (/\/commands\/\w+Command\.js$/.test(p) && !NESTED_CLIENTS.test(p)) {
      throw new Error(`${spec.entry}: unrecognised command module ${p}`);
    }
  }
  // Call sites: the first-party modules of the bundle that import a bundled command.
  const calls: SdkCall[] = [];
  const attributed = new Set<string>();
  for (const file of firstParty(b)) {
    for (const { client, command } of sdkCommandImports(path.join(root, file))) {
      const key = `${client} ${command}`;
      if (!bundled.has(key)) continue; // imported, but the code that sends it is not in the bundle
      attributed.add(key);
      for (const action of actionsOf(client, command)) calls.push({ action, command: `client-${key}`, file });
    }
  }
  const sdkInternal: string[] = [];
  for (const key of bundled) {
    if (attributed.has(key)) continue;
    const [client, command] = key.split(' ');
    const actions = actionsOf(client, command);
    if (actions.every((x) => x in SDK_INTERNAL)) sdkInternal.push(...actions);
    else throw new Error(`${spec.entry}: bundled client-${client} ${command} is imported by no first-party module`);
  }
  const uniq = new Map(calls.map((c) => [`${c.action} ${c.file} ${c.command}`, c]));
  return {
    calls: [...uniq.values()].sort((x, y) => x.action.localeCompare(y.action) || x.file.localeCompare(y.file)),
    sdkInternal: [...new Set(sdkInternal)].sort(),
    clientPackages: clientPackages(a),
    ms: Date.now() - started,
  };
}

// ---- IAM evaluation over a synthesized template ---------------------------------------------------------

export type Json = Record<string, any>;
export interface ArnContext {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/**
 * A CloudFormation value as a comparable string: literals as they are, pseudo parameters by their
 * value, `{Ref: X}` as `${X}`, `{Fn::GetAtt: [X, A]}` as `${X.A}`, Fn::Join concatenated.
 */
export function render(value: unknown, ctx: ArnContext): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v && typeof v === 'object' && 'Ref' in v) {
    const pseudo: Record<string, string> = {
      'AWS::Partition': ctx.partition,
      'AWS::Region': ctx.region,
      'AWS::AccountId': ctx.account,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[v.Ref] ?? `\${${v.Ref}}`;
  }
  if (v && typeof v === 'object' && 'Fn::GetAtt' in v) {
    const [id, attr] = Array.isArray(v['Fn::GetAtt']) ? v['Fn::GetAtt'] : String(v['Fn::GetAtt']).split('.');
    return `\${${id}.${attr}}`;
  }
  if (v && typeof v === 'object' && 'Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => render(p, ctx)).join(sep);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** IAM wildcard match (`*` any run, `?` one character) of a whole string. */
export function globMatch(pattern: string, text: string, ignoreCase = false): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '').test(text);
}

export interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** Where it is: the policy's logical id (and the statement's Sid, if any). */
  readonly where: string;
}

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/**
 * The identity-policy statements of a role: its inline policies, and every AWS::IAM::Policy and
 * customer-managed AWS::IAM::ManagedPolicy attached to it. AWS-managed policies (ManagedPolicyArns)
 * are returned by ARN: their text is not in the template. Conditions are not evaluated (they only
 * narrow a grant).
 */
export function roleStatements(
  template: Json,
  roleId: string,
  ctx: ArnContext,
): { statements: Statement[]; managedPolicyArns: string[] } {
  const resources = template.Resources as Record<string, Json>;
  const role = resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  const inline = asArray<Json>(role.Properties.Policies);
  const docs: [string, Json][] = inline.map((p) => [`${roleId}/${p.PolicyName}`, p.PolicyDocument]);
  const managedPolicyArns: string[] = [];
  for (const arn of asArray<unknown>(role.Properties.ManagedPolicyArns)) {
    const ref = (arn as Json)?.Ref;
    if (typeof ref === 'string' && resources[ref]?.Type === 'AWS::IAM::ManagedPolicy') continue; // found below by Roles
    managedPolicyArns.push(render(arn, ctx));
  }
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    if (asArray<Json>(r.Properties.Roles).some((x) => x?.Ref === roleId)) docs.push([id, r.Properties.PolicyDocument]);
  }
  const statements: Statement[] = [];
  for (const [id, doc] of docs) {
    asArray<Json>(doc.Statement).forEach((s, i) => {
      if (s.NotAction || s.NotResource) throw new Error(`${id}[${i}]: NotAction/NotResource are not evaluated`);
      const resourcesOf = asArray<unknown>(s.Resource).filter((x) => (x as Json)?.Ref !== 'AWS::NoValue');
      statements.push({
        effect: s.Effect,
        actions: asArray<string>(s.Action),
        resources: resourcesOf.map((x) => render(x, ctx)),
        where: s.Sid ? `${id} ${s.Sid}` : id,
      });
    });
  }
  return { statements, managedPolicyArns };
}

const covers = (s: Statement, action: string, resource: string) =>
  s.actions.some((a) => globMatch(a, action, true)) && s.resources.some((r) => globMatch(r, resource));

/** Whether the statements allow `action` on `resource` (an Allow covers it, no Deny does). */
export function allows(statements: readonly Statement[], action: string, resource: string): boolean {
  const by = (effect: Statement['effect']) =>
    statements.some((s) => s.effect === effect && covers(s, action, resource));
  return by('Allow') && !by('Deny');
}

// ---- calls vs grants of one unit ----------------------------------------------------------------------

/** Where a call site (a first-party module that sends commands) takes the resource its calls name. */
export interface CallSite {
  /** The environment variable the unit's wiring passes the module its resource in (a glob: every match). */
  readonly env: string;
  /** S3 object actions: the key prefixes the module reads and writes under (default: the whole bucket). */
  readonly prefixes?: readonly string[];
  /** scheduler:CreateSchedule passes this role (iam:PassRole on the role this variable names). */
  readonly passRoleEnv?: string;
  /** dynamodb:Query reads this index of the table (`<table ARN>/index/<name>`), not the table. */
  readonly queryIndex?: string;
}

/** An action on a resource that the role needs, and why. */
export interface Need {
  readonly action: string;
  readonly resource: string;
  readonly why: string;
}

export interface Finding {
  readonly unit: string;
  /**
   * missing: a call not allowed on its resource; unused: a granted action, or a granted resource wider than
   * any need; unresolved: a call whose resource is unknown; stale-exception: a NOT_CALLED entry not in the bundle.
   */
  readonly kind: 'missing' | 'unused' | 'unresolved' | 'wildcard' | 'managed-policy' | 'stale-exception';
  readonly action: string;
  readonly resource: string;
  readonly why: string;
}
export const formatFinding = (f: Finding) => `${f.unit} ${f.kind}: ${f.action} on ${f.resource} (${f.why})`;

export interface UnitGrants {
  readonly name: string;
  /** Logical id of the unit's role. */
  readonly roleId: string;
  /** The unit's environment as synthesized (name → CloudFormation value). */
  readonly env: Readonly<Record<string, unknown>>;
  readonly calls: readonly SdkCall[];
  /** Calls the bundle holds that the unit never makes: no grant wanted (each must still be in `calls`). */
  readonly notCalled?: readonly { action: string; file: string; why: string }[];
  /** What AWS calls on the unit's behalf (see mappingNeeds). */
  readonly onBehalf?: readonly Need[];
  /** AWS-managed policies the role may have (rendered ARNs), e.g. AWSLambdaBasicExecutionRole (logs). */
  readonly managedPolicies?: readonly string[];
}

/** CloudFormation types whose Ref is the name and `Fn::GetAtt [X, Arn]` the ARN. */
const REF_IS_NAME = new Set([
  'AWS::Kinesis::Stream',
  'AWS::DynamoDB::Table',
  'AWS::S3::Bucket',
  'AWS::IAM::Role',
  'AWS::SMSVOICE::ConfigurationSet',
]);

function arnOf(service: string, value: unknown, template: Json, ctx: ArnContext): string {
  const ref = (value as Json)?.Ref;
  if (typeof ref === 'string' && !ref.startsWith('AWS::')) {
    return REF_IS_NAME.has(template.Resources[ref]?.Type) ? `\${${ref}.Arn}` : `\${${ref}}`;
  }
  const s = render(value, ctx);
  if (s.startsWith('arn:') || s.startsWith('${')) return s;
  const { partition: p, region: r, account: a } = ctx;
  const byName: Record<string, string> = {
    kinesis: `arn:${p}:kinesis:${r}:${a}:stream/${s}`,
    dynamodb: `arn:${p}:dynamodb:${r}:${a}:table/${s}`,
    s3: `arn:${p}:s3:::${s}`,
    iam: `arn:${p}:iam::${a}:role/${s}`,
    athena: `arn:${p}:athena:${r}:${a}:workgroup/${s}`,
  };
  if (byName[service] === undefined) throw new Error(`${service}: no ARN format for the name ${s}`);
  return byName[service];
}

/**
 * The resources a call names: from the variables its call site reads. Secrets: a Secrets Manager ARN
 * whose name ends in `-` + 6 characters is read as a complete ARN; any other needs the `-??????` suffix.
 */
function resourcesOf(
  action: string,
  site: CallSite,
  unit: UnitGrants,
  template: Json,
  ctx: ArnContext,
): string[] | { unset: string } {
  const [service, name] = action.split(':');
  const env = action === 'iam:PassRole' ? site.passRoleEnv! : site.env;
  const values = env.includes('*')
    ? Object.entries(unit.env)
        .filter(([k]) => globMatch(env, k))
        .map(([, v]) => v)
    : unit.env[env] === undefined
      ? undefined
      : [unit.env[env]];
  if (values === undefined) return { unset: env };
  const { partition: p, region: r, account: a } = ctx;
  return values.flatMap((v) => {
    if (service === 'scheduler') return [`arn:${p}:scheduler:${r}:${a}:schedule/${render(v, ctx)}/*`];
    if (service === 'secretsmanager') {
      const arn = arnOf(service, v, template, ctx);
      return [arn.startsWith('${') || /-[A-Za-z0-9]{6}$/.test(arn) ? arn : `${arn}-??????`];
    }
    const arn = arnOf(service, v, template, ctx);
    if (service === 'dynamodb' && name === 'Query' && site.queryIndex) return [`${arn}/index/${site.queryIndex}`];
    if (service !== 's3' || name === 'ListBucket') return [arn];
    return (site.prefixes ?? ['']).map((prefix) => `${arn}/${prefix}*`);
  });
}

/**
 * What Athena calls with the caller's credentials for a query in the workgroup ATHENA_WORKGROUP names, on the
 * database ATHENA_DATABASE names, over the lake in LAKE_BUCKET (from the unit's environment): the Glue catalog's
 * database and tables (views included), the objects under the lake tables' `tablePrefixes`, and the results the
 * workgroup writes under `resultsPrefix` (GetBucketLocation and ListBucket on the bucket). None without
 * ATHENA_WORKGROUP.
 */
export function athenaNeeds(
  unit: Pick<UnitGrants, 'env'>,
  template: Json,
  ctx: ArnContext,
  opts: { tablePrefixes: readonly string[]; resultsPrefix: string },
): Need[] {
  if (unit.env.ATHENA_WORKGROUP === undefined) return [];
  const { partition: p, region: r, account: a } = ctx;
  const db = render(unit.env.ATHENA_DATABASE, ctx);
  const bucket = arnOf('s3', unit.env.LAKE_BUCKET, template, ctx);
  const why = 'Athena, for the queries of ATHENA_WORKGROUP';
  const glue = (resource: string) => `arn:${p}:glue:${r}:${a}:${resource}`;
  const catalog = [glue('catalog'), glue(`database/${db}`), glue(`table/${db}/*`)];
  return [
    ...['glue:GetDatabase', 'glue:GetTable'].flatMap((action) =>
      catalog.map((resource) => ({ action, resource, why })),
    ),
    ...opts.tablePrefixes.map((prefix) => ({ action: 's3:GetObject', resource: `${bucket}/${prefix}*`, why })),
    ...['s3:GetObject', 's3:PutObject'].map((action) => ({
      action,
      resource: `${bucket}/${opts.resultsPrefix}*`,
      why: `${why}: its results`,
    })),
    { action: 's3:ListBucket', resource: bucket, why },
    { action: 's3:GetBucketLocation', resource: bucket, why },
  ];
}

/**
 * What Lambda itself calls with the function's role for the function's event source mappings (Kinesis):
 * the stream reads of a mapping (and its enhanced fan-out consumer's), and the on-failure destination's
 * writes. From the template, so a mapping that goes away takes its grants' justification with it.
 */
export function mappingNeeds(template: Json, functionId: string, ctx: ArnContext): Need[] {
  // Lambda's execution-role permissions for a Kinesis event source (AWSLambdaKinesisExecutionRole's
  // list), plus DescribeStreamConsumer, which CDK's Kinesis event sources grant on the stream as well.
  const STREAM_READS = [
    'DescribeStream',
    'DescribeStreamSummary',
    'DescribeStreamConsumer',
    'GetRecords',
    'GetShardIterator',
    'ListShards',
    'ListStreams',
    'SubscribeToShard',
  ].map((x) => `kinesis:${x}`);
  const CONSUMER_READS = ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'];
  const resources = template.Resources as Record<string, Json>;
  const needs: Need[] = [];
  const add = (actions: string[], resource: unknown, why: string) => {
    for (const action of actions) needs.push({ action, resource: render(resource, ctx), why });
  };
  for (const [id, m] of Object.entries(resources)) {
    if (m.Type !== 'AWS::Lambda::EventSourceMapping' || m.Properties.FunctionName?.Ref !== functionId) continue;
    const [src, attr] = m.Properties.EventSourceArn?.['Fn::GetAtt'] ?? [];
    if (resources[src]?.Type === 'AWS::Kinesis::StreamConsumer' && attr === 'ConsumerARN') {
      add(CONSUMER_READS, m.Properties.EventSourceArn, `${id}: fan-out consumer`);
      add(STREAM_READS, resources[src].Properties.StreamARN, `${id}: the consumer's stream`);
    } else if (resources[src]?.Type === 'AWS::Kinesis::Stream') {
      add(STREAM_READS, m.Properties.EventSourceArn, `${id}: stream reads`);
    } else {
      throw new Error(`${id}: event source ${JSON.stringify(m.Properties.EventSourceArn)} is not modelled`);
    }
    const dest = m.Properties.DestinationConfig?.OnFailure?.Destination;
    if (dest === undefined) continue;
    const type = resources[dest['Fn::GetAtt']?.[0] ?? dest.Ref]?.Type;
    if (type === 'AWS::S3::Bucket') {
      // Lambda writes the batch's record under its fixed aws/lambda/ prefix and lists the bucket.
      const bucket = render(dest, ctx);
      needs.push({ action: 's3:PutObject', resource: `${bucket}/aws/lambda/*`, why: `${id}: on-failure destination` });
      needs.push({ action: 's3:ListBucket', resource: bucket, why: `${id}: on-failure destination` });
    } else if (type === 'AWS::SQS::Queue') add(['sqs:SendMessage'], dest, `${id}: on-failure destination`);
    else if (type === 'AWS::SNS::Topic') add(['sns:Publish'], dest, `${id}: on-failure destination`);
    else throw new Error(`${id}: on-failure destination ${JSON.stringify(dest)} is not modelled`);
  }
  return needs;
}

/**
 * What Lambda itself sends with the function's role when an asynchronous invocation fails for good: the
 * event to the function's dead-letter queue (DeadLetterConfig). From the template, like mappingNeeds.
 */
export function asyncInvokeNeeds(template: Json, functionId: string, ctx: ArnContext): Need[] {
  const resources = template.Resources as Record<string, Json>;
  const target = resources[functionId]?.Properties?.DeadLetterConfig?.TargetArn;
  if (target === undefined) return [];
  const type = resources[target['Fn::GetAtt']?.[0] ?? target.Ref]?.Type;
  const why = `${functionId}: dead-letter queue of its asynchronous invocations`;
  if (type === 'AWS::SQS::Queue') return [{ action: 'sqs:SendMessage', resource: render(target, ctx), why }];
  if (type === 'AWS::SNS::Topic') return [{ action: 'sns:Publish', resource: render(target, ctx), why }];
  throw new Error(`${functionId}: dead-letter target ${JSON.stringify(target)} is not modelled`);
}

/** (a) every call allowed on its resource, (b) every grant needed; the needs derived on the way. */
export function checkUnit(
  template: Json,
  unit: UnitGrants,
  sites: Readonly<Record<string, CallSite>>,
  ctx: ArnContext,
): { required: Need[]; findings: Finding[] } {
  const { statements, managedPolicyArns } = roleStatements(template, unit.roleId, ctx);
  const findings: Finding[] = [];
  const finding = (kind: Finding['kind'], action: string, resource: string, why: string) =>
    findings.push({ unit: unit.name, kind, action, resource, why });
  const required: Need[] = [];
  const exceptions = unit.notCalled ?? [];
  for (const e of exceptions) {
    if (unit.calls.some((c) => c.action === e.action && c.file === e.file)) continue;
    finding('stale-exception', e.action, '-', `${e.file}: not in the bundle`);
  }
  for (const call of unit.calls) {
    if (exceptions.some((e) => e.action === call.action && e.file === call.file)) continue;
    const site = sites[call.file];
    if (site === undefined) {
      finding('unresolved', call.action, '?', `${call.file}: no call-site entry (which resource does it name?)`);
      continue;
    }
    const passRole = call.action === 'scheduler:CreateSchedule' && site.passRoleEnv !== undefined;
    const actions = passRole ? [call.action, 'iam:PassRole'] : [call.action];
    for (const action of actions) {
      const resources = resourcesOf(action, site, unit, template, ctx);
      if (!Array.isArray(resources)) {
        const why = `${call.file}: ${resources.unset} is not in the unit's environment`;
        finding('unresolved', action, `$${resources.unset}`, why);
        continue;
      }
      for (const resource of resources) required.push({ action, resource, why: call.file });
    }
  }
  for (const n of required) {
    if (!allows(statements, n.action, n.resource)) finding('missing', n.action, n.resource, n.why);
  }

  const needs = [...required, ...(unit.onBehalf ?? [])];
  for (const s of statements) {
    if (s.effect !== 'Allow') continue;
    for (const a of s.actions) {
      if (/[*?]/.test(a)) finding('wildcard', a, s.resources.join(', '), s.where);
      for (const r of s.resources) {
        // Used: some need has this action and a resource at least as wide (a wider grant is not needed).
        const needed = needs.some((n) => globMatch(a, n.action, true) && globMatch(n.resource, r));
        if (!needed) finding('unused', a, r, s.where);
      }
    }
  }
  for (const arn of managedPolicyArns) {
    if (!(unit.managedPolicies ?? []).includes(arn)) finding('managed-policy', '*', arn, 'not allowed for this unit');
  }
  return { required, findings };
}
