/**
 * ELBv2 over the Query protocol: load balancers and listeners with their
 * default and additional certificates, as the renewer binds them.
 */
import {
  ApiError,
  decodeToken,
  encodeToken,
  queryList,
  randomHex,
  type XmlValue,
} from './protocol.js';

/** Namespace of every ELBv2 document. */
export const ELBV2_NAMESPACE = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

/** One load balancer. */
export interface LoadBalancer {
  arn: string;
  name: string;
  type: 'application' | 'network';
  region: string;
  createdAt: Date;
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

/** Additional certificates a listener takes besides its default (AWS default quota). */
const MAX_ADDITIONAL_CERTIFICATES = 25;
const SECURE = new Set(['HTTPS', 'TLS']);

/** ELBv2 state; `certificateExists` is asked of ACM. */
export class Elbv2Store {
  readonly loadBalancers = new Map<string, LoadBalancer>();
  readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly accountId: string,
    private readonly certificateExists: (arn: string, region: string) => boolean,
  ) {}

  /** Seeds a load balancer; ids are random hex, as in real ARNs. */
  createLoadBalancer(name: string, type: 'application' | 'network', region: string): LoadBalancer {
    const kind = type === 'application' ? 'app' : 'net';
    const arn = `arn:aws:elasticloadbalancing:${region}:${this.accountId}:loadbalancer/${kind}/${name}/${randomHex(8)}`;
    const lb: LoadBalancer = { arn, name, type, region, createdAt: new Date() };
    this.loadBalancers.set(arn, lb);
    return lb;
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
    if (
      defaultCertificateArn !== undefined &&
      !this.certificateExists(defaultCertificateArn, lb.region)
    ) {
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

  /** Every certificate must be in ACM in the listener's region. */
  requireCertificates(arns: string[], region: string): void {
    if (arns.length === 0)
      throw new ApiError('ValidationError', 'At least one certificate is required');
    for (const arn of arns) {
      if (!this.certificateExists(arn, region)) {
        throw new ApiError('CertificateNotFound', `Certificate '${arn}' not found`);
      }
    }
  }
}

function loadBalancerXml(lb: LoadBalancer): XmlValue {
  const id = lb.arn.split('/').pop();
  return {
    LoadBalancerArn: lb.arn,
    DNSName: `${lb.name}-${id}.${lb.region}.elb.amazonaws.com`,
    CanonicalHostedZoneId: 'Z35SXDOTRQ7X7K',
    CreatedTime: lb.createdAt,
    LoadBalancerName: lb.name,
    Scheme: 'internet-facing',
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

/** Runs one ELBv2 action; the answer is the content of `<ActionResult>`. */
export function handleElbv2(
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
        store.requireCertificates(certificates, listener.region);
        listener.defaultCertificateArn = certificates[0];
      }
      listener.protocol = protocol;
      if (port !== undefined) listener.port = Number(port);
      return { Listeners: { member: [listenerXml(listener)] } };
    }
    case 'AddListenerCertificates': {
      const listener = secureListener(store, form, region);
      const certificates = queryList(form, 'Certificates', 'CertificateArn');
      store.requireCertificates(certificates, listener.region);
      const added = certificates.filter((arn) => !listener.certificateArns.includes(arn));
      if (new Set([...listener.certificateArns, ...added]).size > MAX_ADDITIONAL_CERTIFICATES) {
        throw new ApiError(
          'TooManyCertificates',
          'You have reached the maximum number of certificates',
        );
      }
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
    default:
      throw new ApiError(
        'InvalidAction',
        `The action ${action} is not valid for this web service.`,
      );
  }
}
