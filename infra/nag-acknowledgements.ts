/**
 * Acknowledgements of cdk-nag AwsSolutions findings on the renewer, each with the reason the
 * finding is intended. They use aws-cdk-lib's `Validations` (cdk-nag 3 reads them), so the
 * construct does not depend on cdk-nag. IAM5 findings are acknowledged one resource at a time,
 * computed from the statements actually granted: a new wildcard is a new, unacknowledged finding.
 */
import { type aws_iam as iam, Stack, type aws_sqs as sqs, Validations } from 'aws-cdk-lib';

/** Why each statement (by Sid) needs a wildcard resource. */
const WILDCARD_REASONS: Record<string, string> = {
  Route53ChallengeRecords:
    'All hosted zones only when a certificate has no hostedZoneId or delegates a challenge (zone discovery); changes stay limited by conditions to TXT records with the configured _acme-challenge names and the exact delegation target names.',
  Route53ReadZones:
    'All hosted zones only when a certificate has no hostedZoneId (zone discovery).',
  Route53GetChange:
    'Change ids are created at run time by ChangeResourceRecordSets; route53 change ARNs cannot be known in advance.',
  NonResourceLevelReads:
    'route53:ListHostedZonesByName, secretsmanager:BatchGetSecretValue/ListSecrets, elasticloadbalancing:Describe* (listeners, listener certificates, load balancers) and acm:ListCertificates support no resource-level permissions (Service Authorization Reference): IAM only accepts "*".',
  SecretsUnderPrefix:
    'Secrets are created at run time as <secretPrefix>/<certificate name> with a random suffix: the prefix is the narrowest ARN possible.',
  AcmImportTagged:
    "Imported certificate ARNs are created at run time; new imports must carry ManagedBy=acme-renewer, AcmeRenewerCertificate=<secretPrefix>/* and only the tool's tag keys (aws:RequestTag, aws:TagKeys).",
  AcmReimportDeleteOwn:
    "Re-import and delete are limited to certificates tagged ManagedBy=acme-renewer and AcmeRenewerCertificate=<secretPrefix>/* (aws:ResourceTag), i.e. this deployment's own imports; their ARNs are created at run time.",
  AcmRead:
    'Describe/ListTags of certificates whose ARNs are created at run time, in the regions used only.',
  RetireFromListeners:
    'A retired certificate is removed from the listeners it was deployed to, which the current configuration may no longer name; removal only (never add or modify), and the function removes only certificates carrying its own ownership tags.',
  RetireOwnAcmAnyRegion:
    "A retired certificate's ACM imports may be in regions the current configuration no longer uses; limited to certificates tagged ManagedBy=acme-renewer and AcmeRenewerCertificate=<secretPrefix>/* (aws:ResourceTag).",
  VpcNetworkInterfaces:
    'Lambda creates and deletes the network interfaces of a function in a VPC with the function role; ec2:DescribeNetworkInterfaces only works on "*" (Lambda Developer Guide, configuration-vpc); the actions are those of AWSLambdaVPCAccessExecutionRole without its logs:* on every log group.',
  ListenerCertificates:
    'Listener ARNs are the configured ones; only when they exceed the IAM policy size budget are they widened to their load balancers (or account and region).',
};

/** Flattens a resolved CloudFormation value the way cdk-nag names IAM5 findings. */
export function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\${/g, '<').replace(/}/g, '>');
  const value = node as Record<string, unknown>;
  if (Array.isArray(value['Fn::Join'])) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (Array.isArray(value['Fn::GetAtt'])) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (value['Fn::Sub'] !== undefined) return flatten(value['Fn::Sub']);
  if (value['Fn::ImportValue'] !== undefined) return flatten(value['Fn::ImportValue']);
  if (value.Ref !== undefined) return `<${flatten(value.Ref)}>`;
  return JSON.stringify(node);
}

/** Acknowledges the intended findings on the renewer's role and failure queue. */
export function acknowledgeRenewerFindings(
  role: iam.IRole,
  statements: readonly iam.PolicyStatement[],
  failureQueue: sqs.IQueue,
): void {
  const stack = Stack.of(role);
  const reasons = new Map<string, string[]>();
  for (const statement of statements) {
    const reason = WILDCARD_REASONS[statement.sid ?? ''] ?? 'See infra/README.md, "IAM".';
    for (const resource of statement.resources) {
      const flat = flatten(stack.resolve(resource));
      if (!flat.includes('*')) continue;
      const list = reasons.get(flat) ?? [];
      if (!list.includes(reason)) list.push(reason);
      reasons.set(flat, list);
    }
  }
  for (const [resource, list] of reasons) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason: list.join(' '),
    });
  }
  Validations.of(failureQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      "This queue is itself the dead-letter (on-failure) destination of the function's asynchronous invocations; a DLQ of a DLQ adds nothing.",
  });
}
