import {
  ChangeResourceRecordSetsCommand,
  ListHostedZonesByNameCommand,
  Route53Client,
  ThrottlingException,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { isThrottlingError, withBackoff } from '../../../lambda/core/backoff.js';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import { FakeRoute53, fakeTime } from './fake-route53.js';

const r53 = mockClient(Route53Client);

const throttled = () =>
  Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: {} });

describe('isThrottlingError', () => {
  it.each([
    ['SDK-marked', Object.assign(new Error('x'), { $retryable: { throttling: true } })],
    ['Throttling', Object.assign(new Error('x'), { name: 'Throttling' })],
    ['ThrottlingException', new ThrottlingException({ message: 'x', $metadata: {} })],
    ['PriorRequestNotComplete', Object.assign(new Error('x'), { name: 'PriorRequestNotComplete' })],
    [
      'TooManyRequestsException',
      Object.assign(new Error('x'), { name: 'TooManyRequestsException' }),
    ],
    ['HTTP 429', Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } })],
  ])('retries %s', (_, error) => {
    expect(isThrottlingError(error)).toBe(true);
  });

  it.each([
    ['AccessDenied', Object.assign(new Error('x'), { name: 'AccessDenied' })],
    ['InvalidChangeBatch', Object.assign(new Error('x'), { name: 'InvalidChangeBatch' })],
    ['HTTP 500', Object.assign(new Error('x'), { $metadata: { httpStatusCode: 500 } })],
    ['a string', 'Throttling'],
  ])('does not retry %s', (_, error) => {
    expect(isThrottlingError(error)).toBe(false);
  });
});

describe('withBackoff', () => {
  it('retries throttling with full-jitter exponential delays, then returns', async () => {
    // Prepare
    const fn = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(throttled())
      .mockRejectedValueOnce(throttled())
      .mockRejectedValueOnce(throttled())
      .mockResolvedValue('ok');
    const time = fakeTime();
    const onRetry = vi.fn();

    // Act: random() = 0.5 gives half of each ceiling (200, 400, 800)
    const result = await withBackoff(fn, { sleep: time.sleep, random: () => 0.5, onRetry });

    // Assess
    expect(result).toBe('ok');
    expect(fn).toHaveBeenCalledTimes(4);
    expect(time.slept).toEqual([100, 200, 400]);
    expect(onRetry.mock.calls.map(([retry, delay]) => [retry, delay])).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ]);
  });

  it('caps each delay at maxMs and stops after the attempts', async () => {
    // Prepare
    const fn = vi.fn<() => Promise<string>>().mockRejectedValue(throttled());
    const time = fakeTime();

    // Act
    const error = await withBackoff(fn, {
      attempts: 5,
      baseMs: 1_000,
      maxMs: 3_000,
      sleep: time.sleep,
      random: () => 0.999,
    }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe('Throttling');
    expect(fn).toHaveBeenCalledTimes(5);
    expect(time.slept).toEqual([999, 1998, 2997, 2997]);
  });

  it('throws a non-throttling error at once', async () => {
    // Prepare
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
    const fn = vi.fn<() => Promise<string>>().mockRejectedValue(denied);
    const time = fakeTime();

    // Act / Assess
    await expect(withBackoff(fn, { sleep: time.sleep })).rejects.toBe(denied);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(time.slept).toEqual([]);
  });
});

describe('Route53Dns01Solver throttling', () => {
  beforeEach(() => {
    r53.reset();
  });

  it('retries a throttled Route 53 call and counts it', async () => {
    // Prepare
    const fake = new FakeRoute53([{ id: 'ZCOM', name: 'example.com' }]);
    fake.install(r53);
    let throttles = 2;
    fake.beforeChange = () => {
      if (throttles-- > 0) throw throttled();
    };
    const time = fakeTime();
    const onThrottle = vi.fn();
    const solver = new Route53Dns01Solver({
      route53: new Route53Client({ region: 'us-east-1' }),
      sleep: time.sleep,
      now: time.now,
      pollIntervalMs: 1,
      onThrottle,
    });

    // Act
    const failures = await solver.present([
      { zoneId: 'ZCOM', name: '_acme-challenge.example.com', value: 'v' },
    ]);

    // Assess
    expect(failures).toEqual([]);
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(3);
    expect(onThrottle.mock.calls).toEqual([
      ['ChangeResourceRecordSets'],
      ['ChangeResourceRecordSets'],
    ]);
    expect(fake.txtValues('ZCOM', '_acme-challenge.example.com')).toEqual(['v']);
  });

  it('does not retry a non-throttling error', async () => {
    // Prepare
    r53
      .on(ListHostedZonesByNameCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const onThrottle = vi.fn();
    const solver = new Route53Dns01Solver({
      route53: new Route53Client({ region: 'us-east-1' }),
      sleep: fakeTime().sleep,
      onThrottle,
    });

    // Act / Assess
    await expect(solver.findZone('example.com')).rejects.toThrow('not authorized');
    expect(r53.commandCalls(ListHostedZonesByNameCommand)).toHaveLength(1);
    expect(onThrottle).not.toHaveBeenCalled();
  });
});
