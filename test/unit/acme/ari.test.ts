import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  AcmeDirectoryError,
  CertIdError,
  certId,
  parseRenewalInfo,
  RenewalInfoClient,
  RenewalInfoError,
  renewalInfoRetryAfter,
} from '../../../lambda/acme/ari.js';
import { CaRateLimitedError } from '../../../lambda/core/ports.js';

/** RFC 9773 Appendix A: the example end-entity certificate of §4.1. */
const RFC9773_EXAMPLE = `-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
`;

const dir = mkdtempSync(join(tmpdir(), 'ari-test-'));

/** A self-signed certificate made by openssl (no network), with its own view of AKI. */
function opensslCertificate(serial: string, extraArgs: string[] = []): string {
  const out = join(dir, `${serial}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=ari.test',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      out,
      '-days',
      '1',
      '-set_serial',
      serial,
      ...extraArgs,
    ],
    { stdio: 'pipe' },
  );
  return execFileSync('openssl', ['x509', '-in', out], { encoding: 'utf8' });
}

function opensslAki(pem: string): Buffer {
  const file = join(dir, 'read.pem');
  writeFileSync(file, pem);
  const text = execFileSync(
    'openssl',
    ['x509', '-in', file, '-noout', '-ext', 'authorityKeyIdentifier'],
    {
      encoding: 'utf8',
    },
  );
  const hex =
    text
      .split('\n')[1]
      ?.trim()
      .replace(/^keyid:/, '')
      .replace(/:/g, '') ?? '';
  return Buffer.from(hex, 'hex');
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('certId', () => {
  it('gives RFC 9773 §4.1 its example certID', () => {
    // Act
    const id = certId(RFC9773_EXAMPLE);

    // Assess
    expect(id).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it.each([
    ['a serial with the high bit set keeps its leading zero byte', '0xFF01', 'AP8B'],
    ['a small serial is one byte', '0x05', 'BQ'],
    ['a long serial', '0x7A1B2C3D4E5F60718293A4B5C6D7E8F901', 'ehssPU5fYHGCk6S1xtfo-QE'],
  ])('%s, and the AKI is the one openssl reads', (_, serial, encoded) => {
    // Prepare
    const pem = opensslCertificate(serial);

    // Act
    const [aki, serialPart] = certId(pem).split('.');

    // Assess
    expect(serialPart).toBe(encoded);
    expect(Buffer.from(aki ?? '', 'base64url')).toEqual(opensslAki(pem));
    expect(aki).not.toMatch(/[=+/]/);
  });

  it('refuses a certificate without an Authority Key Identifier', () => {
    // Prepare
    const pem = opensslCertificate('0x10', ['-addext', 'authorityKeyIdentifier=none']);

    // Act
    const error = (() => {
      try {
        return certId(pem);
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(CertIdError);
    expect((error as Error).message).toMatch(/no Authority Key Identifier with a keyIdentifier/);
  });

  it('refuses what is not a certificate', () => {
    // Act / Assess
    expect(() => certId('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow(
      CertIdError,
    );
  });
});

describe('renewalInfoRetryAfter', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);

  it.each([
    ['absent: six hours', undefined, later(6 * 3600)],
    ['unreadable: six hours', 'soon', later(6 * 3600)],
    ['delta-seconds', '21600', later(21600)],
    ['under a minute: one minute', '5', later(60)],
    ['an HTTP-date in the past: one minute', 'Sun, 01 Feb 2026 00:00:00 GMT', later(60)],
    ['an HTTP-date', 'Sun, 01 Mar 2026 02:00:00 GMT', later(7200)],
    ['over a week: a week', String(30 * 86400), later(7 * 86400)],
  ])('%s', (_, header, expected) => {
    // Act / Assess
    expect(renewalInfoRetryAfter(header, now)).toEqual(expected);
  });
});

describe('parseRenewalInfo', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const body = {
    suggestedWindow: { start: '2026-04-01T00:00:00Z', end: '2026-04-03T12:30:00.5+02:00' },
    explanationURL: 'https://ca.test/docs/ari',
  };

  it('reads the window, the explanation URL and Retry-After', () => {
    // Act
    const info = parseRenewalInfo('a.b', JSON.stringify(body), '3600', now);

    // Assess
    expect(info).toEqual({
      certId: 'a.b',
      start: new Date('2026-04-01T00:00:00Z'),
      end: new Date('2026-04-03T10:30:00.500Z'),
      explanationUrl: 'https://ca.test/docs/ari',
      retryAfter: new Date('2026-03-01T01:00:00Z'),
    });
  });

  it('leaves out an explanation URL that is no http(s) URL', () => {
    // Act
    const info = parseRenewalInfo(
      'a.b',
      { ...body, explanationURL: 'javascript:alert(1)' },
      undefined,
      now,
    );

    // Assess
    expect(info.explanationUrl).toBeUndefined();
    expect(info.retryAfter).toEqual(new Date('2026-03-01T06:00:00Z'));
  });

  it.each([
    [
      'a window that ends before it starts',
      { suggestedWindow: { start: '2026-04-02T00:00:00Z', end: '2026-04-01T00:00:00Z' } },
      /ends .* before it starts/,
    ],
    [
      'an empty window',
      { suggestedWindow: { start: '2026-04-02T00:00:00Z', end: '2026-04-02T00:00:00Z' } },
      /before it starts/,
    ],
    ['no window', { explanationURL: 'https://x.test' }, /no suggestedWindow/],
    [
      'times that are not RFC 3339',
      { suggestedWindow: { start: 'April 1', end: '2026-04-02T00:00:00Z' } },
      /RFC 3339/,
    ],
    ['not JSON', 'oops', /not a JSON object/],
  ])('refuses %s, asking again in six hours', (_, answer, message) => {
    // Act
    const error = (() => {
      try {
        return parseRenewalInfo('a.b', answer, '60', now);
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(RenewalInfoError);
    expect((error as Error).message).toMatch(message);
    expect((error as RenewalInfoError).retryAfter).toEqual(new Date('2026-03-01T06:00:00Z'));
  });
});

describe('RenewalInfoClient', () => {
  const directoryUrl = 'https://ca.test/dir';
  const now = new Date('2026-03-01T00:00:00Z');
  const directory = {
    newNonce: 'https://ca.test/nonce',
    newOrder: 'https://ca.test/order',
    renewalInfo: 'https://ca.test/renewal-info/',
    meta: { profiles: { classic: 'The default', shortlived: '160 hours' } },
  };
  const window = {
    suggestedWindow: { start: '2026-04-01T00:00:00Z', end: '2026-04-02T00:00:00Z' },
  };

  /** An HTTP client that answers from a table of URL → answer. */
  function fakeHttp(
    answers: Record<
      string,
      { status: number; data?: unknown; headers?: Record<string, string> } | Error
    >,
  ) {
    const get = vi.fn(async (url: string) => {
      const answer = answers[url];
      if (!answer) return { status: 404, data: '', headers: {} };
      if (answer instanceof Error) throw answer;
      return { headers: {}, ...answer };
    });
    return { get };
  }

  it('reads the directory once and fetches the window under renewalInfo', async () => {
    // Prepare
    const http = fakeHttp({
      [directoryUrl]: { status: 200, data: directory },
      'https://ca.test/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE': {
        status: 200,
        data: window,
        headers: { 'retry-after': '7200' },
      },
    });
    const client = new RenewalInfoClient({ http: http as never, now: () => now });

    // Act
    const offers = await client.offersRenewalInfo(directoryUrl);
    const first = await client.fetch(directoryUrl, RFC9773_EXAMPLE);
    const second = await client.fetch(directoryUrl, RFC9773_EXAMPLE);
    const profiles = await client.profiles(directoryUrl);

    // Assess
    expect(offers).toBe(true);
    expect(first).toEqual({
      certId: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
      start: new Date('2026-04-01T00:00:00Z'),
      end: new Date('2026-04-02T00:00:00Z'),
      retryAfter: new Date('2026-03-01T02:00:00Z'),
    });
    expect(second).toEqual(first);
    expect(profiles).toEqual({ classic: 'The default', shortlived: '160 hours' });
    expect(http.get.mock.calls.map(([url]) => url)).toEqual([
      directoryUrl,
      'https://ca.test/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
      'https://ca.test/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    ]);
    expect(client.requests).toBe(2);
    expect(client.directoryRequests).toBe(1);
  });

  it('asks nothing of a CA without renewalInfo or profiles', async () => {
    // Prepare
    const { renewalInfo: _, meta: __, ...plain } = directory;
    const http = fakeHttp({
      [directoryUrl]: { status: 200, data: JSON.stringify({ ...plain, meta: { profiles: {} } }) },
    });
    const client = new RenewalInfoClient({ http: http as never, now: () => now });

    // Act
    const info = await client.fetch(directoryUrl, RFC9773_EXAMPLE);
    const offers = await client.offersRenewalInfo(directoryUrl);
    const profiles = await client.profiles(directoryUrl);

    // Assess
    expect(info).toBeUndefined();
    expect(offers).toBe(false);
    expect(profiles).toBeUndefined();
    expect(client.requests).toBe(0);
    expect(http.get).toHaveBeenCalledTimes(1);
  });

  it('turns a 404 into a RenewalInfoError that asks again in six hours', async () => {
    // Prepare
    const http = fakeHttp({ [directoryUrl]: { status: 200, data: directory } });
    const client = new RenewalInfoClient({ http: http as never, now: () => now });

    // Act
    const error = await client.fetch(directoryUrl, RFC9773_EXAMPLE).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RenewalInfoError);
    expect((error as RenewalInfoError).status).toBe(404);
    expect((error as Error).message).toMatch(
      /HTTP 404 to renewalInfo for certificate aYhba4dGQEHhs3uEe6CuLN4ByNQ\.AIdlQyE: the CA does not know this certificate/,
    );
    expect((error as RenewalInfoError).retryAfter).toEqual(new Date('2026-03-01T06:00:00Z'));
  });

  it('keeps a 5xx Retry-After, within bounds', async () => {
    // Prepare
    const http = fakeHttp({
      [directoryUrl]: { status: 200, data: directory },
      'https://ca.test/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE': {
        status: 503,
        data: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'down' },
        headers: { 'retry-after': '2' },
      },
    });
    const client = new RenewalInfoClient({ http: http as never, now: () => now });

    // Act
    const error = (await client
      .fetch(directoryUrl, RFC9773_EXAMPLE)
      .catch((e: unknown) => e)) as RenewalInfoError;

    // Assess
    expect(error.message).toMatch(/HTTP 503 .* \("down"\)/);
    expect(error.retryAfter).toEqual(new Date('2026-03-01T00:01:00Z'));
  });

  it('lets a rate limit through as CaRateLimitedError', async () => {
    // Prepare
    const limited = new CaRateLimitedError(
      'the CA at x rate-limited GET /renewal-info/…',
      new Date('2026-03-02T00:00:00Z'),
    );
    const http = fakeHttp({
      [directoryUrl]: { status: 200, data: directory },
      'https://ca.test/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE': limited,
    });
    const client = new RenewalInfoClient({ http: http as never, now: () => now });

    // Act
    const error = await client.fetch(directoryUrl, RFC9773_EXAMPLE).catch((e: unknown) => e);

    // Assess
    expect(error).toBe(limited);
  });

  it('names a certificate ARI cannot read, and a directory that is not one, once', async () => {
    // Prepare
    const good = new RenewalInfoClient({
      http: fakeHttp({ [directoryUrl]: { status: 200, data: directory } }) as never,
      now: () => now,
    });
    const http = fakeHttp({ [directoryUrl]: { status: 500, data: 'broken' } });
    const broken = new RenewalInfoClient({ http: http as never, now: () => now });

    // Act
    const unreadable = await good.fetch(directoryUrl, 'not a certificate').catch((e: unknown) => e);
    const first = await broken.fetch(directoryUrl, RFC9773_EXAMPLE).catch((e: unknown) => e);
    const again = await broken.profiles(directoryUrl).catch((e: unknown) => e);

    // Assess
    expect(unreadable).toBeInstanceOf(RenewalInfoError);
    expect((unreadable as Error).message).toMatch(/cannot read the certificate for its ARI certID/);
    expect(good.requests).toBe(0);
    expect(first).toBeInstanceOf(AcmeDirectoryError);
    expect((first as Error).message).toBe(
      'the ACME directory https://ca.test/dir answered HTTP 500 without a newOrder URL: check acme.directoryUrl',
    );
    expect(again).toBe(first);
    expect(http.get).toHaveBeenCalledTimes(1);
  });
});
