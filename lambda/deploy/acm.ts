/**
 * ACM side of the deploy step: import certificates, re-import renewals into the same ARN,
 * and delete only what this tool imported and nothing uses.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import {
  type ACMClient,
  type CertificateDetail,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  type ImportCertificateCommandInput,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import type { KeyType } from '../config.js';
import { withBackoff } from '../core/backoff.js';
import type { StoredCertificate } from '../core/types.js';
import { AcmImportError } from './errors.js';

export { AcmImportError } from './errors.js';

/** Tag on every certificate this tool imports; with {@link CERTIFICATE_TAG_KEY} it marks ownership. */
export const MANAGED_BY_TAG = { key: 'ManagedBy', value: 'acme-renewer' } as const;
/** Tag whose value is `${secretPrefix}/${name}`: which deployment and certificate own the import. */
export const CERTIFICATE_TAG_KEY = 'AcmeRenewerCertificate';

/** The parts of a stored certificate that ACM takes. */
export type CertificateMaterial = Pick<StoredCertificate, 'certificate' | 'chain' | 'privateKey'>;

/** What the deploy step needs to know about an ACM certificate. */
export interface AcmCertificateInfo {
  arn: string;
  /** Serial number, lower-case hex without colons (as in {@link StoredCertificate.serial}). */
  serial: string;
  /** ACM's key algorithm, e.g. `EC_prime256v1` or `RSA_2048`. */
  keyAlgorithm: string;
  /** ARNs of the resources (load balancers) that use the certificate. */
  inUseBy: string[];
}

/** ACM's `KeyAlgorithm` for each configured key type: a re-import cannot change it. */
export const ACM_KEY_ALGORITHMS: Readonly<Record<KeyType, string>> = {
  'ec-p256': 'EC_prime256v1',
  'ec-p384': 'EC_secp384r1',
  'rsa-2048': 'RSA_2048',
  'rsa-3072': 'RSA_3072',
  'rsa-4096': 'RSA_4096',
};

/** Options of {@link AcmDeployer}. */
export interface AcmDeployerOptions {
  /** The ACM client for a region (built once per region by the caller). */
  readonly clientFor: (region: string) => ACMClient;
  /** The configuration's `secretPrefix`: scopes which imported certificates are this deployment's. */
  readonly secretPrefix: string;
  /** @default - a Logger with service name `acme-renewer` */
  readonly logger?: Logger;
  /** Called once per throttled retry, with the operation name (for a metric). @default - nothing */
  readonly onThrottle?: (operation: string) => void;
  /** Waits between throttled retries; injected by tests. @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

const PEM_BLOCK = /-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g;

/** `Name: message` of an SDK error, with any PEM block removed in case a service echoed one. */
function describeSdkError(error: unknown): string {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return `${name}: ${message.replace(PEM_BLOCK, '[redacted PEM]')}`;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** Imports certificates into ACM and cleans up the ones this tool imported. */
export class AcmDeployer {
  private readonly logger: Logger;
  /** `region arn` -> ownership; the promise is cached so parallel callers share one request. */
  private readonly managed = new Map<string, Promise<boolean>>();

  constructor(private readonly options: AcmDeployerOptions) {
    this.logger = options.logger ?? new Logger({ serviceName: 'acme-renewer' });
  }

  /** ImportCertificate into a NEW ARN with both ownership tags; returns the ARN. */
  async importNew(region: string, name: string, material: CertificateMaterial): Promise<string> {
    const tagValue = `${this.options.secretPrefix}/${name}`;
    let arn: string | undefined;
    try {
      const output = await this.send(region, 'ImportCertificate', (client) =>
        client.send(
          new ImportCertificateCommand({
            ...this.body(material),
            Tags: [
              { Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value },
              { Key: CERTIFICATE_TAG_KEY, Value: tagValue },
            ],
          }),
        ),
      );
      arn = output.CertificateArn;
    } catch (error) {
      throw new AcmImportError(
        `cannot import certificate "${name}" into ACM in ${region}: ${describeSdkError(error)}`,
        { cause: error },
      );
    }
    if (!arn) {
      throw new AcmImportError(
        `cannot import certificate "${name}" into ACM in ${region}: ImportCertificate returned no CertificateArn`,
      );
    }
    this.managed.set(`${region} ${arn}`, Promise.resolve(true));
    this.logger.info('acm certificate imported', { region, certificate: name, arn });
    return arn;
  }

  /**
   * Re-imports into an existing ARN, which keeps its listener associations. ACM rejects tags on
   * a re-import (the ARN keeps the ones it has) and a change of key algorithm: check
   * {@link describe} against {@link ACM_KEY_ALGORITHMS} first and use {@link importNew} then.
   */
  async reimport(region: string, arn: string, material: CertificateMaterial): Promise<void> {
    try {
      await this.send(region, 'ImportCertificate', (client) =>
        client.send(new ImportCertificateCommand({ ...this.body(material), CertificateArn: arn })),
      );
    } catch (error) {
      throw new AcmImportError(
        `cannot re-import into ACM certificate ${arn} in ${region}: ${describeSdkError(error)}`,
        { cause: error },
      );
    }
    this.logger.info('acm certificate re-imported', { region, arn });
  }

  /** DescribeCertificate; undefined when the certificate does not exist. */
  async describe(region: string, arn: string): Promise<AcmCertificateInfo | undefined> {
    let certificate: CertificateDetail | undefined;
    try {
      const output = await this.send(region, 'DescribeCertificate', (client) =>
        client.send(new DescribeCertificateCommand({ CertificateArn: arn })),
      );
      certificate = output.Certificate;
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      throw error;
    }
    if (!certificate) return undefined;
    return {
      arn: certificate.CertificateArn ?? arn,
      serial: (certificate.Serial ?? '').replace(/:/g, '').toLowerCase(),
      keyAlgorithm: certificate.KeyAlgorithm ?? '',
      inUseBy: certificate.InUseBy ?? [],
    };
  }

  /**
   * Deletes a certificate only when this tool imported it and nothing uses it. ACM updates
   * InUseBy lazily after a listener lets go, so ResourceInUseException also means 'in-use':
   * a later run deletes it.
   */
  async deleteIfUnused(
    region: string,
    arn: string,
  ): Promise<'deleted' | 'in-use' | 'not-found' | 'not-managed'> {
    const info = await this.describe(region, arn);
    if (!info) return 'not-found';
    if (!(await this.isManaged(region, arn))) {
      this.logger.info('acm certificate kept: not managed', { region, arn });
      return 'not-managed';
    }
    if (info.inUseBy.length > 0) {
      this.logger.info('acm certificate kept: in use', { region, arn, inUseBy: info.inUseBy });
      return 'in-use';
    }
    try {
      await this.send(region, 'DeleteCertificate', (client) =>
        client.send(new DeleteCertificateCommand({ CertificateArn: arn })),
      );
    } catch (error) {
      const name = errorName(error);
      if (name === 'ResourceInUseException') {
        this.logger.info('acm certificate kept: in use', { region, arn });
        return 'in-use';
      }
      if (name === 'ResourceNotFoundException') return 'not-found';
      throw error;
    }
    this.managed.delete(`${region} ${arn}`);
    this.logger.info('acm certificate deleted', { region, arn });
    return 'deleted';
  }

  /**
   * True when the certificate carries `ManagedBy=acme-renewer` and an `AcmeRenewerCertificate`
   * tag under this deployment's `secretPrefix`. One ListTagsForCertificate per ARN per instance;
   * a missing certificate, or an ARN that is not ACM's (an IAM server certificate), is false.
   */
  isManaged(region: string, arn: string): Promise<boolean> {
    if (!/^arn:aws[a-z-]*:acm:/.test(arn)) return Promise.resolve(false);
    const key = `${region} ${arn}`;
    const cached = this.managed.get(key);
    if (cached) return cached;
    const pending = this.fetchManaged(region, arn);
    this.managed.set(key, pending);
    // A failure is not an answer: forget it so that a later call asks again.
    pending.catch(() => this.managed.delete(key));
    return pending;
  }

  private async fetchManaged(region: string, arn: string): Promise<boolean> {
    let tags: { Key?: string; Value?: string }[];
    try {
      const output = await this.send(region, 'ListTagsForCertificate', (client) =>
        client.send(new ListTagsForCertificateCommand({ CertificateArn: arn })),
      );
      tags = output.Tags ?? [];
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return false;
      throw error;
    }
    const value = (key: string) => tags.find((tag) => tag.Key === key)?.Value;
    return (
      value(MANAGED_BY_TAG.key) === MANAGED_BY_TAG.value &&
      (value(CERTIFICATE_TAG_KEY) ?? '').startsWith(`${this.options.secretPrefix}/`)
    );
  }

  private body(material: CertificateMaterial): ImportCertificateCommandInput {
    return {
      Certificate: Buffer.from(material.certificate),
      PrivateKey: Buffer.from(material.privateKey),
      // ACM rejects an empty chain; a certificate straight from a root has none.
      ...(material.chain.trim() ? { CertificateChain: Buffer.from(material.chain) } : {}),
    };
  }

  private send<T>(
    region: string,
    operation: string,
    call: (client: ACMClient) => Promise<T>,
  ): Promise<T> {
    const client = this.options.clientFor(region);
    return withBackoff(() => call(client), {
      attempts: 6,
      sleep: this.options.sleep,
      onRetry: (attempt, delayMs) => {
        this.logger.warn('acm throttled, retrying', { operation, region, attempt, delayMs });
        this.options.onThrottle?.(operation);
      },
    });
  }
}
