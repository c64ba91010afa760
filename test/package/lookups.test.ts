/**
 * A CDK user's app passes zones and listeners from lookups. Until the CLI has done a lookup the
 * app sees CDK's dummy values; the construct must synthesize then (so the CLI learns what to look
 * up), and use the real values on the synth after the lookup.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  App,
  aws_elasticloadbalancingv2 as elbv2,
  aws_route53 as route53,
  Stack,
} from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CertificateRenewer } from '../../infra/index.js';
import { PENDING_HOSTED_ZONE_ID } from '../../infra/lookup-stand-ins.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const LISTENER_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2`;

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'acme-renewer-lookup-')), context });
  const stack = new Stack(app, 'Certificates', { env: { account: ACCOUNT, region: REGION } });
  const hostedZone = route53.HostedZone.fromLookup(stack, 'Zone', { domainName: 'example.com' });
  const listener = elbv2.ApplicationListener.fromLookup(stack, 'Https', {
    loadBalancerTags: { Name: 'web' },
    listenerPort: 443,
  });
  new CertificateRenewer(stack, 'Renewer', {
    certificates: [
      {
        name: 'www',
        domains: ['example.com', '*.example.com'],
        hostedZone,
        listeners: [{ listener, mode: 'default' }],
      },
    ],
  });
  const assembly = app.synth();
  const fn = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const [resource] = Object.values(fn) as {
    Properties: { Environment: { Variables: Record<string, string> } };
  }[];
  const env = resource?.Properties.Environment.Variables ?? {};
  const config = JSON.parse(env.RENEWER_CONFIG ?? '{}') as {
    certificates: { hostedZoneId: string; listeners: { arn: string }[] }[];
  };
  return { missing: assembly.manifest.missing ?? [], certificate: config.certificates[0] };
}

describe('CertificateRenewer with looked-up zones and listeners', () => {
  it('synthesizes before the lookups, with stand-ins in its own account, and reports them missing', () => {
    // Act: the CLI's first synth, with nothing in cdk.context.json
    const first = synth();
    // Assess
    expect(first.missing.map((m) => m.provider)).toEqual(
      expect.arrayContaining(['hosted-zone', 'load-balancer-listener']),
    );
    expect(first.certificate?.hostedZoneId).toBe(PENDING_HOSTED_ZONE_ID);
    expect(first.certificate?.listeners[0]?.arn).toMatch(
      new RegExp(`^arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/lookup-pending/`),
    );
  });

  it('uses the looked-up zone and listener once the context has them', () => {
    // Prepare: what the CLI writes to cdk.context.json, round by round as it does (the
    // listener's lookup leads to its security group's)
    const answers: Record<string, unknown> = {
      'hosted-zone': { Id: `/hostedzone/${ZONE_ID}`, Name: 'example.com.' },
      'load-balancer-listener': {
        listenerArn: LISTENER_ARN,
        listenerPort: 443,
        securityGroupIds: ['sg-0123456789abcdef0'],
      },
      'security-group': { securityGroupId: 'sg-0123456789abcdef0', allowAllOutbound: true },
    };
    const context: Record<string, unknown> = {};
    let second = synth(context);
    for (let round = 0; round < 3 && second.missing.length > 0; round++) {
      for (const m of second.missing) context[m.key] = answers[m.provider];
      // Act
      second = synth(context);
    }
    // Assess
    expect(second.missing).toEqual([]);
    expect(second.certificate?.hostedZoneId).toBe(ZONE_ID);
    expect(second.certificate?.listeners[0]?.arn).toBe(LISTENER_ARN);
  });
});
