import { createSocket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import { connect } from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from '../../local/dns-server.js';
import { freePort, freeUdpAndTcpPort } from '../../local/ports.js';

/** Sends one query over TCP with the 2-byte length prefix and reads one answer. */
async function queryTcp(port: number, name: string, type: 'TXT' | 'A'): Promise<Packet> {
  const socket = connect(port, '127.0.0.1');
  const query = dnsPacket.streamEncode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
  });
  return new Promise<Packet>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(query));
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(dnsPacket.streamDecode(received));
      }
    });
  });
}

/** Sends one plain (no EDNS0) query over UDP and reads one answer. */
async function queryUdp(port: number, name: string): Promise<ReturnType<typeof dnsPacket.decode>> {
  const socket = createSocket('udp4');
  const query = dnsPacket.encode({
    type: 'query',
    id: 7,
    questions: [{ type: 'TXT', name, class: 'IN' }],
  });
  try {
    return await new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('message', (message: Buffer) => resolve(dnsPacket.decode(message)));
      socket.send(query, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

function resolverFor(server: DnsServer): dns.Resolver {
  // One try and a short timeout: a server that does not answer fails the test quickly.
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([server.address]);
  return resolver;
}

describe('startDnsServer', () => {
  const records = new Map<string, string[]>();
  let server: DnsServer;

  beforeAll(async () => {
    server = await startDnsServer({ lookupTxt: (fqdn) => records.get(fqdn) ?? [] });
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers two TXT values at one name over UDP through node:dns', async () => {
    // Prepare
    records.set('_acme-challenge.example.test', ['first-value', 'second-value']);

    // Act
    const result = await resolverFor(server).resolveTxt('_acme-challenge.example.test');

    // Assess
    expect(result.map((chunks) => chunks.join('')).sort()).toEqual(['first-value', 'second-value']);
    expect(server.queries).toContainEqual({ name: '_acme-challenge.example.test', type: 'TXT' });
  });

  it('answers over TCP with TTL 0 and the AA flag', async () => {
    // Prepare
    records.set('tcp.example.test', ['one', 'two']);

    // Act
    const response = (await queryTcp(server.port, 'tcp.example.test', 'TXT')) as ReturnType<
      typeof dnsPacket.decode
    >;

    // Assess
    expect(response.id).toBe(4242);
    expect(response.flag_aa).toBe(true);
    const answers = response.answers ?? [];
    expect(answers).toHaveLength(2);
    const values = answers.map((a) => {
      expect(a.type).toBe('TXT');
      expect('ttl' in a && a.ttl).toBe(0);
      return Buffer.concat(('data' in a ? a.data : []) as Buffer[]).toString();
    });
    expect(values.sort()).toEqual(['one', 'two']);
  });

  it('splits a value longer than 255 bytes into strings of one record', async () => {
    // Prepare
    const long = 'x'.repeat(300);
    records.set('long.example.test', [long]);

    // Act
    const result = await resolverFor(server).resolveTxt('long.example.test');

    // Assess
    expect(result).toHaveLength(1);
    expect(result[0]?.map((chunk) => chunk.length)).toEqual([255, 45]);
    expect(result[0]?.join('')).toBe(long);
  });

  it('falls back to TCP when the answer does not fit in UDP', async () => {
    // Prepare: about 2 KB of TXT data, more than any UDP size the server accepts.
    const values = Array.from({ length: 10 }, (_, i) => `${i}${'v'.repeat(200)}`);
    records.set('big.example.test', values);

    // Act
    const plainUdp = await queryUdp(server.port, 'big.example.test');
    const result = await resolverFor(server).resolveTxt('big.example.test');

    // Assess
    expect(plainUdp.flag_tc).toBe(true);
    expect(plainUdp.answers).toEqual([]);
    expect(result.map((chunks) => chunks.join('')).sort()).toEqual(values.sort());
  });

  it('answers NODATA (not NXDOMAIN, not REFUSED) for A and CAA', async () => {
    // Prepare
    const resolver = resolverFor(server);

    // Act: settle both before asserting so neither rejection goes unhandled.
    const [a, caa] = await Promise.allSettled([
      resolver.resolve4('anything.example.test'),
      resolver.resolveCaa('example.test'),
    ]);
    const tcpA = await queryTcp(server.port, 'anything.example.test', 'A');

    // Assess: c-ares reports NODATA as ENODATA, NXDOMAIN as ENOTFOUND, REFUSED as EREFUSED.
    expect(a).toMatchObject({ status: 'rejected', reason: { code: 'ENODATA' } });
    expect(caa).toMatchObject({ status: 'rejected', reason: { code: 'ENODATA' } });
    // RCODE is the low four bits of the flags; 0 is NOERROR.
    expect((tcpA.flags ?? 0) & 0xf).toBe(0);
    expect(tcpA.answers).toEqual([]);
  });

  it('matches names case-insensitively and passes them lower-cased to lookupTxt', async () => {
    // Prepare
    const seen: string[] = [];
    const caseServer = await startDnsServer({
      lookupTxt: (fqdn) => {
        seen.push(fqdn);
        return fqdn === '_acme-challenge.mixed.example.test' ? ['token'] : [];
      },
    });

    try {
      // Act
      const result = await resolverFor(caseServer).resolveTxt('_ACME-Challenge.Mixed.Example.TEST');

      // Assess
      expect(result).toEqual([['token']]);
      expect(seen).toEqual(['_acme-challenge.mixed.example.test']);
    } finally {
      await caseServer.close();
    }
  });

  it('binds a requested port for both UDP and TCP, and close is safe twice', async () => {
    // Prepare
    const port = await freeUdpAndTcpPort();

    // Act
    const fixed = await startDnsServer({ port, lookupTxt: () => ['fixed'] });
    const udp = await resolverFor(fixed).resolveTxt('x.test');
    const tcp = await queryTcp(port, 'x.test', 'TXT');
    await fixed.close();
    await fixed.close();

    // Assess
    expect(fixed.address).toBe(`127.0.0.1:${port}`);
    expect(udp).toEqual([['fixed']]);
    expect(tcp.answers).toHaveLength(1);
    await expect(queryTcp(port, 'x.test', 'TXT')).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});

describe('freePort', () => {
  it('returns a port that can be listened on', async () => {
    // Act
    const port = await freePort();

    // Assess
    expect(port).toBeGreaterThan(0);
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
