/**
 * Cooperating with CAs (issue 9): `replaces` on renewals where the CA offers ARI, profiles
 * checked against the directory, the rate-limit ledger, and fallback CAs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RenewerConfigInput } from '../../../lambda/config.js';
import { type CaDirectory, CaRateLimitedError } from '../../../lambda/core/ports.js';
import { run } from '../../../lambda/core/run.js';
import {
  attemptRun,
  makeCertificates,
  makeWorld,
  quietLogs,
  resultOf,
  runRequest,
  type TestCertificate,
  type World,
} from './fakes.js';

const PRIMARY = 'https://primary.test/directory';
const FALLBACK = 'https://fallback.test/directory';

let certificates: TestCertificate[];

beforeAll(() => {
  certificates = makeCertificates(12);
});

quietLogs();

const request = runRequest;

function world(
  acme: Record<string, unknown>,
  certs: Array<Record<string, unknown>> = [{ name: 'www', domains: ['www.example.com'] }],
  directories: Record<string, CaDirectory> = {
    [PRIMARY]: { renewalInfo: true, profiles: { classic: 'c', tlsserver: 't' } },
    [FALLBACK]: { renewalInfo: false },
  },
): World {
  const w = makeWorld(
    { acme: { directoryUrl: PRIMARY, ...acme }, certificates: certs } as RenewerConfigInput,
    certificates,
  );
  w.deps = {
    ...w.deps,
    caInfo: {
      directory: async (url) => {
        const d = directories[url];
        if (!d) throw new Error(`no directory ${url}`);
        return d;
      },
      renewalInfo: async () => undefined,
      certId: (pem) => `cid-${pem.length}`,
    },
  };
  return w;
}

const attempt = attemptRun;

const result = resultOf;

describe('replaces', () => {
  it("a renewal at the CA that issued it sends the replaced certificate's certID; a first order none", async () => {
    // Prepare
    const w = world({});
    await run(request(), w.deps);

    // Act
    await run(request({ force: true }), w.deps);

    // Assess
    expect(w.orders.extras[0]).toEqual({});
    expect(w.orders.extras[1]?.replaces).toMatch(/^cid-\d+$/);
    expect(w.store.certificate('www')?.directoryUrl).toBe(PRIMARY);
  });

  it('sends no replaces where the CA offers no ARI, or when acme.ari is false', async () => {
    // Prepare
    const noAri = world({}, undefined, { [PRIMARY]: { renewalInfo: false } });
    const off = world({ ari: false });
    for (const w of [noAri, off]) await run(request(), w.deps);

    // Act
    for (const w of [noAri, off]) await run(request({ force: true }), w.deps);

    // Assess
    expect(noAri.orders.extras[1]).toEqual({});
    expect(off.orders.extras[1]).toEqual({});
  });
});

describe('profiles', () => {
  it("sends the certificate's profile (its own over acme.profile) and stores it", async () => {
    // Prepare
    const w = world({ profile: 'classic' }, [
      { name: 'a', domains: ['a.example.com'] },
      { name: 'b', domains: ['b.example.com'], profile: 'tlsserver' },
    ]);

    // Act
    await run(request(), w.deps);

    // Assess
    expect(w.orders.extras.map((e) => e.profile).sort()).toEqual(['classic', 'tlsserver']);
    expect(w.store.certificate('a')?.profile).toBe('classic');
    expect(w.store.certificate('b')?.profile).toBe('tlsserver');
  });

  it('a profile the CA does not offer fails with the offered ones; a CA without profiles is an error', async () => {
    // Prepare
    const unknown = world({ profile: 'shortlived' });
    const none = world({ profile: 'classic' }, undefined, { [PRIMARY]: { renewalInfo: false } });

    // Act
    const a = await attempt(unknown);
    const b = await attempt(none);

    // Assess: nothing ordered, the error lists what the CA offers.
    expect(result(a.report, 'www').error).toMatch(
      /profile "shortlived" of certificate "www" is not offered by the CA at https:\/\/primary\.test\/directory; it offers: "classic", "tlsserver"/,
    );
    expect(result(b.report, 'www').error).toMatch(/offers no profiles/);
    expect(unknown.orders.prepared).toEqual([]);
    expect(none.orders.prepared).toEqual([]);
  });
});

describe('fallback CAs', () => {
  it('a certificate the primary rate-limits is issued by the fallback in the same run; while the primary asks to wait, renewals go straight to the fallback', async () => {
    // Prepare
    const w = world({ fallback: [{ directoryUrl: FALLBACK }] });
    const primaryRefuses = true;
    w.orders.prepareError = () =>
      primaryRefuses && w.openedCas.at(-1) === PRIMARY
        ? new CaRateLimitedError(
            'the CA at primary rate-limited newOrder',
            new Date(Date.now() + 3_600_000),
          )
        : undefined;

    // Act
    const first = await run(request(), w.deps);

    // Assess
    expect(result(first, 'www').action).toBe('issued');
    expect(result(first, 'www').reason).toMatch(
      /issued by https:\/\/fallback\.test\/directory after https:\/\/primary\.test\/directory: /,
    );
    expect(w.store.certificate('www')?.directoryUrl).toBe(FALLBACK);
    expect(w.openedCas).toEqual([PRIMARY, FALLBACK]);
    // The primary's wait is remembered for the primary.
    expect((await w.state.load()).schedules.get('www')?.retryAfter).toBeDefined();

    // Act: a forced renewal while the primary still asks to wait goes straight to the fallback.
    const forced = await run(request({ force: true }), w.deps);

    // Assess
    expect(result(forced, 'www').action).toBe('renewed');
    expect(w.openedCas.slice(2)).toEqual([FALLBACK]);
  });

  it('a CA switch (a certificate issued by a CA no longer configured) is not blocked by a stale wait of the old one', async () => {
    // Prepare: issued by the primary, then the configuration moves to another CA.
    const w = world({});
    await run(request(), w.deps);
    w.reconfigure({
      acme: { directoryUrl: FALLBACK },
      certificates: [{ name: 'www', domains: ['www.example.com'] }],
    });
    w.deps = {
      ...w.deps,
      caInfo: {
        directory: async () => ({ renewalInfo: false }),
        renewalInfo: async () => undefined,
        certId: () => 'x',
      },
    };

    // Act
    const report = await run(request(), w.deps);

    // Assess
    expect(result(report, 'www').action).toBe('renewed');
    expect(result(report, 'www').reason).toMatch(
      /issued by https:\/\/primary\.test\/directory, which is no longer a configured CA/,
    );
    expect(w.store.certificate('www')?.directoryUrl).toBe(FALLBACK);
  });
});

describe('the rate-limit ledger', () => {
  it("holds back what would pass the CA's duplicate-certificate budget, most urgent first", async () => {
    // Prepare: a budget of 2 duplicate certificates per week.
    const w = world({
      ari: false,
      rateLimits: { duplicateCertificates: { count: 2, windowHours: 168 } },
    });
    await run(request(), w.deps);
    await run(request({ force: true }), w.deps);

    // Act
    const third = await run(request({ force: true }), w.deps);

    // Assess
    const line = result(third, 'www');
    expect(line.action).toBe('deferred');
    expect(line.reason).toMatch(/duplicate/i);
    expect(line.retryAfter).toBeDefined();
    expect(w.orders.prepared).toHaveLength(2);
    expect((await w.state.load()).ledger.orders).toHaveLength(2);
  });
});

describe('ACME Renewal Information', () => {
  function ariWorld(window: () => { start: Date; end: Date; explanationUrl?: string }) {
    const w = world({});
    const calls: string[] = [];
    w.deps = {
      ...w.deps,
      caInfo: {
        directory: async () => ({ renewalInfo: true }),
        certId: (pem) => `cid-${pem.length}`,
        renewalInfo: async (_url, pem) => {
          calls.push(pem);
          return {
            certId: `cid-${pem.length}`,
            ...window(),
            retryAfter: new Date(Date.now() + 6 * 3_600_000),
          };
        },
      },
    };
    return { w, calls };
  }

  it('renews at once with replaces when the CA pulls the window into the past, and says why', async () => {
    // Prepare: a window in the future first, then the CA moves it (a mass-revocation drill).
    let moved = false;
    const { w, calls } = ariWorld(() =>
      moved
        ? {
            start: new Date(Date.now() - 7_200_000),
            end: new Date(Date.now() - 3_600_000),
            explanationUrl: 'https://ca.test/incident/42',
          }
        : { start: new Date(Date.now() + 86_400_000), end: new Date(Date.now() + 2 * 86_400_000) },
    );
    await run(request(), w.deps);
    const due = async () => {
      const schedule = (await w.state.load()).schedules.get('www') ?? {};
      const ari = schedule.ari as Record<string, unknown>;
      await w.state.putSchedule('www', {
        ...schedule,
        ari: { ...ari, nextCheck: new Date(0).toISOString() },
      });
    };
    await due();
    const idle = await run(request(), w.deps);
    expect(result(idle, 'www').action).toBe('unchanged');
    const renewAt = Date.parse(result(idle, 'www').renewAt ?? '');
    expect(renewAt).toBeGreaterThanOrEqual(Date.now() + 86_400_000 - 60_000);
    expect(renewAt).toBeLessThanOrEqual(Date.now() + 2 * 86_400_000);
    moved = true;
    // The CA's Retry-After has passed.
    await due();

    // Act
    const drill = await run(request(), w.deps);

    // Assess
    const line = result(drill, 'www');
    expect(line.action).toBe('renewed');
    expect(line.reason).toContain('https://ca.test/incident/42');
    expect(w.orders.extras.at(-1)?.replaces).toMatch(/^cid-/);
    expect(calls).toHaveLength(2);
  });

  it("asks again only after the CA's Retry-After: an idle run makes no renewalInfo request", async () => {
    // Prepare
    const { w, calls } = ariWorld(() => ({
      start: new Date(Date.now() + 86_400_000),
      end: new Date(Date.now() + 2 * 86_400_000),
    }));
    await run(request(), w.deps);
    const afterIssue = calls.length;

    // Act: idle runs right after the issuance.
    await run(request(), w.deps);
    await run(request(), w.deps);

    // Assess: a certificate issued in this run is first asked about after the usual
    // Retry-After; until then no run asks.
    expect(afterIssue).toBe(0);
    expect(calls).toHaveLength(0);
    const ari = (await w.state.load()).schedules.get('www')?.ari as { nextCheck: string };
    expect(Date.parse(ari.nextCheck)).toBeGreaterThan(Date.now() + 5 * 3_600_000);
  });
});
