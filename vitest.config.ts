import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.data/**', '**/.cache/**', '**/cdk.out/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
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
  },
});
