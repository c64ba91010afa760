/**
 * Reads what ACM reports about an imported certificate from its PEM, and
 * checks the key pair the way ImportCertificate does.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { ApiError } from './protocol.js';

/** What DescribeCertificate reports, taken from the certificate itself. */
export interface CertificateFacts {
  serial: string;
  keyAlgorithm: string;
  domainName: string;
  subjectAlternativeNames: string[];
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Key Usage names (`digitalSignature`, ...); `undefined` when the extension is absent. */
  keyUsage: string[] | undefined;
  /** Extended Key Usage OIDs; `undefined` when the extension is absent. */
  extendedKeyUsage: string[] | undefined;
}

/** RFC 5280 §4.2.1.3 KeyUsage bits, in bit order. */
const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];
/** DER of the extension id 2.5.29.15 (id-ce-keyUsage). */
const KEY_USAGE_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);

/**
 * Reads the Key Usage extension from the DER, which Node's X509Certificate does not expose:
 * OID, an optional `critical` BOOLEAN, then an OCTET STRING wrapping a BIT STRING.
 */
export function keyUsageOf(der: Buffer): string[] | undefined {
  let at = der.indexOf(KEY_USAGE_OID);
  if (at < 0) return undefined;
  at += KEY_USAGE_OID.length;
  if (der[at] === 0x01) at += 2 + (der[at + 1] ?? 0);
  if (der[at] !== 0x04 || der[at + 2] !== 0x03) return undefined;
  const length = der[at + 3] ?? 0;
  const bits = der.subarray(at + 5, at + 4 + length);
  return KEY_USAGE_BITS.filter((_, i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
}

/** Key algorithms ACM accepts on import, by the name ACM reports. */
const EC_CURVES: Record<string, string> = {
  prime256v1: 'EC_prime256v1',
  secp384r1: 'EC_secp384r1',
  secp521r1: 'EC_secp521r1',
};
const RSA_SIZES = new Set([1024, 2048, 3072, 4096]);

/** Splits a PEM bundle into its certificate blocks. */
export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function invalid(message: string): ApiError {
  return new ApiError('ValidationException', message);
}

/** ACM's serial format: colon-separated lower-case hex bytes. */
export function acmSerial(serialHex: string): string {
  const hex = serialHex.toLowerCase().replace(/[^0-9a-f]/g, '');
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  return (even.match(/../g) ?? []).join(':');
}

function keyAlgorithm(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' && RSA_SIZES.has(details.modulusLength ?? 0)) {
    return `RSA_${details.modulusLength}`;
  }
  const curve = key.asymmetricKeyType === 'ec' ? EC_CURVES[details.namedCurve ?? ''] : undefined;
  if (curve) return curve;
  throw invalid(
    `The certificate uses an unsupported key algorithm (${key.asymmetricKeyType} ${details.modulusLength ?? details.namedCurve ?? ''}).`,
  );
}

function attribute(dn: string, name: string): string | undefined {
  for (const line of dn.split('\n')) {
    if (line.startsWith(`${name}=`)) return line.slice(name.length + 1);
  }
  return undefined;
}

/**
 * Parses and validates a certificate, key and chain as ImportCertificate
 * does: all must parse and the key must belong to the certificate.
 */
export function inspectImport(
  certificatePem: string,
  privateKeyPem: string,
  chainPem?: string,
): CertificateFacts {
  const blocks = pemBlocks(certificatePem);
  if (blocks.length !== 1) {
    throw invalid('The certificate field must contain exactly one certificate in PEM format.');
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(blocks[0] ?? '');
  } catch {
    throw invalid('The certificate could not be parsed.');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw invalid('The private key is not supported or could not be parsed.');
  }
  if (!certificate.checkPrivateKey(key)) {
    throw invalid('The private key does not match the public key in the certificate.');
  }
  if (chainPem !== undefined && chainPem.trim() !== '') {
    const chain = pemBlocks(chainPem);
    if (chain.length === 0) throw invalid('The certificate chain could not be parsed.');
    for (const block of chain) {
      try {
        new X509Certificate(block);
      } catch {
        throw invalid('The certificate chain could not be parsed.');
      }
    }
  }
  const sans = (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
  const commonName = attribute(certificate.subject, 'CN');
  const domainName = commonName ?? sans[0] ?? '';
  return {
    serial: acmSerial(certificate.serialNumber),
    keyAlgorithm: keyAlgorithm(certificate.publicKey),
    domainName,
    // ACM lists the domain name first, then the other names.
    subjectAlternativeNames: [domainName, ...sans.filter((san) => san !== domainName)].filter(
      Boolean,
    ),
    subject: certificate.subject.split('\n').join(','),
    issuer: certificate.issuer.split('\n').join(','),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    keyUsage: keyUsageOf(certificate.raw),
    // Node names the Extended Key Usage OIDs `keyUsage`.
    extendedKeyUsage: certificate.keyUsage,
  };
}
