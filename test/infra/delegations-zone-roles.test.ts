/**
 * Issue 11 on the CDK side: challenge delegations, zones in other accounts (zone roles), more
 * ACM regions, events, TLS verification and the VPC: the props reach the function's
 * configuration and the IAM policy names exactly what the function needs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, aws_ec2 as ec2, aws_events as events, Validations } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { CertificateRenewerProps } from '../../infra/certificate-renewer.js';
import { OUTPUT_VALUE_LIMIT } from '../../infra/dns-account-outputs.js';
import {
  ACCOUNT,
  basicProps,
  functionEnvironment,
  listenerArn,
  REGION,
  type Synthesized,
  statement,
  statements,
  synthRenewer,
} from './helpers.js';

const DNS_ROLE = 'arn:aws:iam::444455556666:role/acme-dns';
const OTHER_ROLE = 'arn:aws:iam::777788889999:role/acme-dns-2';
const ACM = (region: string) => `arn:<AWS::Partition>:acm:${region}:${ACCOUNT}:certificate/*`;
const NAMES = 'route53:ChangeResourceRecordSetsNormalizedRecordNames';

/** A customer's domain delegated to our zone, one of ours, and two zones in DNS accounts. */
const crossAccountProps: CertificateRenewerProps = {
  ...basicProps,
  zoneRoles: {
    'corp.example.net': { roleArn: DNS_ROLE, externalId: 'ext-1' },
    'Shop.Example.ORG.': { roleArn: OTHER_ROLE, externalId: 'ext-2' },
  },
  certificates: [
    {
      name: 'customer',
      domains: ['Customer.example.io', '*.customer.example.io', 'www.example.com'],
      challengeDelegations: {
        '*.customer.example.io': 'customer-example-io.acme.example.com.',
      },
      regions: ['us-east-1'],
    },
    {
      name: 'corp',
      domains: ['corp.example.net', 'app.corp.example.net', 'shop.example.org'],
      listeners: [{ listenerArn: listenerArn(1, 1) }],
    },
    {
      // Delegated into a zone of a DNS account: that role writes the target.
      name: 'partner',
      domains: ['partner.example.co'],
      challengeDelegations: { 'partner.example.co': 'partner.acme.corp.example.net' },
    },
  ],
};

function shippedConfig(s: Synthesized) {
  return JSON.parse(functionEnvironment(s).RENEWER_CONFIG ?? '');
}

describe('CertificateRenewer challenge delegations and zone roles', () => {
  const s = synthRenewer(crossAccountProps);

  it('passes delegations, regions and zone roles into RENEWER_CONFIG', () => {
    const shipped = shippedConfig(s);
    expect(shipped.certificates[0]).toMatchObject({
      regions: ['us-east-1'],
      challengeDelegations: { 'customer.example.io': 'customer-example-io.acme.example.com' },
    });
    expect(shipped.dns.zoneRoles).toEqual({
      'corp.example.net': { roleArn: DNS_ROLE, externalId: 'ext-1' },
      'shop.example.org': { roleArn: OTHER_ROLE, externalId: 'ext-2' },
    });
    expect(shipped).toEqual(s.renewer.config);
  });

  it("names the delegation target exactly and neither the customer's _acme-challenge name nor other accounts' names", () => {
    const change = statement(s, 'Route53ChallengeRecords');
    // The delegation target's zone is found by discovery.
    expect(change.Resource).toEqual(['arn:<AWS::Partition>:route53:::hostedzone/*']);
    expect(change.Condition).toEqual({
      'ForAllValues:StringLike': {
        [NAMES]: ['_acme-challenge.www.example.com', 'customer-example-io.acme.example.com'],
      },
      'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
    });
  });

  it('may assume exactly the zone roles, nothing else', () => {
    expect(statement(s, 'AssumeDnsZoneRoles')).toEqual({
      Effect: 'Allow',
      Action: ['sts:AssumeRole'],
      Resource: [DNS_ROLE, OTHER_ROLE],
    });
    const assumers = statements(s).filter((st) => JSON.stringify(st.Action).includes('sts:'));
    expect(assumers.map((st) => st.Sid)).toEqual(['AssumeDnsZoneRoles']);
  });

  it('imports into the further regions too', () => {
    expect(statement(s, 'AcmImportTagged').Resource).toEqual([ACM(REGION), ACM('us-east-1')]);
    expect(statement(s, 'AcmRead').Resource).toEqual([ACM(REGION), ACM('us-east-1')]);
  });

  it("prints each DNS account role's trust and permission policies, within the output limit", () => {
    const outputs = s.template.toJSON().Outputs as Record<
      string,
      { Value: unknown; Description: string }
    >;
    const ids = Object.keys(outputs).filter((id) => id.includes('DnsAccountPolicies'));
    expect(ids).toHaveLength(2);
    const texts = ids.map((id) => {
      const value = s.stack.resolve(outputs[id]?.Value) as { 'Fn::Join': [string, unknown[]] };
      // The function role's ARN is the one reference; render it as a deployed ARN would be.
      const [, parts] = value['Fn::Join'];
      return parts
        .map((p) =>
          typeof p === 'string' ? p : `arn:aws:iam::${ACCOUNT}:role/Test-RenewerServiceRole-ABC`,
        )
        .join('');
    });
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(OUTPUT_VALUE_LIMIT);
    const [first, second] = texts.map((t) => JSON.parse(t));
    expect(first).toMatchObject({ roleArn: DNS_ROLE, zones: ['corp.example.net'] });
    expect(first.trustPolicy.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/Test-RenewerServiceRole-ABC` },
        Condition: { StringEquals: { 'sts:ExternalId': 'ext-1' } },
      },
    ]);
    const change = first.permissionPolicy.Statement.find(
      (st: { Sid: string }) => st.Sid === 'ChallengeRecords',
    );
    expect(change).toMatchObject({
      Action: 'route53:ChangeResourceRecordSets',
      Condition: {
        'ForAllValues:StringLike': {
          [NAMES]: [
            '_acme-challenge.app.corp.example.net',
            '_acme-challenge.corp.example.net',
            'partner.acme.corp.example.net',
          ],
        },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      },
    });
    expect(
      first.permissionPolicy.Statement.map((st: { Sid: string; Action: unknown }) => [
        st.Sid,
        st.Action,
      ]),
    ).toEqual([
      ['ChallengeRecords', 'route53:ChangeResourceRecordSets'],
      ['ReadZones', ['route53:GetHostedZone', 'route53:ListResourceRecordSets']],
      ['GetChange', 'route53:GetChange'],
      ['FindZones', 'route53:ListHostedZonesByName'],
    ]);
    expect(second).toMatchObject({ roleArn: OTHER_ROLE, zones: ['shop.example.org'] });
    expect(second.trustPolicy.Statement[0].Condition).toEqual({
      StringEquals: { 'sts:ExternalId': 'ext-2' },
    });
  });

  it('grants no own Route 53 change when every challenge is in another account, and no output without zone roles', () => {
    const only = synthRenewer({
      zoneRoles: { 'example.com': { roleArn: DNS_ROLE, externalId: 'ext-1' } },
      certificates: [{ name: 'www', domains: ['www.example.com'] }],
    });
    expect(statements(only).map((st) => st.Sid)).not.toContain('Route53ChallengeRecords');
    expect(statement(only, 'AssumeDnsZoneRoles').Resource).toEqual([DNS_ROLE]);
    const plain = synthRenewer(basicProps);
    expect(
      Object.keys(plain.template.toJSON().Outputs ?? {}).filter((id) =>
        id.includes('DnsAccountPolicies'),
      ),
    ).toEqual([]);
    expect(statements(plain).map((st) => st.Sid)).not.toContain('AssumeDnsZoneRoles');
  });

  it('is accepted by cdk-nag without new findings', () => {
    const nagged = synthRenewer(crossAccountProps, { nag: true });
    nagged.app.synth();
    const report = JSON.parse(
      readFileSync(join(nagged.outdir, 'validation-report.json'), 'utf8'),
    ) as { pluginReports: { violations: { ruleName: string }[] }[] };
    expect(report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName))).toEqual([]);
  });
});

describe('CertificateRenewer events', () => {
  it('publishes to the default bus by default', () => {
    const s = synthRenewer(basicProps);
    expect(statement(s, 'PublishEvents')).toEqual({
      Effect: 'Allow',
      Action: ['events:PutEvents'],
      Resource: [`arn:<AWS::Partition>:events:${REGION}:${ACCOUNT}:event-bus/default`],
    });
    expect(shippedConfig(s).events).toEqual({ enabled: true, busName: 'default' });
  });

  it('publishes to the given bus only: by name for an imported one, by ARN for a new one', () => {
    const imported = synthRenewer((stack) => ({
      ...basicProps,
      events: { bus: events.EventBus.fromEventBusName(stack, 'Bus', 'certificates') },
    }));
    expect(statement(imported, 'PublishEvents').Resource).toEqual([
      `arn:<AWS::Partition>:events:${REGION}:${ACCOUNT}:event-bus/certificates`,
    ]);
    expect(shippedConfig(imported).events.busName).toBe('certificates');

    const arn = 'arn:aws:events:us-east-1:999988887777:event-bus/central';
    const remote = synthRenewer((stack) => ({
      ...basicProps,
      events: { bus: events.EventBus.fromEventBusArn(stack, 'Bus', arn) },
    }));
    expect(statement(remote, 'PublishEvents').Resource).toEqual([arn]);
    expect(shippedConfig(remote).events.busName).toBe(arn);

    const own = synthRenewer((stack) => ({
      ...basicProps,
      events: { bus: new events.EventBus(stack, 'Bus') },
    }));
    const busId = Object.keys(own.template.findResources('AWS::Events::EventBus'))[0];
    expect(statement(own, 'PublishEvents').Resource).toEqual([`<${busId}.Arn>`]);
    expect(own.renewer.config.events.busName).toBe(own.renewer.eventBusArn);
  });

  it('grants no PutEvents when events are off', () => {
    const s = synthRenewer({ ...basicProps, events: { enabled: false } });
    expect(statements(s).map((st) => st.Sid)).not.toContain('PublishEvents');
    expect(statements(s).filter((st) => JSON.stringify(st.Action).includes('events:'))).toEqual([]);
    expect(shippedConfig(s).events.enabled).toBe(false);
  });
});

describe('CertificateRenewer TLS verification and VPC', () => {
  it('passes verify settings and looks the load balancers up only when it verifies listeners', () => {
    const on = synthRenewer({ ...basicProps, verify: { interval: Duration.hours(6) } });
    expect(shippedConfig(on).verify).toEqual({ enabled: true, intervalHours: 6 });
    expect(statement(on, 'NonResourceLevelReads').Action).toContain(
      'elasticloadbalancing:DescribeLoadBalancers',
    );
    const off = synthRenewer({ ...basicProps, verify: { enabled: false } });
    expect(shippedConfig(off).verify).toEqual({ enabled: false, intervalHours: 24 });
    expect(statement(off, 'NonResourceLevelReads').Action).not.toContain(
      'elasticloadbalancing:DescribeLoadBalancers',
    );
  });

  it('places the function in the VPC with RENEWER_IN_VPC and the ENI permissions', () => {
    const s = synthRenewer(
      (stack) => {
        const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
        // The fixture VPC has no flow log; that is the VPC owner's concern, not the renewer's.
        Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'test fixture' });
        return {
          ...basicProps,
          vpc,
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          securityGroups: [new ec2.SecurityGroup(stack, 'Sg', { vpc })],
        };
      },
      { nag: true },
    );
    expect(functionEnvironment(s).RENEWER_IN_VPC).toBe('true');
    const fn = Object.values(s.json.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    const vpcConfig = fn?.Properties.VpcConfig as {
      SubnetIds: unknown[];
      SecurityGroupIds: unknown[];
    };
    expect(vpcConfig.SubnetIds).toHaveLength(2);
    expect(JSON.stringify(vpcConfig.SecurityGroupIds)).toMatch(/"Sg[0-9A-F]+"/);
    expect(statement(s, 'VpcNetworkInterfaces')).toEqual({
      Effect: 'Allow',
      Action: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: ['*'],
    });
    // Still no AWS managed policy (AWSLambdaVPCAccessExecutionRole would grant logs:* on all groups).
    const roles = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::IAM::Role');
    expect(roles.map((r) => r.Properties.ManagedPolicyArns)).toEqual([undefined]);
    s.app.synth();
    const report = JSON.parse(readFileSync(join(s.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    expect(report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName))).toEqual([]);
    const plain = synthRenewer(basicProps);
    expect(functionEnvironment(plain)).not.toHaveProperty('RENEWER_IN_VPC');
  });
});
