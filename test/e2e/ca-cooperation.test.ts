/**
 * Issue 9 end to end: renewing the way the CA asks. The built bundle runs in its own process
 * against the local cloud, the state table (dynalite) and Pebble behind two ACME fronts
 * (local/acme-front.ts), which add ACME Renewal Information (RFC 9773) and `meta.profiles` to
 * Pebble and record what every newOrder asked for. Two fronts before one Pebble are two CAs to
 * the function (different directory URLs, different accounts).
 *
 * Each test would fail against the first version: it never read renewalInfo (no `renewAt` from
 * the CA's window, no renewal for a window pulled into the past), sent no `replaces` and no
 * profile, stored neither `directoryUrl` nor `profile`, had no fallback CA, did not see a CA
 * switch, and kept no rate-limit ledger.
 *
 * A certificate issued in a run is first asked about after six hours (its schedule's
 * `ari.nextCheck`); tests that need a later run to ask rewrite that instant into the past in
 * the state table, as the function's own store lays it out (lambda/state/dynamo-state-store.ts).
 * None of the tests is heavy (one to three certificates), so the file shares one cloud; Pebble
 * runs without validation sleeps and rejects no nonce, so the fronts' order records are exact.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AcmeFront, frontCertId, startAcmeFront } from '../../local/acme-front.js';
import type { InvokeOutcome } from '../../local/cloud.js';
import {
  describeOutcome,
  doneLines,
  E2e,
  expectOk,
  type LogLine,
  logLines,
  normalizeSerial,
  type StoredSecret,
  verifyStored,
} from './harness.js';

const ZONE = 'coop.test';
const ISSUING_TIMEOUT = 60_000;
const HOUR_MS = 3_600_000;

/** The stored secret with the fields issue 9 adds to it. */
type Secret = StoredSecret & { directoryUrl?: string; profile?: string };

/** A report line with the fields issue 9 adds to it. */
interface Result {
  name: string;
  action: string;
  reason?: string;
  serial?: string;
  error?: string;
  renewAt?: string;
  retryAfter?: string;
}

interface AriState {
  certId: string;
  nextCheck: string;
  windowStart?: string;
  windowEnd?: string;
  renewAt?: string;
  explanationUrl?: string;
  error?: string;
}

type Schedule = Record<string, unknown> & {
  ari?: AriState;
  retryAfter?: string;
  caWaits?: Record<string, { until: string; reason?: string }>;
};

interface LedgerEntry {
  directoryUrl: string;
  at: string;
  registeredDomains: string[];
  nameSet: string;
  replaces: boolean;
}

/** A window in the middle of a lifetime: before the lifetime rule (2/3) and the safety floor. */
const middleWindow = ({ notBefore, notAfter }: { notBefore: Date; notAfter: Date }) => {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return {
    start: new Date(notBefore.getTime() + lifetime / 2),
    end: new Date(notBefore.getTime() + (3 * lifetime) / 5),
  };
};

/** Every report line of an outcome, also of a failed run (from the `certificate done` lines). */
function results(outcome: InvokeOutcome): Map<string, Result> {
  const lines = new Map<string, Result>();
  for (const [name, line] of doneLines(outcome)) lines.set(name, line as unknown as Result);
  return lines;
}

/** Log lines of a certificate with a given message. */
function logged(outcome: InvokeOutcome, certificate: string, message: string): LogLine[] {
  return logLines(outcome).filter((l) => l.certificate === certificate && l.message === message);
}

describe('acme-renewer end to end: cooperating with the CA (ARI, replaces, profiles, fallback, budgets)', () => {
  let e2e: E2e;
  let roots: string[];
  /** The CA with ARI and profiles that most tests order from. */
  let frontA: AcmeFront;
  /** A second CA before the same Pebble: the fallback, and the CA switched to. */
  let frontB: AcmeFront;

  const domain = (name: string) => `${name}.${ZONE}`;
  const identifiersOf = (payload: Record<string, unknown>) =>
    ((payload.identifiers as Array<{ value: string }> | undefined) ?? []).map((i) => i.value);
  /** The newOrders a front received for a certificate's (single) domain. */
  const ordersFor = (front: AcmeFront, name: string) =>
    front.orders.filter((o) => identifiersOf(o.payload).includes(domain(name)));
  const created = (front: AcmeFront, name: string) =>
    ordersFor(front, name).filter((o) => o.status === 201);

  const config = (options: {
    directoryUrl: string;
    acme?: Record<string, unknown>;
    certificates: Array<{ name: string; profile?: string }>;
  }) => ({
    acme: { directoryUrl: options.directoryUrl, email: 'ops@coop.test', ...options.acme },
    dns: { propagationResolvers: [e2e.cloud.dns.address], propagationTimeoutSeconds: 20 },
    certificates: options.certificates.map((c) => ({ ...c, domains: [domain(c.name)] })),
  });

  const secret = (name: string) => e2e.current(name) as Secret;

  const schedule = async (name: string): Promise<Schedule | undefined> => {
    const item = (await e2e.cloud.stateTable.items()).find(
      (i) => i.pk === `cert#${name}` && i.sk === 'schedule',
    );
    return item ? (JSON.parse(String(item.schedule)) as Schedule) : undefined;
  };
  /** Writes a schedule item as `DynamoStateStore.putSchedule` does. */
  const putSchedule = (name: string, value: Schedule) =>
    e2e.cloud.stateTable.client.send(
      new PutItemCommand({
        TableName: e2e.cloud.stateTable.tableName,
        Item: {
          pk: { S: `cert#${name}` },
          sk: { S: 'schedule' },
          name: { S: name },
          schedule: { S: JSON.stringify(value) },
        },
      }),
    );
  /** Makes the next run ask the CA about `name` (its Retry-After passed a minute ago). */
  const askNextRun = async (name: string) => {
    const value = await schedule(name);
    expect(value?.ari, `ARI state of ${name}: ${JSON.stringify(value)}`).toBeDefined();
    const ari = value?.ari as AriState;
    expect(Date.parse(ari.nextCheck)).toBeGreaterThan(Date.now());
    await putSchedule(name, {
      ...value,
      ari: { ...ari, nextCheck: new Date(Date.now() - 60_000).toISOString() },
    });
  };
  /** The newest complete generation of the rate-limit ledger, in chunk order. */
  const ledger = async (): Promise<LedgerEntry[]> => {
    const chunks = (await e2e.cloud.stateTable.items()).filter((i) => i.pk === 'ledger');
    const newest = Math.max(0, ...chunks.map((i) => Number(i.generation)));
    return chunks
      .filter((i) => Number(i.generation) === newest)
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)))
      .flatMap((i) => JSON.parse(String(i.orders)) as LedgerEntry[]);
  };

  beforeAll(async () => {
    e2e = await E2e.start({ pebble: { noSleep: true, nonceRejectPercent: 0 } });
    roots = await e2e.cloud.pebble.roots();
    e2e.createZone(ZONE);
    [frontA, frontB] = await Promise.all([
      startAcmeFront({ pebble: e2e.cloud.pebble, defaultWindow: middleWindow }),
      startAcmeFront({ pebble: e2e.cloud.pebble }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([frontA?.close(), frontB?.close(), e2e?.stop()]);
  });

  afterEach(() => {
    frontA.reset();
    frontB.reset();
    e2e.checkInvariants();
  });

  it(
    'mass-revocation drill: an idle run reads the window and plans inside it; a window pulled into the past renews at once with replaces and the explanation',
    async () => {
      // Prepare: one certificate issued through the CA with ARI.
      const drill = config({
        directoryUrl: frontA.directoryUrl,
        certificates: [{ name: 'drill' }],
      });
      expect(expectOk(await e2e.invoke({}, drill)).get('drill')?.action).toBe('issued');
      const old = secret('drill');
      const oldId = frontCertId(old.certificate)?.certId as string;
      expect(oldId).toBeTruthy();
      frontA.reset();
      await askNextRun('drill');

      // Act: an idle run whose Retry-After has passed.
      const idle = await e2e.invoke({}, drill);

      // Assess: one renewalInfo request, a renewal time inside the CA's window, kept.
      const idleLine = expectOk(idle).get('drill') as Result;
      expect(idleLine.action).toBe('unchanged');
      expect(frontA.renewalInfoRequests).toEqual([oldId]);
      expect(frontA.count('newOrder')).toBe(0);
      const window = frontA.certificate(old.serial)?.window;
      expect(window).toBeDefined();
      const renewAt = Date.parse(String(idleLine.renewAt));
      expect(renewAt).toBeGreaterThanOrEqual(window?.start.getTime() ?? Number.NaN);
      expect(renewAt).toBeLessThanOrEqual(window?.end.getTime() ?? Number.NaN);
      // Not the lifetime rule's time (a third of the lifetime left): the CA's window decided.
      const lifetime = Date.parse(old.notAfter) - Date.parse(old.notBefore);
      expect(renewAt).toBeLessThan(Date.parse(old.notAfter) - lifetime / 3);
      expect(idleLine.reason).toContain("the CA's renewal window");
      const kept = (await schedule('drill'))?.ari;
      expect(kept).toMatchObject({
        certId: oldId,
        windowStart: window?.start.toISOString(),
        windowEnd: window?.end.toISOString(),
        renewAt: idleLine.renewAt,
      });
      // The front's Retry-After (six hours) is when it is asked next.
      expect(Date.parse(String(kept?.nextCheck))).toBeGreaterThan(Date.now() + 5 * HOUR_MS);

      // Act: asked again, the CA gives the same window: the time chosen in it is kept, not
      // drawn anew (every run drawing would pull renewals towards the window's start).
      frontA.reset();
      await askNextRun('drill');
      const again = expectOk(await e2e.invoke({}, drill)).get('drill') as Result;

      // Assess
      expect(frontA.renewalInfoRequests).toEqual([oldId]);
      expect(again).toMatchObject({ action: 'unchanged', renewAt: idleLine.renewAt });
      expect((await schedule('drill'))?.ari?.renewAt).toBe(idleLine.renewAt);

      // Act: the CA pulls the window into the past (a mass revocation); the next scheduled run.
      const explanationUrl = 'https://ca.coop.test/incidents/2026-05-mass-revocation';
      const now = Date.now();
      frontA.reset();
      frontA.moveWindow(old.serial, {
        start: new Date(now - 3 * HOUR_MS),
        end: new Date(now - HOUR_MS),
        explanationUrl,
      });
      await askNextRun('drill');
      const drilled = await e2e.invoke({}, drill);

      // Assess: renewed without force, saying why, ordered with replaces = the old certID.
      const line = expectOk(drilled).get('drill') as Result;
      const renewed = secret('drill');
      verifyStored(renewed, roots, [domain('drill')]);
      expect(normalizeSerial(renewed.serial)).not.toBe(normalizeSerial(old.serial));
      expect(line).toMatchObject({ action: 'renewed', serial: renewed.serial });
      expect(line.reason).toContain(explanationUrl);
      expect(line.reason).toMatch(/in the past: renewing now/);
      expect(frontA.renewalInfoRequests).toEqual([oldId]);
      const orders = created(frontA, 'drill');
      expect(orders).toHaveLength(1);
      expect(orders[0]?.payload.replaces).toBe(oldId);
      expect(
        logged(drilled, 'drill', 'the CA gave a renewal window with an explanation')[0],
      ).toMatchObject({ explanationUrl });
      // An ARI renewal with replaces is exempt from the CA's budgets: the ledger says so.
      const entries = (await ledger()).filter((o) => o.nameSet === domain('drill'));
      expect(entries.map((o) => o.replaces)).toEqual([false, true]);
      // The renewed certificate starts afresh: its first check waits the usual Retry-After.
      const fresh = (await schedule('drill'))?.ari;
      expect(fresh?.certId).toBe(frontCertId(renewed.certificate)?.certId);
      expect(Date.parse(String(fresh?.nextCheck))).toBeGreaterThan(Date.now() + 5 * HOUR_MS);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a refused replaces (alreadyReplaced) does not stop the renewal: ordered again without it, and the log says so',
    async () => {
      // Prepare
      const refusedConfig = config({
        directoryUrl: frontA.directoryUrl,
        certificates: [{ name: 'refused' }],
      });
      expect(expectOk(await e2e.invoke({}, refusedConfig)).get('refused')?.action).toBe('issued');
      const old = secret('refused');
      const oldId = frontCertId(old.certificate)?.certId as string;
      frontA.reset();
      frontA.refuseReplaces('alreadyReplaced');

      // Act
      const outcome = await e2e.invoke({ certificates: ['refused'], force: true }, refusedConfig);

      // Assess: renewed; the CA saw the order with replaces refused, then one without it.
      const line = expectOk(outcome).get('refused') as Result;
      const renewed = secret('refused');
      verifyStored(renewed, roots, [domain('refused')]);
      expect(line).toMatchObject({ action: 'renewed', serial: renewed.serial });
      expect(normalizeSerial(renewed.serial)).not.toBe(normalizeSerial(old.serial));
      expect(
        ordersFor(frontA, 'refused').map((o) => [o.payload.replaces, o.fault, o.status]),
      ).toEqual([
        [oldId, 'replacesRefused', 409],
        [undefined, undefined, 201],
      ]);
      const warned = logged(outcome, 'refused', 'replaces refused by the CA; ordered without it');
      expect(warned).toHaveLength(1);
      expect(String(warned[0]?.reason)).toMatch(/alreadyReplaced/);
      expect(warned[0]?.level).toBe('WARN');
      // The order that went through sent no replaces: it counts against the budgets.
      const entries = (await ledger()).filter((o) => o.nameSet === domain('refused'));
      expect(entries.map((o) => o.replaces)).toEqual([false, false]);
    },
    ISSUING_TIMEOUT,
  );

  it(
    "profiles: ordered and stored per certificate, an unknown one fails listing the CA's, a change reissues",
    async () => {
      // Prepare
      const certificates = [
        { name: 'prof-a' },
        { name: 'prof-b', profile: 'shortlived' },
        { name: 'prof-bad', profile: 'nope' },
      ];
      const first = config({
        directoryUrl: frontA.directoryUrl,
        acme: { profile: 'tlsserver' },
        certificates,
      });

      // Act
      const outcome = await e2e.invoke({}, first);

      // Assess: the run fails for prof-bad only, which was never ordered.
      expect(outcome.ok, describeOutcome(outcome)).toBe(false);
      const lines = results(outcome);
      expect(lines.get('prof-a')?.action).toBe('issued');
      expect(lines.get('prof-b')?.action).toBe('issued');
      const bad = lines.get('prof-bad');
      expect(bad?.action).toBe('failed');
      expect(bad?.error).toContain('profile "nope"');
      expect(bad?.error).toContain(frontA.directoryUrl);
      expect(bad?.error).toContain('"classic", "tlsserver", "shortlived"');
      expect(outcome.error?.message).toMatch(/^1 of \d+ certificate\(s\) failed: prof-bad: /);
      expect(ordersFor(frontA, 'prof-bad')).toEqual([]);
      expect(e2e.emulator.secret('acme-renewer/prof-bad')).toBeUndefined();

      expect(created(frontA, 'prof-a').map((o) => o.payload.profile)).toEqual(['tlsserver']);
      expect(created(frontA, 'prof-b').map((o) => o.payload.profile)).toEqual(['shortlived']);
      const a = secret('prof-a');
      verifyStored(a, roots, [domain('prof-a')]);
      expect(a).toMatchObject({ profile: 'tlsserver', directoryUrl: frontA.directoryUrl });
      expect(secret('prof-b')).toMatchObject({
        profile: 'shortlived',
        directoryUrl: frontA.directoryUrl,
      });
      const bBefore = secret('prof-b').serial;

      // Act: acme.profile changes; nothing is forced.
      frontA.reset();
      const second = config({
        directoryUrl: frontA.directoryUrl,
        acme: { profile: 'classic' },
        certificates: certificates.slice(0, 2),
      });
      const changed = await e2e.invoke({}, second);

      // Assess: prof-a reissued with the new profile (an ordinary renewal: with replaces);
      // prof-b keeps its own profile and certificate.
      const after = expectOk(changed);
      const renewed = secret('prof-a');
      expect(after.get('prof-a')).toMatchObject({ action: 'renewed', serial: renewed.serial });
      expect(after.get('prof-a')?.reason).toContain(
        'profile changed from "tlsserver" to "classic"',
      );
      expect(normalizeSerial(renewed.serial)).not.toBe(normalizeSerial(a.serial));
      expect(renewed).toMatchObject({ profile: 'classic', directoryUrl: frontA.directoryUrl });
      const reorder = created(frontA, 'prof-a');
      expect(reorder.map((o) => o.payload.profile)).toEqual(['classic']);
      expect(reorder[0]?.payload.replaces).toBe(frontCertId(a.certificate)?.certId);
      expect(after.get('prof-b')?.action).toBe('unchanged');
      expect(secret('prof-b').serial).toBe(bBefore);
      expect(ordersFor(frontA, 'prof-b')).toEqual([]);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a CA without ARI or profiles: a configured profile fails naming the CA; without one it issues, the lifetime rule plans, and no renewalInfo is asked for',
    async () => {
      // Prepare
      frontA.setRenewalInfo(false);
      frontA.setProfiles(undefined);
      const plain = config({
        directoryUrl: frontA.directoryUrl,
        certificates: [{ name: 'bare-prof', profile: 'tlsserver' }, { name: 'bare' }],
      });

      // Act
      const outcome = await e2e.invoke({}, plain);

      // Assess: the profile is not dropped silently: an error that names the CA.
      expect(outcome.ok, describeOutcome(outcome)).toBe(false);
      const lines = results(outcome);
      const failed = lines.get('bare-prof');
      expect(failed?.action).toBe('failed');
      expect(failed?.error).toContain(`the CA at ${frontA.directoryUrl} offers no profiles`);
      expect(failed?.error).toContain('profile "tlsserver"');
      expect(ordersFor(frontA, 'bare-prof')).toEqual([]);
      expect(e2e.emulator.secret('acme-renewer/bare-prof')).toBeUndefined();
      expect(lines.get('bare')?.action).toBe('issued');
      const stored = secret('bare');
      verifyStored(stored, roots, [domain('bare')]);
      expect(stored.directoryUrl).toBe(frontA.directoryUrl);
      expect(stored.profile).toBeUndefined();
      expect(created(frontA, 'bare').map((o) => Object.keys(o.payload).sort())).toEqual([
        ['identifiers'],
      ]);

      // Act: an idle run that would ask a CA with ARI (its Retry-After passed).
      await askNextRun('bare');
      const idle = await e2e.invoke({ certificates: ['bare'] }, plain);

      // Assess: nothing asked; the lifetime rule (a third of the lifetime left) plans.
      const idleLine = expectOk(idle).get('bare') as Result;
      expect(idleLine.action).toBe('unchanged');
      expect(frontA.count('renewalInfo')).toBe(0);
      expect(frontA.renewalInfoRequests).toEqual([]);
      const notBefore = Date.parse(stored.notBefore);
      const notAfter = Date.parse(stored.notAfter);
      expect(Date.parse(String(idleLine.renewAt))).toBe(
        notAfter - Math.floor((notAfter - notBefore) / 3),
      );
      expect((await schedule('bare'))?.ari?.error).toBe('the CA offers no ARI');

      // Act: a forced renewal at that CA.
      const forced = await e2e.invoke({ certificates: ['bare'], force: true }, plain);

      // Assess: renewed, without replaces (the CA has no ARI), still no renewalInfo request.
      const renewed = secret('bare');
      expect(expectOk(forced).get('bare')).toMatchObject({
        action: 'renewed',
        serial: renewed.serial,
      });
      const orders = created(frontA, 'bare');
      expect(orders).toHaveLength(2);
      expect(orders[1]?.payload).not.toHaveProperty('replaces');
      expect(frontA.count('renewalInfo')).toBe(0);
    },
    ISSUING_TIMEOUT,
  );

  it(
    "fallback CA: the primary's rate limit sends the certificate to the fallback in the same run; while the wait holds the fallback is used directly; after it, the primary again",
    async () => {
      // Prepare
      const detail = 'too many new orders recently: injected for the fallback test';
      const fallback = config({
        directoryUrl: frontA.directoryUrl,
        acme: { fallback: [{ directoryUrl: frontB.directoryUrl, email: 'ops@coop.test' }] },
        certificates: [{ name: 'fb' }],
      });
      frontA.rateLimit('newOrder', { retryAfterSeconds: 3600, detail });

      // Act
      const startedAt = Date.now();
      const outcome = await e2e.invoke({}, fallback);

      // Assess: issued by the fallback, the reason says why, the primary's wait is remembered.
      const line = expectOk(outcome).get('fb') as Result;
      const first = secret('fb');
      verifyStored(first, roots, [domain('fb')]);
      expect(line).toMatchObject({ action: 'issued', serial: first.serial });
      expect(first.directoryUrl).toBe(frontB.directoryUrl);
      expect(line.reason).toContain(
        `issued by ${frontB.directoryUrl} after ${frontA.directoryUrl}`,
      );
      expect(line.reason).toContain(detail);
      expect(ordersFor(frontA, 'fb').map((o) => [o.fault, o.status])).toEqual([
        ['rateLimited', 429],
      ]);
      expect(created(frontB, 'fb')).toHaveLength(1);
      const waits = (await schedule('fb'))?.caWaits;
      const until = Date.parse(String(waits?.[frontA.directoryUrl]?.until));
      expect(until).toBeGreaterThanOrEqual(startedAt + HOUR_MS - 2_000);
      expect(until).toBeLessThanOrEqual(Date.now() + HOUR_MS + 2_000);
      expect(waits?.[frontB.directoryUrl]).toBeUndefined();

      // Act: a forced renewal while the primary's wait holds.
      frontA.reset();
      frontB.reset();
      const during = await e2e.invoke({ certificates: ['fb'], force: true }, fallback);

      // Assess: the primary is not asked at all; the fallback issues.
      const duringLine = expectOk(during).get('fb') as Result;
      const second = secret('fb');
      expect(duringLine).toMatchObject({ action: 'renewed', serial: second.serial });
      expect(normalizeSerial(second.serial)).not.toBe(normalizeSerial(first.serial));
      expect(second.directoryUrl).toBe(frontB.directoryUrl);
      expect(frontA.count('newOrder')).toBe(0);
      expect(created(frontB, 'fb')).toHaveLength(1);
      expect(duringLine.reason).toContain(`issued by ${frontB.directoryUrl}`);
      expect(duringLine.reason).toContain(`the CA at ${frontA.directoryUrl} asked to wait until`);

      // Act: the primary's wait is over (as the table would hold it an hour later).
      const held = (await schedule('fb')) as Schedule;
      const past = new Date(Date.now() - 60_000).toISOString();
      expect(held.caWaits?.[frontA.directoryUrl]).toBeDefined();
      await putSchedule('fb', {
        ...held,
        caWaits: { [frontA.directoryUrl]: { ...held.caWaits?.[frontA.directoryUrl], until: past } },
        retryAfter: past,
      });
      frontA.reset();
      frontB.reset();
      const later = await e2e.invoke({ certificates: ['fb'], force: true }, fallback);

      // Assess: back at the primary; no replaces (the old certificate is the fallback's).
      const laterLine = expectOk(later).get('fb') as Result;
      const third = secret('fb');
      verifyStored(third, roots, [domain('fb')]);
      expect(laterLine).toMatchObject({ action: 'renewed', serial: third.serial });
      expect(third.directoryUrl).toBe(frontA.directoryUrl);
      expect(laterLine.reason).not.toContain('issued by');
      const primaryOrders = created(frontA, 'fb');
      expect(primaryOrders).toHaveLength(1);
      expect(primaryOrders[0]?.payload).not.toHaveProperty('replaces');
      expect(frontB.count('newOrder')).toBe(0);
      expect((await schedule('fb'))?.caWaits).toBeUndefined();
    },
    ISSUING_TIMEOUT,
  );

  it(
    'CA switch: a changed acme.directoryUrl reissues on the next run without force, from the new CA, saying which CA issued the old one',
    async () => {
      // Prepare: issued by CA A, then the configuration names CA B.
      const atA = config({ directoryUrl: frontA.directoryUrl, certificates: [{ name: 'switch' }] });
      const atB = config({ directoryUrl: frontB.directoryUrl, certificates: [{ name: 'switch' }] });
      expect(expectOk(await e2e.invoke({}, atA)).get('switch')?.action).toBe('issued');
      const old = secret('switch');
      expect(old.directoryUrl).toBe(frontA.directoryUrl);
      frontA.reset();
      // Were the old CA still asked about its certificate, this run would ask it.
      await askNextRun('switch');

      // Act
      const outcome = await e2e.invoke({}, atB);

      // Assess
      const line = expectOk(outcome).get('switch') as Result;
      const renewed = secret('switch');
      verifyStored(renewed, roots, [domain('switch')]);
      expect(line).toMatchObject({ action: 'renewed', serial: renewed.serial });
      expect(line.reason).toContain(
        `issued by ${frontA.directoryUrl}, which is no longer a configured CA; issuing from ${frontB.directoryUrl}`,
      );
      expect(renewed.directoryUrl).toBe(frontB.directoryUrl);
      expect(frontA.count('newOrder')).toBe(0);
      expect(frontA.renewalInfoRequests).toEqual([]);
      const orders = created(frontB, 'switch');
      expect(orders).toHaveLength(1);
      // `replaces` names a certificate of the CA ordered from: not one of another CA.
      expect(orders[0]?.payload).not.toHaveProperty('replaces');

      // A further run at B has nothing to do.
      frontB.reset();
      expect(expectOk(await e2e.invoke({}, atB)).get('switch')?.action).toBe('unchanged');
      expect(frontB.count('newOrder')).toBe(0);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'rate-limit ledger: with a duplicate-certificate budget of 2 a week, the second forced renewal is deferred until a slot frees, and never ordered',
    async () => {
      // Prepare: no ARI, so no order sends replaces and every one counts.
      const budgeted = config({
        directoryUrl: frontA.directoryUrl,
        acme: { ari: false, rateLimits: { duplicateCertificates: { count: 2, windowHours: 168 } } },
        certificates: [{ name: 'ledger' }],
      });
      const firstStart = Date.now();
      expect(expectOk(await e2e.invoke({}, budgeted)).get('ledger')?.action).toBe('issued');
      const firstEnd = Date.now();
      const renew = () => e2e.invoke({ certificates: ['ledger'], force: true }, budgeted);

      // Act: the second order of the same names (inside the budget), then a third.
      const second = await renew();
      const kept = secret('ledger');
      frontA.reset();
      const third = await renew();

      // Assess
      expect(expectOk(second).get('ledger')).toMatchObject({
        action: 'renewed',
        serial: kept.serial,
      });
      const line = expectOk(third).get('ledger') as Result;
      expect(line.action).toBe('deferred');
      expect(line.reason).toContain('budget duplicateCertificates: 2');
      expect(line.reason).toContain(`2 orders for the same names (${domain('ledger')})`);
      // A slot frees when the first order leaves the 168-hour window.
      const retryAfter = Date.parse(String(line.retryAfter));
      expect(retryAfter).toBeGreaterThanOrEqual(firstStart + 168 * HOUR_MS);
      expect(retryAfter).toBeLessThanOrEqual(firstEnd + 168 * HOUR_MS);
      expect(line.reason).toContain(String(line.retryAfter));
      expect(frontA.count('newOrder')).toBe(0);
      expect(secret('ledger').serial).toBe(kept.serial);
      expect(
        logged(third, 'ledger', 'certificate held back by the rate-limit budget'),
      ).toHaveLength(1);
      const entries = (await ledger()).filter((o) => o.nameSet === domain('ledger'));
      expect(entries.map((o) => [o.directoryUrl, o.replaces])).toEqual([
        [frontA.directoryUrl, false],
        [frontA.directoryUrl, false],
      ]);
      expect(frontA.renewalInfoRequests).toEqual([]);
    },
    ISSUING_TIMEOUT,
  );
});
