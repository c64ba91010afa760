/**
 * CDK app (cdk.json: `npx tsx infra/app.ts`). Reads the configuration from the CDK context,
 * builds the renewer stack, and checks it with cdk-nag's AwsSolutions rules: an unacknowledged
 * finding fails `cdk synth` / `cdk deploy`.
 *
 * A bad configuration or deployment context is the operator's mistake, not a crash: its list of
 * problems goes to stderr, without a stack trace, and the app exits with 1. Bugs (TypeError and
 * the like) still show their stack.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lambda/config.js';
import { stackPropsFromContext } from './context.js';
import { RenewerStack } from './renewer-stack.js';

/**
 * Whether an error thrown while building the stack reports a user mistake: a ConfigError, a
 * plain `Error` (what CertificateRenewer throws for a setting it refuses), or CDK's own
 * ValidationError. Subclasses such as TypeError or RangeError are bugs.
 */
function isUserError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if (error instanceof ConfigError) return true;
  return Object.getPrototypeOf(error) === Error.prototype || error.name === 'ValidationError';
}

function build(app: App): boolean {
  try {
    const { id, props } = stackPropsFromContext(app.node);
    new RenewerStack(app, id, props);
    return true;
  } catch (error) {
    if (!isUserError(error)) throw error;
    process.stderr.write(`acme-renewer: cannot synthesize the stack.\n${error.message}\n`);
    process.exitCode = 1;
    return false;
  }
}

const app = new App();
if (build(app)) {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}
