/**
 * What ELBv2 allows and how it refuses, for the listener deployer: NLB key types, the
 * certificate quota per load balancer, ELBv2's error names, and the errors (naming the listener,
 * the load balancer and the fix) that a refused certificate is reported with.
 */
import { ACM_KEY_ALGORITHMS } from './acm.js';
import {
  ListenerApiError,
  ListenerKeyTypeError,
  ListenerNotFoundError,
  ListenerQuotaError,
} from './errors.js';

/** The kind of load balancer a listener belongs to. */
export type LoadBalancerType = 'application' | 'network';

/** The parts of a listener view the errors need. */
interface ListenerRef {
  arn: string;
  loadBalancerType: LoadBalancerType;
}

/**
 * Key algorithms a Network Load Balancer TLS listener serves: "Supported key algorithms: RSA
 * 1024-bit, RSA 2048-bit, RSA 3072-bit, ECDSA 256-bit, ECDSA 384-bit, ECDSA 521-bit" ("TLS
 * listeners for your Network Load Balancer", section "Server certificates",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/create-tls-listener.html).
 * RSA 4096 is not among them (revisions of that page until 2022 were stricter still: "You cannot
 * install certificates with RSA keys larger than 2048-bit or EC keys"). ACM's names for them:
 * https://docs.aws.amazon.com/acm/latest/userguide/import-certificate-prerequisites.html
 */
export const NLB_KEY_ALGORITHMS: ReadonlySet<string> = new Set([
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1',
]);

/**
 * Certificates per load balancer before ELBv2 answers `TooManyCertificates` (adjustable in
 * Service Quotas). ALB: 25 "excluding default certificates",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html;
 * NLB: 25 "Certificates per Network Load Balancer",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html
 */
export const CERTIFICATES_PER_LOAD_BALANCER = 25;

/** Region of a listener: field 4 of `arn:aws:elasticloadbalancing:<region>:...`. */
export function listenerRegion(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/** `listener/net/...` is a Network Load Balancer's listener; anything else an Application one. */
export function loadBalancerTypeOf(listenerArn: string): LoadBalancerType {
  return /:listener\/net\//.test(listenerArn) ? 'network' : 'application';
}

/** `...:listener/app/<name>/<lb-id>/<listener-id>` -> `...:loadbalancer/app/<name>/<lb-id>`. */
export function loadBalancerArnOf(listenerArn: string): string {
  const match = /^(.*):listener\/(app|net|gwy)\/([^/]+)\/([^/]+)\/[^/]+$/.exec(listenerArn);
  return match ? `${match[1]}:loadbalancer/${match[2]}/${match[3]}/${match[4]}` : listenerArn;
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

export function isListenerNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'ListenerNotFoundException' || name === 'ListenerNotFound';
}

/**
 * ELBv2's errors for a certificate it cannot use. AddListenerCertificates and ModifyListener
 * list `CertificateNotFound` and `TooManyCertificates`:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddListenerCertificates.html
 * An ACM certificate imported seconds ago is answered `CertificateNotFound` until ELBv2 sees it
 * (eventual consistency; tools retry it, e.g. hashicorp/terraform-provider-aws#10294 and #3901).
 * `UnsupportedCertificate` is not modelled in the SDK, so it arrives under its code as name.
 */
export const isCertificateNotFound = (e: unknown) =>
  ['CertificateNotFoundException', 'CertificateNotFound'].includes(errorName(e));
export const isUnsupportedCertificate = (e: unknown) =>
  ['UnsupportedCertificate', 'UnsupportedCertificateException'].includes(errorName(e));
export const isTooManyCertificates = (e: unknown) =>
  ['TooManyCertificatesException', 'TooManyCertificates'].includes(errorName(e));
/** Errors about one certificate of a batch, not the whole call: worth retrying one by one. */
export const isPerCertificate = (e: unknown) =>
  isCertificateNotFound(e) || isUnsupportedCertificate(e) || isTooManyCertificates(e);

export function sdkDetail(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function notFound(arn: string, cause?: unknown): ListenerNotFoundError {
  return new ListenerNotFoundError(
    `listener ${arn} does not exist in ${listenerRegion(arn) || 'its region'}: check listeners[].arn in the configuration (account and region)`,
    { cause },
  );
}

export function apiError(what: string, arn: string, error: unknown): ListenerApiError {
  return new ListenerApiError(`cannot ${what} listener ${arn}: ${sdkDetail(error)}`, {
    cause: error,
  });
}

/** ListenerNotFound becomes a {@link ListenerNotFoundError}; anything else a {@link ListenerApiError}. */
export function failure(what: string, arn: string, error: unknown): Error {
  return isListenerNotFound(error) ? notFound(arn, error) : apiError(what, arn, error);
}

/** `ec-p256, ec-p384, rsa-2048 or rsa-3072`: the configuration's key types an NLB serves. */
function nlbKeyTypes(): string {
  const names = Object.entries(ACM_KEY_ALGORITHMS)
    .filter(([, algorithm]) => NLB_KEY_ALGORITHMS.has(algorithm))
    .map(([keyType]) => keyType);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('');
}

function keyTypeName(algorithm: string): string {
  const keyType = Object.entries(ACM_KEY_ALGORITHMS).find(([, a]) => a === algorithm)?.[0];
  return keyType ? `${algorithm} (keyType ${keyType})` : algorithm;
}

export function keyTypeError(
  listenerArn: string,
  certificateArn: string,
  algorithm: string | undefined,
  cause?: unknown,
): ListenerKeyTypeError {
  const refused = algorithm
    ? `its key type ${keyTypeName(algorithm)} is not supported`
    : `ELBv2 refused it as unsupported (${sdkDetail(cause)})`;
  return new ListenerKeyTypeError(
    `listener ${listenerArn} is a Network Load Balancer TLS listener and cannot serve certificate ${certificateArn}: ${refused}; NLB TLS listeners take ${[...NLB_KEY_ALGORITHMS].join(', ')}: set keyType to ${nlbKeyTypes()} for this certificate`,
    cause === undefined ? undefined : { cause },
  );
}

export function quotaError(
  view: ListenerRef,
  certificateArn: string,
  cause: unknown,
): ListenerQuotaError {
  const loadBalancer = loadBalancerArnOf(view.arn);
  const kind = view.loadBalancerType === 'network' ? 'Network' : 'Application';
  const counted = view.loadBalancerType === 'network' ? '' : ', not counting default certificates';
  return new ListenerQuotaError(
    `load balancer ${loadBalancer} has no room for certificate ${certificateArn} on listener ${view.arn} (${sdkDetail(cause)}): an ${kind} Load Balancer holds ${CERTIFICATES_PER_LOAD_BALANCER} certificates by default, over all its listeners${counted}; raise "Certificates per ${kind} Load Balancer" (Elastic Load Balancing) in Service Quotas, or move some certificates to another load balancer`,
    loadBalancer,
    { cause },
  );
}
