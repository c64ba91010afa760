/**
 * A fleet of certificates on the local cloud, for the benchmark and the scale tests: N
 * certificates over `zones` hosted zones (every other one an apex + wildcard pair), `perListener`
 * per HTTPS listener (the first its default, the rest SNI), each listener on its own ALB and
 * serving a placeholder until the first run.
 */
import type { LocalCloud } from './cloud.js';
import { placeholderCertificate } from './placeholder-cert.js';

export interface FleetOptions {
  certificates: number;
  zones: number;
  perListener: number;
  /** Prefix of zone and load balancer names, so fleets in one cloud do not collide. */
  prefix: string;
}

/** Seeds zones and listeners and returns the configuration document for the fleet. */
export function seedFleet(cloud: LocalCloud, options: FleetOptions): Record<string, unknown> {
  const { certificates: n, zones: z, perListener, prefix } = options;
  const zones = Array.from({ length: z }, (_, i) =>
    cloud.emulator.createHostedZone(`${prefix}${i}.test`).name.replace(/\.$/, ''),
  );
  const placeholder = cloud.emulator.importCertificate(placeholderCertificate(`${prefix}.test`));
  const listeners = Array.from({ length: Math.ceil(n / perListener) }, (_, l) => {
    const lb = cloud.emulator.createLoadBalancer({ name: `${prefix}-${l}`, type: 'application' });
    return cloud.emulator.createListener({
      loadBalancerArn: lb.arn,
      protocol: 'HTTPS',
      port: 443,
      defaultCertificateArn: placeholder.arn,
    }).arn;
  });
  return {
    acme: { directoryUrl: cloud.directoryUrl },
    dns: { propagationResolvers: [cloud.dns.address] },
    certificates: Array.from({ length: n }, (_, i) => {
      const apex = `c${i}.${zones[i % z]}`;
      return {
        name: `c${i}`,
        domains: i % 2 === 0 ? [apex, `*.${apex}`] : [apex],
        listeners: [
          {
            arn: listeners[Math.floor(i / perListener)],
            mode: i % perListener === 0 ? 'default' : 'sni',
          },
        ],
      };
    }),
  };
}
