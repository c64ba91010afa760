/** Reading certificates with node:crypto and making certificate keys. */
import { generateKeyPair, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyType } from '../config.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Facts read from a leaf certificate. */
export interface CertificateFacts {
  /** Lower-case hex without separators. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  /** DNS names from subjectAltName, lower case. */
  domains: string[];
}

/** Splits a PEM bundle into its certificate blocks, in order. */
export function splitPem(bundle: string): string[] {
  return bundle.match(PEM_BLOCK) ?? [];
}

/** Reads serial, validity, issuer and SANs of a PEM certificate. */
export function readCertificate(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  const domains = (cert.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return {
    // The same bytes `openssl x509 -serial` and ACM show (leading zero bytes kept).
    serial: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    issuer: cert.issuer.split('\n').join(', '),
    domains,
  };
}

/**
 * A new private key of the configured type, PKCS#8 PEM. Generated asynchronously: RSA keys
 * take hundreds of milliseconds and must not block the event loop while other orders run.
 */
export async function createPrivateKey(keyType: KeyType): Promise<string> {
  const encoding = { privateKeyEncoding: { type: 'pkcs8', format: 'pem' } } as const;
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  if (keyType.startsWith('ec-')) {
    const namedCurve = keyType === 'ec-p384' ? 'P-384' : 'P-256';
    const { privateKey } = await generateKeyPairAsync('ec', {
      namedCurve,
      publicKeyEncoding,
      ...encoding,
    });
    return privateKey;
  }
  const modulusLength = Number(keyType.slice('rsa-'.length));
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength,
    publicKeyEncoding,
    ...encoding,
  });
  return privateKey;
}
