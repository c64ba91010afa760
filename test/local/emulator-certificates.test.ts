import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACMClient,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
} from '@aws-sdk/client-acm';
import {
  AddListenerCertificatesCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';

interface Pair {
  cert: string;
  key: string;
}

let dir: string;
let emulator: Emulator;
let counter = 0;

/** A self-signed certificate made by openssl; `ext` are extra `-addext` values. */
function makeCert(keyArgs: string[], ext: string[] = []): Pair {
  const name = `c${counter++}`;
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  // biome-ignore format: flag and value pairs read better on shared lines
  execFileSync('openssl', [
    'req', '-x509', '-nodes', '-days', '90', ...keyArgs, '-keyout', key, '-out', cert,
    '-subj', '/CN=site.test', '-addext', 'subjectAltName=DNS:site.test',
    ...ext.flatMap((e) => ['-addext', e]),
  ], { stdio: 'pipe' });
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
const RSA = ['-newkey', 'rsa:2048'];
const bytes = (text: string) => new TextEncoder().encode(text);
const config = () => ({
  endpoint: emulator.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  maxAttempts: 1,
});
const acm = () => new ACMClient(config());
const elb = () => new ElasticLoadBalancingV2Client(config());

async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

function importOver(pair: Pair, arn?: string) {
  return acm().send(
    new ImportCertificateCommand({
      Certificate: bytes(pair.cert),
      PrivateKey: bytes(pair.key),
      CertificateArn: arn,
    }),
  );
}

let ec: Pair;
let rsa4096: Pair;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emulator-certs-'));
  ec = makeCert(EC);
  rsa4096 = makeCert(['-newkey', 'rsa:4096']);
  emulator = await startEmulator({ certificatePropagationMs: 0 });
});

afterAll(async () => {
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

function loadBalancer(type: 'application' | 'network') {
  const seed = emulator.importCertificate({ certificatePem: ec.cert, privateKeyPem: ec.key });
  const lb = emulator.createLoadBalancer({ name: `lb-${counter++}`, type });
  const protocol = type === 'application' ? 'HTTPS' : 'TLS';
  const listeners = [443, 8443].map(
    (port) =>
      emulator.createListener({
        loadBalancerArn: lb.arn,
        protocol,
        port,
        defaultCertificateArn: seed.arn,
      }).arn,
  );
  return { lb: lb.arn, listeners, seed: seed.arn };
}

const seedEc = () =>
  emulator.importCertificate({ certificatePem: ec.cert, privateKeyPem: ec.key }).arn;
const add = (listener: string, arn: string) =>
  elb().send(
    new AddListenerCertificatesCommand({
      ListenerArn: listener,
      Certificates: [{ CertificateArn: arn }],
    }),
  );

describe('ELBv2 certificate quota per load balancer', () => {
  it('counts non-default certificates over all listeners of an ALB against 25', async () => {
    // Prepare
    const { listeners } = loadBalancer('application');
    const [first = '', second = ''] = listeners;
    const arns = Array.from({ length: 26 }, seedEc);
    // Act
    for (const arn of arns.slice(0, 13)) await add(first, arn);
    for (const arn of arns.slice(13, 25)) await add(second, arn);
    const again = await add(second, arns[0] ?? '');
    const over = await failure(add(second, arns[25] ?? ''));
    // Assess
    expect(again.Certificates?.[0]?.CertificateArn).toBe(arns[0]);
    expect(over.name).toBe('TooManyCertificatesException');
    expect(emulator.listener(second)?.certificateArns).toHaveLength(13);
    expect(emulator.listener(second)?.certificateArns).not.toContain(arns[25]);
  });

  it('counts the default certificates of an NLB too', async () => {
    // Prepare: both listeners share one default, so one certificate is counted so far.
    emulator.setCertificatesPerLoadBalancer(3);
    const { listeners } = loadBalancer('network');
    const [first = '', second = ''] = listeners;
    const [a = '', b = '', c = ''] = [seedEc(), seedEc(), seedEc()];
    try {
      // Act
      await add(first, a);
      await add(second, b);
      const overByAdd = await failure(add(second, c));
      const overByDefault = await failure(
        elb().send(
          new ModifyListenerCommand({ ListenerArn: second, Certificates: [{ CertificateArn: c }] }),
        ),
      );
      // Assess
      expect(overByAdd.name).toBe('TooManyCertificatesException');
      expect(overByDefault.name).toBe('TooManyCertificatesException');
    } finally {
      emulator.setCertificatesPerLoadBalancer(25);
    }
  });
});

describe('ELBv2 key types on a Network Load Balancer', () => {
  it('refuses RSA-4096 on an NLB TLS listener with UnsupportedCertificate, not on an ALB', async () => {
    // Prepare
    const nlb = loadBalancer('network');
    const alb = loadBalancer('application');
    const { CertificateArn: big = '' } = await importOver(rsa4096);
    // Act
    const modify = await failure(
      elb().send(
        new ModifyListenerCommand({
          ListenerArn: nlb.listeners[0],
          Certificates: [{ CertificateArn: big }],
        }),
      ),
    );
    const added = await failure(add(nlb.listeners[0] ?? '', big));
    await add(alb.listeners[0] ?? '', big);
    await add(nlb.listeners[0] ?? '', seedEc());
    // Assess
    for (const error of [modify, added]) {
      expect(error.name).toBe('UnsupportedCertificate');
      expect(error.message).toBe(
        `The certificate '${big}' must have a fully-qualified domain name, a supported signature, and a supported key size.`,
      );
    }
    expect(emulator.listener(nlb.listeners[0] ?? '')?.defaultCertificateArn).toBe(nlb.seed);
    expect(emulator.listener(alb.listeners[0] ?? '')?.certificateArns).toEqual([big]);
  });
});

describe('ACM to ELBv2 propagation after import', () => {
  it('answers CertificateNotFound for a new ARN for a while, then binds it; re-imports bind at once', async () => {
    // Prepare
    const { listeners } = loadBalancer('application');
    const listener = listeners[0] ?? '';
    emulator.setCertificatePropagationMs(400);
    try {
      const { CertificateArn: fresh = '' } = await importOver(ec);
      // Act
      const early = await failure(add(listener, fresh));
      const earlyDefault = await failure(
        elb().send(
          new ModifyListenerCommand({
            ListenerArn: listener,
            Certificates: [{ CertificateArn: fresh }],
          }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 450));
      await add(listener, fresh);
      await importOver(makeCert(EC), fresh);
      const afterReimport = await elb().send(
        new ModifyListenerCommand({
          ListenerArn: listener,
          Certificates: [{ CertificateArn: fresh }],
        }),
      );
      // Assess
      expect(early.name).toBe('CertificateNotFoundException');
      expect(earlyDefault.name).toBe('CertificateNotFoundException');
      expect(afterReimport.Listeners?.[0]?.Certificates?.[0]?.CertificateArn).toBe(fresh);
      const described = await acm().send(new DescribeCertificateCommand({ CertificateArn: fresh }));
      expect(described.Certificate?.InUseBy).toHaveLength(1);
    } finally {
      emulator.setCertificatePropagationMs(0);
    }
  });
});

describe('ACM rules', () => {
  it('refuses to delete a certificate in use', async () => {
    // Prepare
    const { seed } = loadBalancer('application');
    // Act
    const inUse = await failure(acm().send(new DeleteCertificateCommand({ CertificateArn: seed })));
    // Assess
    expect(inUse.name).toBe('ResourceInUseException');
  });

  it('refuses a re-import that drops a Key Usage or Extended Key Usage value, with the documented exceptions', async () => {
    // Prepare
    const full = ['keyUsage=critical,digitalSignature,keyEncipherment'];
    const eku = 'extendedKeyUsage=serverAuth,clientAuth';
    const rsaOld = makeCert(RSA, [...full, eku]);
    const ecOld = makeCert(EC, [...full, eku]);
    const { CertificateArn: rsaArn = '' } = await importOver(rsaOld);
    const { CertificateArn: ecArn = '' } = await importOver(ecOld);
    const before = await acm().send(new DescribeCertificateCommand({ CertificateArn: rsaArn }));
    // Act
    const dropKeyEncipherment = await failure(
      importOver(makeCert(RSA, ['keyUsage=critical,digitalSignature', eku]), rsaArn),
    );
    const dropServerAuth = await failure(
      importOver(makeCert(RSA, [...full, 'extendedKeyUsage=clientAuth']), rsaArn),
    );
    const dropExtension = await failure(importOver(makeCert(RSA, [eku]), rsaArn));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Client Authentication may go (CAs stopped issuing it); keyEncipherment may go from ECDSA.
    await importOver(makeCert(RSA, [...full, 'extendedKeyUsage=serverAuth']), rsaArn);
    await importOver(
      makeCert(EC, ['keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth']),
      ecArn,
    );
    const after = await acm().send(new DescribeCertificateCommand({ CertificateArn: rsaArn }));
    // Assess
    for (const error of [dropKeyEncipherment, dropServerAuth, dropExtension]) {
      expect(error.name).toBe('ValidationException');
    }
    expect(dropKeyEncipherment.message).toMatch(/removes Key Usage values \(keyEncipherment\)/);
    expect(dropServerAuth.message).toMatch(
      /Extended Key Usage values \(1\.3\.6\.1\.5\.5\.7\.3\.1\)/,
    );
    expect(emulator.certificates().find((c) => c.arn === rsaArn)?.importCount).toBe(2);
    expect(after.Certificate?.ImportedAt?.getTime()).toBeGreaterThan(
      before.Certificate?.ImportedAt?.getTime() ?? Number.POSITIVE_INFINITY,
    );
  });

  it('lists RSA_1024/RSA_2048 only unless keyTypes asks for more, in pages', async () => {
    // Prepare
    const region = 'ap-south-1';
    const regional = new ACMClient({ ...config(), region });
    const arns: string[] = [];
    for (const pair of [makeCert(RSA), makeCert(RSA), ec]) {
      const out = await regional.send(
        new ImportCertificateCommand({
          Certificate: bytes(pair.cert),
          PrivateKey: bytes(pair.key),
        }),
      );
      arns.push(out.CertificateArn ?? '');
    }
    // Act
    const first = await regional.send(new ListCertificatesCommand({ MaxItems: 1 }));
    const second = await regional.send(
      new ListCertificatesCommand({ MaxItems: 1, NextToken: first.NextToken }),
    );
    const withEc = await regional.send(
      new ListCertificatesCommand({ Includes: { keyTypes: ['RSA_2048', 'EC_prime256v1'] } }),
    );
    // Assess
    expect(first.NextToken).toBeDefined();
    expect(second.NextToken).toBeUndefined();
    expect(
      [...(first.CertificateSummaryList ?? []), ...(second.CertificateSummaryList ?? [])].map(
        (c) => c.CertificateArn,
      ),
    ).toEqual(arns.slice(0, 2));
    expect(withEc.CertificateSummaryList?.map((c) => c.CertificateArn)).toEqual(arns);
    expect(withEc.CertificateSummaryList?.[2]?.ImportedAt).toBeInstanceOf(Date);
  });
});
