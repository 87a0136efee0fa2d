/**
 * The CDK app: `npx cdk synth` (make synth) / `npx cdk deploy` (make deploy); cdk.json runs
 * `node --import tsx infra/cdk/app.ts`. Settings come from context (see context.ts).
 */
import { App } from 'aws-cdk-lib';
import { stackPropsFromContext } from './context.js';
import { PagetrailStack } from './stack.js';

const app = new App();
const props = stackPropsFromContext(app);
new PagetrailStack(app, 'PagetrailStack', props);
app.synth();
