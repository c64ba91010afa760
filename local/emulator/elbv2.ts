/**
 * ELBv2 over the Query protocol: load balancers and listeners with their
 * default and additional certificates, as the renewer binds them.
 */
import type { CertificateForElb } from './acm.js';
import {
  ApiError,
  decodeToken,
  encodeToken,
  queryList,
  randomHex,
  type XmlValue,
} from './protocol.js';
import {
  nextLoopbackAddress,
  nextPrivateAddress,
  type ServedCertificate,
  type ServedListener,
  TlsListeners,
} from './tls-listeners.js';

/** Namespace of every ELBv2 document. */
export const ELBV2_NAMESPACE = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

/** One load balancer. */
export interface LoadBalancer {
  arn: string;
  name: string;
  type: 'application' | 'network';
  region: string;
  createdAt: Date;
  /** `internal` load balancers are not served on loopback. @default 'internet-facing' */
  scheme: LoadBalancerScheme;
  /**
   * What the DNS name resolves to: a loopback address of its own, served by the emulated data
   * plane, or for an internal load balancer a private address that nothing answers.
   */
  address: string;
}

/** A load balancer's Scheme, as CreateLoadBalancer takes it. */
export type LoadBalancerScheme = 'internet-facing' | 'internal';

/** The load balancer's public DNS name, `<name>-<id>.<region>.elb.amazonaws.com`. */
export function loadBalancerDnsName(lb: LoadBalancer): string {
  const id = lb.arn.split('/').pop();
  return `${lb.name}-${id}.${lb.region}.elb.amazonaws.com`;
}

/** One listener; `certificateArns` are the additional, non-default ones. */
export interface Listener {
  arn: string;
  loadBalancerArn: string;
  region: string;
  protocol: string;
  port: number;
  defaultCertificateArn: string | undefined;
  certificateArns: string[];
}

/**
 * Certificates per load balancer, AWS's default quota. "Quotas for your Application Load
 * Balancers" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html):
 * "Certificates per Application Load Balancer (excluding default certificates): 25". "Quotas for
 * your Network Load Balancers" (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html):
 * "Certificates per Network Load Balancer: 25", without the exclusion. Both are per load
 * balancer, so the count runs over all its listeners; a certificate on two listeners is counted
 * once (the quota names certificates, not attachments).
 */
export const CERTIFICATES_PER_LOAD_BALANCER = 25;

/**
 * Key algorithms a Network Load Balancer's TLS listener accepts: "Supported key algorithms:
 * RSA 1024-bit, RSA 2048-bit, RSA 3072-bit, ECDSA 256-bit, ECDSA 384-bit, ECDSA 521-bit"
 * ("TLS listeners for your Network Load Balancer", section "Server certificates",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/create-tls-listener.html).
 * RSA 4096 is not among them; an Application Load Balancer "supports all of the algorithms
 * available from ACM" ("Prerequisites for importing ACM certificates").
 */
export const NLB_KEY_ALGORITHMS = new Set([
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1',
]);
const SECURE = new Set(['HTTPS', 'TLS']);

/** What ELBv2 asks of ACM. */
export interface AcmForElb {
  /** The certificate exists in ACM in that region (seeding checks this). */
  exists(arn: string, region: string): boolean;
  /** The certificate as ELBv2 sees it now, `undefined` when it does not (yet). */
  forElb(arn: string, region: string): CertificateForElb | undefined;
  /** What a listener serves for the certificate (data plane only), `undefined` once gone. */
  served(arn: string, region: string): ServedCertificate | undefined;
}

/** ELBv2 state; certificates are looked up in ACM. */
export class Elbv2Store {
  readonly loadBalancers = new Map<string, LoadBalancer>();
  readonly listeners = new Map<string, Listener>();
  /** See {@link CERTIFICATES_PER_LOAD_BALANCER}; adjustable, as the AWS quota is. */
  certificateQuota = CERTIFICATES_PER_LOAD_BALANCER;
  /** The data plane: a TLS endpoint per secure listener of an internet-facing load balancer. */
  readonly tls: TlsListeners;

  constructor(
    private readonly accountId: string,
    private readonly acm: AcmForElb,
  ) {
    this.tls = new TlsListeners({
      listeners: () => this.servedListeners(),
      certificates: (listenerArn) => {
        const l = this.listeners.get(listenerArn);
        if (!l) return undefined;
        return {
          defaultCertificate:
            l.defaultCertificateArn === undefined
              ? undefined
              : this.acm.served(l.defaultCertificateArn, l.region),
          additional: l.certificateArns
            .map((arn) => this.acm.served(arn, l.region))
            .filter((c): c is ServedCertificate => c !== undefined),
        };
      },
    });
  }

  /** Seeds a load balancer; ids are random hex, as in real ARNs. */
  createLoadBalancer(
    name: string,
    type: 'application' | 'network',
    region: string,
    scheme: LoadBalancerScheme = 'internet-facing',
  ): LoadBalancer {
    const kind = type === 'application' ? 'app' : 'net';
    const arn = `arn:aws:elasticloadbalancing:${region}:${this.accountId}:loadbalancer/${kind}/${name}/${randomHex(8)}`;
    const address = scheme === 'internal' ? nextPrivateAddress() : nextLoopbackAddress();
    const lb: LoadBalancer = { arn, name, type, region, createdAt: new Date(), scheme, address };
    this.loadBalancers.set(arn, lb);
    return lb;
  }

  /** The address a load balancer's DNS name resolves to, `undefined` for an unknown name. */
  addressOf(dnsName: string): string | undefined {
    const name = dnsName.toLowerCase().replace(/\.$/, '');
    for (const lb of this.loadBalancers.values()) {
      if (loadBalancerDnsName(lb).toLowerCase() === name) return lb.address;
    }
    return undefined;
  }

  /** Secure listeners of internet-facing load balancers: what the data plane serves. */
  servedListeners(): ServedListener[] {
    const served: ServedListener[] = [];
    for (const l of this.listeners.values()) {
      const lb = this.loadBalancers.get(l.loadBalancerArn);
      if (lb?.scheme !== 'internet-facing' || !SECURE.has(l.protocol)) continue;
      served.push({ arn: l.arn, address: lb.address, port: l.port });
    }
    return served;
  }

  /** Seeds a listener; its ARN extends the load balancer's, as in AWS. */
  createListener(
    lbArn: string,
    protocol: string,
    port: number,
    defaultCertificateArn?: string,
  ): Listener {
    const lb = this.loadBalancers.get(lbArn);
    if (!lb) throw new Error(`no load balancer ${lbArn}`);
    if (defaultCertificateArn !== undefined && !this.acm.exists(defaultCertificateArn, lb.region)) {
      throw new Error(`certificate ${defaultCertificateArn} is not in ACM in ${lb.region}`);
    }
    const arn = `${lbArn.replace(':loadbalancer/', ':listener/')}/${randomHex(8)}`;
    const listener: Listener = {
      arn,
      loadBalancerArn: lbArn,
      region: lb.region,
      protocol,
      port,
      defaultCertificateArn,
      certificateArns: [],
    };
    this.listeners.set(arn, listener);
    this.tls.sync();
    return listener;
  }

  /** The listener, only when it is in the calling region, as with AWS. */
  listener(arn: string | undefined, region: string): Listener {
    const listener = arn === undefined ? undefined : this.listeners.get(arn);
    if (!listener || listener.region !== region) {
      throw new ApiError('ListenerNotFound', 'One or more listeners not found');
    }
    return listener;
  }

  /** Load balancers with a listener naming the certificate (ACM's InUseBy). */
  inUseBy(certificateArn: string): string[] {
    const lbs = new Set<string>();
    for (const l of this.listeners.values()) {
      if (
        l.defaultCertificateArn === certificateArn ||
        l.certificateArns.includes(certificateArn)
      ) {
        lbs.add(l.loadBalancerArn);
      }
    }
    return [...lbs];
  }

  /**
   * Every certificate must be visible to ELBv2 in the listener's region (CertificateNotFound
   * otherwise, also just after import), and of a key type the load balancer takes: a Network
   * Load Balancer answers UnsupportedCertificate with the message below for other keys (the
   * message CloudFormation relays from ELBv2, e.g. aws-secure-environment-accelerator issue #990;
   * the SDK has no modelled class for it, so it surfaces as a generic service error).
   */
  requireCertificates(arns: string[], listener: Listener): void {
    if (arns.length === 0)
      throw new ApiError('ValidationError', 'At least one certificate is required');
    const lb = this.loadBalancers.get(listener.loadBalancerArn);
    for (const arn of arns) {
      const certificate = this.acm.forElb(arn, listener.region);
      if (!certificate) {
        throw new ApiError('CertificateNotFound', `Certificate '${arn}' not found`);
      }
      if (lb?.type === 'network' && !NLB_KEY_ALGORITHMS.has(certificate.keyAlgorithm)) {
        throw new ApiError(
          'UnsupportedCertificate',
          `The certificate '${arn}' must have a fully-qualified domain name, a supported signature, and a supported key size.`,
        );
      }
    }
  }

  /**
   * The certificates that count against the load balancer's quota, with a listener's
   * certificates replaced as a pending change would leave them: additional ones only for an
   * Application Load Balancer, default and additional for a Network Load Balancer.
   */
  quotaCount(
    lbArn: string,
    pending: { listener: Listener; defaultArn?: string; additional: string[] },
  ): number {
    const network = this.loadBalancers.get(lbArn)?.type === 'network';
    const counted = new Set<string>();
    for (const l of this.listeners.values()) {
      if (l.loadBalancerArn !== lbArn) continue;
      const mine = l === pending.listener;
      const defaultArn = mine ? pending.defaultArn : l.defaultCertificateArn;
      for (const arn of mine ? pending.additional : l.certificateArns) counted.add(arn);
      if (network && defaultArn) counted.add(defaultArn);
    }
    return counted.size;
  }

  /** Throws TooManyCertificates when the pending change would pass the quota. */
  requireQuota(pending: { listener: Listener; defaultArn?: string; additional: string[] }): void {
    const count = this.quotaCount(pending.listener.loadBalancerArn, pending);
    if (count > this.certificateQuota) {
      throw new ApiError(
        'TooManyCertificates',
        `You've reached the limit on the number of certificates per load balancer (${this.certificateQuota}); this change would make it ${count}.`,
      );
    }
  }
}

function loadBalancerXml(lb: LoadBalancer): XmlValue {
  return {
    LoadBalancerArn: lb.arn,
    // AWS prefixes an internal load balancer's name with `internal-`; the emulator keeps one form.
    DNSName: loadBalancerDnsName(lb),
    CanonicalHostedZoneId: 'Z35SXDOTRQ7X7K',
    CreatedTime: lb.createdAt,
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: 'vpc-0emulator',
    State: { Code: 'active' },
    Type: lb.type,
    IpAddressType: 'ipv4',
  };
}

function listenerXml(l: Listener): XmlValue {
  return {
    ListenerArn: l.arn,
    LoadBalancerArn: l.loadBalancerArn,
    Port: l.port,
    Protocol: l.protocol,
    // DescribeListeners shows the default certificate only, as AWS does.
    Certificates: l.defaultCertificateArn
      ? { member: [{ CertificateArn: l.defaultCertificateArn }] }
      : undefined,
    SslPolicy: SECURE.has(l.protocol) ? 'ELBSecurityPolicy-TLS13-1-2-2021-06' : undefined,
  };
}

function paginate<T>(items: T[], form: Map<string, string>): { page: T[]; next?: string } {
  const size = Number(form.get('PageSize') ?? 400);
  if (!Number.isInteger(size) || size < 1 || size > 400) {
    throw new ApiError('ValidationError', 'PageSize must be between 1 and 400');
  }
  const start = decodeToken(form.get('Marker'), 'ValidationError');
  const page = items.slice(start, start + size);
  return start + size < items.length ? { page, next: encodeToken(start + size) } : { page };
}

function describeListeners(store: Elbv2Store, form: Map<string, string>, region: string): XmlValue {
  const arns = queryList(form, 'ListenerArns');
  const lbArn = form.get('LoadBalancerArn');
  let listeners: Listener[];
  if (arns.length > 0) {
    listeners = arns.map((arn) => store.listener(arn, region));
  } else if (lbArn !== undefined) {
    const lb = store.loadBalancers.get(lbArn);
    if (!lb || lb.region !== region) {
      throw new ApiError('LoadBalancerNotFound', 'One or more load balancers not found');
    }
    listeners = [...store.listeners.values()].filter((l) => l.loadBalancerArn === lbArn);
  } else {
    throw new ApiError(
      'ValidationError',
      'You must specify either listener ARNs or a load balancer ARN',
    );
  }
  const { page, next } = paginate(listeners, form);
  return { Listeners: { member: page.map(listenerXml) }, NextMarker: next };
}

function describeLoadBalancers(
  store: Elbv2Store,
  form: Map<string, string>,
  region: string,
): XmlValue {
  const arns = queryList(form, 'LoadBalancerArns');
  const names = queryList(form, 'Names');
  const inRegion = [...store.loadBalancers.values()].filter((lb) => lb.region === region);
  let lbs = inRegion;
  if (arns.length > 0 || names.length > 0) {
    lbs = inRegion.filter((lb) => arns.includes(lb.arn) || names.includes(lb.name));
    if (lbs.length < arns.length + names.length) {
      throw new ApiError('LoadBalancerNotFound', 'One or more load balancers not found');
    }
  }
  const { page, next } = paginate(lbs, form);
  return { LoadBalancers: { member: page.map(loadBalancerXml) }, NextMarker: next };
}

function secureListener(store: Elbv2Store, form: Map<string, string>, region: string): Listener {
  const listener = store.listener(form.get('ListenerArn'), region);
  if (!SECURE.has(listener.protocol)) {
    throw new ApiError(
      'ValidationError',
      `Listener protocol '${listener.protocol}' does not take certificates`,
    );
  }
  return listener;
}

/**
 * Runs one ELBv2 action; the answer is the content of `<ActionResult>`. After a change the data
 * plane is brought in step (a moved or deleted listener stops being served at once).
 */
export function handleElbv2(
  store: Elbv2Store,
  action: string,
  form: Map<string, string>,
  region: string,
): XmlValue {
  const result = runElbv2(store, action, form, region);
  if (!action.startsWith('Describe')) store.tls.sync();
  return result;
}

function runElbv2(
  store: Elbv2Store,
  action: string,
  form: Map<string, string>,
  region: string,
): XmlValue {
  switch (action) {
    case 'DescribeLoadBalancers':
      return describeLoadBalancers(store, form, region);
    case 'DescribeListeners':
      return describeListeners(store, form, region);
    case 'DescribeListenerCertificates': {
      const l = store.listener(form.get('ListenerArn'), region);
      const all = [
        ...(l.defaultCertificateArn
          ? [{ CertificateArn: l.defaultCertificateArn, IsDefault: true }]
          : []),
        ...l.certificateArns.map((CertificateArn) => ({ CertificateArn, IsDefault: false })),
      ];
      const { page, next } = paginate(all, form);
      return { Certificates: { member: page }, NextMarker: next };
    }
    case 'ModifyListener': {
      const listener = store.listener(form.get('ListenerArn'), region);
      const certificates = queryList(form, 'Certificates', 'CertificateArn');
      const protocol = form.get('Protocol') ?? listener.protocol;
      const port = form.get('Port');
      if (certificates.length > 0) {
        if (!SECURE.has(protocol)) {
          throw new ApiError(
            'ValidationError',
            `Listener protocol '${protocol}' does not take certificates`,
          );
        }
        if (certificates.length > 1) {
          throw new ApiError('ValidationError', 'A listener takes exactly one default certificate');
        }
        store.requireCertificates(certificates, listener);
        store.requireQuota({
          listener,
          ...(certificates[0] !== undefined && { defaultArn: certificates[0] }),
          additional: listener.certificateArns,
        });
        listener.defaultCertificateArn = certificates[0];
      }
      listener.protocol = protocol;
      if (port !== undefined) listener.port = Number(port);
      return { Listeners: { member: [listenerXml(listener)] } };
    }
    case 'AddListenerCertificates': {
      const listener = secureListener(store, form, region);
      const certificates = queryList(form, 'Certificates', 'CertificateArn');
      store.requireCertificates(certificates, listener);
      const added = certificates.filter((arn) => !listener.certificateArns.includes(arn));
      store.requireQuota({
        listener,
        ...(listener.defaultCertificateArn !== undefined && {
          defaultArn: listener.defaultCertificateArn,
        }),
        additional: [...new Set([...listener.certificateArns, ...added])],
      });
      for (const arn of added)
        if (!listener.certificateArns.includes(arn)) listener.certificateArns.push(arn);
      return {
        Certificates: {
          member: certificates.map((CertificateArn) => ({ CertificateArn, IsDefault: false })),
        },
      };
    }
    case 'RemoveListenerCertificates': {
      const listener = store.listener(form.get('ListenerArn'), region);
      const certificates = queryList(form, 'Certificates', 'CertificateArn');
      if (certificates.includes(listener.defaultCertificateArn ?? '')) {
        throw new ApiError(
          'OperationNotPermitted',
          'The default certificate cannot be removed from a listener; replace it with ModifyListener',
        );
      }
      listener.certificateArns = listener.certificateArns.filter(
        (arn) => !certificates.includes(arn),
      );
      return {};
    }
    // "DeleteListener" (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteListener.html):
    // ListenerNotFound for a listener that does not exist.
    case 'DeleteListener': {
      const listener = store.listener(form.get('ListenerArn'), region);
      store.listeners.delete(listener.arn);
      return {};
    }
    // "DeleteLoadBalancer" (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteLoadBalancer.html):
    // "Deleting a load balancer also deletes its listeners"; "If the load balancer does not
    // exist or has already been deleted, the call succeeds."
    case 'DeleteLoadBalancer': {
      const arn = form.get('LoadBalancerArn');
      if (arn === undefined) throw new ApiError('ValidationError', 'LoadBalancerArn is required');
      const lb = store.loadBalancers.get(arn);
      if (lb?.region === region) {
        store.loadBalancers.delete(arn);
        for (const l of [...store.listeners.values()]) {
          if (l.loadBalancerArn === arn) store.listeners.delete(l.arn);
        }
      }
      return {};
    }
    default:
      throw new ApiError(
        'InvalidAction',
        `The action ${action} is not valid for this web service.`,
      );
  }
}
