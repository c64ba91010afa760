import { execFileSync } from 'node:child_process';
import { createPrivateKey as parseKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, readCertificate, splitPem } from '../../../lambda/acme/pem.js';
import type { KeyType } from '../../../lambda/config.js';

describe('createPrivateKey', () => {
  it.each<[KeyType, string, Record<string, unknown>]>([
    ['ec-p256', 'ec', { namedCurve: 'prime256v1' }],
    ['ec-p384', 'ec', { namedCurve: 'secp384r1' }],
    ['rsa-2048', 'rsa', { modulusLength: 2048 }],
    ['rsa-3072', 'rsa', { modulusLength: 3072 }],
    ['rsa-4096', 'rsa', { modulusLength: 4096 }],
  ])('%s gives a PKCS#8 PEM %s key with %o', async (keyType, algorithm, details) => {
    // Act
    const pem = await createPrivateKey(keyType);

    // Assess
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
    const key = parseKey(pem);
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyType).toBe(algorithm);
    expect(key.asymmetricKeyDetails).toMatchObject(details);
  });

  it('makes a new key every time', async () => {
    // Act
    const [a, b] = await Promise.all([createPrivateKey('ec-p256'), createPrivateKey('ec-p256')]);

    // Assess
    expect(a).not.toBe(b);
  });
});

describe('readCertificate and splitPem', () => {
  let dir: string;
  let leafPem: string;
  let caPem: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'renewer-pem-'));
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    // A CA and a leaf it signs; the leaf serial starts with a zero nibble (as many CA serials do).
    run([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '30',
      '-subj',
      '/C=US/O=Test CA/CN=Test Root',
    ]);
    run([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'leaf.key',
      '-out',
      'leaf.csr',
      '-subj',
      '/CN=example.com',
    ]);
    const ext = join(dir, 'ext.cnf');
    execFileSync('sh', [
      '-c',
      `printf 'subjectAltName=DNS:example.com,DNS:*.Example.com,DNS:www.example.com,IP:127.0.0.1\\n' > ${ext}`,
    ]);
    run([
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '0x0A1B2C3D4E5F60718293',
      '-days',
      '90',
      '-extfile',
      'ext.cnf',
      '-out',
      'leaf.pem',
    ]);
    leafPem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
    caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits a bundle into its certificate blocks in order', () => {
    // Prepare
    const bundle = `${leafPem}\n${caPem}`;

    // Act
    const blocks = splitPem(bundle);

    // Assess
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toBe(leafPem.trim());
    expect(blocks[1]).toBe(caPem.trim());
    expect(splitPem('no pem here')).toEqual([]);
  });

  it('never returns a private key block', () => {
    // Prepare
    const key = readFileSync(join(dir, 'leaf.key'), 'utf8');

    // Act
    const blocks = splitPem(`${key}${leafPem}`);

    // Assess
    expect(blocks).toEqual([leafPem.trim()]);
  });

  it('reads validity, issuer and the DNS SANs in lower case', () => {
    // Prepare
    const x509 = new X509Certificate(leafPem);

    // Act
    const facts = readCertificate(leafPem);

    // Assess
    expect(facts.notBefore.getTime()).toBe(Date.parse(x509.validFrom));
    expect(facts.notAfter.getTime()).toBe(Date.parse(x509.validTo));
    expect(facts.notAfter.getTime() - facts.notBefore.getTime()).toBe(90 * 86_400_000);
    expect(Math.abs(facts.notBefore.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    expect(facts.domains).toEqual(['example.com', '*.example.com', 'www.example.com']);
    expect(facts.issuer).toContain('O=Test CA');
    expect(facts.issuer).toContain('CN=Test Root');
    expect(facts.issuer).not.toContain('\n');
  });

  it('reads the serial as lower-case hex, leading zero kept as openssl and ACM print it', () => {
    // Prepare: ACM shows "0a:1b:..."; a stripped zero would make drift repair re-import for nothing.
    const printed = execFileSync('openssl', ['x509', '-noout', '-serial'], { input: leafPem })
      .toString()
      .trim()
      .replace(/^serial=/, '')
      .toLowerCase();

    // Act
    const facts = readCertificate(leafPem);

    // Assess
    expect(printed).toBe('0a1b2c3d4e5f60718293');
    expect(facts.serial).toBe(printed);
  });

  it('reads a certificate without SANs as no domains', () => {
    // Act
    const facts = readCertificate(caPem);

    // Assess
    expect(facts.domains).toEqual([]);
    expect(facts.serial).toMatch(/^[0-9a-f]+$/);
  });
});
