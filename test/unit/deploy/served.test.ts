import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkServed, normaliseSerial, type ServedTarget } from '../../../lambda/deploy/served.js';

interface Pair {
  cert: string;
  key: string;
  serial: string;
}

let dir: string;

/** A self-signed EC certificate for `name`, made by openssl; `serial` as the store keeps it. */
function makeCert(name: string): Pair {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  // biome-ignore format: flag and value pairs read better on shared lines
  execFileSync('openssl', [
    'req', '-x509', '-nodes', '-days', '1', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`,
  ], { stdio: 'pipe' });
  const pem = readFileSync(cert, 'utf8');
  return {
    cert: pem,
    key: readFileSync(key, 'utf8'),
    serial: normaliseSerial(new X509Certificate(pem).serialNumber),
  };
}

function listen<T extends Server | TcpServer>(server: T): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

const target = (
  port: number,
  servername: string,
  extra: Partial<ServedTarget> = {},
): ServedTarget => ({
  listenerArn: `arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/lb/1/${servername}`,
  host: 'lb-1.us-east-1.elb.amazonaws.com',
  port,
  servername,
  ...extra,
});
const loopback = async () => ['127.0.0.1'];

describe('checkServed', () => {
  let a: Pair;
  let b: Pair;
  let tlsServer: Server;
  let tlsPort: number;
  let silent: TcpServer;
  let silentPort: number;
  const silentSockets = new Set<Socket>();
  let handshakes = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'served-test-'));
    a = makeCert('a.example.test');
    b = makeCert('b.example.test');
    const contextB = createSecureContext({ cert: b.cert, key: b.key });
    tlsServer = createServer({
      cert: a.cert,
      key: a.key,
      SNICallback: (name, done) => done(null, name === 'b.example.test' ? contextB : undefined),
    });
    tlsServer.on('secureConnection', (socket) => {
      handshakes += 1;
      socket.on('error', () => socket.destroy());
    });
    tlsPort = await listen(tlsServer);
    // Accepts TCP and never answers the ClientHello.
    silent = createTcpServer((socket) => {
      silentSockets.add(socket);
      socket.on('error', () => socket.destroy());
    });
    silentPort = await listen(silent);
  });

  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => tlsServer.close(() => resolve())),
      new Promise<void>((resolve) => silent.close(() => resolve())),
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the serial of the certificate chosen by SNI, per target, in input order', async () => {
    // Prepare
    const targets = [target(tlsPort, 'b.example.test'), target(tlsPort, 'a.example.test')];
    const before = handshakes;

    // Act
    const results = await checkServed(targets, { resolve: loopback });

    // Assess
    expect(a.serial).not.toBe(b.serial);
    expect(results).toEqual([
      { target: targets[0], outcome: 'served', serial: b.serial },
      { target: targets[1], outcome: 'served', serial: a.serial },
    ]);
    expect(b.serial).toMatch(/^[0-9a-f]+$/);
    // The server completes its side once our Finished arrives: the handshake was not cut short.
    await vi.waitFor(() => expect(handshakes - before).toBe(2));
  });

  it('normalises serials to the stored form: lower-case hex without separators', () => {
    expect(normaliseSerial('0A:1B:FF')).toBe('a1bff');
    expect(normaliseSerial('00')).toBe('0');
    expect(normaliseSerial('73B82EF3')).toBe('73b82ef3');
  });

  it('reports a closed port as unreachable with a short reason', async () => {
    // Prepare: a port that was free a moment ago.
    const probe = createTcpServer();
    const closedPort = await listen(probe);
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    // Act
    const [result] = await checkServed([target(closedPort, 'a.example.test')], {
      resolve: loopback,
    });

    // Assess
    expect(result).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringContaining('connection refused'),
    });
  });

  it('does not connect to an internal load balancer from outside the VPC, and does inside it', async () => {
    // Prepare
    const resolved: string[] = [];
    const resolve = async (host: string) => {
      resolved.push(host);
      return ['127.0.0.1'];
    };
    const internal = target(tlsPort, 'a.example.test', { scheme: 'internal' });

    // Act
    const [outside] = await checkServed([internal], { resolve });
    const [inside] = await checkServed([internal], { resolve, inVpc: true });

    // Assess
    expect(outside).toEqual({
      target: internal,
      outcome: 'not-checked',
      reason: 'internal load balancer: place the function in the VPC to check it',
    });
    expect(inside).toMatchObject({ outcome: 'served', serial: a.serial });
    expect(resolved).toHaveLength(1);
  });

  it('bounds a handshake that never completes by timeoutMs', async () => {
    // Act
    const started = Date.now();
    const [result] = await checkServed([target(silentPort, 'a.example.test')], {
      resolve: loopback,
      timeoutMs: 300,
    });
    const elapsed = Date.now() - started;

    // Assess
    expect(result).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringContaining('timed out after 300 ms'),
    });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
  });

  it('reports resolution failures and hosts without addresses as unreachable', async () => {
    // Prepare
    const failing = async () => {
      throw Object.assign(new Error('queryA ENOTFOUND lb-1.us-east-1.elb.amazonaws.com'), {
        code: 'ENOTFOUND',
      });
    };
    const hanging = () => new Promise<string[]>(() => {});

    // Act
    const [notFound] = await checkServed([target(tlsPort, 'a.example.test')], { resolve: failing });
    const [empty] = await checkServed([target(tlsPort, 'a.example.test')], {
      resolve: async () => [],
    });
    const [slow] = await checkServed([target(tlsPort, 'a.example.test')], {
      resolve: hanging,
      timeoutMs: 100,
    });

    // Assess
    expect(notFound).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringMatching(/^cannot resolve .*ENOTFOUND/),
    });
    expect(empty).toMatchObject({
      outcome: 'unreachable',
      reason: 'lb-1.us-east-1.elb.amazonaws.com has no address',
    });
    expect(slow).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringContaining('timed out after 100 ms'),
    });
  });

  it('tries the next address of the load balancer when one does not answer', async () => {
    // Prepare: the first address refuses (nothing listens on 127.0.0.2 at that port).
    const resolve = async () => ['127.0.0.2', '127.0.0.1'];

    // Act
    const [result] = await checkServed([target(tlsPort, 'b.example.test')], { resolve });

    // Assess
    expect(result).toMatchObject({ outcome: 'served', serial: b.serial });
  });

  it('keeps at most `concurrency` handshakes in flight', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    const resolve = async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight -= 1;
      return ['127.0.0.1'];
    };
    const targets = Array.from({ length: 6 }, () => target(tlsPort, 'a.example.test'));

    // Act
    const results = await checkServed(targets, { resolve, concurrency: 2 });

    // Assess
    expect(peak).toBe(2);
    expect(results.every((r) => r.outcome === 'served')).toBe(true);
  });
});
