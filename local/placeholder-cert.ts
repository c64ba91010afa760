/** A self-signed certificate for seeding a listener before the renewer has issued anything. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Placeholder {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * Makes a self-signed EC P-256 certificate for `domain` (valid one day) with openssl;
 * `extensions` are further `-addext` values (e.g. `keyUsage=critical,digitalSignature`, to look
 * like a CA-issued certificate an operator imported by hand).
 */
export function placeholderCertificate(domain: string, extensions: string[] = []): Placeholder {
  const dir = mkdtempSync(join(tmpdir(), 'placeholder-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], {
      stdio: 'ignore',
    });
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-x509',
        '-key',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        `/CN=placeholder ${domain}`,
        '-addext',
        `subjectAltName=DNS:${domain}`,
        ...extensions.flatMap((e) => ['-addext', e]),
      ],
      { stdio: 'ignore' },
    );
    return {
      certificatePem: readFileSync(cert, 'utf8'),
      privateKeyPem: execFileSync('openssl', [
        'pkcs8',
        '-topk8',
        '-nocrypt',
        '-in',
        key,
      ]).toString(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
