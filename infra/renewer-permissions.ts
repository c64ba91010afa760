/**
 * The renewer function's IAM policy: one statement per concern, each as narrow as the service
 * allows. Statement ids (`Sid`) are stable so that tests and reviewers can find each one.
 */

import type { aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { ArnFormat, Aws, aws_iam as iam, type aws_kms as kms, Stack } from 'aws-cdk-lib';
import { listenerResources, recordNamePatterns } from './policy-patterns.js';
import { STATE_TABLE_ACTIONS } from './state-table.js';

/** Tags the function puts on the ACM certificates it imports. */
export const MANAGED_BY_TAG = { key: 'ManagedBy', value: 'acme-renewer' } as const;
/** Tag whose value is `<secretPrefix>/<certificate name>`: which deployment owns the import. */
export const CERTIFICATE_TAG_KEY = 'AcmeRenewerCertificate';
/** Name (below the prefix) of the first contract's journal secret, migrated to the table once. */
export const LEGACY_JOURNAL_SECRET = '_dns-journal';

/** What the policy is derived from. */
export interface RenewerPermissionsOptions {
  /** Hosted zone ids the function may change; `undefined` when any certificate uses zone discovery. */
  readonly hostedZoneIds: readonly string[] | undefined;
  /**
   * Domains whose `_acme-challenge.<domain>` record the function writes with its own role (not
   * delegated, not in a zone of `dns.zoneRoles`).
   */
  readonly domains: readonly string[];
  /**
   * Challenge delegation targets the function writes with its own role: named exactly.
   * @default - none
   */
  readonly delegationTargets?: readonly string[];
  /**
   * Roles in DNS accounts the function assumes (`dns.zoneRoles`).
   * @default - none
   */
  readonly zoneRoleArns?: readonly string[];
  /**
   * ARN of the bus the function publishes its events to.
   * @default - no events
   */
  readonly eventBusArn?: string;
  /**
   * The function looks its listeners' load balancers up to connect to them over TLS.
   * @default false
   */
  readonly verifyListeners?: boolean;
  /**
   * The function runs in a VPC: Lambda manages its network interfaces with the function's role.
   * @default false
   */
  readonly inVpc?: boolean;
  readonly secretPrefix: string;
  /** ARN of the state table (item actions only). */
  readonly stateTableArn: string;
  /** Regions the function imports certificates into (the stack's and the listeners'). */
  readonly acmRegions: readonly string[];
  readonly listenerArns: readonly string[];
  readonly encryptionKey?: kms.IKey;
  /** Secrets holding EAB HMAC keys (the primary CA's and each fallback CA's): read only. */
  readonly eabSecrets?: readonly secretsmanager.ISecret[];
}

/** Above this many characters of zone ARNs the policy names all zones (documented). */
const ZONE_BUDGET = 2000;

/** Adds the renewer's statements to `role` and returns them (in order) for inspection. */
export function grantRenewerPermissions(
  role: iam.IRole,
  options: RenewerPermissionsOptions,
): iam.PolicyStatement[] {
  const stack = Stack.of(role);
  const zoneArn = (id: string) => `arn:${Aws.PARTITION}:route53:::hostedzone/${id}`;
  let zones = options.hostedZoneIds
    ? [...new Set(options.hostedZoneIds)].map(zoneArn)
    : [zoneArn('*')];
  if (zones.reduce((n, z) => n + z.length + 3, 0) > ZONE_BUDGET) zones = [zoneArn('*')];
  const certificateArns = [...new Set(options.acmRegions)].map((region) =>
    stack.formatArn({ service: 'acm', region, resource: 'certificate', resourceName: '*' }),
  );
  const secretArn = (resourceName: string) =>
    stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  // This deployment's certificates carry AcmeRenewerCertificate=<secretPrefix>/<name>: another
  // renewer in the account (another prefix) cannot re-import or delete them, nor they its own.
  const ownCertificates = `${options.secretPrefix}/*`;
  const targets = options.delegationTargets ?? [];
  // Nothing to write with the own role (every zone is another account's): no change permission.
  const ownWrites = options.domains.length > 0 || targets.length > 0;
  const statements = [
    ...(ownWrites
      ? [
          new iam.PolicyStatement({
            sid: 'Route53ChallengeRecords',
            actions: ['route53:ChangeResourceRecordSets'],
            resources: zones,
            conditions: {
              'ForAllValues:StringLike': {
                'route53:ChangeResourceRecordSetsNormalizedRecordNames': recordNamePatterns(
                  options.domains,
                  targets,
                ),
              },
              'ForAllValues:StringEquals': {
                'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
              },
            },
          }),
        ]
      : []),
    new iam.PolicyStatement({
      sid: 'Route53ReadZones',
      actions: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
      resources: zones,
    }),
    new iam.PolicyStatement({
      sid: 'Route53GetChange',
      actions: ['route53:GetChange'],
      resources: [`arn:${Aws.PARTITION}:route53:::change/*`],
    }),
    // ListHostedZonesByName, BatchGetSecretValue, ListSecrets, the ELBv2 Describe* calls and
    // acm:ListCertificates support no resource-level permissions: "*" is the only resource IAM
    // accepts for them. ListCertificates has no resource type and no condition key in the
    // Service Authorization Reference
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscertificatemanager.html),
    // and the ACM guide lists its resource as "*"
    // (https://docs.aws.amazon.com/acm/latest/userguide/authen-apipermissions.html).
    new iam.PolicyStatement({
      sid: 'NonResourceLevelReads',
      actions: [
        'route53:ListHostedZonesByName',
        'secretsmanager:BatchGetSecretValue',
        'secretsmanager:ListSecrets',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeListenerCertificates',
        // The TLS check connects to the listener's load balancer by its DNS name.
        ...(options.verifyListeners && options.listenerArns.length > 0
          ? ['elasticloadbalancing:DescribeLoadBalancers']
          : []),
        'acm:ListCertificates',
      ],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'SecretsUnderPrefix',
      actions: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:TagResource',
      ],
      resources: [secretArn(`${options.secretPrefix}/*`)],
    }),
    // The first contract's journal secret is migrated into the state table and then deleted,
    // once: DeleteSecret on that one name only (its ARN ends in "-" and six random characters).
    new iam.PolicyStatement({
      sid: 'DeleteLegacyJournalSecret',
      actions: ['secretsmanager:DeleteSecret'],
      resources: [secretArn(`${options.secretPrefix}/${LEGACY_JOURNAL_SECRET}-??????`)],
    }),
    // Retiring a certificate ({"retire": [...]}) schedules its secret for deletion, always with
    // a recovery window: the condition key secretsmanager:RecoveryWindowInDays
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html)
    // is absent on a ForceDeleteWithoutRecovery call, so no secret under the prefix can be
    // deleted without the window (the journal secret above is the one exception).
    new iam.PolicyStatement({
      sid: 'RetireSecretsWithRecoveryWindow',
      actions: ['secretsmanager:DeleteSecret'],
      resources: [secretArn(`${options.secretPrefix}/*`)],
      conditions: { NumericGreaterThanEquals: { 'secretsmanager:RecoveryWindowInDays': 7 } },
    }),
    // Condition keys per the Service Authorization Reference for ACM
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscertificatemanager.html):
    // ImportCertificate and AddTagsToCertificate take aws:RequestTag/${TagKey} and aws:TagKeys
    // (ImportCertificate with tags also needs acm:AddTagsToCertificate); DeleteCertificate has
    // no action-level key, but its resource type `certificate` takes aws:ResourceTag/${TagKey},
    // which applies to DeleteCertificate and to a re-import (ImportCertificate with an ARN).
    // New imports must carry ManagedBy, this deployment's AcmeRenewerCertificate value, and only
    // the tool's tag keys ...
    new iam.PolicyStatement({
      sid: 'AcmImportTagged',
      actions: ['acm:ImportCertificate', 'acm:AddTagsToCertificate'],
      resources: certificateArns,
      conditions: {
        StringEquals: { [`aws:RequestTag/${MANAGED_BY_TAG.key}`]: MANAGED_BY_TAG.value },
        StringLike: { [`aws:RequestTag/${CERTIFICATE_TAG_KEY}`]: ownCertificates },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [MANAGED_BY_TAG.key, CERTIFICATE_TAG_KEY] },
      },
    }),
    // ... re-imports (which cannot carry tags) and deletes only touch this deployment's imports.
    new iam.PolicyStatement({
      sid: 'AcmReimportDeleteOwn',
      actions: ['acm:ImportCertificate', 'acm:DeleteCertificate'],
      resources: certificateArns,
      conditions: {
        StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG.key}`]: MANAGED_BY_TAG.value },
        StringLike: { [`aws:ResourceTag/${CERTIFICATE_TAG_KEY}`]: ownCertificates },
      },
    }),
    new iam.PolicyStatement({
      sid: 'AcmRead',
      actions: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      resources: certificateArns,
    }),
    // Retiring a certificate removed from the configuration ({"retire": [...]}) must reach
    // where it was deployed, which the current configuration may no longer name: take it off
    // any listener of the account (removal only; the function removes only certificates its own
    // tags name), and read and delete this deployment's own imports in any region.
    new iam.PolicyStatement({
      sid: 'RetireFromListeners',
      actions: ['elasticloadbalancing:RemoveListenerCertificates'],
      resources: ['app', 'net'].map(
        (type) => `arn:${Aws.PARTITION}:elasticloadbalancing:*:${stack.account}:listener/${type}/*`,
      ),
    }),
    new iam.PolicyStatement({
      sid: 'RetireOwnAcmAnyRegion',
      actions: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate', 'acm:DeleteCertificate'],
      resources: [`arn:${Aws.PARTITION}:acm:*:${stack.account}:certificate/*`],
      conditions: {
        StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG.key}`]: MANAGED_BY_TAG.value },
        StringLike: { [`aws:ResourceTag/${CERTIFICATE_TAG_KEY}`]: ownCertificates },
      },
    }),
    // Item actions on the one table; no table management, no other table, no index (it has none).
    new iam.PolicyStatement({
      sid: 'StateTable',
      actions: [...STATE_TABLE_ACTIONS],
      resources: [options.stateTableArn],
    }),
  ];
  if (options.listenerArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ListenerCertificates',
        actions: [
          'elasticloadbalancing:ModifyListener',
          'elasticloadbalancing:AddListenerCertificates',
          'elasticloadbalancing:RemoveListenerCertificates',
        ],
        resources: listenerResources(options.listenerArns),
      }),
    );
  }
  if (options.encryptionKey) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'SecretsKmsKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [options.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` },
        },
      }),
    );
  }
  if (options.eventBusArn !== undefined) {
    // PutEvents' resource is the event bus
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_eventbridge.html).
    statements.push(
      new iam.PolicyStatement({
        sid: 'PublishEvents',
        actions: ['events:PutEvents'],
        resources: [options.eventBusArn],
      }),
    );
  }
  const roleArns = [...new Set(options.zoneRoleArns ?? [])];
  if (roleArns.length > 0) {
    // The external ID is checked by the trust policy in the DNS account (sts:ExternalId is a
    // condition key of the role's trust policy), not here: here only which roles.
    statements.push(
      new iam.PolicyStatement({
        sid: 'AssumeDnsZoneRoles',
        actions: ['sts:AssumeRole'],
        resources: roleArns,
      }),
    );
  }
  if (options.inVpc) {
    // CDK attaches AWSLambdaVPCAccessExecutionRole only to a role it creates for the function;
    // this role is our own, so its ENI actions (without that policy's logs:* on every log group)
    // are granted here. Lambda's guide: ec2:DescribeNetworkInterfaces "only works if it's allowed
    // on all resources" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html;
    // the managed policy: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html).
    statements.push(
      new iam.PolicyStatement({
        sid: 'VpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
  }
  for (const statement of statements) role.addToPrincipalPolicy(statement);
  for (const secret of options.eabSecrets ?? []) secret.grantRead(role);
  return statements;
}
