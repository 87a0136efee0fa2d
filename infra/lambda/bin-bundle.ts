import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { BIN_DIR, BIN_ENTRIES, REPO_ROOT, type BinName } from '../bin.js';
import { BANNER, BUNDLE_ALIAS, RUNTIME_FILES } from './bundle.js';
import { BundleError } from './errors.js';

/**
 * The built entry points `dist/bin/<name>.mjs` (infra/bin.ts lists them), bundled with esbuild: each
 * entry one ES module (plus content-hashed `chunk-*.mjs` beside it) with its dependencies inside except
 * the native ones (BIN_EXTERNAL, resolved from the repository's node_modules at run time), so a command
 * starts by loading a few files instead of compiling TypeScript and resolving hundreds of modules.
 *
 * Each bundled module of the repository sees its own source location as `import.meta.url`, except the
 * module of the entry the process runs, which sees the bundle's (so `process.argv[1] ===
 * fileURLToPath(import.meta.url)` holds for that entry only): paths computed from a module's location
 * and "run only as the entry point" guards behave as they do under tsx. The bundles therefore run
 * inside this checkout; the Lambda and container bundles (bundle.ts) are the relocatable ones.
 *
 * Writes `deps.mk` beside them: the repository files the bundles were built from, as prerequisites of
 * the `.built` stamp, so `make` rebuilds exactly when one of them changed (as `cc -MD -MP` does).
 */

/** Not bundled: native bindings that load a platform package's `.node` file by a computed name. */
export const BIN_EXTERNAL = ['@duckdb/node-bindings'];

/**
 * Entries built on their own: commands whose start-up is most of their run. In one build, a chunk two
 * entries share holds everything either needs from it (all of zod's core for `make query`, which needs a
 * little of it); built alone, an entry's chunks hold only what it loads. The others share one build
 * (building every entry alone takes several times as long).
 */
export const BUILT_ALONE: readonly BinName[] = ['query', 'oncall', 'oncall-check'];

/** The stamp file `make` compares with the sources, and the prerequisites file it includes. */
export const STAMP_FILE = '.built';
export const DEPS_FILE = 'deps.mk';

export interface BinBuildOptions {
  /** Which entries (default: all of `entries`). */
  names?: readonly string[];
  /** Output directory (default dist/bin). Written through a sibling temporary directory, file by file. */
  outDir?: string;
  /** Name → entry module relative to `root` (default BIN_ENTRIES). */
  entries?: Readonly<Record<string, string>>;
  /** Entries built on their own (default BUILT_ALONE). */
  alone?: readonly string[];
  /** Where entries and node_modules are resolved from, and deps.mk paths are relative to (default: the repository). */
  root?: string;
}

export interface BinBuildResult {
  /** The entry files (each may import `chunk-<hash>.mjs` files beside it). */
  files: { name: string; file: string; bytes: number }[];
  /** Bytes of every file written (entries and chunks). */
  totalBytes: number;
  /** Files under `root` the bundles were built from (relative to it, node_modules left out), sorted. */
  inputs: string[];
  ms: number;
}

const posix = (p: string) => p.split(path.sep).join('/');

/** `import.meta.url` in a module of ours → `__pagetrailModuleUrl(<its source, relative to the bundle>)`. */
function moduleUrlPlugin(outDir: string): Plugin {
  return {
    name: 'pagetrail-module-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const rel = JSON.stringify(posix(path.relative(outDir, args.path)));
        return { contents: source.replaceAll('import.meta.url', `__pagetrailModuleUrl(${rel})`), loader: 'ts' };
      });
    },
  };
}

/**
 * The banner of every bin output: BANNER, and `__pagetrailModuleUrl` (the running entry's module gets the main script's
 * URL).
 */
function binBanner(outDir: string, entries: Readonly<Record<string, string>>, root: string): string {
  const rels = Object.fromEntries(
    Object.entries(entries).map(([n, e]) => [n, posix(path.relative(outDir, path.join(root, e)))]),
  );
  return [
    BANNER,
    "import { basename as __pagetrailBasename } from 'node:path';",
    "import { pathToFileURL as __pagetrailPathToFileURL } from 'node:url';",
    `const __pagetrailEntries = ${JSON.stringify(rels)};`,
    'const __pagetrailSelf = import.meta.url;',
    // The process runs `node <outDir>/<name>.mjs`: entry <name>'s module sees that file's URL.
    "const __pagetrailMain = process.argv[1] ?? '';",
    'const __pagetrailEntry = __pagetrailDirname(__pagetrailMain) === __dirname ' +
      "? __pagetrailEntries[__pagetrailBasename(__pagetrailMain, '.mjs')] : undefined;",
    'const __pagetrailModuleUrl = (rel) => (rel === __pagetrailEntry ' +
      '? __pagetrailPathToFileURL(__pagetrailMain).href : new URL(rel, __pagetrailSelf).href);',
  ].join('\n');
}

interface Group {
  names: readonly string[];
  entries: Readonly<Record<string, string>>;
  root: string;
  outDir: string;
  tmp: string;
  banner: string;
}

/** One esbuild run over `names`; lazy `import()`s and code the entries share become chunks. */
async function buildGroup(g: Group): Promise<Metafile> {
  try {
    const result = await build({
      absWorkingDir: g.root,
      entryPoints: g.names.map((n) => ({ in: path.join(g.root, g.entries[n]), out: n })),
      outdir: g.tmp,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      // Chunks are content-hashed: an identical chunk of two groups is one file.
      splitting: true,
      chunkNames: 'chunk-[hash]',
      external: BIN_EXTERNAL,
      alias: BUNDLE_ALIAS,
      // Whitespace and syntax only: stack traces keep readable function names.
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      banner: { js: g.banner },
      plugins: [moduleUrlPlugin(g.outDir)],
      metafile: true,
      logLevel: 'silent',
    });
    return result.metafile;
  } catch (cause) {
    const errors = (cause as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors ?? [];
    const detail = errors
      .map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text))
      .join('; ');
    throw new BundleError(g.names.join(','), `esbuild failed: ${detail || (cause as Error).message}`, { cause });
  }
}

/**
 * Builds the bin bundles into `outDir` (default dist/bin) — one build of the entries not built alone,
 * one of each entry built alone, in parallel — then writes the stamp and deps.mk.
 */
export async function buildBin(options: BinBuildOptions = {}): Promise<BinBuildResult> {
  const started = Date.now();
  const entries = options.entries ?? BIN_ENTRIES;
  const root = path.resolve(options.root ?? REPO_ROOT);
  const names = options.names ?? Object.keys(entries);
  const unknown = names.filter((n) => !(n in entries));
  if (unknown.length > 0)
    throw new BundleError(unknown.join(','), `unknown entry point (known: ${Object.keys(entries).join(', ')})`);
  const aloneNames = options.alone ?? BUILT_ALONE;
  const outDir = path.resolve(options.outDir ?? BIN_DIR);
  // A sibling directory (same depth: the relative source paths hold) so that a reader never sees half a file.
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const banner = binBanner(outDir, entries, root);
  const alone = names.filter((n) => aloneNames.includes(n));
  const shared = names.filter((n) => !aloneNames.includes(n));
  const groups = [...(shared.length > 0 ? [shared] : []), ...alone.map((n) => [n])];
  let metafiles: Metafile[];
  try {
    metafiles = await Promise.all(groups.map((g) => buildGroup({ names: g, entries, root, outDir, tmp, banner })));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const all = [
    ...new Set(
      metafiles.flatMap((m) => Object.keys(m.inputs)).map((p) => posix(path.relative(root, path.resolve(root, p)))),
    ),
  ];
  for (const r of RUNTIME_FILES) {
    const file = path.join(root, r.file);
    if (all.includes(r.input)) copyFileSync(file, path.join(outDir, path.basename(r.file)));
  }
  // Chunks first, then the entries that import them; then (after a full build) the chunks no entry imports any more.
  const written = [...new Set(metafiles.flatMap((m) => Object.keys(m.outputs)).map((p) => path.basename(p)))];
  const chunks = written.filter((f) => f.startsWith('chunk-'));
  for (const f of chunks) renameSync(path.join(tmp, f), path.join(outDir, f));
  const files = names.map((name) => {
    const file = path.join(outDir, `${name}.mjs`);
    renameSync(path.join(tmp, `${name}.mjs`), file);
    return { name, file, bytes: statSync(file).size };
  });
  if (options.names === undefined) {
    // Not a chunk a concurrent build wrote meanwhile (written after this one started).
    const stale = (f: string) =>
      f.startsWith('chunk-') && !chunks.includes(f) && statSync(path.join(outDir, f)).mtimeMs < started;
    for (const f of readdirSync(outDir)) if (stale(f)) rmSync(path.join(outDir, f), { force: true });
  }
  rmSync(tmp, { recursive: true, force: true });

  const inputs = all.filter((p) => !p.startsWith('node_modules/') && !p.startsWith('../')).sort();
  if (options.names === undefined) {
    // Only a build of every entry is up to date as a whole.
    const stamp = posix(path.relative(root, path.join(outDir, STAMP_FILE)));
    const prereqs = [...inputs, 'package-lock.json'];
    // Each prerequisite also gets an empty rule: a deleted source then rebuilds instead of stopping make.
    const deps =
      `${stamp}: \\\n${prereqs.map((p) => `  ${p}`).join(' \\\n')}\n\n` + `${prereqs.map((p) => `${p}:`).join('\n')}\n`;
    writeFileSync(path.join(outDir, DEPS_FILE), deps);
    writeFileSync(path.join(outDir, STAMP_FILE), `${new Date().toISOString()}\n`);
  }
  const totalBytes = written.reduce((sum, f) => sum + statSync(path.join(outDir, f)).size, 0);
  return { files, totalBytes, inputs, ms: Date.now() - started };
}
