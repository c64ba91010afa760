import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CertificateRenewer } from '../../infra/certificate-renewer.js';
import type { CertificateRenewerProps } from '../../infra/certificate-renewer-props.js';
import { ACCOUNT, basicProps, REGION } from './helpers.js';

function app(): App {
  return new App({ outdir: mkdtempSync(join(tmpdir(), 'acme-renewer-clash-')) });
}

function stack(scope: App, id: string, env?: { account?: string; region?: string }): Stack {
  return new Stack(scope, id, env ? { env } : {});
}

const props = (secretPrefix?: string): CertificateRenewerProps => ({
  ...basicProps,
  ...(secretPrefix ? { secretPrefix } : {}),
});

describe('one secretPrefix per renewer in a CDK app', () => {
  it('two renewers with the same prefix in one account and region fail at synth, naming both', () => {
    const scope = app();
    new CertificateRenewer(
      stack(scope, 'Staging', { account: ACCOUNT, region: REGION }),
      'Renewer',
      props(),
    );
    new CertificateRenewer(
      stack(scope, 'Prod', { account: ACCOUNT, region: REGION }),
      'Renewer',
      props(),
    );

    expect(() => scope.synth()).toThrow(
      /CertificateRenewer Staging\/Renewer and Prod\/Renewer both use secretPrefix "acme-renewer"/,
    );
  });

  it('two renewers in one stack with the same prefix fail too', () => {
    const scope = app();
    const one = stack(scope, 'One', { account: ACCOUNT, region: REGION });
    new CertificateRenewer(one, 'A', props('certs'));
    new CertificateRenewer(one, 'B', props('certs'));

    expect(() => scope.synth()).toThrow(/One\/A and One\/B both use secretPrefix "certs"/);
  });

  it('an environment-agnostic stack may deploy next to the other: it clashes', () => {
    const scope = app();
    new CertificateRenewer(
      stack(scope, 'Pinned', { account: ACCOUNT, region: REGION }),
      'Renewer',
      props(),
    );
    new CertificateRenewer(stack(scope, 'Anywhere'), 'Renewer', props());

    expect(() => scope.synth()).toThrow(/both use secretPrefix "acme-renewer"/);
  });

  it('staging and production with their own prefixes synthesize', () => {
    const scope = app();
    new CertificateRenewer(
      stack(scope, 'Staging', { account: ACCOUNT, region: REGION }),
      'Renewer',
      props('staging'),
    );
    new CertificateRenewer(
      stack(scope, 'Prod', { account: ACCOUNT, region: REGION }),
      'Renewer',
      props('prod'),
    );

    expect(() => scope.synth()).not.toThrow();
  });

  it('the same prefix in different regions (secrets are regional) synthesizes', () => {
    const scope = app();
    new CertificateRenewer(
      stack(scope, 'Ireland', { account: ACCOUNT, region: 'eu-west-1' }),
      'Renewer',
      props(),
    );
    new CertificateRenewer(
      stack(scope, 'Virginia', { account: ACCOUNT, region: 'us-east-1' }),
      'Renewer',
      props(),
    );

    expect(() => scope.synth()).not.toThrow();
  });
});
