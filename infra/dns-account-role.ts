/**
 * `DnsZoneAccessRole`: the role a DNS account creates so that a renewer in another (workload)
 * account can write its DNS-01 challenge records into that account's hosted zones
 * (`dns.zoneRoles` / `CertificateRenewerProps.zoneRoles` on the renewer side).
 */
import { Aws, aws_iam as iam, type aws_route53 as route53, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Props of {@link DnsZoneAccessRole}. */
export interface DnsZoneAccessRoleProps {
  /**
   * ARN of the renewer function's role in the workload account (`CertificateRenewer.role.roleArn`,
   * copied as a string: it is another account's).
   */
  readonly trustedRoleArn: string;
  /** The external ID the renewer sends (`zoneRoles[zone].externalId`); required by the trust policy. */
  readonly externalId: string;
  /** The hosted zones the renewer may write challenge records in. */
  readonly hostedZones: (route53.IHostedZone | string)[];
  /**
   * Record names (`StringLike` patterns, lower case, no trailing dot) the renewer may change;
   * add the challenge delegation targets that live in these zones.
   * @default ['_acme-challenge.*'] - every `_acme-challenge` name in the zones
   */
  readonly recordNames?: string[];
  /**
   * Name of the role, so the workload account can be given its ARN before it exists.
   * @default - a name CloudFormation generates
   */
  readonly roleName?: string;
}

/** The statements a DNS account role needs: TXT challenge records in the given zones only. */
export function dnsZoneAccessStatements(
  zoneArns: readonly string[],
  recordNames: readonly string[],
): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ChallengeRecords',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: [...zoneArns],
      conditions: {
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [...recordNames],
        },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      },
    }),
    new iam.PolicyStatement({
      sid: 'ReadZones',
      actions: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
      resources: [...zoneArns],
    }),
    new iam.PolicyStatement({
      sid: 'GetChange',
      actions: ['route53:GetChange'],
      resources: [`arn:${Aws.PARTITION}:route53:::change/*`],
    }),
    // ListHostedZonesByName has no resource-level permissions: "*" is the only resource IAM
    // accepts (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html).
    new iam.PolicyStatement({
      sid: 'FindZones',
      actions: ['route53:ListHostedZonesByName'],
      resources: ['*'],
    }),
  ];
}

/** The trust policy statement: the renewer's role, with the external ID. */
export function dnsZoneTrustStatement(
  trustedRoleArn: string,
  externalIds: readonly string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['sts:AssumeRole'],
    principals: [new iam.ArnPrincipal(trustedRoleArn)],
    conditions: {
      StringEquals: { 'sts:ExternalId': externalIds.length === 1 ? externalIds[0] : externalIds },
    },
  });
}

/**
 * A role in the DNS account that the renewer (in another account) assumes to write its TXT
 * challenge records: trusted by the renewer's role only, with the external ID, and allowed to
 * change TXT records of the given names in the given zones only.
 */
export class DnsZoneAccessRole extends Construct {
  /** The role; give its ARN to the renewer as `zoneRoles[zone].roleArn`. */
  public readonly role: iam.Role;
  /** ARN of the role. */
  public readonly roleArn: string;

  constructor(scope: Construct, id: string, props: DnsZoneAccessRoleProps) {
    super(scope, id);
    if (props.hostedZones.length === 0) {
      throw new Error('DnsZoneAccessRole: hostedZones must list at least one hosted zone');
    }
    const recordNames = props.recordNames ?? ['_acme-challenge.*'];
    if (recordNames.length === 0) {
      throw new Error(
        'DnsZoneAccessRole: recordNames must list at least one name (or be left out for _acme-challenge.*)',
      );
    }
    const zoneArns = props.hostedZones.map((zone) =>
      typeof zone === 'string'
        ? `arn:${Aws.PARTITION}:route53:::hostedzone/${zone.replace(/^\/hostedzone\//, '')}`
        : zone.hostedZoneArn,
    );
    // AssumeRole with an external ID: the trust policy's sts:ExternalId condition
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ArnPrincipal(props.trustedRoleArn).withConditions({
        StringEquals: { 'sts:ExternalId': props.externalId },
      }),
      description: 'acme-renewer: DNS-01 challenge records for a renewer in another account',
      ...(props.roleName === undefined ? {} : { roleName: props.roleName }),
      inlinePolicies: {
        ChallengeRecords: new iam.PolicyDocument({
          statements: dnsZoneAccessStatements(zoneArns, recordNames),
        }),
      },
    });
    this.roleArn = this.role.roleArn;
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'route53:ListHostedZonesByName supports no resource-level permissions (Service Authorization Reference): IAM only accepts "*".',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]',
      reason:
        'Change ids are created at run time by ChangeResourceRecordSets; route53 change ARNs cannot be known in advance.',
    });
  }
}
