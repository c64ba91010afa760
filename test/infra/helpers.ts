/** Shared fixtures for the infra tests: synthesize the construct and read what matters. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  CertificateRenewer,
  type CertificateRenewerProps,
} from '../../infra/certificate-renewer.js';
import { flatten } from '../../infra/nag-acknowledgements.js';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';

/** A listener ARN in `region` on load balancer number `lb`. */
export function listenerArn(lb: number, listener: number, region = REGION): string {
  const hex = (n: number) => n.toString(16).padStart(16, '0');
  return `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:listener/app/lb${lb}/${hex(lb + 1)}/${hex(listener + 1)}`;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly renewer: CertificateRenewer;
  readonly template: Template;
  readonly json: {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  readonly outdir: string;
}

/** Synthesizes a stack with one renewer (optionally customised before synthesis). */
export function synthRenewer(
  props: CertificateRenewerProps | ((stack: Stack) => CertificateRenewerProps),
  options: { nag?: boolean; env?: boolean } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'acme-renewer-infra-'));
  const app = new App({ outdir });
  const stack = new Stack(
    app,
    'Test',
    options.env === false ? {} : { env: { account: ACCOUNT, region: REGION } },
  );
  const renewer = new CertificateRenewer(
    stack,
    'Renewer',
    typeof props === 'function' ? props(stack) : props,
  );
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const template = Template.fromStack(stack);
  return { app, stack, renewer, template, json: template.toJSON() as Synthesized['json'], outdir };
}

/** The resources of one type. */
export function resourcesOf(s: Synthesized, type: string): Record<string, unknown>[] {
  return Object.values(s.json.Resources)
    .filter((r) => r.Type === type)
    .map((r) => r.Properties);
}

type Statement = {
  Sid?: string;
  Action: unknown;
  Resource: unknown;
  Condition?: unknown;
  Effect: string;
};

/**
 * Every statement of the renewer role's policies: the inline policy and, when CDK's size
 * estimate (150 characters per token ARN) splits it, the overflow managed policies.
 */
export function statements(s: Synthesized): Statement[] {
  return [
    ...resourcesOf(s, 'AWS::IAM::Policy'),
    ...resourcesOf(s, 'AWS::IAM::ManagedPolicy'),
  ].flatMap((p) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** One statement by Sid, with resources flattened (`arn:<AWS::Partition>:...`) and as arrays. */
export function statement(s: Synthesized, sid: string) {
  const found = statements(s).filter((st) => st.Sid === sid);
  if (found.length !== 1) throw new Error(`expected one statement ${sid}, found ${found.length}`);
  const st = found[0] as Statement;
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]);
  return {
    Effect: st.Effect,
    Action: list(st.Action),
    Resource: list(st.Resource).map(flatten),
    ...(st.Condition === undefined ? {} : { Condition: st.Condition }),
  };
}

/** The renewer function's environment variables. */
export function functionEnvironment(s: Synthesized): Record<string, string> {
  const fns = resourcesOf(s, 'AWS::Lambda::Function');
  const fn = fns[0] as { Environment: { Variables: Record<string, string> } };
  return fn.Environment.Variables;
}

/** A small valid configuration. */
export const basicProps: CertificateRenewerProps = {
  email: 'ops@example.com',
  certificates: [
    {
      name: 'www',
      domains: ['example.com', '*.example.com'],
      hostedZoneId: 'Z0123456789ABC',
      listeners: [{ listenerArn: listenerArn(1, 1) }],
    },
  ],
};
