import { describe, expect, it } from 'vitest';
import type { CertificateResult } from '../../../lambda/core/work.js';
import {
  batches,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_ISSUED,
  EVENT_SOURCE,
  eventText,
  MAX_TEXT_LENGTH,
  renewalEvents,
} from '../../../lambda/events/renewal-events.js';

const SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:acme-renewer/www-AbCdEf';
const ACM_EU = 'arn:aws:acm:eu-west-1:111122223333:certificate/eu-1';
const ACM_US = 'arn:aws:acm:us-east-1:111122223333:certificate/us-1';

const CONTEXT = {
  busName: 'renewals',
  certificates: {
    www: {
      domains: ['example.com', '*.example.com'],
      secretArn: SECRET,
      acmCertificateArns: { 'us-east-1': ACM_US, 'eu-west-1': ACM_EU },
    },
    api: { domains: ['api.example.com'], acmCertificateArns: {} },
  },
};

const PRIVATE_KEY_PEM =
  '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsecret\n-----END PRIVATE KEY-----\n';
const CERT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';

function result(
  overrides: Partial<CertificateResult> & Pick<CertificateResult, 'name' | 'action'>,
) {
  return { reason: 'due', ...overrides } as CertificateResult;
}

const detailOf = (entry: { Detail?: string }) =>
  JSON.parse(entry.Detail ?? '') as Record<string, unknown>;

describe('renewalEvents', () => {
  it('maps an issued result to one Certificate Issued event with exactly the contract fields', () => {
    // Prepare
    const results = [
      result({
        name: 'www',
        action: 'issued',
        reason: 'no stored certificate',
        serial: '0a1b2c',
        notAfter: '2027-03-01T00:00:00.000Z',
      }),
    ];

    // Act
    const entries = renewalEvents(results, CONTEXT);

    // Assess
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry).toMatchObject({
      Source: EVENT_SOURCE,
      DetailType: DETAIL_TYPE_ISSUED,
      EventBusName: 'renewals',
      Resources: [SECRET, ACM_EU, ACM_US],
    });
    expect(entry?.Time).toBeUndefined();
    expect(detailOf(entry ?? {})).toEqual({
      name: 'www',
      action: 'issued',
      domains: ['example.com', '*.example.com'],
      serial: '0a1b2c',
      notAfter: '2027-03-01T00:00:00.000Z',
      reason: 'no stored certificate',
      secretArn: SECRET,
      acmCertificateArns: { 'us-east-1': ACM_US, 'eu-west-1': ACM_EU },
    });
  });

  it('maps renewed to Certificate Issued and failed to Certificate Failed, in result order', () => {
    // Prepare
    const results = [
      result({ name: 'www', action: 'renewed', serial: '02', notAfter: '2027-01-01T00:00:00Z' }),
      result({ name: 'api', action: 'failed', reason: 'order failed', error: 'CA said no' }),
    ];

    // Act
    const entries = renewalEvents(results, { ...CONTEXT, time: new Date('2026-12-03T10:00:00Z') });

    // Assess
    expect(entries.map((e) => e.DetailType)).toEqual([DETAIL_TYPE_ISSUED, DETAIL_TYPE_FAILED]);
    expect(entries.map((e) => detailOf(e).action)).toEqual(['renewed', 'failed']);
    expect(entries[0]?.Time).toEqual(new Date('2026-12-03T10:00:00Z'));
    expect(detailOf(entries[1] ?? {})).toEqual({
      name: 'api',
      action: 'failed',
      domains: ['api.example.com'],
      reason: 'order failed',
      error: 'CA said no',
      acmCertificateArns: {},
    });
    expect(entries[1]?.Resources).toEqual([]);
  });

  it('publishes nothing for an idle run (unchanged, deployed, deferred, orphaned, retired)', () => {
    // Prepare
    const idle = (['unchanged', 'deployed', 'deferred', 'orphaned', 'retired'] as const).map(
      (action) => result({ name: 'www', action }),
    );

    // Act / Assess
    expect(renewalEvents(idle, CONTEXT)).toEqual([]);
    expect(renewalEvents([], CONTEXT)).toEqual([]);
  });

  it('uses the default bus and leaves out what it does not know', () => {
    // Act
    const [entry] = renewalEvents([result({ name: 'other', action: 'issued', reason: '' })], {
      certificates: {},
    });

    // Assess
    expect(entry?.EventBusName).toBe('default');
    expect(detailOf(entry ?? {})).toEqual({ name: 'other', action: 'issued' });
  });

  it('never carries key material or PEM text, even when the error text does', () => {
    // Prepare
    const results = [
      result({
        name: 'www',
        action: 'failed',
        reason: `import failed for ${CERT_PEM}`,
        error: `ACM refused ${PRIVATE_KEY_PEM} with ${CERT_PEM} and a cut key -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE`,
      }),
    ];

    // Act
    const entries = renewalEvents(results, CONTEXT);

    // Assess
    const wire = JSON.stringify(entries);
    expect(wire).not.toContain('PRIVATE KEY');
    expect(wire).not.toContain('BEGIN');
    expect(wire).not.toContain('MIGHAgEA');
    expect(wire).not.toContain('MHcCAQEE');
    expect(wire).not.toContain('MIIBszCC');
    expect(detailOf(entries[0] ?? {}).error).toContain('ACM refused');
  });

  it('bounds reason and error so an entry stays far under the PutEvents size limit', () => {
    // Prepare
    const long = 'x'.repeat(200_000);

    // Act
    const [entry] = renewalEvents(
      [result({ name: 'www', action: 'failed', reason: long, error: long })],
      CONTEXT,
    );

    // Assess
    const detail = detailOf(entry ?? {});
    expect((detail.reason as string).length).toBe(MAX_TEXT_LENGTH);
    expect((detail.error as string).length).toBe(MAX_TEXT_LENGTH);
    expect(Buffer.byteLength(entry?.Detail ?? '', 'utf8')).toBeLessThan(4 * 1024);
  });
});

describe('eventText', () => {
  it('keeps short plain text as it is', () => {
    expect(eventText('rate limited until 10:00')).toBe('rate limited until 10:00');
  });
});

describe('batches', () => {
  it('splits 25 entries into 10, 10 and 5', () => {
    // Prepare
    const entries = renewalEvents(
      Array.from({ length: 25 }, (_, i) => result({ name: `c${i}`, action: 'issued' })),
      { certificates: {} },
    );

    // Act / Assess
    expect(batches(entries).map((b) => b.length)).toEqual([10, 10, 5]);
  });
});
