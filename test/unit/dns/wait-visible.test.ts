import { Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PropagationTimeoutError } from '../../../lambda/dns/errors.js';
import type { TxtResolver } from '../../../lambda/dns/propagation.js';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import { FakeRoute53, fakeTime } from './fake-route53.js';

const r53 = mockClient(Route53Client);
const NAME = '_acme-challenge.example.com';
const APEX = { zoneId: 'ZCOM', name: NAME, value: 'apex-digest-0123456789' };
const WILD = { zoneId: 'ZCOM', name: NAME, value: 'wild-digest-0123456789' };

/** DNS as seen by each server: server -> name -> values; `after` delays a value by polls. */
function fakeDns(visible: Record<string, Record<string, string[]>>) {
  return vi.fn<TxtResolver>(async (name, servers) => {
    expect(servers).toHaveLength(1);
    return visible[servers[0] ?? '']?.[name] ?? [];
  });
}

function solver(resolveTxt: TxtResolver, resolvers?: string[]) {
  const time = fakeTime();
  return new Route53Dns01Solver({
    route53: new Route53Client({ region: 'us-east-1' }),
    resolvers,
    resolveTxt,
    lookupHost: async (host) => [host === 'ns-1.awsdns-01.org' ? '192.0.2.1' : '192.0.2.2'],
    propagationTimeoutMs: 100,
    pollIntervalMs: 10,
    sleep: time.sleep,
    now: time.now,
  });
}

describe('Route53Dns01Solver.waitVisible', () => {
  beforeEach(() => {
    r53.reset();
    new FakeRoute53([
      {
        id: 'ZCOM',
        name: 'example.com',
        nameServers: ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.com'],
      },
    ]).install(r53);
  });

  it('succeeds once every value is visible at every configured resolver', async () => {
    // Prepare: the second resolver lags by two polls
    const state: Record<string, Record<string, string[]>> = {
      '127.0.0.1:8053': { [NAME]: [APEX.value, WILD.value] },
      '[::1]:53': {},
    };
    let polls = 0;
    const resolveTxt = vi.fn<TxtResolver>(async (name, servers) => {
      if (servers[0] === '[::1]:53' && ++polls >= 3) return [WILD.value, APEX.value];
      return state[servers[0] ?? '']?.[name] ?? [];
    });

    // Act
    const failures = await solver(resolveTxt, ['127.0.0.1:8053', '[::1]']).waitVisible([
      APEX,
      WILD,
    ]);

    // Assess
    expect(failures).toEqual([]);
    // one query per name and server per poll, not per value; a server that has them is done
    expect(resolveTxt.mock.calls.filter(([, s]) => s[0] === '127.0.0.1:8053')).toHaveLength(1);
    expect(resolveTxt.mock.calls.filter(([, s]) => s[0] === '[::1]:53')).toHaveLength(3);
  });

  it("asks the zone's authoritative nameservers when no resolvers are configured", async () => {
    // Prepare
    const resolveTxt = fakeDns({
      '192.0.2.1:53': { [NAME]: [APEX.value] },
      '192.0.2.2:53': { [NAME]: [APEX.value] },
    });

    // Act
    const failures = await solver(resolveTxt).waitVisible([APEX]);

    // Assess
    expect(failures).toEqual([]);
    expect(resolveTxt.mock.calls.map(([, s]) => s[0]).sort()).toEqual([
      '192.0.2.1:53',
      '192.0.2.2:53',
    ]);
  });

  it('times out with a message naming the record, the value and the resolvers', async () => {
    // Prepare: ns-2 never gets the value
    const resolveTxt = fakeDns({ '192.0.2.1:53': { [NAME]: [APEX.value] } });

    // Act
    const failures = await solver(resolveTxt).waitVisible([APEX]);

    // Assess
    expect(failures).toHaveLength(1);
    expect(failures[0]?.record).toEqual(APEX);
    expect(failures[0]?.error).toBeInstanceOf(PropagationTimeoutError);
    expect(failures[0]?.error.message).toBe(
      'TXT _acme-challenge.example.com value "apex-dig..." not visible at ns-2.awsdns-02.com (192.0.2.2) after 100 ms (asked ns-1.awsdns-01.org (192.0.2.1), ns-2.awsdns-02.com (192.0.2.2))',
    );
    // polled for the whole timeout: 100 ms at 10 ms per poll
    expect(resolveTxt.mock.calls.filter(([, s]) => s[0] === '192.0.2.2:53').length).toBe(11);
  });

  it('treats resolver errors as not yet visible and reports the last one', async () => {
    // Prepare
    const resolveTxt = vi.fn<TxtResolver>(async () => {
      throw Object.assign(new Error('queryTxt ETIMEOUT _acme-challenge.example.com'), {
        code: 'ETIMEOUT',
      });
    });

    // Act
    const failures = await solver(resolveTxt, ['127.0.0.1:8053']).waitVisible([APEX]);

    // Assess
    expect(failures[0]?.error.message).toMatch(
      /not visible at 127.0.0.1:8053 .*; last error: queryTxt ETIMEOUT/,
    );
  });

  it('fails only the records whose value is missing', async () => {
    // Prepare
    const resolveTxt = fakeDns({ '127.0.0.1:8053': { [NAME]: [WILD.value] } });

    // Act
    const failures = await solver(resolveTxt, ['127.0.0.1:8053']).waitVisible([APEX, WILD]);

    // Assess
    expect(failures.map((f) => f.record)).toEqual([APEX]);
  });
});
