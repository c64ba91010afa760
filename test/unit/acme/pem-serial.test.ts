/**
 * The stored serial must equal the serial the ACM deployer reads back (ACM prints "0a:1b:...",
 * lambda/deploy/acm.ts strips the colons): CA serials often start with a zero nibble
 * (Let's Encrypt's start with 03..06), and a mismatch makes drift repair re-import for nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCertificate } from '../../../lambda/acme/pem.js';

describe('readCertificate serial', () => {
  let dir: string;
  let pem: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'renewer-serial-'));
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
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-days',
        '90',
        '-subj',
        '/CN=example.com',
        '-set_serial',
        '0x03A1B2C3D4E5F6',
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    pem = readFileSync(join(dir, 'c.pem'), 'utf8');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the leading zero, byte for byte as openssl and ACM print it', () => {
    // Prepare
    const printed = execFileSync('openssl', ['x509', '-noout', '-serial'], { input: pem })
      .toString()
      .trim()
      .replace(/^serial=/, '')
      .toLowerCase();
    const acmSerial = '03:a1:b2:c3:d4:e5:f6'.replace(/:/g, '').toLowerCase();

    // Act
    const facts = readCertificate(pem);

    // Assess
    expect(printed).toBe('03a1b2c3d4e5f6');
    expect(facts.serial).toBe(printed);
    expect(facts.serial).toBe(acmSerial);
  });
});
