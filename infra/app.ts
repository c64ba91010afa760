/**
 * CDK app (cdk.json: `npx tsx infra/app.ts`). Reads the configuration from the CDK context,
 * builds the renewer stack, and checks it with cdk-nag's AwsSolutions rules: an unacknowledged
 * finding fails `cdk synth` / `cdk deploy`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context.js';
import { RenewerStack } from './renewer-stack.js';

const app = new App();
const { id, props } = stackPropsFromContext(app.node);
new RenewerStack(app, id, props);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
