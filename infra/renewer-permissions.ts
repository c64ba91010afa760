/**
 * The renewer function's IAM policy: one statement per concern, each as narrow as the service
 * allows. Statement ids (`Sid`) are stable so that tests and reviewers can find each one.
 */

import type { aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { ArnFormat, Aws, aws_iam as iam, type aws_kms as kms, Stack } from 'aws-cdk-lib';
import { challengeRecordPatterns, listenerResources } from './policy-patterns.js';

/** Tags the function puts on the ACM certificates it imports. */
export const MANAGED_BY_TAG = { key: 'ManagedBy', value: 'acme-renewer' } as const;
export const CERTIFICATE_TAG_KEY = 'AcmeRenewerCertificate';

/** What the policy is derived from. */
export interface RenewerPermissionsOptions {
  /** Hosted zone ids the function may change; `undefined` when any certificate uses zone discovery. */
  readonly hostedZoneIds: readonly string[] | undefined;
  /** Every configured domain (the challenge record names derive from them). */
  readonly domains: readonly string[];
  readonly secretPrefix: string;
  /** Regions the function imports certificates into (the stack's and the listeners'). */
  readonly acmRegions: readonly string[];
  readonly listenerArns: readonly string[];
  readonly encryptionKey?: kms.IKey;
  readonly eabSecret?: secretsmanager.ISecret;
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
  const statements = [
    new iam.PolicyStatement({
      sid: 'Route53ChallengeRecords',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: zones,
      conditions: {
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': challengeRecordPatterns(
            options.domains,
          ),
        },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      },
    }),
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
    // ListHostedZonesByName, BatchGetSecretValue, ListSecrets and the ELBv2 Describe* calls
    // support no resource-level permissions: "*" is the only resource IAM accepts for them.
    new iam.PolicyStatement({
      sid: 'NonResourceLevelReads',
      actions: [
        'route53:ListHostedZonesByName',
        'secretsmanager:BatchGetSecretValue',
        'secretsmanager:ListSecrets',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeListenerCertificates',
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
      resources: [
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${options.secretPrefix}/*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    }),
    // New imports must carry the ManagedBy tag (and only the tool's tag keys) ...
    new iam.PolicyStatement({
      sid: 'AcmImportTagged',
      actions: ['acm:ImportCertificate', 'acm:AddTagsToCertificate'],
      resources: certificateArns,
      conditions: {
        StringEquals: { [`aws:RequestTag/${MANAGED_BY_TAG.key}`]: MANAGED_BY_TAG.value },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [MANAGED_BY_TAG.key, CERTIFICATE_TAG_KEY] },
      },
    }),
    // ... re-imports (which cannot carry tags) and deletes only touch certificates it tagged.
    new iam.PolicyStatement({
      sid: 'AcmReimportDeleteOwn',
      actions: ['acm:ImportCertificate', 'acm:DeleteCertificate'],
      resources: certificateArns,
      conditions: {
        StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG.key}`]: MANAGED_BY_TAG.value },
      },
    }),
    new iam.PolicyStatement({
      sid: 'AcmRead',
      actions: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      resources: certificateArns,
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
  for (const statement of statements) role.addToPrincipalPolicy(statement);
  options.eabSecret?.grantRead(role);
  return statements;
}
