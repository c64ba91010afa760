/**
 * Two renewers with one `secretPrefix` in one CDK app would reissue each other's certificates
 * and take each other's listeners (at run time the second one to run is stopped by the prefix
 * claim, `lambda/core/prefix-owner.ts`): `cdk synth` refuses the app instead. Secrets are
 * per account and region, so renewers in stacks with different explicit accounts or regions
 * do not clash; an environment-agnostic stack may deploy anywhere, so it clashes with any.
 */
import { Stack, Token } from 'aws-cdk-lib';
import type { Construct, IConstruct } from 'constructs';

const RENEWER = Symbol.for('acme-renewer.CertificateRenewer.secretPrefix');

function prefixOf(construct: IConstruct): string | undefined {
  return (construct as unknown as Record<symbol, string | undefined>)[RENEWER];
}

function mayShare(a: string, b: string): boolean {
  return Token.isUnresolved(a) || Token.isUnresolved(b) || a === b;
}

/** Marks `renewer` as using `secretPrefix` and fails synth when another renewer in the app does. */
export function checkPrefixClash(renewer: Construct, secretPrefix: string): void {
  (renewer as unknown as Record<symbol, string>)[RENEWER] = secretPrefix;
  renewer.node.addValidation({
    validate: () => {
      const mine = Stack.of(renewer);
      return renewer.node.root.node
        .findAll()
        .filter((other) => other !== renewer && prefixOf(other) === secretPrefix)
        .filter((other) => {
          const theirs = Stack.of(other);
          return mayShare(mine.account, theirs.account) && mayShare(mine.region, theirs.region);
        })
        .map(
          (other) =>
            `CertificateRenewer ${renewer.node.path} and ${other.node.path} both use secretPrefix "${secretPrefix}" in the same account and region: each renewer needs its own prefix (set secretPrefix on one of them), or they would reissue each other's certificates`,
        );
    },
  });
}
