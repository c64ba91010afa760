/**
 * ACM over JSON 1.1 (`X-Amz-Target: CertificateManager.<Op>`): imported
 * certificates per region, with ImportCertificate's validation rules.
 */
import { type CertificateFacts, inspectImport } from './certificate-pem.js';
import { ApiError, decodeToken, encodeToken, randomUUID } from './protocol.js';
import type { ServedCertificate } from './tls-listeners.js';

/** One imported certificate. */
export interface StoredCertificate extends CertificateFacts {
  arn: string;
  region: string;
  certificatePem: string;
  privateKeyPem: string;
  chainPem: string;
  tags: Map<string, string>;
  importedAt: Date;
  createdAt: Date;
  importCount: number;
  /** Seeded by a test as existing state: ELBv2 sees it at once, with no propagation window. */
  seeded: boolean;
}

/** What ELBv2 can see of a certificate; `undefined` from the lookup when it sees nothing. */
export interface CertificateForElb {
  keyAlgorithm: string;
}

/** What an import carries, PEM text already decoded. */
export interface ImportInput {
  region: string;
  certificatePem: string;
  privateKeyPem: string;
  chainPem?: string;
  arn?: string;
  tags?: Array<{ Key: string; Value?: string }>;
  /** See {@link StoredCertificate.seeded}. */
  seeded?: boolean;
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * The re-import rules of "Reimport a certificate"
 * (https://docs.aws.amazon.com/acm/latest/userguide/import-reimport.html): "If Key Usage
 * extensions are present in the originally imported certificate, you can add new extension
 * values, but you cannot remove existing values" (exception: `keyEncipherment` from ECDSA
 * certificates, RFC 5480 §3); the same for Extended Key Usage (exception: Client Authentication);
 * and from "Prerequisites for importing ACM certificates": when re-importing, a KeyUsage or
 * ExtendedKeyUsage extension cannot be added if the previous certificate had none. The error
 * code is ImportCertificate's ValidationException; AWS documents no exact message, so this one
 * names what was dropped.
 */
function checkUsages(existing: StoredCertificate, next: CertificateFacts): void {
  const ecdsa = next.keyAlgorithm.startsWith('EC_');
  const rules: Array<[string, string[] | undefined, string[] | undefined, string]> = [
    ['Key Usage', existing.keyUsage, next.keyUsage, ecdsa ? 'keyEncipherment' : ''],
    ['Extended Key Usage', existing.extendedKeyUsage, next.extendedKeyUsage, CLIENT_AUTH],
  ];
  for (const [label, before, after, removable] of rules) {
    if (before === undefined && after !== undefined) {
      throw new ApiError(
        'ValidationException',
        `The certificate being imported adds a ${label} extension that the certificate being replaced (${existing.arn}) does not have; import it as a new certificate instead.`,
      );
    }
    const dropped = (before ?? []).filter((v) => v !== removable && !(after ?? []).includes(v));
    if (dropped.length > 0) {
      throw new ApiError(
        'ValidationException',
        `The certificate being imported removes ${label} values (${dropped.join(', ')}) that the certificate being replaced (${existing.arn}) has; re-import cannot remove them, import it as a new certificate instead.`,
      );
    }
  }
}

type Input = Record<string, unknown>;

const seconds = (date: Date) => date.getTime() / 1000;
const ARN = /^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/;

/** ACM state. `inUseBy` is asked of ELBv2, which owns the references. */
export class AcmStore {
  readonly certificates = new Map<string, StoredCertificate>();
  /**
   * How long after ImportCertificate of a new ARN ELBv2 still answers CertificateNotFound for
   * it: ACM and ELBv2 are separate services and ELBv2 learns of new ACM certificates eventually.
   * The CLB API documents this for its CertificateNotFound ("if you recently uploaded the
   * certificate to IAM, this error might indicate that the certificate is not fully available
   * yet"); AWS states no duration, so the default of a few seconds is a choice.
   */
  certificatePropagationMs = 3000;

  constructor(
    private readonly accountId: string,
    private readonly inUseBy: (arn: string) => string[],
  ) {}

  /** The certificate by ARN in a region; ACM is regional. */
  get(arn: unknown, region: string): StoredCertificate {
    if (typeof arn !== 'string' || !ARN.test(arn)) {
      throw new ApiError('InvalidArnException', `The ARN is not valid: ${String(arn)}`);
    }
    const certificate = this.certificates.get(arn);
    if (!certificate || certificate.region !== region) {
      throw new ApiError('ResourceNotFoundException', `Could not find certificate ${arn}.`);
    }
    return certificate;
  }

  /** True when the certificate exists in that region. */
  exists(arn: string, region: string): boolean {
    return this.certificates.get(arn)?.region === region;
  }

  /**
   * The certificate as ELBv2 sees it: absent in another region, and absent for
   * {@link certificatePropagationMs} after its first import.
   */
  forElb(arn: string, region: string, now = Date.now()): CertificateForElb | undefined {
    const certificate = this.certificates.get(arn);
    if (!certificate || certificate.region !== region) return undefined;
    const age = now - certificate.createdAt.getTime();
    if (!certificate.seeded && age < this.certificatePropagationMs) return undefined;
    return { keyAlgorithm: certificate.keyAlgorithm };
  }

  /**
   * What a load balancer serves for the certificate, private key included, for the emulated data
   * plane only (no API answer carries the key). Absent in another region or once deleted; a
   * re-import into the ARN changes it at once, as it does for ELB ("Reimport a certificate":
   * the certificate keeps its ARN and its associations).
   */
  served(arn: string, region: string): ServedCertificate | undefined {
    const c = this.certificates.get(arn);
    if (!c || c.region !== region) return undefined;
    return {
      arn: c.arn,
      certificatePem: c.certificatePem,
      chainPem: c.chainPem,
      privateKeyPem: c.privateKeyPem,
      names: c.subjectAlternativeNames,
      keyAlgorithm: c.keyAlgorithm,
      notAfter: c.notAfter,
      importCount: c.importCount,
    };
  }

  /** In-use references: load balancers whose listeners name the certificate. */
  usedBy(arn: string): string[] {
    return this.inUseBy(arn);
  }

  /** ImportCertificate, both first import and re-import into an ARN. */
  import(input: ImportInput): StoredCertificate {
    const facts = inspectImport(input.certificatePem, input.privateKeyPem, input.chainPem);
    const now = new Date();
    if (input.arn !== undefined) {
      const existing = this.get(input.arn, input.region);
      if (input.tags !== undefined && input.tags.length > 0) {
        throw new ApiError(
          'ValidationException',
          'You cannot add tags when re-importing a certificate.',
        );
      }
      if (existing.keyAlgorithm !== facts.keyAlgorithm) {
        throw new ApiError(
          'ValidationException',
          `The key algorithm of the new certificate (${facts.keyAlgorithm}) must match that of the certificate being replaced (${existing.keyAlgorithm}).`,
        );
      }
      checkUsages(existing, facts);
      Object.assign(existing, facts, {
        certificatePem: input.certificatePem,
        privateKeyPem: input.privateKeyPem,
        chainPem: input.chainPem ?? '',
        importedAt: now,
        importCount: existing.importCount + 1,
      });
      return existing;
    }
    const certificate: StoredCertificate = {
      ...facts,
      arn: `arn:aws:acm:${input.region}:${this.accountId}:certificate/${randomUUID()}`,
      region: input.region,
      certificatePem: input.certificatePem,
      privateKeyPem: input.privateKeyPem,
      chainPem: input.chainPem ?? '',
      tags: new Map((input.tags ?? []).map((t) => [t.Key, t.Value ?? ''])),
      importedAt: now,
      createdAt: now,
      importCount: 1,
      seeded: input.seeded ?? false,
    };
    this.certificates.set(certificate.arn, certificate);
    return certificate;
  }
}

function blob(input: Input, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ApiError('ValidationException', `${key} must be a blob`);
  // JSON 1.1 carries blobs as base64; the SDK encodes Uint8Array that way.
  return Buffer.from(value, 'base64').toString('utf8');
}

function tagList(input: Input): Array<{ Key: string; Value?: string }> | undefined {
  const tags = input.Tags;
  if (tags === undefined || tags === null) return undefined;
  if (!Array.isArray(tags)) throw new ApiError('ValidationException', 'Tags must be a list');
  return tags as Array<{ Key: string; Value?: string }>;
}

function detail(store: AcmStore, c: StoredCertificate) {
  return {
    CertificateArn: c.arn,
    DomainName: c.domainName,
    SubjectAlternativeNames: c.subjectAlternativeNames,
    Serial: c.serial,
    Subject: c.subject,
    Issuer: c.issuer,
    CreatedAt: seconds(c.createdAt),
    ImportedAt: seconds(c.importedAt),
    NotBefore: seconds(c.notBefore),
    NotAfter: seconds(c.notAfter),
    KeyAlgorithm: c.keyAlgorithm,
    InUseBy: store.usedBy(c.arn),
    Type: 'IMPORTED',
    Status: 'ISSUED',
    RenewalEligibility: 'INELIGIBLE',
  };
}

function listCertificates(store: AcmStore, input: Input, region: string) {
  const includes = (input.Includes ?? {}) as { keyTypes?: string[] };
  // Like ACM, without an explicit keyTypes filter only RSA 1024/2048 are listed.
  const keyTypes = includes.keyTypes ?? ['RSA_1024', 'RSA_2048'];
  const statuses = input.CertificateStatuses as string[] | undefined;
  const all = [...store.certificates.values()].filter(
    (c) =>
      c.region === region &&
      keyTypes.includes(c.keyAlgorithm) &&
      (statuses === undefined || statuses.length === 0 || statuses.includes('ISSUED')),
  );
  const max = input.MaxItems === undefined ? 1000 : Number(input.MaxItems);
  const start = decodeToken(input.NextToken as string | undefined, 'InvalidArgsException');
  return {
    CertificateSummaryList: all.slice(start, start + max).map((c) => ({
      CertificateArn: c.arn,
      DomainName: c.domainName,
      SubjectAlternativeNameSummaries: c.subjectAlternativeNames,
      Type: 'IMPORTED',
      Status: 'ISSUED',
      KeyAlgorithm: c.keyAlgorithm,
      InUse: store.usedBy(c.arn).length > 0,
      NotBefore: seconds(c.notBefore),
      NotAfter: seconds(c.notAfter),
      ImportedAt: seconds(c.importedAt),
    })),
    NextToken: start + max < all.length ? encodeToken(start + max) : undefined,
  };
}

/** Runs one ACM operation in the request's region. */
export function handleAcm(
  store: AcmStore,
  operation: string,
  input: Input,
  region: string,
): unknown {
  switch (operation) {
    case 'ImportCertificate': {
      const certificatePem = blob(input, 'Certificate');
      const privateKeyPem = blob(input, 'PrivateKey');
      if (!certificatePem || !privateKeyPem) {
        throw new ApiError('ValidationException', 'Certificate and PrivateKey are required.');
      }
      const chainPem = blob(input, 'CertificateChain');
      const tags = tagList(input);
      const certificate = store.import({
        region,
        certificatePem,
        privateKeyPem,
        ...(chainPem !== undefined && { chainPem }),
        ...(typeof input.CertificateArn === 'string' && { arn: input.CertificateArn }),
        ...(tags !== undefined && { tags }),
      });
      return { CertificateArn: certificate.arn };
    }
    case 'DescribeCertificate':
      return { Certificate: detail(store, store.get(input.CertificateArn, region)) };
    case 'GetCertificate': {
      const c = store.get(input.CertificateArn, region);
      return { Certificate: c.certificatePem, CertificateChain: c.chainPem || undefined };
    }
    case 'DeleteCertificate': {
      const c = store.get(input.CertificateArn, region);
      if (store.usedBy(c.arn).length > 0) {
        throw new ApiError('ResourceInUseException', `Certificate ${c.arn} is in use.`);
      }
      store.certificates.delete(c.arn);
      return {};
    }
    case 'AddTagsToCertificate': {
      const c = store.get(input.CertificateArn, region);
      for (const tag of tagList(input) ?? []) c.tags.set(tag.Key, tag.Value ?? '');
      return {};
    }
    case 'RemoveTagsFromCertificate': {
      const c = store.get(input.CertificateArn, region);
      for (const tag of tagList(input) ?? []) {
        if (tag.Value === undefined || c.tags.get(tag.Key) === tag.Value) c.tags.delete(tag.Key);
      }
      return {};
    }
    case 'ListTagsForCertificate': {
      const c = store.get(input.CertificateArn, region);
      return { Tags: [...c.tags].map(([Key, Value]) => ({ Key, Value })) };
    }
    case 'ListCertificates':
      return listCertificates(store, input, region);
    default:
      throw new ApiError('UnknownOperationException', `Unsupported operation ${operation}`);
  }
}
