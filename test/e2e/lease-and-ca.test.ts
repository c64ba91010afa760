/**
 * Issue 8 end to end, items 3 and 4: the run lease (overlapping runs, a killed run's lease, a
 * live one) and a CA that rate-limits, hangs or forgets the ACME account. The built bundle runs
 * against the local cloud, the state table (dynalite) and Pebble; CA faults come from the ACME
 * front (local/acme-front.ts) in front of the cloud's Pebble. Each test would fail against the
 * first version: it had no lease (the second run would issue too), slept a 429's full
 * Retry-After in-process (the run would not end), reported a hung CA as "Cannot read properties
 * of undefined" and failed every order of a deleted account. No test here is heavy (a few
 * certificates), so the file shares one cloud; Pebble runs without validation sleeps.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AcmeFront, startAcmeFront } from '../../local/acme-front.js';
import type { InvokeOutcome } from '../../local/cloud.js';
import {
  describeOutcome,
  doneLines,
  E2e,
  expectOk,
  logLines,
  MUTATING_OPERATIONS,
  normalizeSerial,
  verifyStored,
} from './harness.js';

const ZONE = 'lease.test';
const ISSUING_TIMEOUT = 60_000;
/** The emulator's default window in which ELBv2 does not see a fresh ACM import yet. */
const DEFAULT_PROPAGATION_MS = 3_000;
/** Operation names that change something (AWS's verbs for writes). */
const WRITE =
  /^(Change|Put|Create|Import|Modify|Add|Remove|Delete|Update|Tag|Untag|Restore|Rotate|BatchWrite|TransactWrite)/;

/** One request a {@link recordingProxy} passed on. */
interface ProxiedCall {
  /** `X-Amz-Target` suffix (JSON 1.1), `Action` (Query), or `<METHOD> <path>` (Route 53 REST). */
  operation: string;
  /** Whether the request asked for a change (a write verb, or a non-GET Route 53 request). */
  mutating: boolean;
  status: number;
}

/**
 * A plain HTTP proxy that records every request it forwards to `target`. Pointing one
 * invocation's endpoints at it attributes calls to that invocation while another runs against
 * the same cloud.
 */
async function recordingProxy(
  target: string,
): Promise<{ url: string; calls: ProxiedCall[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const calls: ProxiedCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = String(req.headers['x-amz-target'] ?? '');
      const action = new URLSearchParams(body.toString('utf8')).get('Action');
      const method = req.method ?? 'GET';
      let operation: string;
      let mutating: boolean;
      if (amzTarget) {
        operation = amzTarget.slice(amzTarget.indexOf('.') + 1);
        mutating = WRITE.test(operation);
      } else if (action) {
        operation = action;
        mutating = WRITE.test(operation);
      } else {
        // Route 53 REST-XML: every write is a POST (ChangeResourceRecordSets, Create*) or DELETE.
        operation = `${method} ${(req.url ?? '/').split('?')[0]}`;
        mutating = method !== 'GET' && method !== 'HEAD';
      }
      const call: ProxiedCall = { operation, mutating, status: 0 };
      calls.push(call);
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method,
          path: req.url,
          headers: { ...req.headers, 'content-length': String(body.length) },
        },
        (answer) => {
          call.status = answer.statusCode ?? 0;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', (error) => {
        call.status = 502;
        res.writeHead(502);
        res.end(error.message);
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The `message` of every structured log line of an outcome (stdout and stderr). */
const messages = (outcome: InvokeOutcome) => logLines(outcome).map((l) => l.message);

describe('acme-renewer end to end: run lease and CA cooperation', () => {
  let e2e: E2e;
  let roots: string[];
  let front: AcmeFront;
  let listener: string;

  const domain = (name: string) => `${name}.${ZONE}`;
  const cert = (name: string, withListener = false) => ({
    name,
    domains: [domain(name)],
    ...(withListener ? { listeners: [{ arn: listener, mode: 'default' }] } : {}),
  });
  /** Configuration with the given certificates; `viaFront` orders through the ACME front. */
  const config = (certificates: Array<{ name: string; domains: string[] }>, viaFront = false) => ({
    acme: {
      directoryUrl: viaFront ? front.directoryUrl : e2e.cloud.directoryUrl,
      email: 'ops@lease.test',
    },
    dns: { propagationResolvers: [e2e.cloud.dns.address], propagationTimeoutSeconds: 20 },
    certificates,
  });

  const leaseItem = async () =>
    (await e2e.cloud.stateTable.items()).find((i) => i.pk === 'lease' && i.sk === 'run');
  const schedule = async (name: string) => {
    const item = (await e2e.cloud.stateTable.items()).find(
      (i) => i.pk === `cert#${name}` && i.sk === 'schedule',
    );
    return item ? (JSON.parse(String(item.schedule)) as Record<string, unknown>) : undefined;
  };
  /** Writes a lease item as a run of the function would (lambda/state/dynamo-state-store.ts). */
  const seedLease = async (lease: {
    runId: string;
    requestId: string;
    acquiredAt: Date;
    expiresAt: Date;
  }) => {
    await e2e.cloud.stateTable.client.send(
      new PutItemCommand({
        TableName: e2e.cloud.stateTable.tableName,
        Item: {
          pk: { S: 'lease' },
          sk: { S: 'run' },
          runId: { S: lease.runId },
          requestId: { S: lease.requestId },
          trigger: { S: 'scheduled' },
          acquiredAt: { S: lease.acquiredAt.toISOString() },
          leaseExpiresAt: { S: lease.expiresAt.toISOString() },
          expiresAt: { N: String(Math.floor(lease.expiresAt.getTime() / 1000)) },
        },
      }),
    );
  };
  const deleteLease = () =>
    e2e.cloud.stateTable.client.send(
      new DeleteItemCommand({
        TableName: e2e.cloud.stateTable.tableName,
        Key: { pk: { S: 'lease' }, sk: { S: 'run' } },
      }),
    );

  beforeAll(async () => {
    // No authorization reuse: every order has a challenge, so every issuance touches Route 53.
    e2e = await E2e.start({ pebble: { noSleep: true, authzReusePercent: 0 } });
    roots = await e2e.cloud.pebble.roots();
    e2e.createZone(ZONE);
    ({ listenerArn: listener } = e2e.listener({
      name: 'lease',
      type: 'application',
      domain: ZONE,
    }));
    front = await startAcmeFront({ pebble: e2e.cloud.pebble });
  });

  afterAll(async () => {
    await Promise.allSettled([front?.close(), e2e?.stop()]);
  });

  afterEach(() => {
    front.reset();
    e2e.emulator.clearFaults();
    e2e.emulator.setCertificatePropagationMs(DEFAULT_PROPAGATION_MS);
    e2e.checkInvariants();
  });

  it(
    'a second run while the first holds the lease changes nothing and names the holder; the first finishes and releases it',
    async () => {
      // Prepare: ELBv2 does not see a fresh import for 6 s, so the first run (one issuance,
      // then binding retried 1 + 2 + 4 s) holds the lease for about ten seconds.
      const overlapConfig = config([cert('overlap', true)]);
      e2e.emulator.setCertificatePropagationMs(6_000);
      const emulatorProxy = await recordingProxy(e2e.emulator.url);
      const tableProxy = await recordingProxy(e2e.cloud.stateTable.endpoint);
      const viaProxies = {
        AWS_ENDPOINT_URL_ROUTE_53: emulatorProxy.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: emulatorProxy.url,
        AWS_ENDPOINT_URL_ACM: emulatorProxy.url,
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: emulatorProxy.url,
        AWS_ENDPOINT_URL_DYNAMODB: tableProxy.url,
      };
      try {
        let firstDone = false;
        const first = e2e.invoke({}, overlapConfig).finally(() => {
          firstDone = true;
        });
        const held = await waitFor('the first run to take the lease', leaseItem);
        expect(firstDone, 'the first run is still going when its lease shows').toBe(false);

        // Act: the second run sends every AWS call through the proxies, so each one is its own.
        const second = await e2e.invoke({}, overlapConfig, { env: viaProxies });
        const stillHeld = await leaseItem();
        const firstStillRunning = !firstDone;

        // Assess the second: refused, naming the first run and its lease's end, changing nothing.
        expect(firstStillRunning, 'the second run ended while the first still ran').toBe(true);
        expect(second.ok, describeOutcome(second)).toBe(false);
        expect(second.error?.name).toBe('RunLeaseHeldError');
        const message = second.error?.message ?? '';
        expect(message).toContain(`run ${String(held.runId)}`);
        expect(message).toContain(`request ${String(held.requestId)}`);
        expect(message).toContain(`until ${String(held.leaseExpiresAt)}`);
        expect(message).toMatch(/changed nothing/);
        expect(new Date(String(held.leaseExpiresAt)).toISOString()).toBe(held.leaseExpiresAt);
        expect(emulatorProxy.calls.filter((c) => c.mutating)).toEqual([]);
        // Its only table write is the lease's conditional put, refused (the holder stays).
        const tableWrites = tableProxy.calls.filter((c) => c.mutating);
        expect(tableWrites.length).toBeGreaterThan(0);
        expect(
          tableWrites.every((c) => c.status === 400),
          JSON.stringify(tableWrites),
        ).toBe(true);
        expect(stillHeld).toEqual(held);
        expect(doneLines(second).size).toBe(0);

        // Assess the first: finished normally, released its lease.
        const firstOutcome = await first;
        const results = expectOk(firstOutcome);
        const started = logLines(firstOutcome).find((l) => l.message === 'run started');
        expect(started?.runId).toBe(held.runId);
        const stored = e2e.current('overlap');
        verifyStored(stored, roots, [domain('overlap')]);
        expect(results.get('overlap')).toMatchObject({ action: 'issued', serial: stored.serial });
        expect(e2e.servedSerials(listener).default).toBe(normalizeSerial(stored.serial));
        expect(await leaseItem()).toBeUndefined();

        // A third run takes the free lease and proceeds (forced: it renews). It goes through
        // the same proxies, which shows they see (and classify) every write a run makes.
        e2e.emulator.setCertificatePropagationMs(DEFAULT_PROPAGATION_MS);
        emulatorProxy.calls.length = 0;
        tableProxy.calls.length = 0;
        const third = await e2e.invoke({ certificates: ['overlap'], force: true }, overlapConfig, {
          env: viaProxies,
        });
        expect(expectOk(third).get('overlap')).toMatchObject({
          action: 'renewed',
          serial: e2e.current('overlap').serial,
        });
        expect(await leaseItem()).toBeUndefined();
        const thirdWrites = emulatorProxy.calls.filter((c) => c.mutating).map((c) => c.operation);
        expect(thirdWrites.some((op) => /^POST \/2013-04-01\/hostedzone\/.+\/rrset/.test(op))).toBe(
          true,
        );
        expect(thirdWrites).toContain('PutSecretValue');
        expect(thirdWrites).toContain('ImportCertificate');
        expect(
          tableProxy.calls.filter((c) => c.mutating && c.status === 200).length,
        ).toBeGreaterThan(0);
      } finally {
        await Promise.allSettled([emulatorProxy.close(), tableProxy.close()]);
      }
    },
    ISSUING_TIMEOUT,
  );

  it('a killed run’s expired lease is taken over; a live one refuses the run and names its holder', async () => {
    const overlapConfig = config([cert('overlap', true)]);
    const now = Date.now();

    // A run killed 20 minutes ago: its lease (15 min timeout + margin) ended 4 minutes ago.
    await seedLease({
      runId: 'killed-run-0001',
      requestId: 'req-killed',
      acquiredAt: new Date(now - 20 * 60_000),
      expiresAt: new Date(now - 4 * 60_000),
    });
    const proceeded = await e2e.invoke({}, overlapConfig);
    expect(expectOk(proceeded).get('overlap')?.action).toBe('unchanged');
    expect(messages(proceeded)).toContain('run started');
    // The new run took the lease over and released its own: nothing of the killed run is left.
    expect(await leaseItem()).toBeUndefined();

    // A run started a minute ago, its lease good for another 15 minutes.
    const until = new Date(Math.floor((now + 15 * 60_000) / 1000) * 1000);
    await seedLease({
      runId: 'live-run-0002',
      requestId: 'req-live',
      acquiredAt: new Date(now - 60_000),
      expiresAt: until,
    });
    const seeded = await leaseItem();
    e2e.emulator.resetCalls();
    try {
      const refused = await e2e.invoke({ certificates: ['overlap'], force: true }, overlapConfig);

      expect(refused.ok, describeOutcome(refused)).toBe(false);
      expect(refused.error?.name).toBe('RunLeaseHeldError');
      expect(refused.error?.message).toContain('run live-run-0002');
      expect(refused.error?.message).toContain('request req-live');
      expect(refused.error?.message).toContain(`until ${until.toISOString()}`);
      expect(refused.error?.message).toMatch(/changed nothing/);
      // Nothing changed: no write reached AWS, the holder's lease is as it was.
      const writes = e2e.emulator.calls.filter((c) => MUTATING_OPERATIONS.includes(c.operation));
      expect(writes).toEqual([]);
      expect(await leaseItem()).toEqual(seeded);
      expect(messages(refused)).not.toContain('run started');
    } finally {
      await deleteLease();
    }
  });

  it(
    'a CA rate limit defers that certificate at once until its Retry-After; the other issues in the same run',
    async () => {
      // Prepare
      const detail = 'too many new orders recently: injected by the test';
      const limitConfig = config([cert('rate-a'), cert('rate-b')], true);
      front.rateLimit('newOrder', { retryAfterSeconds: 3600, count: 1, detail });

      // Act
      const startedAt = Date.now();
      const outcome = await e2e.invoke({}, limitConfig);
      const endedAt = Date.now();

      // Assess: one run, seconds long, not an hour of Retry-After sleeps.
      const results = expectOk(outcome);
      expect(outcome.durationMs).toBeLessThan(20_000);
      const limitedOrder = front.orders.find((o) => o.fault === 'rateLimited');
      const limitedDomain = (limitedOrder?.payload.identifiers as Array<{ value: string }>)?.[0]
        ?.value;
      const limited = limitedDomain === domain('rate-a') ? 'rate-a' : 'rate-b';
      const other = limited === 'rate-a' ? 'rate-b' : 'rate-a';
      expect(limitedDomain).toBe(domain(limited));

      const stored = e2e.current(other);
      verifyStored(stored, roots, [domain(other)]);
      expect(results.get(other)).toMatchObject({ action: 'issued', serial: stored.serial });

      const deferred = results.get(limited) as {
        action: string;
        reason?: string;
        retryAfter?: string;
      };
      expect(deferred.action).toBe('deferred');
      expect(deferred.reason).toContain(detail);
      const retryAfter = Date.parse(String(deferred.retryAfter));
      expect(retryAfter).toBeGreaterThanOrEqual(startedAt + 3_600_000 - 2_000);
      expect(retryAfter).toBeLessThanOrEqual(endedAt + 3_600_000 + 2_000);
      expect(e2e.emulator.secret(`acme-renewer/${limited}`)).toBeUndefined();
      // Remembered: no run orders it before then.
      expect((await schedule(limited))?.retryAfter).toBe(deferred.retryAfter);

      // Act again: even asked for by name and forced, the certificate is not ordered.
      front.reset();
      const again = await e2e.invoke({ certificates: [limited], force: true }, limitConfig);

      // Assess
      const againResults = expectOk(again);
      expect(front.count('newOrder')).toBe(0);
      expect(againResults.get(limited)).toMatchObject({
        action: 'deferred',
        retryAfter: deferred.retryAfter,
      });
      expect(againResults.get(limited)?.reason).toContain(String(deferred.retryAfter));
      expect((await schedule(limited))?.retryAfter).toBe(deferred.retryAfter);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a CA that never answers a newOrder fails that certificate with a clear timeout; the other issues',
    async () => {
      // Prepare
      const hungConfig = config([cert('hang-a'), cert('hang-b')], true);
      front.hang('newOrder', 1);

      // Act
      const outcome = await e2e.invoke({}, hungConfig);

      // Assess: ended by the CA guard's 10 s request timeout, not by acme-client's retries.
      expect(outcome.ok, describeOutcome(outcome)).toBe(false);
      expect(outcome.durationMs).toBeGreaterThanOrEqual(9_000);
      expect(outcome.durationMs).toBeLessThan(25_000);
      const hungOrder = front.orders.find((o) => o.fault === 'hang');
      const hungDomain = (hungOrder?.payload.identifiers as Array<{ value: string }>)?.[0]?.value;
      const hung = hungDomain === domain('hang-a') ? 'hang-a' : 'hang-b';
      const other = hung === 'hang-a' ? 'hang-b' : 'hang-a';
      expect(hungDomain).toBe(domain(hung));

      const done = doneLines(outcome);
      expect(done.get(hung)).toMatchObject({ action: 'failed' });
      const error = String(done.get(hung)?.error);
      expect(error).toContain(`the CA at ${front.url} did not answer`);
      expect(error).toContain('newOrder');
      expect(error).not.toMatch(/Cannot read properties/);
      expect(outcome.error?.message).toMatch(/^1 of 2 certificate\(s\) failed: /);
      expect(outcome.error?.message).toContain(`${hung}: the CA at ${front.url} did not answer`);
      expect(e2e.emulator.secret(`acme-renewer/${hung}`)).toBeUndefined();

      const stored = e2e.current(other);
      verifyStored(stored, roots, [domain(other)]);
      expect(done.get(other)).toMatchObject({ action: 'issued', serial: stored.serial });
      expect(await leaseItem()).toBeUndefined();
    },
    ISSUING_TIMEOUT,
  );

  it(
    'an ACME account the CA deleted is registered again and the certificate renewed in the same run',
    async () => {
      // Prepare: a certificate issued through the front, so its account is known and stored.
      const accountConfig = config([cert('account')], true);
      expect(expectOk(await e2e.invoke({}, accountConfig)).get('account')?.action).toBe('issued');
      const before = e2e.current('account');
      const accountVersions = () =>
        Object.fromEntries(
          e2e.emulator
            .secretNames()
            .filter((n) => n.startsWith('acme-renewer/_acme-account-'))
            .map((n) => [n, e2e.emulator.secret(n)?.versions ?? []]),
        );
      const accountsBefore = accountVersions();
      front.reset();
      front.accountDoesNotExist(1);

      // Act
      const outcome = await e2e.invoke({ certificates: ['account'], force: true }, accountConfig);

      // Assess: renewed anyway, after one re-registration.
      const results = expectOk(outcome);
      const after = e2e.current('account');
      verifyStored(after, roots, [domain('account')]);
      expect(normalizeSerial(after.serial)).not.toBe(normalizeSerial(before.serial));
      expect(results.get('account')).toMatchObject({ action: 'renewed', serial: after.serial });
      expect(messages(outcome).filter((m) => m === 'acme account re-registered')).toHaveLength(1);
      expect(front.requests.filter((r) => r.fault === 'accountDoesNotExist')).toHaveLength(1);
      expect(
        front.requests.filter((r) => r.kind === 'newAccount' && r.status === 201).length,
      ).toBeGreaterThanOrEqual(1);

      // Exactly one account secret got exactly one new version, with a new account URL.
      const accountsAfter = accountVersions();
      const grown = Object.keys(accountsAfter).filter(
        (n) => (accountsAfter[n]?.length ?? 0) !== (accountsBefore[n]?.length ?? 0),
      );
      expect(grown).toHaveLength(1);
      const name = grown[0] as string;
      expect(accountsAfter[name]?.length).toBe((accountsBefore[name]?.length ?? 0) + 1);
      const url = (versions: Array<{ stages: string[]; secretString: string }> | undefined) =>
        JSON.parse(versions?.find((v) => v.stages.includes('AWSCURRENT'))?.secretString ?? '{}')
          .accountUrl as string | undefined;
      expect(url(accountsAfter[name])).toBeDefined();
      expect(url(accountsAfter[name])).not.toBe(url(accountsBefore[name]));
      expect(url(accountsAfter[name])?.startsWith(front.url)).toBe(true);
    },
    ISSUING_TIMEOUT,
  );
});
