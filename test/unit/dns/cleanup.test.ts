import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  InvalidChangeBatch,
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
const ours = (value: string, zoneId = 'ZCOM', name = NAME) => ({ zoneId, name, value });

function setup() {
  const fake = new FakeRoute53([
    { id: 'ZCOM', name: 'example.com' },
    { id: 'ZORG', name: 'example.org' },
  ]);
  fake.install(r53);
  const time = fakeTime();
  const solver = new Route53Dns01Solver({
    route53: new Route53Client({ region: 'us-east-1' }),
    pollIntervalMs: 1,
    sleep: time.sleep,
    now: time.now,
  });
  return { fake, solver };
}

function changes() {
  return r53
    .commandCalls(ChangeResourceRecordSetsCommand)
    .map((c) => c.args[0].input.ChangeBatch?.Changes);
}

describe('Route53Dns01Solver.cleanup', () => {
  beforeEach(() => {
    r53.reset();
  });

  it('removes only our value: DELETE of the set read, CREATE of the rest with its TTL', async () => {
    // Prepare
    const { solver, fake } = setup();
    const existing = fake.putTxt('ZCOM', NAME, ['theirs', 'mine'], 120);

    // Act
    const failures = await solver.cleanup([ours('mine')]);

    // Assess
    expect(failures).toEqual([]);
    expect(changes()).toEqual([
      [
        { Action: 'DELETE', ResourceRecordSet: existing },
        {
          Action: 'CREATE',
          ResourceRecordSet: {
            Name: `${NAME}.`,
            Type: 'TXT',
            TTL: 120,
            ResourceRecords: [{ Value: '"theirs"' }],
          },
        },
      ],
    ]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['theirs']);
  });

  it('DELETEs with the exact existing set when only our values are there', async () => {
    // Prepare
    const { solver, fake } = setup();
    const existing = fake.putTxt('ZCOM', NAME, ['apex', 'wild'], 300);

    // Act
    const failures = await solver.cleanup([ours('apex'), ours('wild')]);

    // Assess
    expect(failures).toEqual([]);
    expect(changes()).toEqual([[{ Action: 'DELETE', ResourceRecordSet: existing }]]);
    expect(fake.find('ZCOM', NAME)).toBeUndefined();
    expect(r53.commandCalls(GetChangeCommand)).toHaveLength(0);
  });

  it('does nothing when our values are already gone', async () => {
    // Prepare
    const { solver, fake } = setup();
    fake.putTxt('ZCOM', NAME, ['theirs']);

    // Act
    const failures = await solver.cleanup([
      ours('mine'),
      ours('x', 'ZCOM', '_acme-challenge.www.example.com'),
    ]);

    // Assess
    expect(failures).toEqual([]);
    expect(changes()).toEqual([]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['theirs']);
  });

  it('is safe to call twice', async () => {
    // Prepare
    const { solver, fake } = setup();
    await solver.present([ours('a'), ours('b'), ours('c', 'ZORG', '_acme-challenge.example.org')]);
    r53.resetHistory();

    // Act
    const first = await solver.cleanup([
      ours('a'),
      ours('b'),
      ours('c', 'ZORG', '_acme-challenge.example.org'),
    ]);
    const second = await solver.cleanup([
      ours('a'),
      ours('b'),
      ours('c', 'ZORG', '_acme-challenge.example.org'),
    ]);

    // Assess
    expect(first).toEqual([]);
    expect(second).toEqual([]);
    expect(changes()).toHaveLength(2); // one per zone, all in the first call
    expect(fake.find('ZCOM', NAME)).toBeUndefined();
    expect(fake.find('ZORG', '_acme-challenge.example.org')).toBeUndefined();
  });

  it('re-reads and retries after InvalidChangeBatch, keeping the value added meanwhile', async () => {
    // Prepare: between our read and our change, someone adds a value to the set
    const { solver, fake } = setup();
    fake.putTxt('ZCOM', NAME, ['mine'], 60);
    let raced = false;
    fake.beforeChange = () => {
      if (raced) return;
      raced = true;
      fake.sets.set('ZCOM', []);
      fake.putTxt('ZCOM', NAME, ['mine', 'newcomer'], 60);
    };

    // Act
    const failures = await solver.cleanup([ours('mine')]);

    // Assess
    expect(raced).toBe(true);
    expect(failures).toEqual([]);
    expect(r53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(2);
    expect(changes()[1]).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: `${NAME}.`,
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"mine"' }, { Value: '"newcomer"' }],
        },
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: `${NAME}.`,
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"newcomer"' }],
        },
      },
    ]);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['newcomer']);
  });

  it('reports failure (does not throw) after 5 rejected attempts, other zones unaffected', async () => {
    // Prepare
    const { solver, fake } = setup();
    fake.putTxt('ZCOM', NAME, ['mine']);
    fake.putTxt('ZORG', '_acme-challenge.example.org', ['mine-too']);
    r53
      .on(ChangeResourceRecordSetsCommand, { HostedZoneId: 'ZCOM' })
      .rejects(new InvalidChangeBatch({ message: 'still wrong', $metadata: {} }));

    // Act
    const failures = await solver.cleanup([
      ours('mine'),
      ours('mine-too', 'ZORG', '_acme-challenge.example.org'),
    ]);

    // Assess
    expect(failures.map((f) => f.record)).toEqual([ours('mine')]);
    expect(failures[0]?.error).toBeInstanceOf(DnsChangeError);
    expect(failures[0]?.error.message).toBe(
      'could not remove TXT _acme-challenge.example.com in hosted zone ZCOM: Route 53 rejected the change 5 times as InvalidChangeBatch (the set kept changing between read and write, or the change is invalid): still wrong',
    );
    expect(
      r53.commandCalls(ChangeResourceRecordSetsCommand, { HostedZoneId: 'ZCOM' }),
    ).toHaveLength(5);
    expect(fake.txtValues('ZCOM', NAME)).toEqual(['mine']);
    expect(fake.find('ZORG', '_acme-challenge.example.org')).toBeUndefined();
  });

  it.each([
    [
      'AccessDenied (REST-XML)',
      () =>
        Object.assign(
          new Error(
            'User: arn:aws:sts::1:assumed-role/r is not authorized to perform: route53:ChangeResourceRecordSets',
          ),
          { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
        ),
    ],
    [
      'AccessDeniedException',
      () => Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }),
    ],
    [
      'HTTP 403 only',
      () =>
        Object.assign(new Error('Forbidden'), {
          name: 'Unknown',
          $metadata: { httpStatusCode: 403 },
        }),
    ],
  ])('cleans up the allowed names when one name is denied (%s)', async (_, denial) => {
    // Prepare: the IAM condition is ForAllValues over the request's names, so one name the
    // policy no longer lists denies the whole request
    const { solver, fake } = setup();
    const gone = '_acme-challenge.retired.example.com';
    const kept = '_acme-challenge.www.example.com';
    fake.putTxt('ZCOM', NAME, ['a'], 60);
    fake.putTxt('ZCOM', gone, ['b'], 60);
    fake.putTxt('ZCOM', kept, ['c', 'theirs'], 60);
    fake.beforeChange = (input) => {
      const names = input.ChangeBatch.Changes.map((c) => c.ResourceRecordSet.Name);
      if (names.includes(`${gone}.`)) throw denial();
    };
    const denied = ours('b', 'ZCOM', gone);

    // Act
    const failures = await solver.cleanup([ours('a'), denied, ours('c', 'ZCOM', kept)]);

    // Assess: one request denied, then one per name
    expect(failures.map((f) => f.record)).toEqual([denied]);
    expect(failures[0]?.error).toBeInstanceOf(DnsAccessDeniedError);
    expect(failures[0]?.error).toBeInstanceOf(DnsChangeError);
    expect(failures[0]?.error.name).toBe('DnsAccessDeniedError');
    expect(failures[0]?.error.message).toMatch(
      /^could not remove TXT _acme-challenge\.retired\.example\.com in hosted zone ZCOM: access denied \(.+\); TXT _acme-challenge\.retired\.example\.com is no longer in the function's IAM policy .*: remove it by hand, or leave it to expire harmlessly/,
    );
    expect(changes()).toHaveLength(4);
    expect(fake.find('ZCOM', NAME)).toBeUndefined();
    expect(fake.txtValues('ZCOM', kept)).toEqual(['theirs']);
    expect(fake.txtValues('ZCOM', gone)).toEqual(['b']);
  });
});
