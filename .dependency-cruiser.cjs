/**
 * The layers, bottom to top; a module may import its own layer and those below it, never one above.
 * Test code (`*.test.ts`, `*.fixtures.ts`, `testing.ts`, everything under test/) may import anything.
 *
 *   schemas/     the records, the lake's tables and keys, the on-call file: zod and types, no I/O but file reads
 *   platform/    configuration, logging, AWS and provider clients, stream writers, secrets, health
 *   shared/      contracts both sides of the stream use (ack codes and links, the incident item, the page's look)
 *   analysis/    the read side: SQL on the lake, the incident timeline, the report (the lake's schemas only)
 *   producers/   what writes onto the stream (the webhook receiver, the alarm intake); the receiver's incident API
 *                and console read the lake's history and analytics through analysis/
 *   processors/  what reads the stream (the paging and lake handlers, the Lambda Kinesis runtime)
 *   infra/       deploy and dev tooling (CDK, local stack, simulators, bundling, deploy tools): nothing imports it
 *
 * producers/ and processors/ sit side by side: neither imports the other. processors/ never imports analysis/ (the
 * paging and lake handlers do not read the lake's views), and analysis/ imports neither. Checked by `make test`
 * (test/layers.test.ts) and `make lint`.
 */
const TEST = '(\\.test\\.ts$|\\.fixtures\\.ts$|(^|/)testing\\.ts$|^test/)';
const above = {
  schemas: ['platform', 'shared', 'producers', 'processors', 'analysis', 'infra', 'test'],
  platform: ['shared', 'producers', 'processors', 'analysis', 'infra', 'test'],
  shared: ['producers', 'processors', 'analysis', 'infra', 'test'],
  producers: ['processors', 'infra', 'test'],
  processors: ['producers', 'analysis', 'infra', 'test'],
  analysis: ['producers', 'processors', 'infra', 'test'],
};

module.exports = {
  forbidden: [
    ...Object.entries(above).map(([layer, forbidden]) => ({
      name: `${layer}-imports-only-below`,
      comment: `${layer}/ may import only its own layer and those below it (.dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: `^${layer}/`, pathNot: TEST },
      to: { path: `^(${forbidden.join('|')})/` },
    })),
    {
      name: 'no-circular',
      comment: 'a cycle between modules hides which one owns the step (a type-only import closes none)',
      severity: 'error',
      from: { pathNot: TEST },
      to: { circular: true, pathNot: TEST, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'a relative import that resolves to nothing (packages: tsc)',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, path: '^[.]' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|cdk\\.out|\\.data|\\.cache)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
