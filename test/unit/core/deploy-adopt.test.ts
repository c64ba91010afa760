/**
 * Adopting an existing imported ACM certificate (`certificates[].acmCertificateArn`): checked,
 * tagged as ours, re-imported in place, recorded in the secret; what it replaces is retired.
 * deployAll is called directly over the in-memory fakes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RenewerConfigInput } from '../../../lambda/config.js';
import { deployAll } from '../../../lambda/core/deploy.js';
import type { StoredCertificate } from '../../../lambda/core/types.js';
import type { Work } from '../../../lambda/core/work.js';
import {
  ACCOUNT,
  AdoptableAcm,
  deployContext,
  deployWork,
  FakeListeners,
  listenerArn,
  MemoryStore,
  makeCertificates,
  quietLogs,
  storedFrom,
  type TestCertificate,
} from './fakes.js';

const L1 = listenerArn('us-east-1', 1);
const L2 = listenerArn('eu-west-1', 2);
/** Imported by certbot, served by L1 and (say) a CloudFront distribution. */
const ADOPTED = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/certbot-import`;
/** Ours from before the adoption. */
const A1 = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/www-a1`;
const A2 = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/www-a2`;

function config(overrides: Record<string, unknown> = {}): RenewerConfigInput {
  return {
    acme: { email: 'ops@example.com' },
    certificates: [
      {
        name: 'www',
        domains: ['example.com', '*.example.com'],
        acmCertificateArn: ADOPTED,
        listeners: [
          { arn: L1, mode: 'default' },
          { arn: L2, mode: 'sni' },
        ],
        ...overrides,
      },
    ],
  };
}

let certificates: TestCertificate[];
beforeAll(() => {
  certificates = makeCertificates(2);
});
quietLogs();

function world() {
  const events: string[] = [];
  const acm = new AdoptableAcm(events);
  const listeners = new FakeListeners(events);
  const store = new MemoryStore(events);
  listeners.add(L1, ADOPTED);
  listeners.add(L2, `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/placeholder`);
  const deploy = (work: Work, dryRun = false) =>
    deployAll(
      deployContext({
        acm: acm.asDeployer(),
        listeners: listeners.asDeployer(),
        views: new Map([...listeners.views].map(([arn, v]) => [arn, v])),
        store: store.asStore(),
        dryRun,
      }),
      [work],
      [],
    );
  return { events, acm, listeners, store, deploy };
}

/** The first run's work: a certificate issued in this run, nothing stored yet. */
function issuedWork(input = config(), cert = certificates[0] as TestCertificate): Work {
  const work = deployWork(input, 'www', {}, { issue: true });
  work.issued = storedFrom(cert, {});
  return work;
}

/** A later run's work over what the store holds now. */
function storedWork(store: MemoryStore, input = config()): Work {
  const current = store.certificate('www') as StoredCertificate;
  const currentVersionId = store.version('acme-renewer/www', 'AWSCURRENT')?.id;
  return deployWork(input, 'www', { current, ...(currentVersionId ? { currentVersionId } : {}) });
}

describe('deployAll adopting acmCertificateArn', () => {
  it('first run: tags the adopted certificate, re-imports in place, imports elsewhere, records the ARN', async () => {
    // Prepare: certbot's certificate, untagged
    const w = world();
    w.acm.seed(ADOPTED, { serial: 'ce27b07' });
    const work = issuedWork();

    // Act
    await w.deploy(work);

    // Assess
    expect(work.failure).toBeUndefined();
    const newEu = w.acm.imported[0]?.arn as string;
    expect(w.acm.imported.map((i) => i.region)).toEqual(['eu-west-1']);
    expect(w.acm.reimported).toEqual([
      { region: 'us-east-1', arn: ADOPTED, serial: certificates[0]?.serial },
    ]);
    // Tagged first: the stack's IAM policy re-imports only certificates tagged as ours.
    const tag = w.events.indexOf(`tag:${ADOPTED}`);
    expect(tag).toBeGreaterThanOrEqual(0);
    expect(tag).toBeLessThan(w.events.indexOf(`reimport:${ADOPTED}`));
    expect(w.acm.tagged).toEqual([{ region: 'us-east-1', arn: ADOPTED, name: 'www' }]);
    expect(work.changes).toContain(`adopted ACM certificate ${ADOPTED} (re-imported in place)`);
    expect(w.store.certificate('www')?.acmCertificateArn).toEqual({
      'us-east-1': ADOPTED,
      'eu-west-1': newEu,
    });
    // L1 keeps serving the same ARN: nothing there had to move.
    expect(w.listeners.view(L1).defaultCertificateArn).toBe(ADOPTED);
    expect(w.listeners.view(L2).certificateArns).toEqual([newEu]);
  });

  it('the next run re-imports nothing and changes nothing while the serial matches', async () => {
    // Prepare
    const w = world();
    w.acm.seed(ADOPTED, { serial: 'ce27b07' });
    await w.deploy(issuedWork());
    const before = w.acm.mutations().length;
    const work = storedWork(w.store);

    // Act
    await w.deploy(work);

    // Assess
    expect(work.failure).toBeUndefined();
    expect(work.changes).toEqual([]);
    expect(w.acm.mutations()).toHaveLength(before);
  });

  it('replaces an ARN of ours named in the secret, and retires that one once served', async () => {
    // Prepare: www was deployed to A1/A2 before acmCertificateArn was set
    const w = world();
    const cert = certificates[0] as TestCertificate;
    w.store.seed(
      'acme-renewer/www',
      JSON.stringify(storedFrom(cert, { 'us-east-1': A1, 'eu-west-1': A2 })),
    );
    w.acm.seed(A1, { serial: cert.serial, owner: 'www' });
    w.acm.seed(A2, { serial: cert.serial, owner: 'www' });
    w.acm.seed(ADOPTED, { serial: 'ce27b07' });
    w.listeners.view(L1).defaultCertificateArn = A1;
    w.listeners.view(L2).certificateArns = [A2];
    const work = storedWork(w.store);

    // Act
    await w.deploy(work);

    // Assess
    expect(work.failure).toBeUndefined();
    expect(w.acm.reimported).toEqual([{ region: 'us-east-1', arn: ADOPTED, serial: cert.serial }]);
    expect(w.acm.imported).toEqual([]);
    expect(w.listeners.applied.find((a) => a.arn === L1)?.desired).toMatchObject({
      defaultArn: ADOPTED,
      fallbacks: { [ADOPTED]: A1 },
    });
    expect(w.store.certificate('www')?.acmCertificateArn).toEqual({
      'us-east-1': ADOPTED,
      'eu-west-1': A2,
    });
    expect(w.acm.deleted).toEqual([{ region: 'us-east-1', arn: A1 }]);
    expect(work.changes).toEqual(
      expect.arrayContaining([
        `adopted ACM certificate ${ADOPTED} (re-imported in place)`,
        `deleted old ACM certificate ${A1}`,
      ]),
    );
  });

  it('adopts in a region with no listener (CloudFront in us-east-1)', async () => {
    // Prepare
    const w = world();
    w.acm.seed(ADOPTED, { serial: 'ce27b07' });
    const input = config({ listeners: [{ arn: L2, mode: 'sni' }] });
    const work = issuedWork(input);

    // Act
    await w.deploy(work);

    // Assess
    expect(work.failure).toBeUndefined();
    expect(w.acm.reimported.map((r) => r.arn)).toEqual([ADOPTED]);
    expect(Object.keys(w.store.certificate('www')?.acmCertificateArn ?? {}).sort()).toEqual([
      'eu-west-1',
      'us-east-1',
    ]);
  });

  describe('refusals (the certificate fails, nothing is imported anywhere)', () => {
    const cases: Array<{
      title: string;
      seed?: Parameters<AdoptableAcm['seed']>[1];
      error: RegExp[];
    }> = [
      {
        title: 'a different key type: names both and the fix, never a new ARN',
        seed: { serial: 'ce27b07', keyAlgorithm: 'RSA_2048' },
        error: [
          /rsa-2048/,
          /keyType ec-p256/,
          /set keyType to "rsa-2048"/,
          /remove acmCertificateArn/,
        ],
      },
      {
        title: 'an AMAZON_ISSUED certificate cannot be re-imported',
        seed: { serial: 'ce27b07', type: 'AMAZON_ISSUED' },
        error: [/AMAZON_ISSUED/, /only an imported certificate can be re-imported/],
      },
      {
        title: 'a certificate that does not exist: fix acmCertificateArn',
        error: [/does not exist in us-east-1/, /fix acmCertificateArn/],
      },
      {
        title: 'a certificate another certificate of ours owns',
        seed: { serial: 'ce27b07', owner: 'api' },
        error: [/AcmeRenewerCertificate=acme-renewer\/api/, /remove acmCertificateArn/],
      },
    ];
    for (const { title, seed, error } of cases) {
      it(title, async () => {
        // Prepare
        const w = world();
        if (seed) w.acm.seed(ADOPTED, seed);
        const work = issuedWork();

        // Act
        await w.deploy(work);

        // Assess
        expect(work.failure?.name).toBe('AcmAdoptError');
        expect(work.failedStep).toBe('deploy');
        for (const pattern of error) expect(work.failure?.message).toMatch(pattern);
        expect(work.failure?.message).toContain(ADOPTED);
        expect(w.acm.mutations()).toEqual([]);
        // The issued certificate is kept (stored at once), not issued again.
        expect(w.store.certificate('www')?.serial).toBe(certificates[0]?.serial);
      });
    }
  });

  it('ACM refusing the re-import (a dropped key usage) fails it instead of making a new ARN', async () => {
    // Prepare
    const w = world();
    w.acm.seed(ADOPTED, { serial: 'ce27b07' });
    const refused = new Error('ACM refused to re-import: drops a key usage');
    refused.name = 'AcmReimportRefusedError';
    w.acm.reimportError = refused;
    const work = issuedWork();

    // Act
    await w.deploy(work);

    // Assess
    expect(work.failure?.name).toBe('AcmAdoptError');
    expect(work.failure?.message).toMatch(/remove acmCertificateArn to import into a new ARN/);
    expect(w.acm.imported.map((i) => i.region)).toEqual(['eu-west-1']);
    expect(w.store.certificate('www')?.acmCertificateArn['us-east-1']).toBeUndefined();
  });

  it('dry run: plans the adoption and changes nothing', async () => {
    // Prepare: www stored on A1/A2, adopting now
    const w = world();
    const cert = certificates[0] as TestCertificate;
    w.store.seed(
      'acme-renewer/www',
      JSON.stringify(storedFrom(cert, { 'us-east-1': A1, 'eu-west-1': A2 })),
    );
    w.acm.seed(A1, { serial: cert.serial, owner: 'www' });
    w.acm.seed(A2, { serial: cert.serial, owner: 'www' });
    w.acm.seed(ADOPTED, { serial: 'ce27b07' });
    w.listeners.view(L1).defaultCertificateArn = A1;
    w.listeners.view(L2).certificateArns = [A2];
    const work = storedWork(w.store);
    const writes = w.store.writes.length;

    // Act (FakeListeners does not plan: the real ListenerDeployer's plan is in deploy-plan.test.ts)
    await w.deploy(work, true);

    // Assess
    expect(work.failure).toBeUndefined();
    expect(work.changes).toEqual(
      expect.arrayContaining([
        `would adopt ACM certificate ${ADOPTED} (re-imported in place)`,
        `would delete old ACM certificate ${A1}`,
      ]),
    );
    expect(w.acm.mutations()).toEqual([]);
    expect(w.acm.tags.get(ADOPTED)).toBeUndefined();
    expect(w.store.writes).toHaveLength(writes);
  });
});
