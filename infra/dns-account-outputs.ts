/**
 * Stack outputs that print, per role of `zoneRoles`, the trust policy and the permission policy
 * the DNS account's role needs, as JSON an operator can paste (the function role's ARN is
 * resolved by CloudFormation). `DnsZoneAccessRole` creates the same role with CDK.
 */
import { Aws, CfnOutput, aws_iam as iam, Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ZoneRoleNeeds } from './challenge-writers.js';
import { dnsZoneAccessStatements, dnsZoneTrustStatement } from './dns-account-role.js';
import { recordNamePatterns } from './policy-patterns.js';

/**
 * Longest output value written. The CloudFormation quotas page
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html)
 * caps outputs at 200 per template and names at 255 characters but gives no figure for a
 * value; 4,096 bytes is the quota it sets for the neighbouring parameter values and descriptions,
 * and the value this stays within.
 */
export const OUTPUT_VALUE_LIMIT = 4096;
/** What an unresolved token (the function role's ARN) takes once deployed, at most. */
const TOKEN_LENGTH = 130;

/** The two documents for one role, as plain JSON (values may be tokens). */
export function dnsAccountPolicies(
  needs: ZoneRoleNeeds,
  trustedRoleArn: string,
  recordNames: readonly string[],
): { trustPolicy: unknown; permissionPolicy: unknown } {
  const document = (statements: iam.PolicyStatement[]) =>
    new iam.PolicyDocument({ statements }).toJSON();
  return {
    trustPolicy: document([dnsZoneTrustStatement(trustedRoleArn, needs.externalIds)]),
    // The zone ids are the DNS account's: any zone there, narrowed by the names condition
    // (replace hostedzone/* by the zones' ids, or use DnsZoneAccessRole).
    permissionPolicy: document(
      dnsZoneAccessStatements([`arn:${Aws.PARTITION}:route53:::hostedzone/*`], recordNames),
    ),
  };
}

/** Deployed length of a resolved value: literal parts plus TOKEN_LENGTH per reference. */
function deployedLength(resolved: unknown): number {
  if (typeof resolved === 'string') return resolved.length;
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join === undefined) return TOKEN_LENGTH;
  const [delimiter, parts] = join;
  return (
    parts.reduce<number>((n, part) => n + deployedLength(part), 0) +
    delimiter.length * Math.max(0, parts.length - 1)
  );
}

/**
 * Adds one output per role (`DnsAccountPolicies`, then `DnsAccountPolicies2`, ...), each within
 * {@link OUTPUT_VALUE_LIMIT}: the record names are merged (as in the function's own policy,
 * delegation targets last) until the text fits.
 */
export function addDnsAccountOutputs(
  scope: Construct,
  roles: readonly ZoneRoleNeeds[],
  trustedRoleArn: string,
): CfnOutput[] {
  const stack = Stack.of(scope);
  return roles.map((needs, i) => {
    const render = (names: readonly string[]) => {
      const json = stack.toJsonString({
        roleArn: needs.roleArn,
        zones: needs.zones,
        ...dnsAccountPolicies(needs, trustedRoleArn, names),
      });
      return { json, size: deployedLength(stack.resolve(json)) };
    };
    // Everything but the names, then the names in what is left (quotes and commas included).
    const fixed = render([]).size;
    const budget = OUTPUT_VALUE_LIMIT - fixed;
    const patterns = recordNamePatterns(needs.domains, needs.targets, budget);
    const out = render(patterns.length > 0 ? patterns : ['_acme-challenge.*']);
    if (out.size > OUTPUT_VALUE_LIMIT) {
      throw new Error(
        `the DNS account policies for ${needs.roleArn} take ${out.size} characters, more than a stack output holds (${OUTPUT_VALUE_LIMIT}): split its zones between roles`,
      );
    }
    return new CfnOutput(scope, i === 0 ? 'DnsAccountPolicies' : `DnsAccountPolicies${i + 1}`, {
      // A description must be a literal string (no token).
      description:
        `Trust and permission policies the DNS account role ${Token.isUnresolved(needs.roleArn) ? 'of zoneRoles' : needs.roleArn} needs (zones ${needs.zones.join(', ')})`.slice(
          0,
          1024,
        ),
      value: out.json,
    });
  });
}
