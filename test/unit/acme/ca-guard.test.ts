import axios, { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { acmeAxios } from '../../../lambda/acme/acme-lib.js';
import { CaConnectionError } from '../../../lambda/acme/ca-errors.js';
import {
  caRequestTimeoutMs,
  configureCaGuard,
  installCaGuard,
} from '../../../lambda/acme/ca-guard.js';
import { CaRateLimitedError, CaTimeoutError } from '../../../lambda/core/ports.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const DEFAULT_TIMEOUT = caRequestTimeoutMs();

type Step = (config: InternalAxiosRequestConfig) => Promise<never> | Promise<unknown>;

/** An axios instance whose transport plays `steps` in turn (no network), behind the guard. */
function guarded(steps: Step[]) {
  const seen: InternalAxiosRequestConfig[] = [];
  const instance = axios.create({
    adapter: async (config) => {
      seen.push({ ...config });
      const step = steps.shift();
      if (!step) throw new Error('test transport ran out of answers');
      return step(config) as never;
    },
  });
  installCaGuard(instance, { transientRetryDelayMs: 0, now: () => NOW });
  return { instance, seen };
}

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Step {
  return async (config) => {
    const response = {
      status,
      statusText: '',
      data: typeof body === 'string' ? body : JSON.stringify(body),
      headers: new AxiosHeaders(headers),
      config,
    };
    if (status < 400) return response;
    throw new AxiosError('failed', undefined, config, {}, response);
  };
}

function silence(code: string, message = 'nothing'): Step {
  return async (config) => {
    throw new AxiosError(message, code, config, {});
  };
}

afterEach(() => {
  configureCaGuard({ timeoutMs: DEFAULT_TIMEOUT, now: () => new Date() });
});

describe('CA guard', () => {
  it('ends a 429 at once as CaRateLimitedError without a config acme-client would retry', async () => {
    // Prepare
    const { instance, seen } = guarded([
      answer(
        429,
        { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many' },
        { 'retry-after': '7200' },
      ),
    ]);
    const started = Date.now();

    // Act
    const error = await instance.post('https://ca.test/acme/new-order', {}).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(CaRateLimitedError);
    expect(error).not.toHaveProperty('config');
    expect((error as CaRateLimitedError).retryAfter.toISOString()).toBe('2025-03-01T14:00:00.000Z');
    expect((error as Error).message).toContain('the CA at https://ca.test rate-limited order');
    expect(seen).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('names requests by the directory once it has been read', async () => {
    // Prepare
    const { instance } = guarded([
      answer(200, {
        newNonce: 'https://ca.test/n',
        newAccount: 'https://ca.test/a',
        newOrder: 'https://ca.test/o',
      }),
      answer(429, ''),
    ]);
    await instance.get('https://ca.test/directory');

    // Act
    const error = await instance.post('https://ca.test/o', {}).catch((e) => e);

    // Assess
    expect((error as Error).message).toContain('rate-limited newOrder (POST /o)');
  });

  it('applies its own timeout and turns a timeout into CaTimeoutError', async () => {
    // Prepare
    configureCaGuard({ timeoutMs: 2_500 });
    const { instance, seen } = guarded([silence('ECONNABORTED', 'timeout of 2500ms exceeded')]);

    // Act
    const error = await instance
      .post('https://ca.test/acme/finalize/1', {}, { timeout: 99_000 })
      .catch((e) => e);

    // Assess
    expect(seen[0]?.timeout).toBe(2_500);
    expect(error).toBeInstanceOf(CaTimeoutError);
    expect((error as Error).message).toMatch(
      /^the CA at https:\/\/ca.test did not answer finalize \(POST \/acme\/finalize\/1\) within 2.5 s/,
    );
  });

  it('tries a refused connection once more, then names it', async () => {
    // Prepare
    const retried = guarded([silence('ECONNREFUSED'), answer(200, { ok: true })]);
    const failing = guarded([silence('ECONNRESET'), silence('ECONNRESET')]);

    // Act
    const ok = await retried.instance.get('https://ca.test/dir');
    const error = await failing.instance.get('https://ca.test/dir').catch((e) => e);

    // Assess
    expect(ok.data).toEqual({ ok: true });
    expect(retried.seen).toHaveLength(2);
    expect(error).toBeInstanceOf(CaConnectionError);
    expect((error as Error).message).toBe(
      'cannot reach the CA at https://ca.test for GET /dir: the connection was reset (ECONNRESET)',
    );
    expect(failing.seen).toHaveLength(2);
  });

  it('hands badNonce and other refusals back to acme-client unchanged', async () => {
    // Prepare
    const { instance } = guarded([
      answer(400, { type: 'urn:ietf:params:acme:error:badNonce', detail: 'bad nonce' }),
    ]);

    // Act
    const error = await instance.post('https://ca.test/acme/new-order', {}).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).response?.status).toBe(400);
  });

  it('is installed on acme-client with its 5xx retry bounded to a few seconds', () => {
    // Prepare
    const settings = (
      acmeAxios.defaults as unknown as {
        acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number };
      }
    ).acmeSettings;

    // Assess
    expect(typeof acmeAxios.defaults.adapter).toBe('function');
    // acme-client sleeps retryDefaultDelay × attempt seconds before retry `attempt`.
    expect(settings.retryMaxAttempts).toBe(2);
    expect(settings.retryDefaultDelay * settings.retryMaxAttempts).toBeLessThanOrEqual(3);
  });

  it('refuses a timeout that is not a positive number', () => {
    // Act / Assess
    expect(() => configureCaGuard({ timeoutMs: 0 })).toThrow(/positive number of milliseconds/);
  });
});
