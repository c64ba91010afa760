import { describe, expect, it } from 'vitest';
import { readStatus, statusRows, statusTable } from '../../../cli/status.js';
import { parseConfig } from '../../../lambda/config.js';
import type { CertificateSchedule, StateSnapshot } from '../../../lambda/core/ports.js';
import type { StoredCertificate } from '../../../lambda/core/types.js';
import { type StoredState, StoreError } from '../../../lambda/store/secrets-store.js';

const NOW = new Date('2026-12-03T12:00:00.000Z');
const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/ab/cd';
const KEY =
  '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

const config = parseConfig({
  acme: { directoryUrl: 'letsencrypt-staging', email: 'ops@example.com' },
  certificates: [
    {
      name: 'www',
      domains: ['example.com', '*.example.com'],
      listeners: [{ arn: LISTENER, mode: 'default' }],
    },
    { name: 'api', domains: ['api.example.com'] },
    { name: 'new', domains: ['new.example.com'] },
  ],
});

function stored(serial: string, notAfter: string, domains: string[]): StoredCertificate {
  return {
    certificate: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n',
    chain: '',
    fullchain: '',
    privateKey: KEY,
    domains,
    keyType: 'ec-p256',
    serial,
    notBefore: '2026-11-01T00:00:00.000Z',
    notAfter,
    issuer: 'CN=Test CA',
    acmCertificateArn: {},
  };
}

const SERIAL = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const schedules = new Map<string, CertificateSchedule>([
  [
    'www',
    {
      renewAt: '2026-12-31T00:00:00.000Z',
      lastAction: 'renewed',
      lastActionAt: '2026-12-01T08:00:00.000Z',
      verifiedSerial: SERIAL,
      verifiedAt: '2026-12-01T08:01:00.000Z',
      listeners: [{ arn: LISTENER, mode: 'default' }],
    },
  ],
  // Verified an older serial: not this one.
  ['api', { lastAction: 'issued', verifiedSerial: 'ff', verifiedAt: '2026-11-01T00:00:00.000Z' }],
  ['gone', { lastAction: 'orphaned', listeners: [{ arn: LISTENER, mode: 'sni' }] }],
]);
const states = new Map<string, StoredState>([
  [
    'www',
    { current: stored(SERIAL, '2027-01-30T00:00:00.000Z', ['example.com', '*.example.com']) },
  ],
  ['api', { current: stored('beef', '2026-12-05T11:00:00.000Z', ['api.example.com']) }],
  ['new', {}],
  ['gone', { error: new StoreError('AccessDeniedException: no') }],
]);

describe('statusRows', () => {
  it('builds one row per configured certificate, then the orphans the table knows', () => {
    // Act
    const rows = statusRows(config, schedules, states, NOW);
    // Assess
    expect(rows.map((r) => r.name)).toEqual(['www', 'api', 'new', 'gone']);
    expect(rows[0]).toEqual({
      name: 'www',
      domains: ['example.com', '*.example.com'],
      serial: SERIAL,
      notAfter: '2027-01-30T00:00:00.000Z',
      daysLeft: 57,
      renewAt: '2026-12-31T00:00:00.000Z',
      lastAction: 'renewed',
      lastActionAt: '2026-12-01T08:00:00.000Z',
      listeners: [{ arn: LISTENER, mode: 'default' }],
      verified: true,
      verifiedAt: '2026-12-01T08:01:00.000Z',
      retryAfter: null,
      pending: false,
      configured: true,
      error: null,
    });
  });

  it('counts whole days left and verifies only the serial that was seen served', () => {
    const api = statusRows(config, schedules, states, NOW)[1];
    expect(api?.daysLeft).toBe(1);
    expect(api?.verified).toBe(false);
    expect(api?.verifiedAt).toBeNull();
    expect(api?.listeners).toEqual([]);
  });

  it('shows a certificate never stored with an empty serial and "never issued"', () => {
    const row = statusRows(config, schedules, states, NOW)[2];
    expect(row).toMatchObject({
      name: 'new',
      domains: ['new.example.com'],
      serial: null,
      notAfter: null,
      daysLeft: null,
      lastAction: 'never issued',
    });
  });

  it('keeps an orphan with its recorded listeners and why its secret could not be read', () => {
    const row = statusRows(config, schedules, states, NOW)[3];
    expect(row).toMatchObject({
      name: 'gone',
      configured: false,
      listeners: [{ arn: LISTENER, mode: 'sni' }],
      error: 'AccessDeniedException: no',
    });
  });

  it('never carries key material', () => {
    const json = JSON.stringify(statusRows(config, schedules, states, NOW));
    expect(json).not.toContain('PRIVATE KEY');
    expect(json).not.toContain('BEGIN CERTIFICATE');
  });
});

describe('statusTable', () => {
  it('prints the columns of issue 12 item 3, one line per certificate', () => {
    const lines = statusTable(statusRows(config, schedules, states, NOW)).split('\n');
    expect(lines[0]).toMatch(
      /^NAME +DOMAINS +SERIAL +NOT AFTER +DAYS LEFT +RENEWS AT +SERVED BY +LAST ACTION$/,
    );
    expect(lines[1]).toMatch(
      /^www +example\.com, \*\.example\.com +0a1b2c3d4e5f6071… +2027-01-30 00:00Z +57 +2026-12-31 00:00Z +app\/web\/ab\/cd \(default\); verified 2026-12-01 08:01Z +renewed 2026-12-01 08:00Z$/,
    );
    expect(lines[2]).toMatch(/^api .* stored only +issued$/);
    expect(lines[3]).toMatch(/^new +new\.example\.com +stored only +never issued$/);
    expect(lines[4]).toMatch(/orphaned \(not configured\); unreadable: AccessDeniedException: no$/);
  });
});

describe('readStatus', () => {
  it('reads the snapshot, then the secrets of configured and known certificates', async () => {
    // Prepare
    const asked: string[][] = [];
    const snapshot = { schedules } as unknown as StateSnapshot;
    // Act
    const rows = await readStatus(config, {
      state: { load: async () => snapshot },
      store: {
        loadCertificates: async (names: string[]) => {
          asked.push(names);
          return {
            states,
            extra: new Map(),
            extraErrors: new Map(),
            listedCertificates: new Set<string>(),
          };
        },
      },
      now: NOW,
    });
    // Assess
    expect(asked).toEqual([['www', 'api', 'new', 'gone']]);
    expect(rows.map((r) => r.serial)).toEqual([SERIAL, 'beef', null, null]);
  });
});
