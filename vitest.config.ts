import { defineConfig } from 'vitest/config';

const EXCLUDE = ['**/node_modules/**', '**/.data/**', '**/.cache/**', '**/cdk.out/**', '**/dist/**'];

/**
 * Tests that start something — the local engines (kinesalite, s3rver, dynalite), DuckDB, child
 * processes, HTTP servers on real sockets, esbuild bundles, a CDK synthesis — form the `integration`
 * project, with minute-long timeouts. The crash tests (SIGKILLs at every step boundary) have their own.
 * Everything else runs in-process in milliseconds: the `unit` project (`make test-unit`), whose short
 * timeout catches a test that started to wait on something real.
 */
const INTEGRATION = [
  'test/**/*.test.ts',
  'infra/{cdk,lambda,local,deploy}/**/*.test.ts',
  'platform/aws.test.ts', // SDK deadlines against silent sockets
  'processors/lake/parquet.test.ts', // DuckDB reads the written bytes back
  'processors/paging/{deadlines,ledger}.test.ts', // dynalite, the Scheduler emulator
  'shared/ack-codes.test.ts', // dynalite
  'schemas/views.test.ts', // DuckDB
  'analysis/query/{command,dialect}.test.ts', // DuckDB, s3rver
  'analysis/report/incident-cli.test.ts', // DuckDB, s3rver
  'analysis/report/data.test.ts', // DuckDB
];
const CRASH = ['test/paging/crash-matrix.test.ts', 'test/lake/two-writers.test.ts'];

export default defineConfig({
  test: {
    exclude: EXCLUDE,
    teardownTimeout: 30_000,
    pool: 'forks',
    // The local engines accept any credentials; never let a test reach for real ones.
    env: {
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    // The SDK emits its Node-version notice as a plain 'Warning' (the env var above silences it);
    // this covers any later release that gives it its own type.
    execArgv: ['--disable-warning=NodeVersionSupportWarning'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          // One module graph per worker for the whole project: imports dominate these files' time.
          isolate: false,
          exclude: [...EXCLUDE, ...INTEGRATION],
          testTimeout: 10_000,
          hookTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          exclude: [...EXCLUDE, ...CRASH],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      { extends: true, test: { name: 'crash', include: CRASH, testTimeout: 300_000, hookTimeout: 60_000 } },
    ],
  },
});
