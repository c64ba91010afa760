import { createHash } from 'node:crypto';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { TxtRecord } from '../../../lambda/core/types.js';
import { batchCost, packBatches } from '../../../lambda/dns/change-batches.js';
import { DnsChangeError } from '../../../lambda/dns/errors.js';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import { FakeRoute53, fakeTime } from './fake-route53.js';

const r53 = mockClient(Route53Client);

/** A DNS-01 value as ACME makes it: base64url of a SHA-256 digest, 43 characters. */
const digest = (seed: string) => createHash('sha256').update(seed).digest('base64url');

/** `count` certificates in example.com, each for `host<i>` and `*.host<i>`: one name, two values. */
function certificates(count: number): TxtRecord[] {
  const records: TxtRecord[] = [];
  for (let i = 0; i < count; i++) {
    const name = `_acme-challenge.host${i}.example.com`;
    records.push({ zoneId: 'ZCOM', name, value: digest(`apex-${i}`) });
    records.push({ zoneId: 'ZCOM', name, value: digest(`wildcard-${i}`) });
  }
  return records;
}

function setup(options: { changeConcurrency?: number } = {}) {
  r53.reset();
  const fake = new FakeRoute53([{ id: 'ZCOM', name: 'example.com' }]);
  fake.install(r53);
  const time = fakeTime();
  const solver = new Route53Dns01Solver({
    route53: new Route53Client({ region: 'us-east-1' }),
    pollIntervalMs: 1,
    sleep: time.sleep,
    now: time.now,
    random: () => 0.5,
    ...options,
  });
  return { fake, solver };
}

/** Lets other pending calls run, so requests that can overlap do. */
const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('change batches within Route 53 limits', () => {
  beforeEach(() => {
    r53.reset();
  });

  it('presents 200 certificates (400 values at 200 names) in one zone', async () => {
    // Prepare: one UPSERT of all 400 values would count 36,000 characters (> 32,000)
    const { solver, fake } = setup();
    const records = certificates(200);

    // Act
    const failures = await solver.present(records);

    // Assess: CREATEs count once, so 400 records and 18,000 characters fit one request
    expect(failures).toEqual([]);
    expect(fake.accepted.map(({ records: n, chars }) => ({ n, chars }))).toEqual([
      { n: 400, chars: 400 * 45 },
    ]);
    for (const record of records) {
      expect(fake.txtValues('ZCOM', record.name)).toContain(record.value);
    }
    expect(r53.commandCalls(GetChangeCommand).length).toBeGreaterThanOrEqual(1);
  });

  it('splits 200 certificates over names that already hold a value into 2 requests', async () => {
    // Prepare: a stale value of another client at every name, so each name needs a DELETE of
    // 1 value and a CREATE of 3: 4 records, 180 characters
    const { solver, fake } = setup();
    const records = certificates(200);
    for (let i = 0; i < 200; i++) {
      fake.putTxt('ZCOM', `_acme-challenge.host${i}.example.com`, [digest(`stale-${i}`)], 60);
    }

    // Act
    const failures = await solver.present(records);

    // Assess: 32,000 / 180 = 177 names per request, so 2 requests, each within both limits
    expect(failures).toEqual([]);
    expect(fake.accepted).toHaveLength(2);
    for (const batch of fake.accepted) {
      expect(batch.records).toBeLessThanOrEqual(1000);
      expect(batch.chars).toBeLessThanOrEqual(32000);
    }
    expect(fake.accepted.map((b) => b.names.length).sort((a, b) => a - b)).toEqual([23, 177]);
    expect(
      r53
        .commandCalls(GetChangeCommand)
        .map((c) => c.args[0].input.Id)
        .sort(),
    ).toEqual(expect.arrayContaining(['C1', 'C2']));
    for (let i = 0; i < 200; i++) {
      expect(fake.txtValues('ZCOM', `_acme-challenge.host${i}.example.com`)).toHaveLength(3);
    }

    // Act: clean-up of the same 400 values (DELETE 3 + CREATE 1 per name)
    fake.accepted.length = 0;
    const cleanup = await solver.cleanup(records);

    // Assess
    expect(cleanup).toEqual([]);
    expect(fake.accepted).toHaveLength(2);
    for (const batch of fake.accepted) expect(batch.chars).toBeLessThanOrEqual(32000);
    expect(fake.txtValues('ZCOM', '_acme-challenge.host7.example.com')).toEqual([
      digest('stale-7'),
    ]);
  });

  it('sends at most changeConcurrency requests at once', async () => {
    // Prepare: 1,000 names with a stale value each -> 6 requests; each request held a while
    const { solver, fake } = setup({ changeConcurrency: 2 });
    const records = certificates(1000);
    for (let i = 0; i < 1000; i++) {
      fake.putTxt('ZCOM', `_acme-challenge.host${i}.example.com`, [digest(`stale-${i}`)], 60);
    }
    fake.beforeChange = () => ticks(5);

    // Act
    const failures = await solver.present(records);

    // Assess
    expect(failures).toEqual([]);
    expect(fake.accepted).toHaveLength(6);
    expect(fake.maxInFlight).toBe(2);
  });

  it("fails only the records of the request that fails, not the zone's others", async () => {
    // Prepare: two requests; the one holding host0 fails with a server error
    const { solver, fake } = setup();
    const records = certificates(200);
    for (let i = 0; i < 200; i++) {
      fake.putTxt('ZCOM', `_acme-challenge.host${i}.example.com`, [digest(`stale-${i}`)], 60);
    }
    fake.beforeChange = (input) => {
      const names = input.ChangeBatch.Changes.map((c) => c.ResourceRecordSet.Name);
      if (names.includes('_acme-challenge.host0.example.com.')) {
        throw Object.assign(new Error('We encountered an internal error'), {
          name: 'InternalFailure',
          $metadata: { httpStatusCode: 500 },
        });
      }
    };

    // Act
    const failures = await solver.present(records);

    // Assess
    const sent = r53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input.ChangeBatch?.Changes ?? []);
    expect(sent).toHaveLength(2);
    const failedBatch = sent.find((changes) =>
      changes.some((c) => c.ResourceRecordSet?.Name === '_acme-challenge.host0.example.com.'),
    );
    const failedNames = new Set(failedBatch?.map((c) => c.ResourceRecordSet?.Name?.slice(0, -1)));
    expect(failures.length).toBe(failedNames.size * 2);
    expect(failures.every((f) => failedNames.has(f.record.name))).toBe(true);
    expect(failures[0]?.error).toBeInstanceOf(DnsChangeError);
    expect(failures[0]?.error.message).toMatch(/We encountered an internal error/);
    expect(fake.accepted).toHaveLength(1);
    const okName = fake.accepted[0]?.names[0] ?? '';
    expect(failedNames.has(okName)).toBe(false);
    expect(fake.txtValues('ZCOM', okName)).toHaveLength(3);
  });

  it('fails alone, with the fix, a name whose change alone exceeds a request', async () => {
    // Prepare: 600 leftover values at one name: DELETE 600 + CREATE 601 > 1,000 records
    const { solver, fake } = setup();
    const crowded = '_acme-challenge.crowded.example.com';
    fake.putTxt(
      'ZCOM',
      crowded,
      Array.from({ length: 600 }, (_, i) => `left-${i}`),
    );
    const records = [...certificates(3), { zoneId: 'ZCOM', name: crowded, value: 'ours' }];

    // Act
    const failures = await solver.present(records);

    // Assess
    expect(failures.map((f) => f.record.name)).toEqual([crowded]);
    expect(failures[0]?.error.message).toMatch(
      /could not write TXT _acme-challenge\.crowded\.example\.com in hosted zone ZCOM: its change needs 1201 resource records .* over Route 53's limit of 1,000 records and 32,000 characters: remove stale values at that name/,
    );
    expect(fake.accepted).toHaveLength(1);
    expect(fake.accepted[0]?.names).toHaveLength(3);
  });
});

describe('packBatches', () => {
  it('counts an UPSERT twice and keeps one name in one batch', () => {
    // Prepare
    const upsert = (name: string, values: number) => ({
      name,
      changes: [
        {
          Action: 'UPSERT' as const,
          ResourceRecordSet: {
            Name: name,
            Type: 'TXT' as const,
            TTL: 60,
            ResourceRecords: Array.from({ length: values }, () => ({ Value: '"x"' })),
          },
        },
      ],
    });

    // Act
    const cost = batchCost(upsert('a', 3).changes);
    const packed = packBatches([upsert('a', 300), upsert('b', 300)], {
      records: 1000,
      chars: 100_000,
    });

    // Assess: 600 + 600 > 1,000, so each name goes in its own batch
    expect(cost).toEqual({ records: 6, chars: 18 });
    expect(packed.batches.map((b) => b.map((p) => p.name))).toEqual([['a'], ['b']]);
    expect(packed.oversized).toEqual([]);
  });
});
