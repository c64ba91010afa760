import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACCOUNT,
  attemptRun,
  listenerArn,
  makeCertificates,
  makeWorld,
  quietLogs,
  resultOf,
  runRequest,
  type TestCertificate,
} from './fakes.js';

quietLogs();

let certificates: TestCertificate[];
beforeAll(() => {
  certificates = makeCertificates(4);
});

const L1 = listenerArn('eu-west-1', 1);

function world() {
  const w = makeWorld(
    {
      acme: { email: 'ops@example.com' },
      certificates: [
        {
          name: 'www',
          domains: ['example.com', 'www.example.com'],
          listeners: [{ arn: L1, mode: 'default' }],
          // CloudFront reads us-east-1 only; an API Gateway regional domain its own region.
          regions: ['us-east-1', 'ap-southeast-2'],
        },
      ],
    },
    certificates,
  );
  w.listeners.add(L1, `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/placeholder`);
  return w;
}

describe('certificates[].regions', () => {
  it('imports into each listed region besides the listeners and records every ARN in the secret', async () => {
    // Arrange
    const w = world();

    // Act
    const { report } = await attemptRun(w);

    // Assess
    expect(resultOf(report, 'www').action).toBe('issued');
    expect(w.acm.imported.map((i) => i.region).sort()).toEqual([
      'ap-southeast-2',
      'eu-west-1',
      'us-east-1',
    ]);
    const stored = w.store.certificate('www');
    expect(Object.keys(stored?.acmCertificateArn ?? {}).sort()).toEqual([
      'ap-southeast-2',
      'eu-west-1',
      'us-east-1',
    ]);
  });

  it('re-imports in place into every region at renewal (the ARNs CloudFront holds stay valid)', async () => {
    // Arrange
    const w = world();
    await attemptRun(w);
    const before = w.store.certificate('www')?.acmCertificateArn;

    // Act
    const { report } = await attemptRun(w, runRequest({ force: true }));

    // Assess
    expect(resultOf(report, 'www').action).toBe('renewed');
    expect(w.store.certificate('www')?.acmCertificateArn).toEqual(before);
    expect(w.acm.imported).toHaveLength(3);
    expect(w.acm.reimported.map((r) => r.arn).sort()).toEqual(Object.values(before ?? {}).sort());
    const serial = w.store.certificate('www')?.serial;
    expect(w.acm.reimported.every((r) => r.serial === serial)).toBe(true);
  });

  it('imports into a region added later without touching the others', async () => {
    // Arrange
    const w = world();
    await attemptRun(w);
    w.reconfigure({
      acme: { email: 'ops@example.com' },
      certificates: [
        {
          name: 'www',
          domains: ['example.com', 'www.example.com'],
          listeners: [{ arn: L1, mode: 'default' }],
          regions: ['us-east-1', 'ap-southeast-2', 'sa-east-1'],
        },
      ],
    });

    // Act
    const { report } = await attemptRun(w);

    // Assess
    expect(resultOf(report, 'www').action).toBe('deployed');
    expect(w.acm.imported.map((i) => i.region)).toContain('sa-east-1');
    expect(w.acm.imported).toHaveLength(4);
    expect(w.acm.reimported).toEqual([]);
    expect(w.store.certificate('www')?.acmCertificateArn['sa-east-1']).toBeDefined();
  });
});
