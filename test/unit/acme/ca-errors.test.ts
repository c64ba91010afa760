import { describe, expect, it } from 'vitest';
import {
  AcmeAccountGoneError,
  CaConnectionError,
  classifyAnswer,
  classifySilence,
  DEFAULT_RETRY_AFTER_SECONDS,
  describeRequest,
  MAX_RETRY_AFTER_SECONDS,
  parseRetryAfter,
  retryAfterDate,
} from '../../../lambda/acme/ca-errors.js';
import { CaRateLimitedError, CaTimeoutError } from '../../../lambda/core/ports.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const CA = 'https://acme.example';

const problem = (type: string, detail: string, status = 400) =>
  JSON.stringify({ type: `urn:ietf:params:acme:error:${type}`, detail, status });

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120],
    [' 7 ', 7],
    ['0', 0],
    ['Sat, 01 Mar 2025 13:00:00 GMT', 3600],
    ['Saturday, 01-Mar-25 12:00:30 GMT', 30],
    ['Sat Mar  1 12:01:00 2025', 60],
    ['Fri, 28 Feb 2025 12:00:00 GMT', 0],
  ])('reads %j as %d seconds', (header, seconds) => {
    // Act
    const result = parseRetryAfter(header, NOW);

    // Assess
    expect(result).toBe(seconds);
  });

  it.each([undefined, '', 'soon', '-5', '1.5', '1e3'])('gives undefined for %j', (header) => {
    // Act
    const result = parseRetryAfter(header, NOW);

    // Assess
    expect(result).toBeUndefined();
  });

  it('takes the first of repeated headers', () => {
    // Act
    const result = parseRetryAfter(['30', '90'], NOW);

    // Assess
    expect(result).toBe(30);
  });
});

describe('retryAfterDate', () => {
  it('adds delta-seconds to now', () => {
    // Act
    const at = retryAfterDate('90', NOW);

    // Assess
    expect(at.toISOString()).toBe('2025-03-01T12:01:30.000Z');
  });

  it('keeps an HTTP-date exactly', () => {
    // Act
    const at = retryAfterDate('Sat, 01 Mar 2025 18:30:15 GMT', NOW);

    // Assess
    expect(at.toISOString()).toBe('2025-03-01T18:30:15.000Z');
  });

  it('uses the documented default when there is no usable header', () => {
    // Act
    const absent = retryAfterDate(undefined, NOW);
    const garbage = retryAfterDate('later', NOW);

    // Assess
    expect(absent.getTime() - NOW.getTime()).toBe(DEFAULT_RETRY_AFTER_SECONDS * 1000);
    expect(garbage.getTime()).toBe(absent.getTime());
    expect(DEFAULT_RETRY_AFTER_SECONDS).toBe(3600);
  });

  it('never goes before now and never more than the cap ahead', () => {
    // Act
    const past = retryAfterDate('Fri, 28 Feb 2025 12:00:00 GMT', NOW);
    const far = retryAfterDate('Fri, 01 Jan 2099 00:00:00 GMT', NOW);
    const huge = retryAfterDate('999999999', NOW);

    // Assess
    expect(past.getTime()).toBe(NOW.getTime());
    expect(far.getTime() - NOW.getTime()).toBe(MAX_RETRY_AFTER_SECONDS * 1000);
    expect(huge.getTime()).toBe(far.getTime());
  });
});

describe('classifyAnswer', () => {
  const answer = (status: number, body: unknown, retryAfter?: string) => ({
    ca: CA,
    what: 'newOrder (POST /acme/new-order)',
    status,
    body,
    retryAfter,
    now: NOW,
  });

  it('turns HTTP 429 into CaRateLimitedError naming the CA and quoting the detail', () => {
    // Act
    const error = classifyAnswer(
      answer(429, problem('rateLimited', 'too many certificates (5) already issued', 429), '3600'),
    );

    // Assess
    expect(error).toBeInstanceOf(CaRateLimitedError);
    expect((error as CaRateLimitedError).retryAfter.toISOString()).toBe('2025-03-01T13:00:00.000Z');
    expect(error?.message).toBe(
      'the CA at https://acme.example rate-limited newOrder (POST /acme/new-order): "too many certificates (5) already issued"; retry after 2025-03-01T13:00:00.000Z',
    );
  });

  it('treats the rateLimited type as a rate limit whatever the status, and 429 without a body', () => {
    // Act
    const typed = classifyAnswer(answer(403, problem('rateLimited', 'slow down', 403)));
    const bare = classifyAnswer(answer(429, ''));

    // Assess
    expect(typed).toBeInstanceOf(CaRateLimitedError);
    expect(bare).toBeInstanceOf(CaRateLimitedError);
    expect((bare as CaRateLimitedError).retryAfter.getTime() - NOW.getTime()).toBe(3_600_000);
    expect(bare?.message).toMatch(/rate-limited newOrder \(POST \/acme\/new-order\); retry/);
  });

  it('cuts a long detail to a short single-line quote', () => {
    // Act
    const error = classifyAnswer(answer(429, problem('rateLimited', `x\n${'y'.repeat(5000)}`)));

    // Assess
    expect(error?.message.length).toBeLessThan(400);
    expect(error?.message).not.toContain('\n');
    expect(error?.message).toContain('…');
  });

  it('ends a 5xx with a long Retry-After as a rate limit, leaves short ones to the retry', () => {
    // Act
    const long = classifyAnswer(answer(503, problem('serverInternal', 'maintenance', 503), '900'));
    const short = classifyAnswer(answer(503, '', '2'));
    const none = classifyAnswer(answer(500, problem('serverInternal', 'oops', 500)));

    // Assess
    expect(long).toBeInstanceOf(CaRateLimitedError);
    expect(long?.message).toMatch(/is unavailable \(HTTP 503\).*"maintenance"/);
    expect((long as CaRateLimitedError).retryAfter.toISOString()).toBe('2025-03-01T12:15:00.000Z');
    expect(short).toBeUndefined();
    expect(none).toBeUndefined();
  });

  it('recognises a deleted or deactivated account, not other unauthorized answers', () => {
    // Act
    const missing = classifyAnswer(answer(400, problem('accountDoesNotExist', 'No account')));
    const deactivated = classifyAnswer(
      answer(403, problem('unauthorized', 'Account is not valid, has status "deactivated"')),
    );
    const other = classifyAnswer(
      answer(403, problem('unauthorized', 'Account ID doesn\u2019t match ID for authorization')),
    );

    // Assess
    expect(missing).toBeInstanceOf(AcmeAccountGoneError);
    expect(missing?.message).toContain('no longer knows the ACME account');
    expect(deactivated).toBeInstanceOf(AcmeAccountGoneError);
    expect(other).toBeUndefined();
  });

  it('leaves badNonce and ordinary refusals to acme-client', () => {
    // Act
    const nonce = classifyAnswer(
      answer(400, problem('badNonce', 'JWS has an invalid anti-replay nonce')),
    );
    const rejected = classifyAnswer(answer(400, problem('rejectedIdentifier', 'blocked name')));

    // Assess
    expect(nonce).toBeUndefined();
    expect(rejected).toBeUndefined();
  });
});

describe('classifySilence', () => {
  it('turns a timeout into CaTimeoutError with the documented message', () => {
    // Act
    const error = classifySilence({
      ca: CA,
      what: 'newOrder (POST /acme/new-order)',
      code: 'ECONNABORTED',
      message: 'timeout of 10000ms exceeded',
      timeoutMs: 10_000,
    });

    // Assess
    expect(error).toBeInstanceOf(CaTimeoutError);
    expect(error.message).toMatch(
      /^the CA at https:\/\/acme.example did not answer newOrder \(POST \/acme\/new-order\) within 10 s/,
    );
  });

  it('names refused connections and untrusted TLS', () => {
    // Act
    const refused = classifySilence({
      ca: CA,
      what: 'GET /dir',
      code: 'ECONNREFUSED',
      timeoutMs: 1,
    });
    const tls = classifySilence({
      ca: CA,
      what: 'GET /dir',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      timeoutMs: 1,
    });
    const unknown = classifySilence({
      ca: CA,
      what: 'GET /dir',
      message: 'socket hang up',
      timeoutMs: 1,
    });

    // Assess
    expect(refused).toBeInstanceOf(CaConnectionError);
    expect(refused.message).toBe(
      'cannot reach the CA at https://acme.example for GET /dir: the connection was refused (ECONNREFUSED)',
    );
    expect((refused as CaConnectionError).code).toBe('ECONNREFUSED');
    expect(tls.message).toContain('NODE_EXTRA_CA_CERTS');
    expect(unknown.message).toBe(
      'cannot reach the CA at https://acme.example for GET /dir: socket hang up',
    );
  });
});

describe('describeRequest', () => {
  it('uses the directory name when known, else a guess from the path', () => {
    // Prepare
    const names = new Map([['https://acme.example/acme/new-order', 'newOrder']]);

    // Act
    const known = describeRequest('post', new URL('https://acme.example/acme/new-order'), names);
    const finalize = describeRequest(
      'post',
      new URL('https://acme.example/acme/finalize/1/2'),
      names,
    );
    const odd = describeRequest('get', new URL('https://acme.example/x?y=1'), names);

    // Assess
    expect(known).toBe('newOrder (POST /acme/new-order)');
    expect(finalize).toBe('finalize (POST /acme/finalize/1/2)');
    expect(odd).toBe('GET /x');
  });
});
