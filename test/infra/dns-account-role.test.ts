/** The DNS account's side of `zoneRoles`: the role a renewer in another account assumes. */
import { App, aws_route53 as route53, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DnsZoneAccessRole } from '../../infra/index.js';

const RENEWER_ROLE = 'arn:aws:iam::111122223333:role/AcmeRenewer-RenewerServiceRole-ABC';

function synth(extra: { recordNames?: string[]; roleName?: string } = {}) {
  const app = new App();
  const stack = new Stack(app, 'Dns', { env: { account: '444455556666', region: 'us-east-1' } });
  const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
    hostedZoneId: 'Z0DNSACCOUNT1',
    zoneName: 'corp.example.net',
  });
  const access = new DnsZoneAccessRole(stack, 'AcmeDns', {
    trustedRoleArn: RENEWER_ROLE,
    externalId: 'ext-1',
    hostedZones: [zone, '/hostedzone/Z0DNSACCOUNT2'],
    ...extra,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stack, access, template: Template.fromStack(stack) };
}

describe('DnsZoneAccessRole', () => {
  it("trusts the renewer's role only, with the external ID", () => {
    const { template } = synth({ roleName: 'acme-dns' });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'acme-dns',
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { AWS: RENEWER_ROLE },
            Condition: { StringEquals: { 'sts:ExternalId': 'ext-1' } },
          },
        ],
      },
    });
  });

  it('changes only TXT challenge records in the given zones, and reads and finds zones', () => {
    const { stack, template } = synth();
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0] as {
      Properties: { Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[] };
    };
    const document = stack.resolve(role.Properties.Policies[0]?.PolicyDocument);
    const zones = [
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0DNSACCOUNT1'],
        ],
      },
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0DNSACCOUNT2'],
        ],
      },
    ];
    expect(document.Statement).toEqual([
      {
        Sid: 'ChallengeRecords',
        Effect: 'Allow',
        Action: 'route53:ChangeResourceRecordSets',
        Resource: zones,
        Condition: {
          'ForAllValues:StringLike': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
          },
          'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
        },
      },
      {
        Sid: 'ReadZones',
        Effect: 'Allow',
        Action: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
        Resource: zones,
      },
      {
        Sid: 'GetChange',
        Effect: 'Allow',
        Action: 'route53:GetChange',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::change/*']] },
      },
      {
        Sid: 'FindZones',
        Effect: 'Allow',
        Action: 'route53:ListHostedZonesByName',
        Resource: '*',
      },
    ]);
  });

  it('takes the delegation targets as record names', () => {
    const { template } = synth({ recordNames: ['partner.acme.corp.example.net'] });
    template.hasResourceProperties('AWS::IAM::Role', {
      Policies: [
        Match.objectLike({
          PolicyDocument: Match.objectLike({
            Statement: Match.arrayWith([
              Match.objectLike({
                Condition: Match.objectLike({
                  'ForAllValues:StringLike': {
                    'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
                      'partner.acme.corp.example.net',
                    ],
                  },
                }),
              }),
            ]),
          }),
        }),
      ],
    });
  });

  it('passes cdk-nag (its wildcards are acknowledged) and refuses an empty zone list', () => {
    // Template.fromStack ran the AwsSolutions checks: an unacknowledged finding throws.
    expect(() => synth()).not.toThrow();
    const stack = new Stack(new App(), 'Empty');
    expect(
      () =>
        new DnsZoneAccessRole(stack, 'R', {
          trustedRoleArn: RENEWER_ROLE,
          externalId: 'ext-1',
          hostedZones: [],
        }),
    ).toThrow(/hostedZones must list at least one hosted zone/);
  });
});
