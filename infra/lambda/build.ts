/**
 * `make lambdas`: node --import tsx infra/lambda/build.ts [NAME ...] [--out DIR]
 *   NAME: paging, lake (default: both), receiver (the container entry, built by the Dockerfile), or
 *   paging-service, lake-service (the local services, for fast restarts in make storm).
 *   --out: output root (default dist/lambda); each bundle lands in <out>/<NAME>/index.mjs.
 *
 * `make` (any target that runs a command): node --import tsx infra/lambda/build.ts --bin [NAME ...] [--out DIR]
 *   the built entry points dist/bin/<NAME>.mjs (default: every one of infra/bin.ts), see bin-bundle.ts.
 */
import path from 'node:path';
import { BundleError } from './errors.js';
import { buildBin } from './bin-bundle.js';
import { BIN_ENTRIES, type BinName } from '../bin.js';
import {
  buildBundles,
  DEFAULT_OUT_DIR,
  LAMBDA_BUNDLES,
  LOCAL_SERVICE_BUNDLES,
  RECEIVER_BUNDLE,
  type BundleSpec,
} from './bundle.js';

const KNOWN: Record<string, BundleSpec> = { ...LAMBDA_BUNDLES, ...LOCAL_SERVICE_BUNDLES, receiver: RECEIVER_BUNDLE };

const args = process.argv.slice(2);
let outDir: string | undefined;
let bin = false;
const names: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') outDir = path.resolve(args[++i] ?? '');
  else if (args[i] === '--bin') bin = true;
  else names.push(args[i]);
}

if (bin) {
  const unknownBin = names.filter((n) => !(n in BIN_ENTRIES));
  if (unknownBin.length > 0) {
    console.error(`unknown entry point(s): ${unknownBin.join(', ')} (known: ${Object.keys(BIN_ENTRIES).join(', ')})`);
    process.exit(2);
  }
  try {
    const r = await buildBin({ outDir, names: names.length > 0 ? (names as BinName[]) : undefined });
    const mib = r.totalBytes / 1024 / 1024;
    console.log(
      `built ${r.files.length} entry points ` +
        `into ${path.relative(process.cwd(), path.dirname(r.files[0].file)) || '.'}/ ` +
        `(${mib.toFixed(1)} MiB, ${r.inputs.length} sources) in ${r.ms} ms`,
    );
    process.exit(0);
  } catch (err) {
    console.error(err instanceof BundleError ? err.message : err);
    process.exit(1);
  }
}
const wanted = names.length > 0 ? names : Object.keys(LAMBDA_BUNDLES);
const unknown = wanted.filter((n) => !(n in KNOWN));
if (unknown.length > 0) {
  console.error(`unknown bundle(s): ${unknown.join(', ')} (known: ${Object.keys(KNOWN).join(', ')})`);
  process.exit(2);
}

try {
  const built = await buildBundles({
    outDir: outDir ?? DEFAULT_OUT_DIR,
    bundles: Object.fromEntries(wanted.map((n) => [n, KNOWN[n]])),
  });
  for (const b of built) {
    const extra = b.files.length > 0 ? ` + ${b.files.join(', ')}` : '';
    console.log(
      `${path.relative(process.cwd(), b.file)}  ${(b.bytes / 1024 / 1024).toFixed(1)} MiB${extra}  ${b.ms} ms`,
    );
  }
} catch (err) {
  console.error(err instanceof BundleError ? err.message : err);
  process.exit(1);
}
