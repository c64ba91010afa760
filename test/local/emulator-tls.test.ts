import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import {
  AddListenerCertificatesCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkServed, normaliseSerial, type ServedTarget } from '../../lambda/deploy/served.js';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';
import {
  nameCovers,
  type ServedCertificate,
  selectCertificate,
} from '../../local/emulator/tls-listeners.js';

interface Pair {
  cert: string;
  key: string;
  serial: string;
}

let dir: string;
let counter = 0;

/** A self-signed EC P-256 certificate with these DNS names (the first is the CN). */
function makeCert(names: string[]): Pair {
  const base = join(dir, `c${counter++}`);
  // biome-ignore format: flag and value pairs read better on shared lines
  execFileSync('openssl', [
    'req', '-x509', '-nodes', '-days', '1', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', `/CN=${names[0]}`,
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
  ], { stdio: 'pipe' });
  const cert = readFileSync(`${base}.crt`, 'utf8');
  return {
    cert,
    key: readFileSync(`${base}.key`, 'utf8'),
    serial: normaliseSerial(new X509Certificate(cert).serialNumber),
  };
}

/** The serial a client without SNI is served (connecting to an IP sends no SNI). */
function servedWithoutSni(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, rejectUnauthorized: false }, () => {
      const leaf = socket.getPeerX509Certificate();
      socket.destroy();
      if (leaf) resolve(normaliseSerial(leaf.serialNumber));
      else reject(new Error('no certificate'));
    });
    socket.on('error', reject);
  });
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('ELBv2 emulator data plane: TLS by SNI', () => {
  let emulator: Emulator;
  let elb: ElasticLoadBalancingV2Client;
  let acm: ACMClient;
  const resolve = async (host: string) => {
    const address = emulator.loadBalancerAddress(host);
    return address === undefined ? [] : [address];
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-tls-'));
    emulator = await startEmulator();
    const config = {
      endpoint: emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    };
    elb = new ElasticLoadBalancingV2Client(config);
    acm = new ACMClient(config);
  });

  afterAll(async () => {
    elb.destroy();
    acm.destroy();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An internet-facing ALB with one HTTPS listener on 443 whose default certificate is `pair`. */
  async function albWith(pair: Pair) {
    const lb = emulator.createLoadBalancer({ name: `web-${counter++}`, type: 'application' });
    const defaultArn = emulator.importCertificate({
      certificatePem: pair.cert,
      privateKeyPem: pair.key,
    }).arn;
    const listener = emulator.createListener({
      loadBalancerArn: lb.arn,
      protocol: 'HTTPS',
      port: 443,
      defaultCertificateArn: defaultArn,
    });
    await emulator.listenersReady();
    const target = (servername: string): ServedTarget => ({
      listenerArn: listener.arn,
      host: lb.dnsName,
      port: 443,
      servername,
    });
    return { lb, listener, defaultArn, target };
  }

  async function servedSerials(targets: ServedTarget[]): Promise<string[]> {
    const results = await checkServed(targets, { resolve, timeoutMs: 2000 });
    return results.map((r) => (r.outcome === 'served' ? r.serial : `${r.outcome}: ${r.reason}`));
  }

  it('serves each bound certificate by SNI, the default without SNI or without a match', async () => {
    // Prepare
    const apex = makeCert(['example.test']);
    const www = makeCert(['www.example.test']);
    const wildcard = makeCert(['*.example.test']);
    const { lb, listener, target } = await albWith(apex);
    for (const pair of [www, wildcard]) {
      const arn = emulator.importCertificate({
        certificatePem: pair.cert,
        privateKeyPem: pair.key,
      }).arn;
      await elb.send(
        new AddListenerCertificatesCommand({
          ListenerArn: listener.arn,
          Certificates: [{ CertificateArn: arn }],
        }),
      );
    }
    const endpoint = emulator.listenerEndpoint(listener.arn);

    // Act
    const serials = await servedSerials([
      target('www.example.test'),
      target('WWW.Example.Test'),
      target('api.example.test'),
      target('example.test'),
      target('deep.api.example.test'),
      target('other.test'),
    ]);
    const withoutSni = await servedWithoutSni(endpoint?.address ?? '', 443);
    const described = await elb.send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.arn] }),
    );

    // Assess
    expect(endpoint).toMatchObject({
      port: 443,
      state: 'listening',
      address: expect.stringMatching(/^127\./),
    });
    expect(emulator.loadBalancerAddress(lb.dnsName)).toBe(endpoint?.address);
    expect(described.LoadBalancers?.[0]?.DNSName).toBe(lb.dnsName);
    expect(serials).toEqual([
      www.serial, // exact name
      www.serial, // names match ignoring case
      wildcard.serial, // one label under the wildcard
      apex.serial, // the apex is not covered by the wildcard: the default (exact match here)
      apex.serial, // a wildcard covers one label only: default
      apex.serial, // no match: default
    ]);
    expect(withoutSni).toBe(apex.serial);
  });

  it('follows ModifyListener, Add/RemoveListenerCertificates and re-import at the next handshake', async () => {
    // Prepare
    const first = makeCert(['shop.example.test']);
    const { listener, target } = await albWith(first);
    const second = makeCert(['shop.example.test']);
    const secondArn = emulator.importCertificate({
      certificatePem: second.cert,
      privateKeyPem: second.key,
    }).arn;
    const api = makeCert(['api.shop.example.test']);
    const apiArn = emulator.importCertificate({
      certificatePem: api.cert,
      privateKeyPem: api.key,
    }).arn;
    const apiRenewed = makeCert(['api.shop.example.test']);

    // Act
    const before = await servedSerials([target('shop.example.test')]);
    await elb.send(
      new ModifyListenerCommand({
        ListenerArn: listener.arn,
        Certificates: [{ CertificateArn: secondArn }],
      }),
    );
    const afterModify = await servedSerials([target('shop.example.test')]);
    await elb.send(
      new AddListenerCertificatesCommand({
        ListenerArn: listener.arn,
        Certificates: [{ CertificateArn: apiArn }],
      }),
    );
    const afterAdd = await servedSerials([target('api.shop.example.test')]);
    await acm.send(
      new ImportCertificateCommand({
        CertificateArn: apiArn,
        Certificate: bytes(apiRenewed.cert),
        PrivateKey: bytes(apiRenewed.key),
      }),
    );
    const afterReimport = await servedSerials([target('api.shop.example.test')]);
    await elb.send(
      new RemoveListenerCertificatesCommand({
        ListenerArn: listener.arn,
        Certificates: [{ CertificateArn: apiArn }],
      }),
    );
    const afterRemove = await servedSerials([target('api.shop.example.test')]);

    // Assess
    expect(before).toEqual([first.serial]);
    expect(afterModify).toEqual([second.serial]);
    expect(afterAdd).toEqual([api.serial]);
    expect(afterReimport).toEqual([apiRenewed.serial]);
    expect(afterRemove).toEqual([second.serial]);
  });

  it('stops serving a deleted listener or load balancer, and moves with a port change', async () => {
    // Prepare
    const pair = makeCert(['gone.example.test']);
    const one = await albWith(pair);
    const two = await albWith(pair);

    // Act
    await elb.send(new ModifyListenerCommand({ ListenerArn: one.listener.arn, Port: 8443 }));
    await emulator.listenersReady();
    const moved = await servedSerials([{ ...one.target('gone.example.test'), port: 8443 }]);
    const oldPort = await servedSerials([one.target('gone.example.test')]);
    await elb.send(new DeleteListenerCommand({ ListenerArn: one.listener.arn }));
    await emulator.listenersReady();
    const afterDelete = await servedSerials([{ ...one.target('gone.example.test'), port: 8443 }]);
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: two.lb.arn }));
    await emulator.listenersReady();
    const afterLbDelete = await servedSerials([two.target('gone.example.test')]);

    // Assess
    expect(moved).toEqual([pair.serial]);
    expect(oldPort).toEqual([expect.stringContaining('unreachable: ')]);
    expect(afterDelete).toEqual([expect.stringContaining('connection refused')]);
    expect(emulator.listenerEndpoint(one.listener.arn)).toBeUndefined();
    // The name no longer resolves once the load balancer is gone.
    expect(afterLbDelete).toEqual([expect.stringContaining('has no address')]);
    expect(emulator.listener(two.listener.arn)).toBeUndefined();
  });

  it('gives an internal load balancer a private address and serves nothing for it', async () => {
    // Prepare
    const pair = makeCert(['intranet.example.test']);
    const lb = emulator.createLoadBalancer({
      name: 'intranet',
      type: 'application',
      scheme: 'internal',
    });
    const arn = emulator.importCertificate({
      certificatePem: pair.cert,
      privateKeyPem: pair.key,
    }).arn;
    const listener = emulator.createListener({
      loadBalancerArn: lb.arn,
      protocol: 'HTTPS',
      port: 443,
      defaultCertificateArn: arn,
    });

    // Act
    const described = await elb.send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.arn] }),
    );
    const [result] = await checkServed(
      [
        {
          listenerArn: listener.arn,
          host: lb.dnsName,
          port: 443,
          scheme: 'internal',
          servername: 'intranet.example.test',
        },
      ],
      { resolve },
    );

    // Assess
    expect(emulator.loadBalancerAddress(lb.dnsName)).toMatch(/^10\./);
    expect(emulator.listenerEndpoint(listener.arn)).toBeUndefined();
    expect(described.LoadBalancers?.[0]?.Scheme).toBe('internal');
    expect(result?.outcome).toBe('not-checked');
  });

  it('serves a network load balancer TLS listener too, on an address of its own', async () => {
    // Prepare
    const pair = makeCert(['tls.example.test']);
    const alb = await albWith(makeCert(['other.example.test']));
    const nlb = emulator.createLoadBalancer({ name: 'edge', type: 'network' });
    const arn = emulator.importCertificate({
      certificatePem: pair.cert,
      privateKeyPem: pair.key,
    }).arn;
    const listener = emulator.createListener({
      loadBalancerArn: nlb.arn,
      protocol: 'TLS',
      port: 443,
      defaultCertificateArn: arn,
    });
    const plain = emulator.createListener({ loadBalancerArn: nlb.arn, protocol: 'TCP', port: 80 });
    await emulator.listenersReady();

    // Act
    const [result] = await checkServed(
      [{ listenerArn: listener.arn, host: nlb.dnsName, port: 443, servername: 'tls.example.test' }],
      { resolve },
    );

    // Assess
    expect(result).toMatchObject({ outcome: 'served', serial: pair.serial });
    expect(emulator.loadBalancerAddress(nlb.dnsName)).not.toBe(
      emulator.loadBalancerAddress(alb.lb.dnsName),
    );
    expect(emulator.listenerEndpoint(plain.arn)).toBeUndefined();
  });

  it('keeps two emulators in one process apart and records a port that cannot be bound', async () => {
    // Prepare
    const other = await startEmulator();
    let closed = false;
    const pair = makeCert(['twice.example.test']);
    try {
      const mine = await albWith(pair);
      const lb = other.createLoadBalancer({
        name: 'twice',
        type: 'application',
      });
      const arn = other.importCertificate({
        certificatePem: pair.cert,
        privateKeyPem: pair.key,
      }).arn;
      const listener = other.createListener({
        loadBalancerArn: lb.arn,
        protocol: 'HTTPS',
        port: 443,
        defaultCertificateArn: arn,
      });
      // A second listener on the same load balancer and port (the seeding helper does not refuse
      // it as CreateListener would) finds the port taken: recorded, and the emulator carries on.
      const clash = emulator.createListener({
        loadBalancerArn: mine.lb.arn,
        protocol: 'HTTPS',
        port: 443,
        defaultCertificateArn: mine.defaultArn,
      });
      await Promise.all([other.listenersReady(), emulator.listenersReady()]);

      // Assess
      expect(other.listenerEndpoint(listener.arn)?.state).toBe('listening');
      expect(other.loadBalancerAddress(lb.dnsName)).not.toBe(
        emulator.loadBalancerAddress(mine.lb.dnsName),
      );
      expect(emulator.listenerEndpoint(clash.arn)).toMatchObject({
        state: 'failed',
        error: expect.stringContaining('EADDRINUSE'),
      });
      expect(emulator.listenerEndpoint(mine.listener.arn)?.state).toBe('listening');

      // Act: close() takes the other emulator's TLS endpoints down with it.
      const address = other.loadBalancerAddress(lb.dnsName) ?? '';
      expect(await servedWithoutSni(address, 443)).toBe(pair.serial);
      closed = true;
      await other.close();

      // Assess
      await expect(servedWithoutSni(address, 443)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      if (!closed) await other.close();
    }
  });

  it('keeps the private key out of every ACM and ELBv2 answer', async () => {
    // Prepare
    const pair = makeCert(['secret.example.test']);
    const { listener, defaultArn } = await albWith(pair);
    const { DescribeCertificateCommand, GetCertificateCommand, ListCertificatesCommand } =
      await import('@aws-sdk/client-acm');
    const { DescribeListenerCertificatesCommand, DescribeListenersCommand } = await import(
      '@aws-sdk/client-elastic-load-balancing-v2'
    );

    // Act
    const answers = await Promise.all([
      acm.send(new DescribeCertificateCommand({ CertificateArn: defaultArn })),
      acm.send(new GetCertificateCommand({ CertificateArn: defaultArn })),
      acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ['EC_prime256v1'] } })),
      elb.send(new DescribeListenersCommand({ ListenerArns: [listener.arn] })),
      elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: listener.arn })),
    ]);
    const views = [emulator.certificates(), emulator.listener(listener.arn)];

    // Assess
    const keyBody = pair.key.split('\n')[1] ?? 'unreachable';
    for (const answer of [...answers, ...views]) {
      const text = JSON.stringify(answer);
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(keyBody);
    }
    expect(JSON.stringify(answers[1])).toContain('BEGIN CERTIFICATE');
  });
});

describe('selectCertificate', () => {
  const cert = (
    arn: string,
    names: string[],
    keyAlgorithm = 'EC_prime256v1',
    notAfter = '2030-01-01',
  ): ServedCertificate => ({
    arn,
    names,
    keyAlgorithm,
    notAfter: new Date(notAfter),
    certificatePem: '',
    chainPem: '',
    privateKeyPem: '',
    importCount: 1,
  });

  it('prefers an exact name to a wildcard, ECDSA to RSA, then the later expiry', () => {
    const fallback = cert('default', ['default.test']);
    const exactRsa = cert('exact-rsa', ['a.x.test'], 'RSA_2048');
    const wild = cert('wild', ['*.x.test']);
    const exactEc = cert('exact-ec', ['a.x.test'], 'EC_prime256v1', '2029-01-01');
    const exactEcLater = cert('exact-ec-later', ['a.x.test'], 'EC_prime256v1', '2031-01-01');

    expect(selectCertificate('a.x.test', fallback, [wild, exactRsa])?.arn).toBe('exact-rsa');
    expect(selectCertificate('a.x.test', fallback, [exactRsa, exactEc, exactEcLater])?.arn).toBe(
      'exact-ec-later',
    );
    expect(selectCertificate('b.x.test', fallback, [exactRsa, wild])?.arn).toBe('wild');
    expect(selectCertificate(undefined, fallback, [wild])?.arn).toBe('default');
    expect(selectCertificate('none.test', fallback, [wild])?.arn).toBe('default');
  });

  it('matches a wildcard for exactly one label, never the apex', () => {
    expect(nameCovers('*.x.test', 'a.x.test')).toBe('wildcard');
    expect(nameCovers('*.x.test', 'x.test')).toBeUndefined();
    expect(nameCovers('*.x.test', 'a.b.x.test')).toBeUndefined();
    expect(nameCovers('A.X.test', 'a.x.TEST.')).toBe('exact');
  });
});
