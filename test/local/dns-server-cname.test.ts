import { promises as dns } from 'node:dns';
import { connect } from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from '../../local/dns-server.js';

/** Sends one query over TCP with the 2-byte length prefix and reads one answer. */
async function queryTcp(port: number, name: string, type: 'TXT' | 'A' | 'CNAME'): Promise<Packet> {
  const socket = connect(port, '127.0.0.1');
  const query = dnsPacket.streamEncode({
    type: 'query',
    id: 99,
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

/** Each answer as `type name data` (TXT data joined), for exact comparison. */
function lines(packet: Packet): string[] {
  return (packet.answers ?? []).map((a) => {
    const data = 'data' in a ? a.data : undefined;
    const text = Array.isArray(data)
      ? Buffer.concat(data as Buffer[]).toString()
      : Buffer.isBuffer(data)
        ? data.toString()
        : String(data);
    return `${a.type} ${a.name} ${text}`;
  });
}

describe('startDnsServer with CNAMEs and A records', () => {
  const txt = new Map<string, string[]>();
  const cnames = new Map<string, string>();
  const a = new Map<string, string[]>();
  let server: DnsServer;
  let resolver: dns.Resolver;

  beforeAll(async () => {
    server = await startDnsServer({
      lookupTxt: (name) => txt.get(name) ?? [],
      lookupCname: (name) => cnames.get(name),
      lookupA: (name) => a.get(name) ?? [],
    });
    resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([server.address]);
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers a TXT query at a delegated name with the CNAME and the target TXT values', async () => {
    // Prepare: a challenge delegation, as a DNS provider outside Route 53 would publish it.
    cnames.set('_acme-challenge.www.example.test', 'www.challenges.example.net');
    txt.set('www.challenges.example.net', ['token-1', 'token-2']);
    // A CNAME owner has no other data (RFC 1034 §3.6.2): this value must never be answered.
    txt.set('_acme-challenge.www.example.test', ['shadowed']);

    // Act
    const raw = await queryTcp(server.port, '_acme-challenge.www.example.test', 'TXT');
    const viaResolver = await resolver.resolveTxt('_acme-challenge.www.example.test');

    // Assess
    expect(lines(raw)).toEqual([
      'CNAME _acme-challenge.www.example.test www.challenges.example.net',
      'TXT www.challenges.example.net token-1',
      'TXT www.challenges.example.net token-2',
    ]);
    expect(viaResolver.map((chunks) => chunks.join('')).sort()).toEqual(['token-1', 'token-2']);
  });

  it('answers a CNAME query with the CNAME only, and follows a chain for other types', async () => {
    // Prepare
    cnames.set('one.example.test', 'two.example.test');
    cnames.set('two.example.test', 'three.example.test');
    txt.set('three.example.test', ['end']);

    // Act
    const cnameOnly = await queryTcp(server.port, 'one.example.test', 'CNAME');
    const chain = await queryTcp(server.port, 'One.Example.Test', 'TXT');
    const viaResolver = await resolver.resolveCname('one.example.test');

    // Assess
    expect(lines(cnameOnly)).toEqual(['CNAME one.example.test two.example.test']);
    expect(lines(chain)).toEqual([
      'CNAME One.Example.Test two.example.test',
      'CNAME two.example.test three.example.test',
      'TXT three.example.test end',
    ]);
    expect(viaResolver).toEqual(['two.example.test']);
  });

  it('ends a CNAME loop instead of answering forever', async () => {
    // Prepare
    cnames.set('loop-a.example.test', 'loop-b.example.test');
    cnames.set('loop-b.example.test', 'loop-a.example.test');

    // Act
    const response = await queryTcp(server.port, 'loop-a.example.test', 'TXT');

    // Assess
    expect(lines(response)).toEqual([
      'CNAME loop-a.example.test loop-b.example.test',
      'CNAME loop-b.example.test loop-a.example.test',
    ]);
  });

  it('answers A queries from lookupA, also through a CNAME, and NODATA elsewhere', async () => {
    // Prepare
    a.set('web-0123.us-east-1.elb.amazonaws.com', ['127.9.0.1']);
    cnames.set('www.shop.test', 'web-0123.us-east-1.elb.amazonaws.com');

    // Act
    const direct = await resolver.resolve4('web-0123.us-east-1.elb.amazonaws.com');
    const throughCname = await queryTcp(server.port, 'www.shop.test', 'A');
    const [missing] = await Promise.allSettled([resolver.resolve4('nothing.shop.test')]);

    // Assess
    expect(direct).toEqual(['127.9.0.1']);
    expect(lines(throughCname)).toEqual([
      'CNAME www.shop.test web-0123.us-east-1.elb.amazonaws.com',
      'A web-0123.us-east-1.elb.amazonaws.com 127.9.0.1',
    ]);
    expect(missing).toMatchObject({ status: 'rejected', reason: { code: 'ENODATA' } });
  });
});
