/**
 * ACM side of the deploy step: import certificates, re-import renewals into the same ARN,
 * and delete only what this tool imported and nothing uses.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import {
  type ACMClient,
  AddTagsToCertificateCommand,
  type CertificateDetail,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  type ImportCertificateCommandInput,
  type KeyAlgorithm,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import type { KeyType } from '../config.js';
import { withBackoff } from '../core/backoff.js';
import type { StoredCertificate } from '../core/types.js';
import { AcmImportError, AcmReimportRefusedError } from './errors.js';

export { AcmImportError, AcmReimportRefusedError } from './errors.js';

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
  /**
   * ACM's `Type`: `IMPORTED` for a certificate imported with ImportCertificate, `AMAZON_ISSUED`
   * for one ACM issued itself, `PRIVATE` for one from AWS Private CA ("CertificateDetail",
   * https://docs.aws.amazon.com/acm/latest/APIReference/API_CertificateDetail.html). Only an
   * IMPORTED certificate can be re-imported. @default - unknown (ACM did not say)
   */
  type?: string;
}

/**
 * Who owns an ACM certificate, by its tags, as seen by one certificate of this deployment:
 * `this` (both ownership tags name it), `none` (no `AcmeRenewerCertificate` tag: free to adopt),
 * or `other` (the tag names another certificate or deployment, its value in `owner`).
 */
export type AcmOwnership = { kind: 'this' } | { kind: 'none' } | { kind: 'other'; owner: string };

/**
 * A certificate named by `certificates[].acmCertificateArn` cannot be adopted (it does not exist,
 * ACM issued it, its key type differs, another certificate owns it, ACM refused the re-import).
 * The message names the ARN and the fix.
 */
export class AcmAdoptError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcmAdoptError';
  }
}

/** An imported ACM certificate as ListCertificates summarises it. */
export interface AcmImportedCertificate {
  arn: string;
  domainName?: string;
  /** ACM's key algorithm, e.g. `EC_prime256v1`. */
  keyAlgorithm?: string;
  /** Whether an AWS resource (a load balancer) uses it. */
  inUse?: boolean;
  notAfter?: Date;
  importedAt?: Date;
}

/** Hints that narrow {@link AcmDeployer.findImport}'s candidates before any DescribeCertificate. */
export interface FindImportHints {
  /**
   * The import started at or after this instant (an import intent's `startedAt`); candidates
   * imported more than five minutes earlier (clock skew) are skipped. @default - no time bound
   */
  readonly importedAfter?: Date;
  /** The certificate's first domain, ACM's `DomainName`. @default - any domain */
  readonly domainName?: string;
}

/**
 * Every key type ACM can import. ListCertificates returns only RSA_1024 and RSA_2048
 * certificates unless `Includes.keyTypes` names others ("Filters", keyTypes: "Default filtering
 * returns only RSA_1024 and RSA_2048 certificates that have at least one domain",
 * https://docs.aws.amazon.com/acm/latest/APIReference/API_Filters.html); every configured key type
 * is among these, and so is any imported certificate a configuration adopts.
 */
export const ACM_LIST_KEY_TYPES: readonly KeyAlgorithm[] = [
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1',
];

/** How far an ACM `ImportedAt` may precede a recorded import start (clocks differ). */
const IMPORT_CLOCK_MARGIN_MS = 5 * 60_000;

/**
 * ImportCertificate's answer when a re-import breaks a rule of "Reimport a certificate"
 * (https://docs.aws.amazon.com/acm/latest/userguide/import-reimport.html): Key Usage and
 * Extended Key Usage values can be added but not removed, "The key type and size cannot be
 * changed"; and "Prerequisites for importing ACM certificates": a KeyUsage or ExtendedKeyUsage
 * extension cannot be added when the previous certificate had none. The code is
 * ValidationException; AWS documents no message. Seen in the field: "New certificate is missing
 * one or more Extended Key Usages supported by the currently imported certificate"
 * (hashicorp/terraform-provider-aws#42779); so the message is matched loosely on what it is about.
 */
function isReimportRefusal(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ValidationException') return false;
  return /key usage|key algorithm|key type|key size/i.test(error.message);
}

/** ACM's `KeyAlgorithm` for each configured key type: a re-import cannot change it. */
export const ACM_KEY_ALGORITHMS: Readonly<Record<KeyType, string>> = {
  'ec-p256': 'EC_prime256v1',
  'ec-p384': 'EC_secp384r1',
  'rsa-2048': 'RSA_2048',
  'rsa-3072': 'RSA_3072',
  'rsa-4096': 'RSA_4096',
};

/** The configured key type of an ACM key algorithm; undefined for one no keyType names. */
export function keyTypeOfAlgorithm(algorithm: string): KeyType | undefined {
  const entry = Object.entries(ACM_KEY_ALGORITHMS).find(([, a]) => a === algorithm);
  return entry?.[0] as KeyType | undefined;
}

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

/**
 * Imports certificates into ACM and cleans up the ones this tool imported.
 *
 * Caches (ownership tags, the per-region list of imported certificates, key algorithms) live on
 * the instance and nowhere else: build one instance per invocation, so that a warm Lambda
 * container never answers from what an earlier invocation saw.
 */
export class AcmDeployer {
  private readonly logger: Logger;
  /** `region arn` -> ownership; the promise is cached so parallel callers share one request. */
  private readonly managed = new Map<string, Promise<string | undefined>>();
  /** region -> imported certificates by ARN (one paged ListCertificates per region). */
  private readonly imported = new Map<string, Promise<Map<string, AcmImportedCertificate>>>();
  /** `region arn` -> key algorithm: fixed for an ARN, as a re-import cannot change it. */
  private readonly keyAlgorithms = new Map<string, Promise<string | undefined>>();
  /** `region arn` -> what this instance imported, merged into a list fetched later. */
  private readonly extraImports = new Map<string, AcmImportedCertificate>();

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
    this.managed.set(`${region} ${arn}`, Promise.resolve(name));
    // ListCertificates may not show it for a while: what this instance imported exists.
    const newArn = arn;
    void this.imported.get(region)?.then(
      (list) => list.set(newArn, { arn: newArn, importedAt: new Date(), inUse: false }),
      () => undefined,
    );
    this.extraImports.set(`${region} ${arn}`, { arn, importedAt: new Date(), inUse: false });
    this.logger.info('acm certificate imported', { region, certificate: name, arn });
    return arn;
  }

  /**
   * Re-imports into an existing ARN, which keeps its listener associations. ACM rejects tags on
   * a re-import (the ARN keeps the ones it has) and a change of key algorithm: check
   * {@link describe} against {@link ACM_KEY_ALGORITHMS} first and use {@link importNew} then.
   * Throws {@link AcmReimportRefusedError} when ACM refuses by its re-import rules (a dropped
   * key usage, a changed key type), {@link AcmImportError} for anything else.
   */
  async reimport(region: string, arn: string, material: CertificateMaterial): Promise<void> {
    try {
      await this.send(region, 'ImportCertificate', (client) =>
        client.send(new ImportCertificateCommand({ ...this.body(material), CertificateArn: arn })),
      );
    } catch (error) {
      if (isReimportRefusal(error)) {
        throw new AcmReimportRefusedError(
          `ACM refused to re-import into certificate ${arn} in ${region} (${describeSdkError(error)}): the new certificate drops a key usage or changes the key type the imported one has, which a re-import cannot do; it must be imported into a new ARN and the listeners moved to it`,
          region,
          arn,
          { cause: error },
        );
      }
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
      ...(certificate.Type ? { type: certificate.Type } : {}),
    };
  }

  /**
   * Who owns `arn` by its tags, from certificate `name`'s point of view (one
   * ListTagsForCertificate, not cached: it is asked once, before an adoption).
   */
  async ownership(region: string, arn: string, name: string): Promise<AcmOwnership> {
    const tags = await this.tags(region, arn);
    const owner = tags.get(CERTIFICATE_TAG_KEY);
    if (owner === undefined) return { kind: 'none' };
    const mine = `${this.options.secretPrefix}/${name}`;
    if (owner === mine && tags.get(MANAGED_BY_TAG.key) === MANAGED_BY_TAG.value)
      return { kind: 'this' };
    return { kind: 'other', owner };
  }

  /**
   * Adds both ownership tags for certificate `name` to an existing certificate (an adopted one).
   * A re-import cannot carry tags, and this deployment's IAM policy lets it re-import only
   * certificates that carry them (aws:ResourceTag), so an adopted certificate gets them first;
   * AddTagsToCertificate itself is allowed only with exactly these tags (aws:RequestTag).
   */
  async tagOwned(region: string, arn: string, name: string): Promise<void> {
    await this.send(region, 'AddTagsToCertificate', (client) =>
      client.send(
        new AddTagsToCertificateCommand({
          CertificateArn: arn,
          Tags: [
            { Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value },
            { Key: CERTIFICATE_TAG_KEY, Value: `${this.options.secretPrefix}/${name}` },
          ],
        }),
      ),
    );
    this.managed.set(`${region} ${arn}`, Promise.resolve(name));
    this.logger.info('acm certificate tagged as adopted', { region, certificate: name, arn });
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
    this.extraImports.delete(`${region} ${arn}`);
    void this.imported.get(region)?.then(
      (list) => list.delete(arn),
      () => undefined,
    );
    this.logger.info('acm certificate deleted', { region, arn });
    return 'deleted';
  }

  /**
   * The region's imported certificates: one paged ListCertificates per region per instance
   * (cached; parallel callers share it), with every key type included, IMPORTED ones kept.
   * Certificates this instance imported or deleted are reflected even when ListCertificates lags.
   */
  async listImported(region: string): Promise<AcmImportedCertificate[]> {
    const list = await this.importedMap(region);
    return [...list.values()];
  }

  /**
   * Whether an ACM certificate exists in the region, answered from {@link listImported} (no
   * DescribeCertificate per ARN on idle runs). Only imported certificates count: an ARN ACM
   * issued itself is not this tool's to serve.
   */
  async exists(region: string, arn: string): Promise<boolean> {
    return (await this.importedMap(region)).has(arn);
  }

  /**
   * The certificate's ACM key algorithm (e.g. `RSA_4096`), undefined when it does not exist:
   * from {@link listImported} when listed, else one DescribeCertificate; cached per ARN, since a
   * re-import cannot change it. Meant for `ListenerDeployerOptions.keyAlgorithmOf`.
   */
  keyAlgorithmOf(region: string, arn: string): Promise<string | undefined> {
    const key = `${region} ${arn}`;
    const cached = this.keyAlgorithms.get(key);
    if (cached) return cached;
    const pending = (async () => {
      const listed = (await this.importedMap(region)).get(arn)?.keyAlgorithm;
      if (listed) return listed;
      return (await this.describe(region, arn))?.keyAlgorithm || undefined;
    })();
    this.keyAlgorithms.set(key, pending);
    pending.catch(() => this.keyAlgorithms.delete(key));
    return pending;
  }

  /**
   * Finds a certificate this deployment imported for `name` (tags `ManagedBy=acme-renewer` and
   * `AcmeRenewerCertificate=${secretPrefix}/${name}`) whose serial is `serial`, to adopt an
   * import that a killed run never recorded. Candidates come from {@link listImported} (narrowed
   * by `hints`), newest ImportedAt first; only they are described (serial) and, on a serial
   * match, their tags read. Undefined when none matches.
   */
  async findImport(
    region: string,
    name: string,
    serial: string,
    hints: FindImportHints = {},
  ): Promise<string | undefined> {
    const wanted = serial.replace(/:/g, '').toLowerCase();
    const after = hints.importedAfter
      ? hints.importedAfter.getTime() - IMPORT_CLOCK_MARGIN_MS
      : undefined;
    const candidates = (await this.listImported(region))
      .filter((c) => after === undefined || (c.importedAt?.getTime() ?? Infinity) >= after)
      .filter((c) => !hints.domainName || !c.domainName || c.domainName === hints.domainName)
      .sort((a, b) => (b.importedAt?.getTime() ?? 0) - (a.importedAt?.getTime() ?? 0));
    for (const candidate of candidates) {
      const info = await this.describe(region, candidate.arn);
      if (!info || info.serial !== wanted) continue;
      if (await this.ownedBy(region, candidate.arn, name)) {
        this.logger.info('acm import adopted', { region, certificate: name, arn: candidate.arn });
        return candidate.arn;
      }
    }
    return undefined;
  }

  /**
   * True when the certificate carries `ManagedBy=acme-renewer` and an `AcmeRenewerCertificate`
   * tag under this deployment's `secretPrefix`. One ListTagsForCertificate per ARN per instance;
   * a missing certificate, or an ARN that is not ACM's (an IAM server certificate), is false.
   */
  async isManaged(region: string, arn: string): Promise<boolean> {
    return (await this.ownerOf(region, arn)) !== undefined;
  }

  /**
   * The name of the certificate of this deployment that imported `arn` (from its ownership
   * tags), undefined when it is not this deployment's. Cached like {@link isManaged}.
   */
  ownerOf(region: string, arn: string): Promise<string | undefined> {
    if (!/^arn:aws[a-z-]*:acm:/.test(arn)) return Promise.resolve(undefined);
    const key = `${region} ${arn}`;
    const cached = this.managed.get(key);
    if (cached) return cached;
    const pending = this.fetchOwner(region, arn);
    this.managed.set(key, pending);
    // A failure is not an answer: forget it so that a later call asks again.
    pending.catch(() => this.managed.delete(key));
    return pending;
  }

  private async fetchOwner(region: string, arn: string): Promise<string | undefined> {
    const tags = await this.tags(region, arn);
    const owner = tags.get(CERTIFICATE_TAG_KEY) ?? '';
    const prefix = `${this.options.secretPrefix}/`;
    if (tags.get(MANAGED_BY_TAG.key) !== MANAGED_BY_TAG.value || !owner.startsWith(prefix))
      return undefined;
    return owner.slice(prefix.length);
  }

  /** Both ownership tags, naming exactly this deployment's certificate `name`. */
  private async ownedBy(region: string, arn: string, name: string): Promise<boolean> {
    const tags = await this.tags(region, arn);
    return (
      tags.get(MANAGED_BY_TAG.key) === MANAGED_BY_TAG.value &&
      tags.get(CERTIFICATE_TAG_KEY) === `${this.options.secretPrefix}/${name}`
    );
  }

  /** ListTagsForCertificate as a map; empty for a certificate that is gone. */
  private async tags(region: string, arn: string): Promise<Map<string, string>> {
    try {
      const output = await this.send(region, 'ListTagsForCertificate', (client) =>
        client.send(new ListTagsForCertificateCommand({ CertificateArn: arn })),
      );
      return new Map((output.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return new Map();
      throw error;
    }
  }

  private importedMap(region: string): Promise<Map<string, AcmImportedCertificate>> {
    const cached = this.imported.get(region);
    if (cached) return cached;
    const pending = this.fetchImported(region);
    this.imported.set(region, pending);
    // A failure is not an answer: forget it so that a later call asks again.
    pending.catch(() => this.imported.delete(region));
    return pending;
  }

  private async fetchImported(region: string): Promise<Map<string, AcmImportedCertificate>> {
    const list = new Map<string, AcmImportedCertificate>();
    let token: string | undefined;
    do {
      const output = await this.send(region, 'ListCertificates', (client) =>
        client.send(
          new ListCertificatesCommand({
            Includes: { keyTypes: [...ACM_LIST_KEY_TYPES] },
            MaxItems: 1000,
            NextToken: token,
          }),
        ),
      );
      for (const c of output.CertificateSummaryList ?? []) {
        if (!c.CertificateArn || c.Type !== 'IMPORTED') continue;
        list.set(c.CertificateArn, {
          arn: c.CertificateArn,
          ...(c.DomainName ? { domainName: c.DomainName } : {}),
          ...(c.KeyAlgorithm ? { keyAlgorithm: c.KeyAlgorithm } : {}),
          ...(c.InUse !== undefined ? { inUse: c.InUse } : {}),
          ...(c.NotAfter ? { notAfter: c.NotAfter } : {}),
          ...(c.ImportedAt ? { importedAt: c.ImportedAt } : {}),
        });
      }
      token = output.NextToken;
    } while (token);
    for (const [key, extra] of this.extraImports) {
      if (key.startsWith(`${region} `) && !list.has(extra.arn)) list.set(extra.arn, extra);
    }
    return list;
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
