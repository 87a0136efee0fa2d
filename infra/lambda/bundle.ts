import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions as EsbuildOptions, type Metafile } from 'esbuild';
import { BundleError } from './errors.js';

/**
 * Offline bundling with esbuild (a devDependency; no Docker, no network): one self-contained ES module
 * per deployable, `<outDir>/<name>/index.mjs`, with every dependency inside (the pinned AWS SDK
 * included, not the runtime's copy). `make lambdas` builds the Lambda bundles before `make synth`;
 * the CDK stack only points `Code.fromAsset` at them. The Dockerfile builds the receiver the same way.
 */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_OUT_DIR = path.join(REPO_ROOT, 'dist', 'lambda');

export interface BundleSpec {
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** An export the bundle must have (Lambda: `handler`); the build fails without it. */
  readonly requiredExport?: string;
  /** Packages left out of the bundle (never loaded where it is deployed). */
  readonly external?: readonly string[];
}

/** The Lambda functions (handler `index.handler`). */
export const LAMBDA_BUNDLES = {
  paging: { entry: 'processors/paging/lambda.ts', requiredExport: 'handler' },
  lake: { entry: 'processors/lake/lambda.ts', requiredExport: 'handler' },
  /** The alarm rule's target (infra/cdk/alarm-rule.ts): CloudWatch alarm events → the stream. */
  'alarm-intake': { entry: 'producers/eventbridge/lambda.ts', requiredExport: 'handler' },
} as const satisfies Record<string, BundleSpec>;
export type LambdaName = keyof typeof LAMBDA_BUNDLES;

/**
 * The receiver's container entry (Dockerfile: `node index.mjs`). DuckDB, the local lake engine, is a native module the
 * bundle cannot hold: on AWS the receiver reads the lake through Athena (ENGINE=athena, infra/cdk/services.ts), and
 * analysis/query/duckdb-engine.ts loads it only at its first query.
 */
export const RECEIVER_BUNDLE: BundleSpec = { entry: 'producers/receiver/main.ts', external: ['@duckdb/node-api'] };

/**
 * The local services behind the local event source mapping (`processors/<role>/main.ts`), built so a
 * restart costs a module load instead of a TypeScript compile (`make storm` kills and restarts them).
 */
export const LOCAL_SERVICE_BUNDLES = {
  'paging-service': { entry: 'processors/paging/main.ts' },
  'lake-service': { entry: 'processors/lake/main.ts' },
} as const satisfies Record<string, BundleSpec>;

/**
 * Files a bundled package reads from disk next to its own module at run time: when the bundle contains
 * `input`, `file` is copied beside index.mjs (the banner points `__dirname` there).
 */
export const RUNTIME_FILES: readonly { input: string; file: string }[] = [
  // parquet-wasm's Node build does readFileSync(`${__dirname}/parquet_wasm_bg.wasm`).
  {
    input: 'node_modules/parquet-wasm/node/parquet_wasm.js',
    file: 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm',
  },
];

/**
 * CommonJS dependencies inside an ES module bundle still call require() (node built-ins) and read
 * __dirname / __filename: give them module-scoped equivalents.
 */
export const BANNER = [
  "import { createRequire as __pagetrailCreateRequire } from 'node:module';",
  "import { fileURLToPath as __pagetrailFileURLToPath } from 'node:url';",
  "import { dirname as __pagetrailDirname } from 'node:path';",
  'const require = __pagetrailCreateRequire(import.meta.url);',
  'const __filename = __pagetrailFileURLToPath(import.meta.url);',
  'const __dirname = __pagetrailDirname(__filename);',
].join('\n');

export interface BuildOptions {
  /** What to build, by name (default: LAMBDA_BUNDLES). */
  bundles?: Record<string, BundleSpec>;
  /** Output root (default dist/lambda); each bundle gets `<outDir>/<name>/`, emptied first. */
  outDir?: string;
  /** Where entries and node_modules are resolved from (default: the repository root). */
  root?: string;
}

export interface BuiltBundle {
  name: string;
  dir: string;
  file: string;
  bytes: number;
  /** Names the entry module exports (a Lambda bundle must export `handler`). */
  exports: string[];
  /** Runtime files copied beside index.mjs. */
  files: string[];
  ms: number;
}

/**
 * The esbuild options of one deployable's bundle (`outfile`: its index.mjs). Exported so a check can
 * build the very bundle that deploys in memory and read its metafile (infra/cdk/sdk-calls.ts).
 */
/**
 * Packages whose `main` esbuild cannot bundle, mapped to an entry it can: jsonc-parser's `main` is a UMD
 * module that `require`s its parts by a computed path (the bundle then fails with "Cannot find module
 * './impl/format'"); its ES module build (`module`) bundles whole. tsx and the tests keep loading `main`.
 */
export const BUNDLE_ALIAS: Record<string, string> = { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' };

export function esbuildOptions(spec: BundleSpec, root: string, outfile: string): EsbuildOptions & { metafile: true } {
  return {
    absWorkingDir: root,
    entryPoints: [path.join(root, spec.entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    alias: BUNDLE_ALIAS,
    ...(spec.external ? { external: [...spec.external] } : {}),
    // Whitespace and syntax only: stack traces keep readable function names.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'silent',
  };
}

async function buildOne(name: string, spec: BundleSpec, outRoot: string, root: string): Promise<BuiltBundle> {
  const started = Date.now();
  const dir = path.join(outRoot, name);
  const file = path.join(dir, 'index.mjs');
  rmSync(dir, { recursive: true, force: true });
  let metafile: Metafile;
  try {
    const result = await build(esbuildOptions(spec, root, file));
    metafile = result.metafile;
  } catch (cause) {
    const errors = (cause as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors ?? [];
    const detail = errors
      .map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text))
      .join('; ');
    throw new BundleError(name, `esbuild failed: ${detail || (cause as Error).message}`, { cause });
  }
  const inputs = new Set(Object.keys(metafile.inputs).map((p) => path.relative(root, path.resolve(root, p))));
  const files: string[] = [];
  for (const r of RUNTIME_FILES) {
    if (!inputs.has(r.input)) continue;
    const target = path.join(dir, path.basename(r.file));
    copyFileSync(path.join(root, r.file), target);
    files.push(path.basename(r.file));
  }
  const output = Object.entries(metafile.outputs).find(([p]) => path.resolve(root, p) === file);
  const exports = output?.[1].exports ?? [];
  if (spec.requiredExport !== undefined && !exports.includes(spec.requiredExport)) {
    throw new BundleError(name, `${spec.entry} does not export "${spec.requiredExport}"`);
  }
  return {
    name,
    dir,
    file,
    bytes: statSync(file).size,
    exports,
    files,
    ms: Date.now() - started,
  };
}

/** Builds the bundles (in parallel). */
export async function buildBundles(options: BuildOptions = {}): Promise<BuiltBundle[]> {
  const bundles = options.bundles ?? LAMBDA_BUNDLES;
  const root = options.root ?? REPO_ROOT;
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  mkdirSync(outDir, { recursive: true });
  return Promise.all(Object.entries(bundles).map(([name, spec]) => buildOne(name, spec, outDir, root)));
}

/** The directory of a built Lambda bundle; throws a BundleError if it has not been built. */
export function lambdaBundleDir(name: string, outDir = DEFAULT_OUT_DIR): string {
  const dir = path.join(outDir, name);
  try {
    statSync(path.join(dir, 'index.mjs'));
  } catch (cause) {
    throw new BundleError(
      name,
      `${path.join(dir, 'index.mjs')} is missing: run \`make lambdas\` (make synth does) first`,
      { cause },
    );
  }
  return dir;
}
