import { describe, expect, it, vi } from 'vitest';
import { isThrottling, withBackoff } from '../../../lambda/deploy/backoff.js';

const named = (name: string) => Object.assign(new Error(name), { name });

describe('isThrottling', () => {
  it.each([
    ['Throttling', true],
    ['ThrottlingException', true],
    ['TooManyRequestsException', true],
    ['ValidationException', false],
  ])('%s -> %s', (name, expected) => {
    expect(isThrottling(named(name))).toBe(expected);
  });

  it('honours the SDK retryable trait', () => {
    expect(isThrottling(Object.assign(new Error('x'), { $retryable: { throttling: true } }))).toBe(
      true,
    );
    expect(isThrottling(Object.assign(new Error('x'), { $retryable: {} }))).toBe(false);
  });
});

describe('withBackoff', () => {
  it('waits with full jitter, doubling up to the cap, and gives up after 6 attempts', async () => {
    // Prepare
    const sleep = vi.fn(async (_ms: number) => {});
    const onRetry = vi.fn();
    const call = vi.fn(async () => {
      throw named('Throttling');
    });

    // Act
    const act = withBackoff('Op', call, { sleep, onRetry, random: () => 0.999999 });

    // Assess
    await expect(act).rejects.toThrow('Throttling');
    expect(call).toHaveBeenCalledTimes(6);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([199, 399, 799, 1599, 3199]);
    expect(onRetry).toHaveBeenCalledTimes(5);
    expect(onRetry).toHaveBeenCalledWith('Op', 1, 199);
  });

  it('caps each delay at 5 s', async () => {
    // Prepare
    const sleep = vi.fn(async (_ms: number) => {});
    const call = vi.fn(async () => {
      throw named('ThrottlingException');
    });

    // Act
    await withBackoff('Op', call, { sleep, random: () => 0.999999, attempts: 8 }).catch(() => {});

    // Assess
    expect(sleep.mock.calls.map(([ms]) => ms).slice(-2)).toEqual([4999, 4999]);
  });

  it('rethrows other errors at once', async () => {
    // Prepare
    const sleep = vi.fn(async (_ms: number) => {});
    const call = vi.fn(async () => {
      throw named('AccessDeniedException');
    });

    // Act
    const act = withBackoff('Op', call, { sleep });

    // Assess
    await expect(act).rejects.toThrow('AccessDeniedException');
    expect(call).toHaveBeenCalledTimes(1);
    expect(sleep).not.toHaveBeenCalled();
  });
});
