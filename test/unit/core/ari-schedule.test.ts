import { describe, expect, it } from 'vitest';
import {
  type AriState,
  ariStateFor,
  ariWindow,
  mergeRenewalInfo,
  needsAriFetch,
  readAriState,
  recordAriFailure,
  withAriState,
} from '../../../lambda/core/ari-schedule.js';
import type { RenewalInfo } from '../../../lambda/core/ports.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const t = (hours: number) => new Date(NOW.getTime() + hours * HOUR);
const CERT = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';
const NEXT_CERT = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyF';

function info(startHours: number, endHours: number, extra: Partial<RenewalInfo> = {}): RenewalInfo {
  return { certId: CERT, start: t(startHours), end: t(endHours), retryAfter: t(6), ...extra };
}

const fixed = (value: number) => () => value;

describe('needsAriFetch', () => {
  const known: AriState = {
    certId: CERT,
    nextCheck: t(1).toISOString(),
    windowStart: t(10).toISOString(),
    windowEnd: t(20).toISOString(),
    renewAt: t(15).toISOString(),
  };
  it.each([
    ['nothing known', undefined, CERT, NOW, true],
    ['known, Retry-After not passed', known, CERT, NOW, false],
    ['known, Retry-After reached', known, CERT, t(1), true],
    ['known about the certificate it replaced', known, NEXT_CERT, NOW, true],
  ])('%s -> %s', (_case, state, certId, now, expected) => {
    expect(needsAriFetch(state, certId, now)).toBe(expected);
  });
});

describe('mergeRenewalInfo', () => {
  it('chooses uniformly inside the window: random 0 is the start, just under 1 the end', () => {
    // Act
    const atStart = mergeRenewalInfo(undefined, CERT, info(10, 20), fixed(0));
    const atEnd = mergeRenewalInfo(undefined, CERT, info(10, 20), fixed(1 - 1e-12));
    const middle = mergeRenewalInfo(undefined, CERT, info(10, 20), fixed(0.5));

    // Assess
    expect(atStart.renewAt).toBe(t(10).toISOString());
    expect(Date.parse(atEnd.renewAt ?? '')).toBeGreaterThan(t(20).getTime() - 1_000);
    expect(Date.parse(atEnd.renewAt ?? '')).toBeLessThanOrEqual(t(20).getTime());
    expect(middle.renewAt).toBe(t(15).toISOString());
    expect(middle).toMatchObject({
      certId: CERT,
      windowStart: t(10).toISOString(),
      windowEnd: t(20).toISOString(),
      nextCheck: t(6).toISOString(),
    });
  });

  it('spreads choices over the whole window (no pull towards its start)', () => {
    // Prepare: a deterministic sequence of random values
    let seed = 7;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };

    // Act
    const hours = Array.from({ length: 2_000 }, () => {
      const s = mergeRenewalInfo(undefined, CERT, info(0, 100), random);
      return (Date.parse(s.renewAt ?? '') - NOW.getTime()) / HOUR;
    });

    // Assess: every decile of the window gets roughly a tenth of the choices
    for (let d = 0; d < 10; d++) {
      const share = hours.filter((h) => h >= d * 10 && h < (d + 1) * 10).length / hours.length;
      expect(share).toBeGreaterThan(0.07);
      expect(share).toBeLessThan(0.13);
    }
  });

  it('keeps the chosen time while the window stays, updating when to ask again', () => {
    // Prepare
    const first = mergeRenewalInfo(undefined, CERT, info(10, 20), fixed(0.25));

    // Act
    const again = mergeRenewalInfo(
      first,
      CERT,
      info(10, 20, { retryAfter: t(30), explanationUrl: 'https://ca.test/why' }),
      fixed(0.9),
    );

    // Assess
    expect(again.renewAt).toBe(first.renewAt);
    expect(again.nextCheck).toBe(t(30).toISOString());
    expect(again.explanationUrl).toBe('https://ca.test/why');
  });

  it('draws again when the CA moves the window, even into the past', () => {
    // Prepare
    const first = mergeRenewalInfo(undefined, CERT, info(100, 120), fixed(0.5));

    // Act: a mass-revocation drill pulls the window to the last two hours
    const pulled = mergeRenewalInfo(
      first,
      CERT,
      info(-2, -1, { explanationUrl: 'https://ca.test/incident' }),
      fixed(0.5),
    );

    // Assess
    expect(first.renewAt).toBe(t(110).toISOString());
    expect(pulled.renewAt).toBe(t(-1.5).toISOString());
    expect(Date.parse(pulled.renewAt ?? '')).toBeLessThan(NOW.getTime());
    expect(pulled.explanationUrl).toBe('https://ca.test/incident');
  });

  it('drops what it knew about the certificate this one replaced', () => {
    // Prepare
    const old = mergeRenewalInfo(undefined, CERT, info(-5, -4), fixed(0));

    // Act
    const next = mergeRenewalInfo(old, NEXT_CERT, info(500, 520, { certId: NEXT_CERT }), fixed(0));

    // Assess
    expect(next.certId).toBe(NEXT_CERT);
    expect(next.renewAt).toBe(t(500).toISOString());
  });

  it('treats a window that ends before it starts as no answer', () => {
    // Prepare
    const known = mergeRenewalInfo(undefined, CERT, info(10, 20), fixed(0));

    // Act
    const bad = mergeRenewalInfo(known, CERT, info(30, 25, { retryAfter: t(9) }), fixed(0));
    const badFresh = mergeRenewalInfo(undefined, CERT, info(30, 25), fixed(0));

    // Assess
    expect(bad.renewAt).toBe(known.renewAt);
    expect(bad.nextCheck).toBe(t(9).toISOString());
    expect(bad.error).toMatch(/end is before its start/);
    expect(badFresh.renewAt).toBeUndefined();
    expect(ariWindow(badFresh)).toBeUndefined();
  });
});

describe('recordAriFailure', () => {
  it('keeps the known window and waits until retryAfter; a success clears the error', () => {
    // Prepare
    const known = mergeRenewalInfo(undefined, CERT, info(10, 20), fixed(0));

    // Act
    const failed = recordAriFailure(known, CERT, t(6), 'HTTP 500 from renewalInfo');
    const recovered = mergeRenewalInfo(failed, CERT, info(10, 20), fixed(0.9));

    // Assess
    expect(failed).toMatchObject({ renewAt: known.renewAt, nextCheck: t(6).toISOString() });
    expect(failed.error).toBe('HTTP 500 from renewalInfo');
    expect(needsAriFetch(failed, CERT, t(5))).toBe(false);
    expect(recovered.error).toBeUndefined();
    expect(recovered.renewAt).toBe(known.renewAt);
  });
});

describe('stored form', () => {
  it('round-trips through a schedule as JSON and converts to the decision window', () => {
    // Prepare
    const state = mergeRenewalInfo(
      undefined,
      CERT,
      info(10, 20, { explanationUrl: 'https://ca.test/x' }),
      fixed(0.5),
    );

    // Act
    const schedule = JSON.parse(
      JSON.stringify(withAriState({ lastAction: 'renewed', ari: { stale: true } }, state)),
    );
    const back = readAriState(schedule);

    // Assess
    expect(back).toEqual(state);
    expect(schedule.lastAction).toBe('renewed');
    expect(ariStateFor(schedule, NEXT_CERT)).toBeUndefined();
    expect(ariWindow(back)).toEqual({
      renewAt: t(15),
      windowStart: t(10),
      windowEnd: t(20),
      explanationUrl: 'https://ca.test/x',
    });
    expect(withAriState(schedule, undefined)).toEqual({ lastAction: 'renewed' });
  });

  it.each([
    ['not an object', 'x'],
    ['no certId', { nextCheck: NOW.toISOString() }],
    ['bad nextCheck', { certId: CERT, nextCheck: 'soon' }],
    [
      'half a window',
      { certId: CERT, nextCheck: NOW.toISOString(), windowStart: NOW.toISOString() },
    ],
    [
      'window end before start',
      {
        certId: CERT,
        nextCheck: NOW.toISOString(),
        windowStart: t(2).toISOString(),
        windowEnd: t(1).toISOString(),
        renewAt: t(1).toISOString(),
      },
    ],
  ])('reads a damaged item (%s) as nothing known', (_case, ari) => {
    expect(readAriState({ ari })).toBeUndefined();
  });
});
