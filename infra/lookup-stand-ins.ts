/**
 * CDK lookups (`HostedZone.fromLookup`, `ApplicationListener.fromLookup`,
 * `NetworkListener.fromLookup`) return dummy values on the first synth, before the CLI has looked
 * the resource up: the app reports the missing context, the CLI does the lookup, caches it in
 * cdk.context.json and synthesizes again with the real values. The dummies are not valid ids
 * (aws-cdk-lib: hosted zone `{ Id: 'DUMMY' }` in aws-route53/lib/hosted-zone.ts; listener
 * `arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/<application|network>/my-load-balancer/...`
 * in aws-elasticloadbalancingv2/lib/shared/base-listener.ts), and failing on them would stop the
 * CLI from ever doing the lookup. So they are swapped for valid stand-ins in the stack's account
 * and region; the template that holds them is never deployed (the CLI synthesizes again).
 */

/** The hosted zone id `HostedZone.fromLookup` returns until the lookup is done. */
export const DUMMY_HOSTED_ZONE_ID = 'DUMMY';

const DUMMY_LISTENER_ARN =
  /^arn:aws:elasticloadbalancing:us-west-2:123456789012:listener\/(application|network)\/my-load-balancer\//;

/** A schema-valid hosted zone id for a zone whose lookup is pending. */
export const PENDING_HOSTED_ZONE_ID = 'ZLOOKUPPENDING';

/** The hosted zone id to configure: `id`, or a stand-in while its lookup is pending. */
export function hostedZoneIdOrStandIn(id: string): string {
  return id === DUMMY_HOSTED_ZONE_ID ? PENDING_HOSTED_ZONE_ID : id;
}

/** The listener ARN to configure: `arn`, or a stand-in in `account` / `region` while its lookup is pending. */
export function listenerArnOrStandIn(arn: string, account: string, region: string): string {
  const dummy = DUMMY_LISTENER_ARN.exec(arn);
  if (!dummy) return arn;
  const kind = dummy[1] === 'network' ? 'net' : 'app';
  return `arn:aws:elasticloadbalancing:${region}:${account}:listener/${kind}/lookup-pending/0000000000000000/0000000000000000`;
}
