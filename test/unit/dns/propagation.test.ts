/**
 * The default resolver against a throw-away DNS server on the loopback interface (no network):
 * it proves NXDOMAIN and NODATA read as "not there yet" and multi-string records are joined.
 */
import dgram from 'node:dgram';
import packet from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHostPort, resolveTxtAt, toDnsServers } from '../../../lambda/dns/propagation.js';

let server: dgram.Socket;
let address = '';
const zone: Record<string, string[][]> = {
  '_acme-challenge.example.com': [['abc'], ['def', 'ghi']],
  'nodata.example.com': [],
};

beforeAll(async () => {
  server = dgram.createSocket('udp4');
  server.on('message', (msg, peer) => {
    const query = packet.decode(msg);
    const name = query.questions?.[0]?.name ?? '';
    const records = zone[name];
    const response: packet.Packet = {
      type: 'response',
      id: query.id,
      // rcode 3 = NXDOMAIN in the low bits of the flags
      flags: packet.AUTHORITATIVE_ANSWER | (records === undefined ? 3 : 0),
      questions: query.questions,
      answers: (records ?? []).map((data) => ({ name, type: 'TXT', ttl: 60, data })),
    };
    server.send(packet.encode(response), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${server.address().port}`;
});

afterAll(() => {
  server.close();
});

describe('resolveTxtAt', () => {
  it('returns each record with its strings joined', async () => {
    const values = await resolveTxtAt('_acme-challenge.example.com', [address]);
    expect(values.sort()).toEqual(['abc', 'defghi']);
  });

  it('returns [] for NXDOMAIN and NODATA', async () => {
    await expect(resolveTxtAt('missing.example.com', [address])).resolves.toEqual([]);
    await expect(resolveTxtAt('nodata.example.com', [address])).resolves.toEqual([]);
  });

  it('sees a value added after a negative answer (no negative caching)', async () => {
    await expect(resolveTxtAt('later.example.com', [address])).resolves.toEqual([]);
    zone['later.example.com'] = [['now']];
    await expect(resolveTxtAt('later.example.com', [address])).resolves.toEqual(['now']);
  });
});

describe('toDnsServers', () => {
  it('parses host:port forms', () => {
    expect(parseHostPort('1.1.1.1')).toEqual({ host: '1.1.1.1', port: 53 });
    expect(parseHostPort('127.0.0.1:8053')).toEqual({ host: '127.0.0.1', port: 8053 });
    expect(parseHostPort('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
    expect(parseHostPort('::1')).toEqual({ host: '::1', port: 53 });
    expect(parseHostPort('ns-1.awsdns-01.org')).toEqual({ host: 'ns-1.awsdns-01.org', port: 53 });
  });

  it('keeps addresses, resolves names (IPv4 first) and brackets IPv6', async () => {
    const servers = await toDnsServers(
      ['127.0.0.1:8053', '[::1]', 'ns-1.awsdns-01.org', 'v6only.example:54'],
      async (host) =>
        host === 'ns-1.awsdns-01.org' ? ['2001:db8::1', '192.0.2.7'] : ['2001:db8::2'],
    );
    expect(servers).toEqual([
      { address: '127.0.0.1:8053', label: '127.0.0.1:8053' },
      { address: '[::1]:53', label: '[::1]' },
      { address: '192.0.2.7:53', label: 'ns-1.awsdns-01.org (192.0.2.7)' },
      { address: '[2001:db8::2]:54', label: 'v6only.example:54 (2001:db8::2)' },
    ]);
  });
});
