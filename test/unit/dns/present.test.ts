import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DnsAccessDeniedError, DnsChangeError } from '../../../lambda/dns/errors.js';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import { FakeRoute53, fakeTime } from './fake-route53.js';

const r53 = mockClient(Route53Client);
const NAME = '_acme-challenge.example.com';

function setup(pendingPolls = 0) {
  r53.reset();
  const fake = new FakeRoute53([
    { id: 'ZCOM', name: 'example.com' },
    { id: 'ZORG', name: 'example.org' },
  ]);
  fake.pendingPolls = pendingPolls;
  fake.install(r53);
  const time = fakeTime();
  const solver = new Route53Dns01Solver({
    route53: new Route53Client({ region: 'us-east-1' }),
    pollIntervalMs: 1,
    insyncTimeoutMs: 50,
    sleep: time.sleep,
    now: time.now,
  });
  return { fake, solver, time };
}

function changeCalls() {
  return r53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input);
}

describe('Route53Dns01Solver.present', () => {
  beforeEach(() => {
    r53.reset();
  });

  it('writes apex and wildcard values at a new name as one CREATE', async () => {
    // Prepare
    const { solver, fake } = setup();

    // Act
    const failures = await solver.present([
      { zoneId: 'ZCOM', name: NAME, value: 'apex-digest' },
      { zoneId: 'ZCOM', name: NAME, value: 'wildcard-digest' },
    ]);

    // Assess
    expect(failures).toEqual([]);
    expect(changeCalls()).toHaveLength(1);
    expect(changeCalls()[0]?.ChangeBatch?.Changes).toEqual([
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: NAME,
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"apex-digest"' }, { Value: '"wildcard-digest"' }],
        },
      },
    ]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['apex-digest', 'wildcard-digest']);
  });

  it('keeps a value already at the name and its TTL: DELETE of the set read, CREATE with ours', async () => {
    // Prepare
    const { solver, fake } = setup();
    const existing = fake.putTxt('ZCOM', NAME, ['someone-else'], 120);

    // Act
    const failures = await solver.present([{ zoneId: 'ZCOM', name: NAME, value: 'ours' }]);

    // Assess
    expect(failures).toEqual([]);
    expect(changeCalls()[0]?.ChangeBatch?.Changes).toEqual([
      { Action: 'DELETE', ResourceRecordSet: existing },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: `${NAME}.`,
          Type: 'TXT',
          TTL: 120,
          ResourceRecords: [{ Value: '"someone-else"' }, { Value: '"ours"' }],
        },
      },
    ]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['someone-else', 'ours']);
  });

  it('makes exactly one read and one change per zone for many records', async () => {
    // Prepare
    const { solver, fake } = setup();
    const records = [
      { zoneId: 'ZCOM', name: '_acme-challenge.example.com', value: 'a' },
      { zoneId: 'ZCOM', name: '_acme-challenge.example.com', value: 'b' },
      { zoneId: 'ZCOM', name: '_acme-challenge.www.example.com', value: 'c' },
      { zoneId: 'ZCOM', name: '_acme-challenge.api.example.com', value: 'd' },
      { zoneId: 'ZORG', name: '_acme-challenge.example.org', value: 'e' },
      { zoneId: 'ZORG', name: '_acme-challenge.shop.example.org', value: 'f' },
    ];

    // Act
    const failures = await solver.present(records);

    // Assess
    expect(failures).toEqual([]);
    const zonesChanged = changeCalls().map((c) => c.HostedZoneId);
    expect(zonesChanged.sort()).toEqual(['ZCOM', 'ZORG']);
    const listed = r53.commandCalls(ListResourceRecordSetsCommand).map((c) => c.args[0].input);
    expect(listed.map((l) => l.HostedZoneId).sort()).toEqual(['ZCOM', 'ZORG']);
    const com = changeCalls().find((c) => c.HostedZoneId === 'ZCOM');
    expect(com?.ChangeBatch?.Changes).toHaveLength(3);
    expect(fake.txtValues('ZCOM', '_acme-challenge.api.example.com')).toEqual(['d']);
    expect(fake.txtValues('ZORG', '_acme-challenge.shop.example.org')).toEqual(['f']);
  });

  it('polls GetChange until INSYNC', async () => {
    // Prepare: two PENDING answers, then INSYNC
    const { solver, time } = setup(2);

    // Act
    const failures = await solver.present([{ zoneId: 'ZCOM', name: NAME, value: 'v' }]);

    // Assess
    expect(failures).toEqual([]);
    const polls = r53.commandCalls(GetChangeCommand);
    expect(polls).toHaveLength(3);
    expect(polls[0]?.args[0].input).toEqual({ Id: 'C1' });
    expect(time.slept).toEqual([1, 1, 1]);
  });

  it('fails the records when the change never gets INSYNC', async () => {
    // Prepare: PENDING forever (timeout 50 ms, poll 1 ms)
    const { solver } = setup(Number.POSITIVE_INFINITY);

    // Act
    const failures = await solver.present([{ zoneId: 'ZCOM', name: NAME, value: 'v' }]);

    // Assess
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toBeInstanceOf(DnsChangeError);
    expect(failures[0]?.error.message).toMatch(
      /could not confirm \(INSYNC\) TXT _acme-challenge.example.com in hosted zone ZCOM: change C1 is still PENDING after 50 ms/,
    );
    expect(r53.commandCalls(GetChangeCommand).length).toBeGreaterThanOrEqual(50);
  });

  it('waits for all zones in parallel, after all changes are sent', async () => {
    // Prepare
    const { solver } = setup(1);

    // Act
    await solver.present([
      { zoneId: 'ZCOM', name: NAME, value: 'a' },
      { zoneId: 'ZORG', name: '_acme-challenge.example.org', value: 'b' },
    ]);

    // Assess
    const order = r53.calls().map((c) => (c.args[0] as object).constructor.name);
    const lastChange = order.lastIndexOf('ChangeResourceRecordSetsCommand');
    expect(order.filter((n) => n === 'ChangeResourceRecordSetsCommand')).toHaveLength(2);
    expect(order.indexOf('GetChangeCommand')).toBeGreaterThan(lastChange);
  });

  it('does not write when every value is already there', async () => {
    // Prepare
    const { solver, fake } = setup();
    fake.putTxt('ZCOM', NAME, ['v']);

    // Act
    const failures = await solver.present([{ zoneId: 'ZCOM', name: NAME, value: 'v' }]);

    // Assess
    expect(failures).toEqual([]);
    expect(changeCalls()).toHaveLength(0);
  });

  it('fails only the records of the zone whose change fails', async () => {
    // Prepare
    const { solver, fake } = setup();
    r53
      .on(ChangeResourceRecordSetsCommand, { HostedZoneId: 'ZORG' })
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' }));
    const ok = { zoneId: 'ZCOM', name: NAME, value: 'com' };
    const bad = { zoneId: 'ZORG', name: '_acme-challenge.example.org', value: 'org' };

    // Act
    const failures = await solver.present([ok, bad]);

    // Assess
    expect(failures.map((f) => f.record)).toEqual([bad]);
    expect(failures[0]?.record).toBe(bad); // the caller's own object, to match it back
    expect(failures[0]?.error).toBeInstanceOf(DnsAccessDeniedError);
    expect(failures[0]?.error.message).toMatch(
      /^could not write TXT _acme-challenge\.example\.org in hosted zone ZORG: access denied \(User is not authorized\); TXT _acme-challenge\.example\.org is not in the function's IAM policy/,
    );
    expect(failures[0]?.error.cause).toMatchObject({ name: 'AccessDenied' });
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['com']);
  });

  it('serializes concurrent presents to one name so neither value is lost', async () => {
    // Prepare
    const { solver, fake } = setup();

    // Act: two certificates (apex on one, wildcard on the other) present at the same time
    const [first, second] = await Promise.all([
      solver.present([{ zoneId: 'ZCOM', name: NAME, value: 'cert-a' }]),
      solver.present([{ zoneId: 'ZCOM', name: NAME, value: 'cert-b' }]),
    ]);

    // Assess
    expect([...(first ?? []), ...(second ?? [])]).toEqual([]);
    expect(fake.txtValues('ZCOM', NAME)?.sort()).toEqual(['cert-a', 'cert-b']);
  });
});
